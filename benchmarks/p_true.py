"""Zero-shot against few-shot P(True), on the same answers: which ranks right answers better?

For every record with an answer, P(True) is asked twice on the same server: with the plain
self-evaluation prompt and with two worked self-evaluations before it (one True, one
False). Both are scored against the record's correctness label: AUROC with a stratified
bootstrap interval, and the paired difference on the same questions.

    ELICIT_BASE_URL=http://127.0.0.1:PORT python -m benchmarks.p_true runs/bench/builtin.jsonl --limit 400
"""

from __future__ import annotations

import argparse
import asyncio

import numpy as np

from benchmarks.common import benchmark_server
from elicit.calibration.fitting import dataset_of
from elicit.calibration.metrics import auroc
from elicit.calibration.stats import bootstrap_intervals, format_interval, paired_bootstrap_difference
from elicit.elicitation.prompts import PromptSet
from elicit.elicitation.sampling import ap_true
from elicit.evaluation.batch import load_records
from elicit.model.client import chat_model
from elicit.model.loop import run_sync

SHOTS = 2


async def _p_true_all(llm, prompts: PromptSet, pairs: list[tuple[str, str]], concurrency: int) -> list[float]:
    semaphore = asyncio.Semaphore(concurrency)

    async def one(question: str, answer: str) -> float:
        async with semaphore:
            value, _ = await ap_true(llm, prompts.self_eval_messages(question, answer))
            return 0.5 if value is None else value  # neither word in the top tokens: no evidence either way

    return list(await asyncio.gather(*(one(q, a) for q, a in pairs)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("records")
    parser.add_argument("--limit", type=int, default=400)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    records = [r for r in load_records(args.records) if r.answer and not r.few_shot]
    rng = np.random.default_rng(args.seed)
    records = [records[i] for i in sorted(rng.permutation(len(records))[: args.limit])]
    pairs = [(r.question, r.answer or "") for r in records]
    correct = np.array([r.correct for r in records])
    strata = [dataset_of(r) for r in records]
    with benchmark_server() as server:
        llm = chat_model(server)  # the top-5 logprobs an evaluation asks for
        scores = {
            "zero-shot": run_sync(_p_true_all(llm, PromptSet(), pairs, args.concurrency)),
            f"{SHOTS}-shot": run_sync(_p_true_all(llm, PromptSet(p_true_shots=SHOTS), pairs, args.concurrency)),
        }
    print(f"{len(records)} answered records of {args.records} (seeded sample, seed {args.seed}), "
          f"accuracy {correct.mean():.1%}")  # fmt: skip
    for name, values in scores.items():
        interval = bootstrap_intervals(values, correct, metrics=("auroc",), seed=args.seed, strata=strata)["auroc"]
        print(f"P(True) {name:9s} AUROC {format_interval(auroc(values, correct), interval)}")
    difference = paired_bootstrap_difference(
        scores[f"{SHOTS}-shot"], scores["zero-shot"], correct, metric="auroc", seed=args.seed, strata=strata
    )
    if difference is not None:
        print(
            f"{SHOTS}-shot minus zero-shot AUROC {difference.estimate:+.3f} "
            f"[{difference.low:+.3f}, {difference.high:+.3f}] (paired bootstrap, n={difference.n})"
        )


if __name__ == "__main__":
    main()
