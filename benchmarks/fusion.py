"""A saved head against the best single signal on held-out questions, both chosen on the training file.

The head is the one ``elicit fit`` saved from the training records; its rival is the feature
with the highest AUROC on those same training records, Platt-mapped on them. Both then
score the held-out records (evaluated with ``elicit eval --fusion HEAD``, so the head's
confidence is the one the chain produced): AUROC, ECE and Brier with 95% bootstrap intervals
(stratified by label), and the paired differences on the same questions.

    python -m benchmarks.fusion runs/bench/fanout-train.rescored.jsonl \\
        runs/bench/fanout-fit/fusion-head.json runs/bench/fanout-holdout.jsonl
"""

from __future__ import annotations

import argparse

import numpy as np

from elicit.calibration import metrics
from elicit.calibration.calibrators import BestSingle
from elicit.calibration.fitting import scored_records
from elicit.calibration.head import FusionHead
from elicit.calibration.stats import bootstrap_intervals, format_interval, paired_bootstrap_difference
from elicit.evaluation.batch import load_records


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("train", help="the records the head was fitted on")
    parser.add_argument("head", help="the head elicit fit saved from them")
    parser.add_argument("held_out", help="records evaluated with elicit eval --fusion HEAD")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    train, _ = scored_records(load_records(args.train))
    held, _ = scored_records(load_records(args.held_out))
    head = FusionHead.load(args.head)
    seen = head.overlap([r.id for r in held])
    if seen:
        raise SystemExit(f"{len(seen)} held-out records are among the head's training records (e.g. {seen[0]!r})")
    if any(r.confidence is None for r in held):
        raise SystemExit(f"{args.held_out}: some records carry no confidence; evaluate them with --fusion {args.head}")
    train_correct = np.array([r.correct for r in train])
    platt = BestSingle().fit([r.signals for r in train], train_correct.tolist())
    rival = platt.feature_
    correct = np.array([r.correct for r in held])
    scores = {
        f"head ({head.choice}, as eval --fusion gave it)": np.array([r.confidence for r in held], dtype=float),
        f"best single ({rival}, Platt on the training file)": platt.predict([r.signals for r in held]),
    }
    print(f"{len(held)} held-out records, {int(correct.sum())} correct; head fitted on {len(train)} records")
    for name, values in scores.items():
        intervals = bootstrap_intervals(values, correct, metrics=("auroc", "ece", "brier"), seed=args.seed)
        shown = {
            "AUROC": format_interval(metrics.auroc(values, correct), intervals["auroc"]),
            "ECE": format_interval(metrics.ece(values, correct), intervals["ece"]),
            "Brier": format_interval(metrics.brier(values, correct), intervals["brier"], 4),
            # Calibration in the large: a shift of the share correct moves every prediction.
            "mean confidence": f"{values.mean():.1%} (share correct {correct.mean():.1%})",
        }
        print(f"{name}: " + ", ".join(f"{metric} {text}" for metric, text in shown.items()))
    head_scores, rival_scores = scores.values()
    for metric in ("auroc", "brier"):
        difference = paired_bootstrap_difference(head_scores, rival_scores, correct, metric=metric, seed=args.seed)
        if difference is not None:
            print(
                f"head minus best single, {metric.upper()}: {difference.estimate:+.3f} "
                f"[{difference.low:+.3f}, {difference.high:+.3f}] (paired bootstrap, n={difference.n}, "
                f"seed {args.seed})"
            )


if __name__ == "__main__":
    main()
