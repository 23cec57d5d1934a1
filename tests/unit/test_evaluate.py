"""Batch evaluation: records, resume after a kill, torn lines, failures, config mismatch."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from langchain_core.language_models import FakeListChatModel

from elicit.chains import ConfidenceChain
from elicit.datasets import QAItem
from elicit.evaluation.batch import RecordsFileError, aevaluate, distractor_pools, load_records, records_frame
from elicit.model.loop import run_sync

REPLIES = ["Answer: Paris\nConfidence: 90%", "Answer: Lyon\nConfidence: 40%"]


def items(count: int) -> list[QAItem]:
    return [
        QAItem(id=f"q{i}", question=f"Question {i}?", answer="Paris", metadata={"source": "test"}) for i in range(count)
    ]


def chain(**kwargs) -> ConfidenceChain:
    return ConfidenceChain(FakeListChatModel(responses=REPLIES), n_samples=2, p_true=False, **kwargs)


def test_records_hold_answer_correctness_and_signals(tmp_path):
    out = tmp_path / "eval.jsonl"
    records = run_sync(aevaluate(chain(), items(4), out, concurrency=2, progress=False))
    assert [r.id for r in records] == ["q0", "q1", "q2", "q3"]
    assert len(out.read_text().splitlines()) == 4
    for record in records:
        assert record.correct == (record.answer == "Paris")
        assert record.n_samples == 2 and record.signals.agreement is not None
        assert all(sample.tokens is None for sample in record.samples)
    frame = records_frame(records)
    assert list(frame["id"]) == ["q0", "q1", "q2", "q3"] and "agreement" in frame


def test_rerun_skips_finished_ids(tmp_path):
    out = tmp_path / "eval.jsonl"
    run_sync(aevaluate(chain(), items(2), out, progress=False))
    first = out.read_text()
    records = run_sync(aevaluate(chain(), items(3), out, progress=False))
    assert out.read_text().startswith(first)
    assert [r.id for r in records] == ["q0", "q1", "q2"]
    assert len(out.read_text().splitlines()) == 3


def test_torn_last_line_is_dropped_and_redone(tmp_path):
    out = tmp_path / "eval.jsonl"
    run_sync(aevaluate(chain(), items(2), out, progress=False))
    lines = out.read_text().splitlines()
    out.write_text(lines[0] + "\n" + lines[1][: len(lines[1]) // 2])  # killed mid-write
    assert [r.id for r in load_records(out)] == ["q0"]
    records = run_sync(aevaluate(chain(), items(2), out, progress=False))
    assert [r.id for r in records] == ["q0", "q1"]
    assert [json.loads(line)["id"] for line in out.read_text().splitlines()] == ["q0", "q1"]


def test_corrupt_line_in_the_middle_names_its_line(tmp_path):
    out = tmp_path / "eval.jsonl"
    run_sync(aevaluate(chain(), items(2), out, progress=False))
    lines = out.read_text().splitlines()
    out.write_text("\n".join([lines[0], "{garbage", lines[1]]) + "\n")
    with pytest.raises(RecordsFileError, match="line 2"):
        load_records(out)


def test_other_configuration_is_refused(tmp_path):
    out = tmp_path / "eval.jsonl"
    run_sync(aevaluate(chain(), items(1), out, progress=False))
    with pytest.raises(RecordsFileError, match="n_samples=2.*n_samples=3"):
        other = ConfidenceChain(FakeListChatModel(responses=REPLIES), n_samples=3, p_true=False)
        run_sync(aevaluate(other, items(2), out, progress=False))


def test_an_id_that_now_names_another_question_is_refused(tmp_path):
    out = tmp_path / "eval.jsonl"
    run_sync(aevaluate(chain(), items(2), out, progress=False))
    reseeded = [items(2)[0], items(2)[1].model_copy(update={"question": "What is 48 * 22?"})]
    with pytest.raises(RecordsFileError, match=r"holds 'q1' as 'Question 1\?', but it now asks 'What is 48 \* 22\?'"):
        run_sync(aevaluate(chain(), reseeded, out, progress=False))


class FailingOn(FakeListChatModel):
    """A fake chat model that fails for one question, as a dying server would."""

    bad: str = ""

    async def _agenerate(self, messages, *args, **kwargs):
        if self.bad in str(messages[-1].content):
            raise ConnectionError("server went away")
        return await super()._agenerate(messages, *args, **kwargs)


def test_failed_question_is_not_written_and_is_reported_after_the_rest(tmp_path):
    out = tmp_path / "eval.jsonl"
    model = FailingOn(responses=REPLIES, bad="Question 1?")
    broken = ConfidenceChain(model, n_samples=2, p_true=False)
    with pytest.raises(RuntimeError, match="1 question\\(s\\) failed.*server went away"):
        run_sync(aevaluate(broken, items(3), out, progress=False))
    assert sorted(r.id for r in load_records(out)) == ["q0", "q2"]
    records = run_sync(aevaluate(chain(), items(3), out, progress=False))
    assert [r.id for r in records] == ["q0", "q1", "q2"]


def test_hint_strategy_draws_distractors_from_the_same_dataset():
    pool = distractor_pools(
        [
            QAItem(id="a", question="Capital of France?", answer="Paris", metadata={"dataset": "capitals"}),
            QAItem(id="b", question="Capital of Peru?", answer="Lima", metadata={"dataset": "capitals"}),
            QAItem(id="c", question="2+2?", answer="4", metadata={"dataset": "arithmetic"}),
        ]
    )
    assert pool == {"a": ["Lima"], "b": ["Paris"], "c": []}


SCRIPT = textwrap.dedent(
    """
    import sys
    from langchain_core.language_models import FakeListChatModel
    from elicit.chains import ConfidenceChain
    from elicit.datasets import QAItem
    from elicit.evaluation.batch import aevaluate
    from elicit.model.loop import run_sync

    items = [QAItem(id=f"q{i}", question=f"Question {i}?", answer="Paris") for i in range(int(sys.argv[2]))]
    model = FakeListChatModel(responses=["Answer: Paris\\nConfidence: 90%"], sleep=float(sys.argv[3]))
    chain = ConfidenceChain(model, n_samples=1, p_true=False)
    run_sync(aevaluate(chain, items, sys.argv[1], concurrency=2, progress=False))
    """
)


def test_killed_run_resumes_without_loss_or_duplicates(tmp_path):
    out = tmp_path / "eval.jsonl"
    script = tmp_path / "run.py"
    script.write_text(SCRIPT)
    process = subprocess.Popen([sys.executable, str(script), str(out), "40", "0.1"], start_new_session=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and (not out.exists() or len(out.read_text().splitlines()) < 5):
        time.sleep(0.05)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    written = len(load_records(out))
    assert 5 <= written < 40, "the run must have been killed mid-way"
    subprocess.run([sys.executable, str(script), str(out), "40", "0"], check=True, timeout=300)
    ids = [json.loads(line)["id"] for line in Path(out).read_text().splitlines()]
    assert sorted(ids) == sorted(f"q{i}" for i in range(40))
    assert len(ids) == len(set(ids))
