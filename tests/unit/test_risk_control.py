"""Certified answering: the Learn-then-Test threshold against an exact binomial oracle, its validity, its file."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from scipy.stats import binom
from typer.testing import CliRunner

from elicit.calibration.certificate import Certificate, CertificateError, certify
from elicit.calibration.head import FusionHead
from elicit.calibration.head_file import provenance_for
from elicit.calibration.risk_control import THRESHOLDS, certify_threshold, records_needed
from elicit.cli import app
from elicit.types import EvalRecord, RunSetup, Signals


def draw(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Confidences uniform on [0, 1], each answer right with probability equal to its confidence."""
    rng = np.random.default_rng(seed)
    confidence = rng.uniform(size=n)
    return confidence, rng.uniform(size=n) < confidence


def oracle(confidence: np.ndarray, correct: np.ndarray, risk: float, delta: float) -> float:
    """Exact binomial p-values of "error rate > risk" at every threshold, then Bonferroni-Holm by hand."""
    p_values = []
    for threshold in THRESHOLDS:
        answered = confidence >= threshold
        n, errors = int(answered.sum()), int((~correct[answered]).sum())
        p_values.append(float(binom.cdf(errors, n, risk)) if n else 1.0)
    order = np.argsort(p_values, kind="stable")
    passed = []
    for rank, index in enumerate(order):
        if p_values[index] > delta / (len(p_values) - rank):
            break
        passed.append(THRESHOLDS[index])
    return float(min(passed)) if passed else math.inf


@pytest.mark.parametrize(
    ("n", "risk", "delta", "seed"), [(2000, 0.1, 0.1, 0), (800, 0.2, 0.05, 1), (3000, 0.05, 0.1, 2)]
)
def test_the_threshold_is_the_lowest_one_the_exact_binomial_test_passes(n, risk, delta, seed) -> None:
    confidence, correct = draw(n, seed)
    assert certify_threshold(confidence, correct, risk=risk, delta=delta) == oracle(confidence, correct, risk, delta)


def test_thresholds_above_every_confidence_answer_nothing_and_do_not_block_the_others() -> None:
    """Real confidences rarely reach 0.99: the empty top thresholds count as untested, not as failed."""
    confidence, correct = draw(1000, 3)
    capped = 0.8 * confidence  # nothing at or above 0.81; the ranking, hence what can be certified, is kept
    threshold = certify_threshold(capped, correct, risk=0.2, delta=0.1)
    assert math.isfinite(threshold) and threshold == oracle(capped, correct, 0.2, 0.1)


def test_the_promise_holds_over_many_calibration_draws() -> None:
    """Answers at the threshold are wrong more often than the risk in at most delta of the draws (plus slack)."""
    risk, delta, draws = 0.2, 0.1, 200
    violations = 0
    for seed in range(draws):
        threshold = certify_threshold(*draw(400, seed), risk=risk, delta=delta)
        if math.isfinite(threshold):
            # The true error rate of answers with confidence >= t, when P(right | c) = c on [0, 1]: (1 - t) / 2.
            violations += (1 - threshold) / 2 > risk
    assert violations / draws <= delta + 2 * math.sqrt(delta * (1 - delta) / draws)


def test_bad_input_is_named() -> None:
    confidence, correct = draw(50, 0)
    for risk in (0, 1, 1.5, -0.1):
        with pytest.raises(ValueError, match="risk must be a number strictly between 0 and 1"):
            certify_threshold(confidence, correct, risk=risk, delta=0.1)
    with pytest.raises(ValueError, match="delta must be"):
        certify_threshold(confidence, correct, risk=0.1, delta=0)
    with pytest.raises(ValueError, match="empty"):
        certify_threshold([], [], risk=0.1, delta=0.1)
    with pytest.raises(ValueError, match="NaN at index 1"):
        certify_threshold([0.5, float("nan")], [True, False], risk=0.1, delta=0.1)
    with pytest.raises(ValueError, match="correct must hold booleans"):
        certify_threshold([0.5, 0.6], [1, 2], risk=0.1, delta=0.1)
    assert certify_threshold(*draw(30, 0), risk=0.1, delta=0.1) == math.inf


