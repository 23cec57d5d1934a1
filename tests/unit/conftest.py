"""Synthetic labelled signals shared by the head and calibrator tests."""

from __future__ import annotations

import numpy as np
import pytest

from elicit.types import Signals

Labelled = tuple[list[Signals], list[bool]]


def synthetic(n: int = 400, seed: int = 0) -> Labelled:
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


@pytest.fixture(scope="session")
def train() -> Labelled:
    return synthetic()


@pytest.fixture(scope="session")
def test_set() -> Labelled:
    return synthetic(seed=1)
