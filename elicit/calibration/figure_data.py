"""What a report's figures plot, computed apart from the drawing.

Reliability diagrams plot :func:`elicit.calibration.metrics.reliability_bins`; this
module holds the other two: the risk-coverage curve and the confidence histograms of
right and wrong answers. As numbers they can be saved, compared and drawn again
without the scores they came from (:mod:`elicit.calibration.display.figures` draws them).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray
from pydantic import BaseModel, ConfigDict

from elicit.calibration import metrics

RISK_CURVE_POINTS = 100
"""Coverage levels per risk-coverage curve; enough for a smooth plot, small in JSON."""
HISTOGRAM_EDGES: tuple[float, ...] = tuple(np.linspace(-0.05, 1.05, 12).tolist())
"""Bins centred on 0, 0.1, ..., 1: verbalized confidences are round numbers, and edges at
exactly 0.7 or 0.8 would split them by floating-point accident."""


class RiskCoverage(BaseModel):
    """Error rate of the kept answers at each coverage, keeping the most confident first."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    coverage: list[float]
    risk: list[float]


class ConfidenceHistogram(BaseModel):
    """How many right and how many wrong answers fall in each confidence bin."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    edges: list[float]
    correct: list[int]
    wrong: list[int]


def risk_coverage(conf: NDArray[np.float64], outcomes: NDArray[Any]) -> RiskCoverage:
    """Error rate among the most confident items at evenly spaced coverage levels."""
    levels = np.linspace(0.0, 1.0, min(conf.size, RISK_CURVE_POINTS) + 1)[1:]
    risks = [1.0 - metrics.accuracy_at_coverage(conf, outcomes, float(level)) for level in levels]
    return RiskCoverage(coverage=levels.tolist(), risk=risks)


def confidence_histogram(conf: NDArray[np.float64], outcomes: NDArray[Any]) -> ConfidenceHistogram:
    """Counts of right and wrong answers per bin of ``HISTOGRAM_EDGES``."""
    right = outcomes.astype(bool)
    edges = np.asarray(HISTOGRAM_EDGES)
    return ConfidenceHistogram(
        edges=list(HISTOGRAM_EDGES),
        correct=np.histogram(conf[right], bins=edges)[0].tolist(),
        wrong=np.histogram(conf[~right], bins=edges)[0].tolist(),
    )
