"""How many records change correctness under the question-aware matcher.

The baseline is the earlier containment rule (its separate rule for numbers aside): an
answer was correct when a gold answer's tokens appeared as a contiguous run in it, with
at most four extra tokens and no negation or "or" among them ("South Sudan" counted as
"Sudan"). The current rule accepts extra tokens only if they are framing words or words
of the question. Both are applied to the same
stored answers, so the difference is the label change alone.

    python -m benchmarks.labels runs/demo/records.jsonl
"""

from __future__ import annotations

import sys
from collections import Counter

from elicit.calibration.fitting import dataset_of
from elicit.elicitation.matching import match_any, normalize_answer
from elicit.evaluation.batch import load_records

_BASELINE_BLOCKERS = frozenset(
    "not never neither nor or isnt wasnt arent werent dont doesnt didnt cannot cant wont".split()
)


def baseline_correct(answer: str | None, golds: list[str]) -> bool:
    """The earlier containment rule (at most four extra tokens, none a negation or "or")."""
    tokens = normalize_answer(answer or "").split()
    for gold in golds:
        needle = normalize_answer(gold).split()
        if not needle or not tokens or len(tokens) > len(needle) + 4:
            continue
        for start in range(len(tokens) - len(needle) + 1):
            if tokens[start : start + len(needle)] == needle:
                extra = tokens[:start] + tokens[start + len(needle) :]
                if not _BASELINE_BLOCKERS.intersection(extra):
                    return True
    return False


def main(path: str) -> None:
    records = [r for r in load_records(path) if r.answer is not None]
    flips: Counter[tuple[str, str]] = Counter()
    examples: dict[str, list[str]] = {}
    for record in records:
        before = baseline_correct(record.answer, record.golds)
        after = match_any(record.answer, record.golds, record.question)
        if before != after:
            direction = "correct -> wrong" if before else "wrong -> correct"
            flips[dataset_of(record), direction] += 1
            examples.setdefault(direction, []).append(f"{record.answer!r} for gold {record.golds[0]!r}")
    print(f"{len(records)} records with an answer in {path}")
    print(f"labels changed: {sum(flips.values())}")
    for (dataset, direction), count in sorted(flips.items()):
        print(f"  {dataset:<12} {direction}: {count}")
    for direction, shown in examples.items():
        print(f"{direction}, e.g.: " + "; ".join(shown[:6]))


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "runs/demo/records.jsonl")
