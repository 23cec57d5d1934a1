"""What the unit tier shares: an encoder that needs no model, a guard that keeps torch out, synthetic signals.

Unit tests check logic, so they must run without torch or the MiniLM sentence model: the
semantic signals embed answers with :class:`WordEncoder` (injected wherever a chain would
fall back to the bundled model), and a unit test that loads torch anyway fails, naming
itself. The real encoder is exercised by the integration tests.
"""

from __future__ import annotations

import hashlib
import sys
from collections.abc import Iterator, Sequence

import numpy as np
import pytest

from elicit.types import Signals

HEAVY = ("torch", "sentence_transformers", "transformers")


class WordEncoder:
    """Deterministic bag-of-words vectors: texts sharing words are similar, nothing is learned."""

    model_name = "test-words"
    dimensions = 64

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        vectors = np.zeros((len(texts), self.dimensions))
        for row, text in enumerate(texts):
            for word in text.lower().split():
                vectors[row, int(hashlib.sha256(word.encode()).hexdigest(), 16) % self.dimensions] += 1.0
        return vectors


@pytest.fixture(autouse=True)
def no_sentence_model(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Chains that would fall back to the bundled MiniLM model get ``WordEncoder`` instead."""
    monkeypatch.setattr("elicit.chains.confidence.bundled_encoder", WordEncoder)
    before = {name for name in HEAVY if name in sys.modules}
    yield
    loaded = sorted(name for name in HEAVY if name in sys.modules and name not in before)
    assert not loaded, f"a unit test loaded {loaded}: unit tests must not need a model"


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
