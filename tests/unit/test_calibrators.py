"""One-signal calibrators and the score maps the head puts on its output, against scikit-learn."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.special import expit
from sklearn.exceptions import NotFittedError
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score

from elicit.calibration.calibrators import (
    IsotonicCalibration,
    PlattScaling,
    ScoreMap,
    TemperatureScaling,
    fit_baselines,
)
from elicit.types import Signals


def test_score_maps_predict_as_scikit_learn_does() -> None:
    rng = np.random.default_rng(2)
    scores = rng.normal(size=300)
    labels = rng.uniform(size=300) < expit(1.7 * scores - 0.3)
    probe = np.linspace(-5, 5, 41)  # reaches beyond the training range on both sides
    platt = ScoreMap.fit("platt", scores, labels)
    oracle = LogisticRegression(C=np.inf, max_iter=1000).fit(scores[:, None], labels)
    np.testing.assert_allclose(platt.predict(probe), oracle.predict_proba(probe[:, None])[:, 1], atol=1e-6)
    isotonic = ScoreMap.fit("isotonic", scores, labels)
    oracle_iso = IsotonicRegression(y_min=0, y_max=1, out_of_bounds="clip").fit(scores, labels.astype(float))
    np.testing.assert_allclose(isotonic.predict(probe), oracle_iso.predict(probe), atol=1e-12)
    restored = ScoreMap.model_validate_json(isotonic.model_dump_json())
    np.testing.assert_array_equal(restored.predict(probe), isotonic.predict(probe))
    with pytest.raises(ValueError, match="map kind must be one of"):
        ScoreMap.fit("beta", scores, labels)


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
def test_platt_and_isotonic_give_monotone_probabilities(kind: type, train, test_set) -> None:
    calibrator = kind("agreement").fit(*train)
    grid = [Signals(agreement=x) for x in np.linspace(0, 1, 21)] + [Signals()]
    predictions = calibrator.predict(grid)
    assert np.all((predictions >= 0) & (predictions <= 1))
    assert np.all(np.diff(predictions[:-1]) >= 0)
    assert roc_auc_score(test_set[1], calibrator.predict(test_set[0])) > 0.9


def test_calibrator_must_be_fitted_before_predict() -> None:
    with pytest.raises(NotFittedError, match="platt:agreement is not fitted"):
        PlattScaling("agreement").predict([Signals(agreement=0.5)])


def test_fit_baselines_covers_every_usable_feature(train) -> None:
    signals = [
        s.model_copy(update={"answer_prob": float(a)})
        for s, a in zip(train[0], np.linspace(0.01, 0.99, len(train[0])), strict=True)
    ]
    baselines = fit_baselines(signals, train[1])
    expected = {
        f"{kind}:{name}"
        for name in ("verbal_mean", "agreement", "answer_prob", "p_true")
        for kind in ("platt", "isotonic")
    } | {"temperature:answer_prob", "temperature:p_true"}
    assert set(baselines) == expected
    assert all(b.name == key for key, b in baselines.items())
    only = fit_baselines(signals, train[1], features=["agreement"])
    assert set(only) == {"platt:agreement", "isotonic:agreement"}
    with pytest.raises(ValueError, match="both classes"):
        fit_baselines(signals[:3], [True] * 3)
