"""The one probe recipe (standardize, logistic regression with C chosen by cross-validation) against scikit-learn."""

from __future__ import annotations

import numpy as np
import pytest
from pydantic import ValidationError
from sklearn.linear_model import LogisticRegression, LogisticRegressionCV
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from elicit.calibration.linear import C_GRID
from elicit.calibration.probe import MAX_ITER, LogisticProbe


def _data(n: int = 200, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 4)) * [1.0, 10.0, 0.1, 3.0] + [0.0, 5.0, -2.0, 1.0]
    y = rng.uniform(size=n) < 1 / (1 + np.exp(-(x[:, 0] + 0.2 * x[:, 1] - 1.0)))
    return x, y


@pytest.mark.parametrize("cs", [10, C_GRID])
def test_search_matches_scikit_learn_on_the_same_folds_and_grid(cs):
    x, y = _data()
    search = LogisticRegressionCV(
        Cs=cs if isinstance(cs, int) else list(cs),
        cv=StratifiedKFold(4, shuffle=True, random_state=3),
        scoring="neg_log_loss",
        max_iter=MAX_ITER,
        l1_ratios=(0.0,),
        use_legacy_attributes=False,
    )
    reference = make_pipeline(StandardScaler(), search).fit(x, y)
    probe = LogisticProbe.fit(x, y, folds=4, seed=3, cs=cs)
    queries = _data(20, seed=1)[0]
    np.testing.assert_allclose(probe.predict(queries), reference.predict_proba(queries)[:, 1], rtol=1e-12)
    np.testing.assert_allclose(probe.decision(queries), reference.decision_function(queries), rtol=1e-12)
    assert probe.C == np.ravel(reference[-1].C_)[0]
    assert probe.mean == reference[0].mean_.tolist() and probe.scale == reference[0].scale_.tolist()


def test_fit_at_uses_the_given_c_without_a_search():
    x, y = _data()
    probe = LogisticProbe.fit_at(x, y, 0.05)
    reference = make_pipeline(StandardScaler(), LogisticRegression(C=0.05, max_iter=MAX_ITER)).fit(x, y)
    np.testing.assert_allclose(probe.decision(x), reference.decision_function(x), rtol=1e-12)
    assert probe.C == 0.05


def test_constant_column_is_left_unscaled_with_weight_zero_and_state_round_trips():
    x, y = _data()
    x[:, 2] = 0.5
    probe = LogisticProbe.fit(x, y, folds=5, seed=0)
    assert probe.scale[2] == 1.0 and probe.coef[2] == 0.0
    again = LogisticProbe.model_validate(probe.model_dump())
    assert np.array_equal(again.predict(x), probe.predict(x))


def test_bad_states_and_inputs_are_named():
    good = {"mean": [0.0, 1.0], "scale": [1.0, 2.0], "coef": [0.5, -0.5], "intercept": 0.1, "C": 1.0}
    changes = [
        ({"coef": [1.0]}, "coef has 1 entries, mean has 2"),
        ({"scale": [1.0, 0.0]}, "scale entries must be positive"),
        ({"slope": 1.0}, "slope"),
    ]
    for change, message in changes:
        with pytest.raises(ValidationError, match=message):
            LogisticProbe.model_validate({**good, **change})
    with pytest.raises(ValueError, match=r"x must have 2 columns \(the probe's features\), got shape \(3, 3\)"):
        LogisticProbe.model_validate(good).predict(np.zeros((3, 3)))


def test_a_free_column_keeps_its_weight_when_the_others_are_shrunk_away():
    """At the grid's smallest C, L2 leaves only the free column: that column's own logistic regression."""
    x, y = _data()
    shrunk = LogisticProbe.fit_at(x, y, min(C_GRID), free=[0])
    alone = make_pipeline(StandardScaler(), LogisticRegression(C=1e6, max_iter=MAX_ITER)).fit(x[:, :1], y)
    assert max(abs(w) for w in shrunk.coef[1:]) < 0.1 * shrunk.coef[0]
    assert shrunk.coef[0] == pytest.approx(alone[-1].coef_[0][0], rel=0.02)
    penalized = LogisticProbe.fit_at(x, y, min(C_GRID))
    assert penalized.coef[0] < 0.05 * shrunk.coef[0]
    wide = LogisticProbe.fit_at(x, y, 1e6, free=[0])
    unpenalized = LogisticProbe.fit_at(x, y, 1e6)
    np.testing.assert_allclose(wide.decision(x), unpenalized.decision(x), atol=0.01)
