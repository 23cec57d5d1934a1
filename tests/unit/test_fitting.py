"""Fitting on the train split of records and scoring the held-out split, plus the fit/report CLI."""

from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from elicit.calibration.fitting import DEFAULT, FUSED, fit_held_out, raw_scores, split_records
from elicit.calibration.fusion import FusionHead
from elicit.calibration.metrics import auroc
from elicit.cli import app
from elicit.datasets import split_of
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


def test_split_is_by_record_id():
    train, held_out = split_records(synthetic_records(100))
    assert {r.id for r in train}.isdisjoint({r.id for r in held_out})
    assert all(split_of(r.id) == "train" for r in train) and len(train) + len(held_out) == 100


def test_fit_scores_every_method_on_held_out_records_only():
    result = fit_held_out(synthetic_records())
    n = len(result.test)
    assert {FUSED, DEFAULT, "raw:agreement", "raw:p_true", "platt:agreement", "isotonic:agreement"} <= set(
        result.scores
    )
    assert all(len(values) == n for values in result.scores.values())
    assert np.isnan(result.scores["raw:p_true"]).any()  # raw values keep their gaps
    assert not np.isnan(result.scores[FUSED]).any()  # the head handles missing signals
    assert auroc(result.scores[FUSED], result.correct) > 0.8
    assert auroc(result.scores[FUSED], result.correct) > auroc(result.scores["platt:verbal_mean"], result.correct)


def test_fit_needs_both_outcomes():
    records = [r.model_copy(update={"correct": True}) for r in synthetic_records(50)]
    with pytest.raises(ValueError, match="both correct and wrong"):
        fit_held_out(records)


def test_raw_scores_skip_signals_never_computed():
    scores = raw_scores(synthetic_records(20))
    assert "raw:answer_prob" not in scores and "raw:agreement" in scores


def test_fit_and_report_commands_write_head_and_report(tmp_path):
    records = tmp_path / "records.jsonl"
    records.write_text("".join(r.model_dump_json() + "\n" for r in synthetic_records()))
    runner = CliRunner()
    fitted = runner.invoke(app, ["fit", str(records), "--out", str(tmp_path / "fit")])
    assert fitted.exit_code == 0, fitted.output
    head = FusionHead.load(tmp_path / "fit" / "fusion-head.json")
    assert "agreement" in head.features
    assert (tmp_path / "fit" / "report.html").is_file()
    assert json.loads((tmp_path / "fit" / "report.json").read_text())["rows"]
    head_file = str(tmp_path / "fit" / "fusion-head.json")
    reported = runner.invoke(app, ["report", str(records), "--out", str(tmp_path / "rep"), "--head", head_file])
    assert reported.exit_code == 0, reported.output
    assert "fused" in (tmp_path / "rep" / "report.html").read_text()


def test_report_of_a_missing_file_is_a_clear_error(tmp_path):
    result = CliRunner().invoke(app, ["report", str(tmp_path / "none.jsonl")])
    assert result.exit_code == 2 and "holds no evaluation records" in result.output
