"""A small real evaluation: built-in questions through the served model into JSONL records."""

from __future__ import annotations

from elicit.chains import ConfidenceChain
from elicit.datasets import load_builtin
from elicit.elicitation.parsing import match_any
from elicit.evaluation.batch import aevaluate, load_records
from elicit.model.loop import run_sync


def test_built_in_questions_are_evaluated_into_records(llm, tmp_path):
    items = load_builtin("capitals", "test", limit=4)
    out = tmp_path / "eval.jsonl"
    chain = ConfidenceChain(llm, n_samples=2, max_tokens=24)
    records = run_sync(aevaluate(chain, items, out, concurrency=4, progress=False))
    assert [r.id for r in records] == [item.id for item in items]
    assert {r.id: r for r in load_records(out)} == {r.id: r for r in records}  # file order = finishing order
    for record, item in zip(records, items, strict=True):
        assert record.golds == item.golds()
        assert record.correct == match_any(record.answer, item.golds())
        assert record.signals.p_true is not None or record.signals.missing["p_true"]
        assert record.metadata["dataset"] == "capitals"
