"""A small real evaluation: built-in questions through the served model into JSONL records."""

from __future__ import annotations

import pytest

from elicit.chains import ConfidenceChain
from elicit.datasets import QAItem, load_builtin
from elicit.elicitation.matching import exact_match, match_any
from elicit.evaluation.batch import aevaluate, load_records
from elicit.model.loop import run_sync


def test_built_in_questions_are_evaluated_into_records(llm, tmp_path):
    chain = ConfidenceChain(llm, n_samples=2, max_tokens=24)
    shown = chain.prompts.examples[0]
    leaked = QAItem(id="user:1", question=shown.question, answer=shown.answer)
    items = [*load_builtin("capitals", "test", limit=4), leaked]
    out = tmp_path / "eval.jsonl"
    records = run_sync(aevaluate(chain, items, out, concurrency=4, progress=False))
    assert [r.id for r in records] == [item.id for item in items]
    assert {r.id: r for r in load_records(out)} == {r.id: r for r in records}  # file order = finishing order
    for record, item in zip(records, items, strict=True):
        assert record.golds == item.golds()
        assert record.correct == match_any(record.answer, item.golds(), item.question)
        assert record.exact_match == exact_match(record.answer, item.golds())
        assert record.f1 is not None and 0.0 <= record.f1 <= 1.0
        assert record.signals.p_true is not None or record.signals.missing["p_true"]
        assert record.setup == chain.setup and record.setup.model is not None
        assert record.few_shot is (item is leaked)
    assert all(r.metadata["dataset"] == "capitals" for r in records[:4])


def test_seeded_evaluations_give_identical_records(llm, tmp_path):
    """Same seed, same samples, answers and labels whatever the concurrency; another seed samples anew.

    Log-probabilities may differ in the last digits: on CPU a batch's shape changes the order
    of float sums, so numbers derived from them are compared to a tolerance.
    """
    items = load_builtin("capitals", "test", limit=4) + load_builtin("arithmetic", "test", limit=2)

    def run(seed: int, name: str, concurrency: int) -> list:
        chain = ConfidenceChain(llm, n_samples=4, max_tokens=24, temperature=1.0, seed=seed)
        return run_sync(aevaluate(chain, items, tmp_path / name, concurrency=concurrency, progress=False))

    first, again = run(7, "a.jsonl", 4), run(7, "b.jsonl", 1)
    for one, two in zip(first, again, strict=True):
        assert [(s.text, s.answer, s.confidence) for s in one.samples] == [
            (s.text, s.answer, s.confidence) for s in two.samples
        ]
        assert (one.answer, one.correct, one.setup) == (two.answer, two.correct, two.setup)
        mine, theirs = one.signals.values(), two.signals.values()
        assert {k for k, v in mine.items() if v is None} == {k for k, v in theirs.items() if v is None}
        assert {k: v for k, v in mine.items() if v is not None} == pytest.approx(
            {k: v for k, v in theirs.items() if v is not None}, rel=1e-3, abs=1e-6
        )
    other = run(8, "c.jsonl", 4)
    assert [[s.text for s in r.samples] for r in other] != [[s.text for s in r.samples] for r in first]
