from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from scipy.special import expit
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from elicit.calibration.fusion import (
    FORMAT_VERSION,
    FusionFileError,
    FusionHead,
    IsotonicCalibration,
    PlattScaling,
    SingleSignal,
    TemperatureScaling,
    fit_baselines,
    signal_matrix,
)
from elicit.types import Signals


def synthetic(n: int = 400, seed: int = 0) -> tuple[list[Signals], list[bool]]:
    """agreement decides the label (up to 5% flips); verbal_mean is pure noise;
    p_true is missing on every fourth row."""
    rng = np.random.default_rng(seed)
    agreement = rng.uniform(size=n)
    labels = (agreement > 0.5) ^ (rng.uniform(size=n) < 0.05)
    signals = [
        Signals(
            agreement=float(agreement[i]),
            verbal_mean=float(rng.uniform()),
            p_true=None if i % 4 == 0 else float(rng.uniform()),
            missing={"p_true": "no logprobs"} if i % 4 == 0 else {},
        )
        for i in range(n)
    ]
    return signals, [bool(label) for label in labels]


TRAIN = synthetic()
TEST = synthetic(seed=1)


@pytest.fixture(scope="module")
def head() -> FusionHead:
    return FusionHead.fit(*TRAIN)


def test_signal_matrix_marks_missing() -> None:
    values, missing = signal_matrix([Signals(agreement=0.5), Signals(p_true=0.25)], ["agreement", "p_true"])
    assert missing.tolist() == [[False, True], [True, False]]
    assert values[0, 0] == 0.5 and values[1, 1] == 0.25
    with pytest.raises(ValueError, match="features has unknown signal names"):
        signal_matrix([Signals()], ["confidence"])


def test_default_features_are_the_observed_signals(head: FusionHead) -> None:
    assert head.features == ("verbal_mean", "agreement", "p_true")
    assert head.missing_indicators == ("p_true",)
    assert head.columns == ("verbal_mean", "agreement", "p_true", "missing:p_true")
    assert head.n_train == 400 and head.train_accuracy > 0.85


def test_informative_signal_beats_useless_one(head: FusionHead) -> None:
    test_signals, test_labels = TEST
    useless = FusionHead.fit(*TRAIN, features=["verbal_mean"])
    fused_auc = roc_auc_score(test_labels, head.predict(test_signals))
    useless_auc = roc_auc_score(test_labels, useless.predict(test_signals))
    assert fused_auc > 0.9
    assert fused_auc > useless_auc + 0.3


def test_predictions_are_probabilities(head: FusionHead) -> None:
    predictions = head.predict(TEST[0])
    assert predictions.shape == (400,)
    assert np.all((predictions >= 0) & (predictions <= 1))
    assert 0.0 <= head.predict_one(Signals()) <= 1.0


def test_matches_sklearn_pipeline_on_imputed_design(head: FusionHead) -> None:
    signals, labels = TRAIN
    values, missing = signal_matrix(signals, head.features)
    imputed = np.where(missing, np.nanmean(values, axis=0), values)
    design = np.hstack([imputed, missing[:, [2]].astype(float)])
    pipeline = make_pipeline(StandardScaler(), LogisticRegression(C=1.0, max_iter=1000))
    pipeline.fit(design, labels)
    np.testing.assert_allclose(head.predict(signals), pipeline.predict_proba(design)[:, 1], atol=1e-9)


def test_missing_indicator_is_used_when_missingness_is_informative() -> None:
    # Rows without p_true are almost always wrong; the indicator lets the head say so.
    rng = np.random.default_rng(3)
    signals, labels = [], []
    for i in range(300):
        has_p_true = i % 3 != 0
        signals.append(Signals(p_true=float(rng.uniform(0.4, 0.6)) if has_p_true else None))
        labels.append(bool(has_p_true and rng.uniform() < 0.8))
    fitted = FusionHead.fit(signals, labels)
    assert fitted.missing_indicators == ("p_true",)
    assert fitted.predict_one(Signals()) < 0.1
    assert fitted.predict_one(Signals(p_true=0.5)) > 0.6


def test_constant_feature_is_accepted() -> None:
    signals, labels = TRAIN
    constant = [s.model_copy(update={"margin": 0.5}) for s in signals]
    fitted = FusionHead.fit(constant, labels, features=["agreement", "margin"])
    assert fitted.coef[1] == 0.0
    assert np.all(np.isfinite(fitted.predict(constant)))


@pytest.mark.parametrize(
    ("signals", "labels", "features", "pattern"),
    [
        ([Signals(agreement=0.1)] * 3, [True, True, True], None, "both classes"),
        ([Signals(agreement=0.1)] * 3, [True, False], None, "differ in length"),
        ([], [], None, "empty"),
        ([Signals(agreement=0.1)] * 2, [True, "yes"], None, r"labels\[1\]"),
        ([Signals()] * 2, [True, False], None, "no signal is present"),
        ([Signals(agreement=0.1)] * 2, [True, False], ["p_true"], r"\['p_true'\] are missing in every"),
        ([Signals(agreement=0.1)] * 2, [True, False], ["confidence"], "unknown signal names"),
    ],
)
def test_fit_errors(signals: list[Signals], labels: list, features: list[str] | None, pattern: str) -> None:
    with pytest.raises(ValueError, match=pattern):
        FusionHead.fit(signals, labels, features=features)


