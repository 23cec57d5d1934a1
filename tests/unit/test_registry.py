"""A signal is one definition in one place: registered once, it is computed, read by the head and reported."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest

from elicit.calibration.features import feature_matrix, features
from elicit.calibration.fitting import raw_scores
from elicit.signals import registry
from elicit.signals.compute import compute_signals
from elicit.signals.sample_set import SampleSet
from elicit.signals.spec import Missing, SignalSpec, Value
from elicit.types import EvalRecord, Sample


def answered_share(samples: SampleSet) -> Value:
    """The share of samples that gave any answer at all."""
    return sum(s.answer is not None for s in samples.samples) / samples.n if samples.n else Missing("no samples")


TOY = SignalSpec("answered_share", "consistency", "share of samples with any answer", answered_share, "linear")


@pytest.fixture
def toy() -> Iterator[SignalSpec]:
    registry.register(TOY)
    yield TOY
    registry.unregister(TOY.name)


def _samples(*answers: str | None) -> list[Sample]:
    return [Sample(text=a or "?", strategy="vanilla", answer=a, parsed=a is not None) for a in answers]


def test_a_registered_signal_is_computed_featured_and_reported(toy: SignalSpec) -> None:
    signals = compute_signals(_samples("Paris", None, "Paris", "Lyon"), "Paris")
    assert signals.answered_share == 0.75 and list(signals.values())[-1] == toy.name
    assert toy.name in features() and feature_matrix([signals], [toy.name])[0, 0] == 0.75
    record = EvalRecord(
        id="q", question="q?", golds=["Paris"], correct=True, signals=signals, strategy="vanilla", n_samples=4
    )
    scores, _ = raw_scores([record])
    assert np.array_equal(scores[f"raw:{toy.name}"], [0.75])
    assert compute_signals([], "Paris").missing[toy.name] == "no samples"


def test_names_are_unique_and_built_in_signals_stay() -> None:
    with pytest.raises(ValueError, match="already registered"):
        registry.register(registry.spec("agreement"))
    with pytest.raises(ValueError, match="built-in signal"):
        registry.unregister("agreement")
    with pytest.raises(ValueError, match="unknown signal 'nope'"):
        registry.spec("nope")
    assert registry.names()[: len(registry.SIGNAL_NAMES)] == registry.SIGNAL_NAMES


def test_the_default_combinations_come_from_the_registry() -> None:
    assert registry.combination("several samples") == ("avg_conf", "agreement", "answer_mean_prob", "p_true")
    assert registry.combination("one sample") == ("verbal_mean", "answer_mean_prob", "p_true")
