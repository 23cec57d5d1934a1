"""Calibration and selective-prediction metrics for confidence scores.

Every function takes ``confidences`` (probabilities in [0, 1], higher = more likely
correct) and ``correct`` (bools or 0/1), one entry per question. Two families:

* calibration — does a confidence of 0.8 mean "right 80% of the time"?
  (ECE, MCE, Brier, NLL, reliability bins);
* discrimination / selective prediction — do higher confidences go to the right
  answers, so that abstaining on low-confidence questions helps?
  (AUROC, AUPRC, AURC, PRR, accuracy at a coverage).

Ranking metrics that would be meaningless on the given data (e.g. AUROC when every
answer is correct) return None instead of a number that looks like a result.
"""

from __future__ import annotations

import math
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray
from pydantic import BaseModel, ConfigDict
from sklearn.metrics import average_precision_score, roc_auc_score

BinStrategy = Literal["uniform", "quantile"]

HIGHER_IS_BETTER: frozenset[str] = frozenset({"auroc", "auprc_pos", "auprc_neg", "prr"})
LOWER_IS_BETTER: frozenset[str] = frozenset({"ece", "mce", "brier", "nll", "aurc"})
"""Which way each quality metric of :func:`summarize` improves (``n`` and ``accuracy``
describe the questions, not the confidence, and are in neither)."""


class ReliabilityBin(BaseModel):
    """One bin of a reliability diagram; empty bins have ``count`` 0 and None means."""

    model_config = ConfigDict(extra="forbid")

    lower: float
    upper: float
    count: int
    mean_confidence: float | None
    accuracy: float | None


def _as_vector(values: ArrayLike, name: str) -> NDArray[np.float64]:
    try:
        array = np.asarray(values, dtype=float)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be numeric: {exc}") from exc
    if array.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional, got shape {array.shape}")
    nan_positions = np.flatnonzero(np.isnan(array))
    if nan_positions.size:
        raise ValueError(f"{name} contains NaN at index {int(nan_positions[0])}")
    return array


def _validate(confidences: ArrayLike, correct: ArrayLike) -> tuple[NDArray[np.float64], NDArray[np.bool_]]:
    """Check the inputs once so every metric can assume clean, aligned vectors."""
    conf = _as_vector(confidences, "confidences")
    corr = _as_vector(correct, "correct")
    if conf.size != corr.size:
        raise ValueError(f"confidences and correct differ in length ({conf.size} != {corr.size})")
    if conf.size == 0:
        raise ValueError("confidences and correct are empty")
    outside = np.flatnonzero((conf < 0.0) | (conf > 1.0))
    if outside.size:
        index = int(outside[0])
        raise ValueError(f"confidences[{index}] = {conf[index]} is outside [0, 1]")
    not_binary = np.flatnonzero((corr != 0.0) & (corr != 1.0))
    if not_binary.size:
        index = int(not_binary[0])
        raise ValueError(f"correct[{index}] = {corr[index]} is not a bool or 0/1")
    return conf, corr.astype(bool)


def _bin_edges(conf: NDArray[np.float64], n_bins: int, strategy: str) -> NDArray[np.float64]:
    if isinstance(n_bins, bool) or not isinstance(n_bins, int) or n_bins < 1:
        raise ValueError(f"n_bins must be a positive integer, got {n_bins!r}")
    if strategy == "uniform":
        return np.linspace(0.0, 1.0, n_bins + 1)
    if strategy == "quantile":
        edges = np.quantile(conf, np.linspace(0.0, 1.0, n_bins + 1)).astype(np.float64)
        # Outer edges span the whole probability range so the bins tile [0, 1].
        edges[0], edges[-1] = 0.0, 1.0
        return edges
    raise ValueError(f"strategy must be 'uniform' or 'quantile', got {strategy!r}")


def _bin_totals(
    conf: NDArray[np.float64], corr: NDArray[np.bool_], n_bins: int, strategy: str
) -> tuple[NDArray[np.float64], NDArray[np.int64], NDArray[np.float64], NDArray[np.float64]]:
    """Edges plus per-bin count, confidence sum and correct count.

    Bins are closed on the right, (lower, upper], with the first one also holding 0,
    which is the convention of scikit-learn's ``calibration_curve``.
    """
    edges = _bin_edges(conf, n_bins, strategy)
    bin_ids = np.searchsorted(edges[1:-1], conf, side="left")
    counts = np.bincount(bin_ids, minlength=n_bins).astype(np.int64)
    conf_sums = np.bincount(bin_ids, weights=conf, minlength=n_bins).astype(np.float64)
    correct_sums = np.bincount(bin_ids, weights=corr.astype(float), minlength=n_bins).astype(np.float64)
    return edges, counts, conf_sums, correct_sums


