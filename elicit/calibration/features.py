"""Signals turned into the features a linear head can use, each oriented higher = more confident.

A logistic head adds its features linearly on the log-odds scale, so a feature should
already be roughly linear in the log-odds of being right. Token probabilities span many
orders of magnitude and enter as logs; P(True), verbal confidence and other probabilities
enter as logits (clipped, since a 135M model happily states 99.99999%); agreement counts
are smoothed by the sample count, (k + 1/2) / (n + 1), so 5 of 5 is not certainty; bounded
similarity and entropy scores enter as they are. One product feature follows CoCoA
(Vashurin et al. 2025): the answer's log-probability times how far the samples are from
it, so a likely answer that the other samples contradict is marked down.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy.special import logit

from elicit.signals.registry import specs
from elicit.signals.spec import FeatureForm
from elicit.types import Signals

LOGIT_CLIP = 1e-4
"""Probabilities are kept in [1e-4, 1 - 1e-4] before a logit: beyond that a stated or
token probability carries no more information, only a larger lever on the head."""
LOG_FLOOR = 1e-8
"""Token probabilities below this are floored before the log (the scale of a long, unlikely span)."""

Columns = Mapping[str, NDArray[np.float64]]


@dataclass(frozen=True)
class Feature:
    """One head input: a transform of one or more signals (NaN wherever an input is missing)."""

    name: str
    inputs: tuple[str, ...]
    transform: Callable[[Columns, NDArray[np.float64]], NDArray[np.float64]]
    form: str


def _log(name: str) -> Feature:
    return Feature(name, (name,), lambda v, n: np.log(np.maximum(v[name], LOG_FLOOR)), f"log {name}")


def _logit(name: str) -> Feature:
    return Feature(name, (name,), lambda v, n: logit(np.clip(v[name], LOGIT_CLIP, 1 - LOGIT_CLIP)), f"logit {name}")


def _smoothed(name: str) -> Feature:
    """logit((k + 1/2) / (n + 1)) with k = share * n; without a sample count, the clipped share."""

    def transform(values: Columns, n: NDArray[np.float64]) -> NDArray[np.float64]:
        share = values[name]
        smoothed = np.where(np.isnan(n), share, (share * n + 0.5) / (n + 1.0))
        return logit(np.clip(smoothed, LOGIT_CLIP, 1 - LOGIT_CLIP))

    return Feature(name, (name,), transform, f"logit smoothed {name}")


def _linear(name: str) -> Feature:
    return Feature(name, (name,), lambda v, n: v[name], name)


_FORMS: dict[FeatureForm, Callable[[str], Feature]] = {
    "log": _log,
    "logit": _logit,
    "smoothed": _smoothed,
    "linear": _linear,
}
"""Each signal's declared form (``SignalSpec.form``) -> the feature that reads it so."""


def _cocoa(values: Columns, n: NDArray[np.float64]) -> NDArray[np.float64]:
    return np.log(np.maximum(values["answer_prob"], LOG_FLOOR)) * (1.0 - values["answer_similarity"])


COMBINED: tuple[Feature, ...] = (
    Feature("cocoa", ("answer_prob", "answer_similarity"), _cocoa, "log answer_prob x (1 - answer_similarity)"),
)
"""Features that combine several signals (named for themselves, not for a signal)."""


def features() -> dict[str, Feature]:
    """Every feature by name: one per registered signal, in its declared form, then the combined ones."""
    own = {signal.name: _FORMS[signal.form](signal.name) for signal in specs()}
    return own | {feature.name: feature for feature in COMBINED}


def check_features(names: Sequence[str]) -> None:
    """Reject unknown feature names, listing the known ones."""
    known = features()
    unknown = [name for name in names if name not in known]
    if unknown:
        raise ValueError(f"unknown feature names {unknown}; known: {list(known)}")


def signal_matrix(signals: Sequence[Signals], names: Sequence[str]) -> NDArray[np.float64]:
    """Rows of raw signal values, shape (len(signals), len(names)), NaN where a signal is missing."""
    values = np.array([[item.get(name) for name in names] for item in signals], dtype=float)
    return values.reshape(len(signals), len(names))


def feature_matrix(signals: Sequence[Signals], names: Sequence[str]) -> NDArray[np.float64]:
    """Rows of feature values for ``signals``, NaN where an input signal is missing."""
    check_features(names)
    catalogue = features()
    inputs = sorted({name for feature in names for name in catalogue[feature].inputs})
    raw = dict(zip(inputs, signal_matrix(signals, inputs).T, strict=True))
    counts = np.array([np.nan if item.n_samples is None else item.n_samples for item in signals], dtype=float)
    columns = []
    for name in names:
        feature = catalogue[name]
        with np.errstate(invalid="ignore"):
            column = np.asarray(feature.transform(raw, counts), dtype=float)
        missing = np.any([np.isnan(raw[i]) for i in feature.inputs], axis=0)
        columns.append(np.where(missing, np.nan, column))
    return np.column_stack(columns) if columns else np.zeros((len(signals), 0))
