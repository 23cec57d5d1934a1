"""The answer probe on the embedded model's own hidden states: fitted on its real answers, judged out
of fold, then read by a chain on the served model."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from elicit.calibration.fitting import cross_fit
from elicit.calibration.metrics import auroc
from elicit.calibration.white_box import AnswerProbe, ProbeFileError, ProbeReader, probe_text, stacked_values
from elicit.chains import ConfidenceChain
from elicit.evaluation.batch import load_records
from elicit.model.hidden_states import HiddenStateEmbeddings
from elicit.signals.white_box import ANSWER_PROBE

REAL_RECORDS = Path(__file__).parents[1] / "fixtures" / "smollm2_records.jsonl"
"""160 real evaluations of the embedded model (built-in questions, 5 samples, seed 0)."""


@pytest.fixture(scope="module")
def hidden_states(server, tmp_path_factory) -> HiddenStateEmbeddings:
    return HiddenStateEmbeddings(cache_path=tmp_path_factory.mktemp("hidden") / "cache.sqlite")


def test_the_probe_ranks_real_answers_out_of_fold_and_a_chain_reads_it(server, llm, hidden_states, tmp_path):
    records = load_records(REAL_RECORDS)
    texts = [probe_text(r.question, r.answer) for r in records]
    correct = [bool(r.correct) for r in records]
    half = len(records) // 2
    train_values, test_values, probe = stacked_values(hidden_states, texts[:half], correct[:half], texts[half:], seed=0)
    # Each training row's value comes from a probe that never saw it, and new rows are ranked well.
    assert auroc(train_values, np.array(correct[:half])) > 0.65
    assert auroc(test_values, np.array(correct[half:])) > 0.65
    assert {(c.layer, c.pooling) for c in probe.candidates} >= {(probe.layer, probe.pooling)}

    probe.write(tmp_path / "probe.json")
    loaded = AnswerProbe.read(tmp_path / "probe.json")
    assert loaded == probe
    reader = ProbeReader(loaded, hidden_states)
    chain = ConfidenceChain(llm, n_samples=2, max_tokens=16, p_true=False, probe=reader)
    result = chain.invoke("What is the capital of Italy?")
    value = result.signals.get(ANSWER_PROBE)
    assert value is not None and value == pytest.approx(reader.value(result.question, result.answer))
    assert "probe_s" in result.timings
    without = ConfidenceChain(llm, n_samples=2, max_tokens=16, p_true=False).invoke("What is the capital of Italy?")
    assert without.signals.get(ANSWER_PROBE) is None and ANSWER_PROBE in without.signals.missing

    other = loaded.model_copy(update={"digest": "0" * 16})
    with pytest.raises(ProbeFileError, match="fit a probe for this model"):
        ProbeReader(other, hidden_states)
    (tmp_path / "old.json").write_text(
        (tmp_path / "probe.json").read_text().replace('"format_version": 1', '"format_version": 0')
    )
    with pytest.raises(ProbeFileError, match="unsupported format_version 0"):
        AnswerProbe.read(tmp_path / "old.json")


def test_a_cross_fit_with_the_probe_scores_it_out_of_fold_and_refits_it_on_every_record(hidden_states):
    records = load_records(REAL_RECORDS)
    fit = cross_fit(records, k=3, seed=0, white_box=hidden_states)
    probe_scores = fit.scores[f"raw:{ANSWER_PROBE}"]
    assert probe_scores.shape == (len(fit.records),) and np.isfinite(probe_scores).all()
    assert auroc(probe_scores, fit.correct) > 0.6
    assert fit.probe is not None and fit.probe.n_train == len(fit.records)


def test_answers_read_from_many_threads_at_once_get_their_own_hidden_states(server, tmp_path):
    """A chain's batch reads its answers' hidden states from worker threads, all at the same time."""
    from concurrent.futures import ThreadPoolExecutor

    texts = [probe_text(r.question, r.answer) for r in load_records(REAL_RECORDS)[:24]]
    alone = HiddenStateEmbeddings(layer=6, cache_path=tmp_path / "alone.sqlite")
    expected = np.stack([alone.encode([text])[0] for text in texts])
    together = HiddenStateEmbeddings(layer=6, cache_path=tmp_path / "together.sqlite")
    with ThreadPoolExecutor(max_workers=8) as pool:
        vectors = np.stack([v[0] for v in pool.map(lambda text: together.encode([text]), texts)])
    np.testing.assert_allclose(vectors, expected, rtol=1e-4, atol=1e-5)
