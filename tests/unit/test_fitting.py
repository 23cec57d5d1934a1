"""Cross-fitting: every method scored out of fold on every record; the fit/report CLI and provenance."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from elicit.calibration.fitting import BEST_SINGLE, DEFAULT, HEAD, cross_fit, raw_scores
from elicit.calibration.head import FUSED, FusionHead
from elicit.calibration.metrics import auroc
from elicit.cli import app
from elicit.evaluation.batch import load_records
from elicit.evaluation.rescore import rescored
from elicit.types import EvalRecord, Signals


def synthetic_records(count: int = 400, seed: int = 0) -> list[EvalRecord]:
    """Agreement carries the label, verbal confidence is noise, P(True) is sometimes missing."""
    rng = np.random.default_rng(seed)
    records = []
    for i in range(count):
        correct = bool(rng.random() < 0.5)
        agreement = float(np.clip(rng.normal(0.75 if correct else 0.4, 0.15), 0, 1))
        p_true = None if i % 5 == 0 else float(rng.random())
        signals = Signals(agreement=agreement, verbal_mean=float(rng.random()), p_true=p_true)
        if p_true is None:
            signals.missing["p_true"] = "P(True) not computed"
        records.append(
            EvalRecord(
                id=f"r{i}",
                question=f"q{i}?",
                golds=["a"],
                answer="a" if correct else "b",
                correct=correct,
                confidence=agreement,
                signals=signals,
                strategy="vanilla",
                n_samples=5,
            )  # fmt: skip
        )
    return records


def test_cross_fit_scores_every_method_out_of_fold_on_every_record():
    records = synthetic_records()
    result = cross_fit(records, k=5)
    n = len(records)
    expected = {HEAD, FUSED, BEST_SINGLE, DEFAULT, "raw:agreement", "raw:p_true", "platt:agreement"}
    assert expected | {"isotonic:agreement"} <= set(result.scores)
    assert result.best_single_choices == ["agreement"] * 5 and len(result.head_choices) == 5
    assert all(len(values) == n and not np.isnan(values).any() for values in result.scores.values())
    assert result.fallbacks["raw:p_true"] == sum(r.signals.p_true is None for r in records)
    assert sorted(np.bincount(result.folds).tolist()) == [80] * 5
    for method in (HEAD, FUSED):
        assert auroc(result.scores[method], result.correct) > 0.8
        assert auroc(result.scores[method], result.correct) > auroc(result.scores["platt:verbal_mean"], result.correct)


def test_out_of_fold_predictions_never_see_their_own_record():
    """A record whose signal is flipped changes the refit head, but not its own out-of-fold score
    beyond what its absence from the other folds' training explains: it is predicted by heads
    fitted without it, so flipping only its label leaves its out-of-fold score unchanged."""
    records = synthetic_records(200)
    flipped = [records[0].model_copy(update={"correct": not records[0].correct}), *records[1:]]
    before, after = cross_fit(records, k=5), cross_fit(flipped, k=5)
    if before.folds[0] == after.folds[0]:
        for method in (HEAD, FUSED, BEST_SINGLE):
            assert before.scores[method][0] == pytest.approx(after.scores[method][0])


def test_records_with_bare_ids_form_one_dataset():
    result = cross_fit(synthetic_records(100), k=5)
    assert set(result.datasets) == {"data"}


def test_few_shot_records_are_left_out():
    records = synthetic_records(100)
    records[3] = records[3].model_copy(update={"few_shot": True})
    result = cross_fit(records, k=5)
    assert result.excluded_few_shot == 1 and len(result.records) == 99
    assert records[3].id not in {r.id for r in result.records}


def test_the_saved_head_records_where_it_came_from():
    records = synthetic_records(100)
    head = cross_fit(records, k=5, source="x.jsonl").head
    assert head.provenance_ is not None and head.provenance_.n_train == 100 and head.provenance_.folds == 5
    assert head.overlap(["r1", "r5", "unseen"]) == ["r1", "r5"]


def test_fit_needs_both_outcomes():
    records = [r.model_copy(update={"correct": True}) for r in synthetic_records(50)]
    with pytest.raises(ValueError, match="needs at least 5 of each"):
        cross_fit(records)


def test_raw_scores_skip_signals_never_computed():
    scores, _ = raw_scores(synthetic_records(20))
    assert "raw:answer_prob" not in scores and "raw:agreement" in scores


def test_fit_and_report_commands_write_head_and_report(tmp_path):
    records = tmp_path / "records.jsonl"
    records.write_text("".join(r.model_dump_json() + "\n" for r in synthetic_records()))
    runner = CliRunner()
    fitted = runner.invoke(app, ["fit", str(records), "--out", str(tmp_path / "fit")])
    assert fitted.exit_code == 0, fitted.output
    head = FusionHead.load(tmp_path / "fit" / "fusion-head.json")
    assert "agreement" in head.features_
    assert (tmp_path / "fit" / "report.html").is_file()
    assert json.loads((tmp_path / "fit" / "report.json").read_text())["rows"]
    report = json.loads((tmp_path / "fit" / "report.json").read_text())
    for row in report["rows"]:
        assert row["n"] == 400
        assert {"auroc", "ece", "brier"} <= set(row["ci"])
    assert report["verdict"] and report["by_dataset"]
    assert (
        "verdict: head vs best single" in fitted.output
        and "verdict: fused vs best single" in fitted.output
        and "Per dataset" in fitted.output
    )
    head_file = str(tmp_path / "fit" / "fusion-head.json")
    refused = runner.invoke(app, ["report", str(records), "--out", str(tmp_path / "rep"), "--head", head_file])
    assert refused.exit_code == 2 and "was trained on 400 of these 400 records" in refused.output
    labelled = runner.invoke(
        app, ["report", str(records), "--out", str(tmp_path / "rep"), "--head", head_file, "--in-sample"]
    )
    assert labelled.exit_code == 0, labelled.output
    assert "head (in-sample on 400 of 400)" in (tmp_path / "rep" / "report.html").read_text()
    fresh = tmp_path / "fresh.jsonl"
    unseen = [r.model_copy(update={"id": f"new{i}"}) for i, r in enumerate(synthetic_records(60, seed=1))]
    fresh.write_text("".join(r.model_dump_json() + "\n" for r in unseen))
    scored = runner.invoke(app, ["report", str(fresh), "--out", str(tmp_path / "rep2"), "--head", head_file])
    assert scored.exit_code == 0, scored.output
    assert json.loads((tmp_path / "rep2" / "report.json").read_text())["rows"][-1]["method"] == "head"


def test_report_of_a_missing_file_is_a_clear_error(tmp_path):
    result = CliRunner().invoke(app, ["report", str(tmp_path / "none.jsonl")])
    assert result.exit_code == 2 and "holds no evaluation records" in result.output


REAL_RECORDS = Path(__file__).parents[1] / "fixtures" / "smollm2_records.jsonl"
"""160 real evaluations of the embedded model (built-in questions, 5 samples, seed 0), tokens dropped."""


def test_head_on_real_outputs_of_the_embedded_model():
    records = load_records(REAL_RECORDS)
    result = cross_fit(records, k=4, seed=0)
    head_auroc = auroc(result.scores[HEAD], result.correct)
    rival_auroc = auroc(result.scores[BEST_SINGLE], result.correct)
    assert head_auroc is not None and rival_auroc is not None
    assert head_auroc > 0.7 and head_auroc >= rival_auroc - 0.05
    # Calibrated: far better Brier score than the raw agreement share it partly rests on.
    brier = np.mean((result.scores[HEAD] - result.correct) ** 2)
    assert brier < np.mean((result.scores["raw:agreement"] - result.correct) ** 2)
    assert result.head.provenance_ is not None and result.head.provenance_.setup is not None
    with pytest.raises(ValueError, match="holds no token logprobs"):
        rescored(records[:1], None)