def _calibration_gaps(
    confidences: ArrayLike, correct: ArrayLike, n_bins: int, strategy: str
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """|accuracy - mean confidence| and weight (share of items) of every non-empty bin."""
    conf, corr = _validate(confidences, correct)
    _, counts, conf_sums, correct_sums = _bin_totals(conf, corr, n_bins, strategy)
    filled = counts > 0
    gaps = np.abs(correct_sums[filled] - conf_sums[filled]) / counts[filled]
    return gaps, counts[filled] / conf.size


def ece(
    confidences: ArrayLike,
    correct: ArrayLike,
    n_bins: int = 10,
    strategy: BinStrategy = "uniform",
) -> float:
    """Expected calibration error: bin-size-weighted mean |accuracy - confidence|.

    "uniform" bins are equal-width; "quantile" bins hold equal numbers of items, which
    avoids near-empty bins when confidences cluster (as verbalized ones do at 0.9).
    """
    gaps, weights = _calibration_gaps(confidences, correct, n_bins, strategy)
    return float(np.sum(gaps * weights))


def mce(
    confidences: ArrayLike,
    correct: ArrayLike,
    n_bins: int = 10,
    strategy: BinStrategy = "uniform",
) -> float:
    """Maximum calibration error: the worst |accuracy - confidence| over non-empty bins."""
    gaps, _ = _calibration_gaps(confidences, correct, n_bins, strategy)
    return float(np.max(gaps))


def reliability_bins(
    confidences: ArrayLike,
    correct: ArrayLike,
    n_bins: int = 10,
    strategy: BinStrategy = "uniform",
) -> list[ReliabilityBin]:
    """The bins behind ECE/MCE, for plotting a reliability diagram.

    Empty bins are kept (count 0, None means) so every diagram has the same x-axis.
    """
    conf, corr = _validate(confidences, correct)
    edges, counts, conf_sums, correct_sums = _bin_totals(conf, corr, n_bins, strategy)
    bins = []
    for index, count in enumerate(counts.tolist()):
        bins.append(
            ReliabilityBin(
                lower=float(edges[index]),
                upper=float(edges[index + 1]),
                count=count,
                mean_confidence=float(conf_sums[index] / count) if count else None,
                accuracy=float(correct_sums[index] / count) if count else None,
            )
        )
    return bins


def brier(confidences: ArrayLike, correct: ArrayLike) -> float:
    """Mean squared error between confidence and the 0/1 outcome."""
    conf, corr = _validate(confidences, correct)
    return float(np.mean((conf - corr) ** 2))


def nll(confidences: ArrayLike, correct: ArrayLike, eps: float = 1e-12) -> float:
    """Mean negative log-likelihood of the outcomes.

    Confidences are clipped to [eps, 1 - eps] so one confidently wrong 0/1 answer gives
    a large but finite penalty instead of infinity.
    """
    conf, corr = _validate(confidences, correct)
    if not 0.0 < eps < 0.5:
        raise ValueError(f"eps must be in (0, 0.5), got {eps}")
    clipped = np.clip(conf, eps, 1.0 - eps)
    return float(-np.mean(np.where(corr, np.log(clipped), np.log1p(-clipped))))


def auroc(confidences: ArrayLike, correct: ArrayLike) -> float | None:
    """Probability that a random correct answer gets more confidence than a random wrong one.

    Returns None when only one class is present: with no wrong (or no right) answers
    there is no pair to rank, and any number (0.5 or an error value) would be read as
    a measurement of discrimination that was never made.
    """
    conf, corr = _validate(confidences, correct)
    if corr.all() or not corr.any():
        return None
    return float(roc_auc_score(corr, conf))


def auprc_positive(confidences: ArrayLike, correct: ArrayLike) -> float | None:
    """Average precision for finding correct answers by confidence; None if none are correct."""
    conf, corr = _validate(confidences, correct)
    if not corr.any():
        return None
    return float(average_precision_score(corr, conf))


def auprc_negative(confidences: ArrayLike, correct: ArrayLike) -> float | None:
    """Average precision for finding wrong answers by 1 - confidence; None if none are wrong.

    This is the view of a router that wants to catch errors, where errors are usually
    the rare class and AUROC hides how many false alarms it takes to find them.
    """
    conf, corr = _validate(confidences, correct)
    if corr.all():
        return None
    return float(average_precision_score(~corr, 1.0 - conf))


def _expected_errors_retained(conf: NDArray[np.float64], corr: NDArray[np.bool_]) -> NDArray[np.float64]:
    """Expected number of errors among the k most confident items, for k = 1..n.

    Ties are resolved by expectation rather than by input order: when the cut-off
    falls inside a group of equally confident items, each of them counts with the
    group's error rate. The result equals the average over all random tie-breaks, is
    deterministic, and does not change when the input is reordered.
    """
    values, inverse = np.unique(conf, return_inverse=True)
    group_sizes = np.bincount(inverse, minlength=values.size)[::-1]
    group_errors = np.bincount(inverse, weights=(~corr).astype(float), minlength=values.size)[::-1]
    boundaries = np.concatenate(([0.0], np.cumsum(group_sizes)))
    errors_at_boundaries = np.concatenate(([0.0], np.cumsum(group_errors)))
    retained = np.arange(1, conf.size + 1, dtype=float)
    return np.interp(retained, boundaries, errors_at_boundaries)


def _risk_curve(conf: NDArray[np.float64], corr: NDArray[np.bool_]) -> NDArray[np.float64]:
    """Error rate among the k most confident items, for k = 1..n (ties by expectation)."""
    return _expected_errors_retained(conf, corr) / np.arange(1, conf.size + 1)


def aurc(confidences: ArrayLike, correct: ArrayLike) -> float:
    """Area under the risk-coverage curve (lower is better).

    Items are retained from most to least confident; the area is the mean error rate
    over the n coverage levels 1/n, ..., n/n. Tied confidences are handled by
    expectation (see ``_expected_errors_retained``), so the result does not depend on
    the order of the input.
    """
    conf, corr = _validate(confidences, correct)
    return float(np.mean(_risk_curve(conf, corr)))


def prr(confidences: ArrayLike, correct: ArrayLike) -> float | None:
    """Prediction-rejection ratio: how much of the oracle's gain from rejection is achieved.

    The rejection curve is the accuracy of the retained set as the least confident
    items are rejected; its area (mean over the n retained-set sizes) is compared with
    random rejection (flat at the overall accuracy) and with the oracle that rejects
    wrong answers first: (AUC_conf - AUC_random) / (AUC_oracle - AUC_random).
    1 is a perfect ranking, 0 no better than random, negative worse than random.
    None when every answer is right or every answer is wrong, since then rejection
    cannot help and the oracle coincides with random.
    """
    conf, corr = _validate(confidences, correct)
    if corr.all() or not corr.any():
        return None
    n_items = conf.size
    retained = np.arange(1, n_items + 1)
    accuracy = float(np.mean(corr))
    auc_conf = 1.0 - float(np.mean(_risk_curve(conf, corr)))
    auc_oracle = float(np.mean(np.minimum(1.0, np.sum(corr) / retained)))
    return (auc_conf - accuracy) / (auc_oracle - accuracy)


def accuracy_at_coverage(confidences: ArrayLike, correct: ArrayLike, coverage: float) -> float:
    """Accuracy on the most confident ``coverage`` fraction of items.

    The retained count is ceil(coverage * n) (at least one item); tied confidences at
    the cut-off are handled by expectation, as in ``aurc``.
    """
    conf, corr = _validate(confidences, correct)
    if not 0.0 < coverage <= 1.0:
        raise ValueError(f"coverage must be in (0, 1], got {coverage}")
    # The small slack keeps e.g. 0.3 * 10 = 3.0000000000000004 from retaining 4 items.
    retained = max(1, math.ceil(coverage * conf.size - 1e-9))
    return 1.0 - float(_risk_curve(conf, corr)[retained - 1])


def summarize(confidences: ArrayLike, correct: ArrayLike, n_bins: int = 10) -> dict[str, float | None]:
    """Every headline metric at once, keyed the way reports and tables print them."""
    conf, corr = _validate(confidences, correct)
    return {
        "ece": ece(conf, corr, n_bins),
        "mce": mce(conf, corr, n_bins),
        "brier": brier(conf, corr),
        "nll": nll(conf, corr),
        "auroc": auroc(conf, corr),
        "auprc_pos": auprc_positive(conf, corr),
        "auprc_neg": auprc_negative(conf, corr),
        "aurc": aurc(conf, corr),
        "prr": prr(conf, corr),
        "accuracy": float(np.mean(corr)),
        "n": conf.size,
    }