def test_the_fewest_records_that_could_certify_anything() -> None:
    needed = records_needed(risk=0.1, delta=0.1)
    assert 0.9**needed <= 0.1 / THRESHOLDS.size < 0.9 ** (needed - 1)
    assert certify_threshold(np.ones(needed), np.ones(needed, dtype=bool), risk=0.1, delta=0.1) == 0.0
    assert certify_threshold(np.ones(needed - 1), np.ones(needed - 1, dtype=bool), risk=0.1, delta=0.1) == math.inf


SETUP = RunSetup(model="m", strategy="vanilla", n_samples=5, temperature=0.7, max_tokens=48)


def records(n: int, seed: int, prefix: str = "r") -> list[EvalRecord]:
    confidence, correct = draw(n, seed)
    return [
        EvalRecord(
            id=f"{prefix}{i}",
            question=f"q{i}?",
            golds=["a"],
            answer="a",
            correct=bool(right),
            confidence=float(c),
            signals=Signals(agreement=float(c)),
            strategy="vanilla",
            n_samples=5,
            setup=SETUP,
        )  # fmt: skip
        for i, (c, right) in enumerate(zip(confidence, correct, strict=True))
    ]


def test_a_certificate_names_what_it_is_valid_for_and_round_trips(tmp_path: Path) -> None:
    certificate = certify(records(2000, 0), risk=0.1, delta=0.1)
    assert certificate.threshold is not None and certificate.source == "default" and certificate.n == 2000
    assert certificate.calibration_risk is not None and certificate.calibration_risk <= 0.1
    certificate.write(tmp_path / "c.json")
    assert Certificate.read(tmp_path / "c.json") == certificate
    assert certificate.certifies(certificate.threshold) and not certificate.certifies(None)
    with pytest.raises(CertificateError, match="n_samples=5 but is applied to n_samples=3"):
        certificate.check(SETUP.model_copy(update={"n_samples": 3}), None)
    with pytest.raises(CertificateError, match="model='m' but is applied to model='other'"):
        certificate.check(SETUP.model_copy(update={"model": "other"}), None)
    document = json.loads((tmp_path / "c.json").read_text())
    (tmp_path / "old.json").write_text(json.dumps({**document, "format_version": 0}))
    with pytest.raises(CertificateError, match="unsupported format_version 0"):
        Certificate.read(tmp_path / "old.json")


def test_a_head_is_certified_only_on_records_it_did_not_train_on() -> None:
    train = records(300, 1, prefix="t")
    head = FusionHead().fit([r.signals for r in train], [r.correct for r in train])
    head.provenance_ = provenance_for([r.id for r in train], SETUP)
    with pytest.raises(CertificateError, match="300 of the 300 calibration records trained the head"):
        certify(train, risk=0.1, delta=0.1, head=head)
    certificate = certify(records(2000, 2), risk=0.2, delta=0.1, head=head)
    assert certificate.source.startswith("fusion head ")
    with pytest.raises(CertificateError, match="made for confidence from fusion head"):
        certificate.check(SETUP, None)


def test_too_few_records_say_how_many_would_be_needed() -> None:
    with pytest.raises(CertificateError, match=r"at least 66 correctly answered records are needed"):
        certify(records(40, 3), risk=0.1, delta=0.1)


def test_the_certify_command_writes_a_certificate(tmp_path: Path) -> None:
    path = tmp_path / "records.jsonl"
    path.write_text("".join(r.model_dump_json() + "\n" for r in records(2000, 4)))
    runner = CliRunner()
    done = runner.invoke(app, ["certify", str(path), "--risk", "0.2", "--delta", "0.1", "--out", str(tmp_path / "c")])
    assert done.exit_code == 0, done.output
    assert "answer when confidence >=" in done.output and Certificate.read(tmp_path / "c").n == 2000
    refused = runner.invoke(app, ["certify", str(path), "--risk", "1.2", "--out", str(tmp_path / "d")])
    assert refused.exit_code == 2 and "risk must be a number strictly between 0 and 1" in refused.output
