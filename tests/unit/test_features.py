"""The head's features: each signal's transform, its orientation and its missing rule."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy.special import logit

from elicit.calibration.features import LOG_FLOOR, LOGIT_CLIP, feature_matrix, features
from elicit.signals.registry import SIGNAL_NAMES
from elicit.types import Signals


def test_every_signal_has_a_feature() -> None:
    catalogue = features()
    assert set(SIGNAL_NAMES) <= set(catalogue)
    assert all(catalogue[name].inputs == (name,) for name in SIGNAL_NAMES)


def test_transforms() -> None:
    row = Signals(answer_prob=0.25, p_true=1.0, agreement=1.0, margin=0.4, answer_similarity=0.8, n_samples=5)
    names = ["answer_prob", "p_true", "agreement", "margin", "cocoa", "verbal_mean"]
    values = feature_matrix([row, Signals(answer_prob=0.0)], names)
    assert values[0, 0] == pytest.approx(math.log(0.25))
    assert values[0, 1] == pytest.approx(logit(1 - LOGIT_CLIP))  # a stated certainty is clipped
    assert values[0, 2] == pytest.approx(logit(5.5 / 6))  # 5 of 5 agreeing is smoothed, not certainty
    assert values[0, 3] == 0.4
    assert values[0, 4] == pytest.approx(math.log(0.25) * 0.2)
    assert np.isnan(values[0, 5])  # missing stays missing
    assert values[1, 0] == pytest.approx(math.log(LOG_FLOOR))
    assert np.isnan(values[1, 4])  # cocoa needs both of its inputs
    without_count = feature_matrix([Signals(agreement=0.6)], ["agreement"])
    assert without_count[0, 0] == pytest.approx(logit(0.6))
    with pytest.raises(ValueError, match="unknown feature names"):
        feature_matrix([row], ["confidence"])


@given(st.floats(0, 1), st.floats(0, 1), st.sampled_from(sorted(SIGNAL_NAMES)))
def test_every_feature_is_oriented_like_its_signal(a: float, b: float, name: str) -> None:
    low, high = sorted((a, b))
    values = feature_matrix([Signals(**{name: low}, n_samples=5), Signals(**{name: high}, n_samples=5)], [name])
    assert values[0, 0] <= values[1, 0]