def test_save_load_round_trip(head: FusionHead, tmp_path: Path) -> None:
    path = tmp_path / "head.json"
    head.save(path)
    document = json.loads(path.read_text())
    assert document["format"] == "elicit-fusion-head"
    assert document["format_version"] == FORMAT_VERSION
    assert document["features"] == ["verbal_mean", "agreement", "p_true"]
    assert set(document["imputation_means"]) == {"verbal_mean", "agreement", "p_true"}
    loaded = FusionHead.load(path, expected_features=["verbal_mean", "agreement", "p_true"])
    assert np.array_equal(loaded.predict(TEST[0]), head.predict(TEST[0]))
    assert loaded.n_train == head.n_train and loaded.train_accuracy == head.train_accuracy


def test_load_rejects_mismatched_features(head: FusionHead, tmp_path: Path) -> None:
    path = tmp_path / "head.json"
    head.save(path)
    with pytest.raises(FusionFileError) as excinfo:
        FusionHead.load(path, expected_features=["agreement", "p_true"])
    message = str(excinfo.value)
    assert "['verbal_mean', 'agreement', 'p_true']" in message
    assert "expected ['agreement', 'p_true']" in message


@pytest.mark.parametrize(
    ("edit", "pattern"),
    [
        (lambda d: d.update(format_version=0), "unsupported format_version 0"),
        (lambda d: d.update(format="something-else"), "format is 'something-else'"),
        (lambda d: d.pop("coef"), "coef: Field required"),
        (lambda d: d.update(coef=[1.0]), "coef has 1 entries, expected 4"),
        (lambda d: d.update(intercept="high"), "intercept"),
        (lambda d: d.update(missing_indicators=["margin"]), r"\['margin'\] are not among the features"),
        (lambda d: d.update(features=["verbal_mean", "agreement", "bogus"]), "unknown signal names"),
        (lambda d: d["imputation_means"].pop("p_true"), "imputation_means has keys"),
        (lambda d: d.update(scaler_scale=[1.0, 0.0, 1.0, 1.0]), "scaler_scale entries must be positive"),
    ],
)
def test_load_rejects_bad_files(head: FusionHead, tmp_path: Path, edit, pattern: str) -> None:
    document = head.to_dict()
    edit(document)
    path = tmp_path / "head.json"
    path.write_text(json.dumps(document))
    with pytest.raises(FusionFileError, match=pattern):
        FusionHead.load(path)


def test_load_rejects_corrupted_json(tmp_path: Path) -> None:
    path = tmp_path / "head.json"
    path.write_text('{"format": "elicit-fusion-head", ')
    with pytest.raises(FusionFileError, match="not valid JSON"):
        FusionHead.load(path)
    path.write_text("[1, 2]")
    with pytest.raises(FusionFileError, match="expected a JSON object"):
        FusionHead.load(path)


def test_temperature_scaling_recovers_known_temperature() -> None:
    # True log-odds z; the model reports sigmoid(2.5 z), i.e. it is overconfident by T = 2.5.
    rng = np.random.default_rng(5)
    z = rng.normal(0.0, 1.5, size=20000)
    labels = rng.uniform(size=z.size) < expit(z)
    signals = [Signals(answer_prob=float(p)) for p in expit(2.5 * z)]
    scaler = TemperatureScaling("answer_prob").fit(signals, labels.tolist())
    assert scaler.temperature == pytest.approx(2.5, rel=0.1)
    np.testing.assert_allclose(scaler.predict(signals[:50]), expit(z[:50]), rtol=0.1)


def test_temperature_scaling_needs_a_probability_signal() -> None:
    with pytest.raises(ValueError, match="not probability-valued"):
        TemperatureScaling("agreement")


@pytest.mark.parametrize("kind", [PlattScaling, IsotonicCalibration])
def test_platt_and_isotonic_give_probabilities(kind: type) -> None:
    calibrator = kind("agreement").fit(*TRAIN)
    grid = [Signals(agreement=x) for x in np.linspace(0, 1, 21)] + [Signals()]
    predictions = calibrator.predict(grid)
    assert np.all((predictions >= 0) & (predictions <= 1))
    assert np.all(np.diff(predictions[:-1]) >= 0)
    assert roc_auc_score(TEST[1], calibrator.predict(TEST[0])) > 0.9


def test_single_signal_uses_raw_value_and_training_mean() -> None:
    signals, labels = TRAIN
    raw = SingleSignal("p_true").fit(signals, labels)
    observed = [s.p_true for s in signals if s.p_true is not None]
    predictions = raw.predict([Signals(p_true=0.3), Signals()])
    assert predictions[0] == 0.3
    assert predictions[1] == pytest.approx(np.mean(observed))
    assert raw.name == "raw:p_true"


def test_calibrator_must_be_fitted_before_predict() -> None:
    with pytest.raises(NotFittedError, match="platt:agreement is not fitted"):
        PlattScaling("agreement").predict([Signals(agreement=0.5)])


def test_fit_baselines_covers_every_usable_signal() -> None:
    signals = [
        s.model_copy(update={"answer_prob": float(a)})
        for s, a in zip(TRAIN[0], np.linspace(0.01, 0.99, len(TRAIN[0])), strict=True)
    ]
    baselines = fit_baselines(signals, TRAIN[1])
    expected = {
        f"{kind}:{name}"
        for name in ("verbal_mean", "agreement", "answer_prob", "p_true")
        for kind in ("raw", "platt", "isotonic")
    } | {"temperature:answer_prob", "temperature:p_true"}
    assert set(baselines) == expected
    assert all(b.name == key for key, b in baselines.items())
    only = fit_baselines(signals, TRAIN[1], features=["agreement"])
    assert set(only) == {"raw:agreement", "platt:agreement", "isotonic:agreement"}
    with pytest.raises(ValueError, match="both classes"):
        fit_baselines(signals[:3], [True] * 3)
