"""What defines one signal: its name, family, how it is read from a sample set, and how a head uses it.

A signal is one :class:`SignalSpec`; everything else (the values a ``Signals`` holds, the
features of the fusion head, the default combination, the rows of a report) is derived
from the registry of specs (:mod:`elicit.signals.registry`), so adding a signal is one
definition in one place.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from elicit.signals.sample_set import SampleSet

Family = Literal["verbal", "consistency", "semantic", "logit", "self-evaluation", "white-box"]
"""Where a signal's evidence comes from; reports and the docs group signals by it."""

FeatureForm = Literal["log", "logit", "smoothed", "linear"]
"""How the fusion head reads a signal so that it is roughly linear in the log-odds of being right:
``log`` for token probabilities (they span orders of magnitude), ``logit`` for stated or
self-evaluated probabilities, ``smoothed`` for agreement counts ((k + 1/2) / (n + 1), then
logit), ``linear`` for bounded similarity and entropy scores."""

Combination = Literal["one sample", "several samples"]
"""The two default combinations: with one sample, agreement is trivially 1."""


@dataclass(frozen=True)
class Missing:
    """Why a signal has no value for one question ("logprobs were not requested", ...)."""

    reason: str


Value = float | Missing
"""What a signal's computation returns: a probability-like score, or why there is none."""


@dataclass(frozen=True)
class SignalSpec:
    """One confidence signal.

    ``compute`` reads the signal from a question's :class:`~elicit.signals.sample_set.SampleSet`
    (every signal of one question reads the same set, whose shared statistics are computed
    once) and returns a value oriented like every signal here: in [0, 1], higher = more
    likely correct (values are clipped to [0, 1] afterwards, to absorb rounding).
    ``needs_samples`` is False for evidence gathered beside the samples (P(True)), which
    exists even when no sample was drawn. ``probability`` marks a model probability, the
    only kind a temperature can rescale. ``default`` names the default combinations
    (used until a fitted head is given) the signal belongs to.
    """

    name: str
    family: Family
    summary: str
    compute: Callable[[SampleSet], Value]
    form: FeatureForm
    probability: bool = False
    needs_samples: bool = True
    default: tuple[Combination, ...] = ()
