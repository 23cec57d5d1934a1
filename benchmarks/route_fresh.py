"""A route-eval run's designated policy, judged again on the test questions an earlier run had not used.

Splits are a hash of (seed, id), so a run with a new seed shares a few test questions with a
run under another seed. When the earlier run shaped a decision (how the designated policy is
chosen, say), its test questions are not fresh for the new one. This recomputes the
designated policy's paired difference from random routing, at the budget it was chosen at,
on the new run's test questions that were not test questions of the earlier run (default
mix). Questions are compared by their text: a generated id (``arithmetic:3:67``) names
another question under another seed.

    python -m benchmarks.route_fresh runs/route-eval --earlier-seed 0
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
from pydantic import ValidationError

from elicit.evaluation.batch import load_records
from elicit.model.hidden_states import HiddenStateEmbeddings
from elicit.routing.builtin import BuiltInPolicy
from elicit.routing.comparison import DESIGNATION_BUDGET
from elicit.routing.curves import paired_difference
from elicit.routing.mix import DEFAULT_MIX, mixed_items
from elicit.routing.policies import PolicySet
from elicit.routing.run import RouteEvalResult


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run", type=Path, help="the folder elicit route-eval wrote (default mix)")
    parser.add_argument("--earlier-seed", type=int, required=True, help="seed of the earlier run")
    parser.add_argument("--earlier-size", type=int, default=600, help="test questions of the earlier run")
    args = parser.parse_args()
    path = args.run / "route-eval.json"
    try:
        result = RouteEvalResult.model_validate_json(path.read_text(encoding="utf-8"))
    except ValidationError as exc:
        raise SystemExit(f"{path} was not written by this version of route-eval: {exc}") from exc
    k = json.loads((args.run / "settings.json").read_text(encoding="utf-8"))["k"]
    policy_set = PolicySet.load(args.run / "policies.json")
    if result.designated not in policy_set.scorers:
        raise SystemExit(f"the designated policy {result.designated!r} is not in policies.json")
    earlier = {item.question for item in mixed_items(DEFAULT_MIX, "test", args.earlier_size, args.earlier_seed)}
    plain = load_records(args.run / "eval.jsonl")
    augmented = {record.id: record for record in load_records(args.run / f"eval-retrieval-k{k}.jsonl")}
    # In id order: the file holds records in the order they finished, which varies between runs.
    fresh = sorted((record for record in plain if record.question not in earlier), key=lambda record: record.id)
    details = policy_set.details
    if details.layer is None or details.pooling is None:
        raise SystemExit(f"{args.run / 'policies.json'} names no layer and pooling")
    encoder = HiddenStateEmbeddings(layer=details.layer, pooling=details.pooling)
    scores = policy_set.policy(result.designated, encoder).scores([record.question for record in fresh])
    without = np.array([float(bool(record.correct)) for record in fresh])
    with_ = np.array([float(bool(augmented[record.id].correct)) for record in fresh])
    shift, (low, high) = paired_difference(
        result.designated, scores, BuiltInPolicy.RANDOM, None, without, with_, DESIGNATION_BUDGET, seed=result.seed
    )
    print(
        f"{len(fresh)} of {len(plain)} test questions were not test questions of the seed-{args.earlier_seed} run; "
        f"on them, {result.designated} vs random at {DESIGNATION_BUDGET:.0%} retrieval: "
        f"{100 * shift:+.1f} points [{100 * low:+.1f}, {100 * high:+.1f}] (paired bootstrap, seed {result.seed})"
    )


if __name__ == "__main__":
    main()
