"""Uncertainty for quality figures: bootstrap intervals, paired comparisons, cross-fit folds.

A metric computed on a few hundred labelled questions is an estimate, and two confidence
methods whose AUROCs differ in the second decimal may not differ at all. Every quality
figure in the project therefore carries an interval from this module, and every "method A
beats method B" claim a paired bootstrap of the difference.

Design choices, and why:

* Resampling is stratified by the label (correct / wrong answers are resampled
  separately, each keeping its count). The ranking metrics (AUROC, AUPRC, PRR) are only
  defined when both classes are present; a plain bootstrap of a sample with few errors
  would now and then draw none and leave holes in the distribution. Holding the counts
  fixed also means the interval describes the uncertainty of the *ranking / calibration*
  at the observed accuracy, not the uncertainty of the accuracy itself. For that reason
  ``accuracy`` has no bootstrap interval here: it would always be zero-width.
* Optional extra ``strata`` (e.g. dataset names) are resampled within each
  (stratum, label) cell, so a pooled figure keeps the dataset mix it was measured on.
* Where the accuracy itself is the uncertain figure (a routing policy's accuracy at a
  retrieval rate), questions are resampled plainly instead. Both draws come from one
  function, :func:`resample_indices`, with or without strata.
* One matrix of resample indices is drawn per call and reused for every metric (and for
  both methods of a paired comparison), and it depends only on the labels, strata,
  ``n_resamples`` and ``seed``. Calls for different methods on the same questions with the
  same seed therefore use the very same resamples.
* Point estimates always come from :mod:`elicit.calibration.metrics`. Inside the
  resampling loop the cheap metrics are also taken from there, row by row; AUROC and
  average precision, whose scikit-learn versions cost about a millisecond per call, are
  computed for all resamples at once by batched formulas that the tests check against
  the reference functions.
* Intervals are percentile intervals. Note that ECE (and MCE) is biased upward on small
  samples, more so on a resample (which repeats rows), so for a well-calibrated method
  its interval can lie above the point estimate; that is a property of the estimator and
  not a bug of the interval.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable, Hashable, Sequence
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray
from pydantic import BaseModel, ConfigDict
from scipy.stats import rankdata

from elicit.calibration import metrics as reference_metrics
from elicit.calibration.metrics import HIGHER_IS_BETTER, _validate

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]
IndexArray = NDArray[np.intp]

# Per-resample functions of (confidences, correct, n_bins) from the reference module.
_REFERENCE: dict[str, Callable[[FloatArray, BoolArray, int], float | None]] = {
    "ece": lambda conf, corr, n_bins: reference_metrics.ece(conf, corr, n_bins),
    "mce": lambda conf, corr, n_bins: reference_metrics.mce(conf, corr, n_bins),
    "brier": lambda conf, corr, n_bins: reference_metrics.brier(conf, corr),
    "nll": lambda conf, corr, n_bins: reference_metrics.nll(conf, corr),
    "auroc": lambda conf, corr, n_bins: reference_metrics.auroc(conf, corr),
    "auprc_pos": lambda conf, corr, n_bins: reference_metrics.auprc_positive(conf, corr),
    "auprc_neg": lambda conf, corr, n_bins: reference_metrics.auprc_negative(conf, corr),
    "aurc": lambda conf, corr, n_bins: reference_metrics.aurc(conf, corr),
    "prr": lambda conf, corr, n_bins: reference_metrics.prr(conf, corr),
}

METRIC_NAMES: tuple[str, ...] = tuple(_REFERENCE)
"""Metrics that can be bootstrapped; the keys of ``metrics.summarize`` minus ``accuracy``
(zero-width under label stratification) and ``n``."""

DEFAULT_METRICS: tuple[str, ...] = ("auroc", "ece", "brier", "nll", "aurc", "prr", "auprc_pos", "auprc_neg")
"""Headline metrics; ``mce`` is left out because a single sparse bin dominates it."""


class PairedDifference(BaseModel):
    """Bootstrap comparison of two confidence methods on the same questions.

    ``estimate`` is metric(A) - metric(B) on all rows; ``low``/``high`` the percentile
    interval of that difference over paired resamples (both methods scored on the same
    resampled rows). ``share_opposite`` is a two-sided bootstrap analogue of a p-value:
    twice the share of resampled differences on the less populated side of zero (a
    difference of exactly 0 counts on both sides), capped at 1. It is near 0 when the
    resamples agree on the sign of the difference and 1 when they are split evenly or
    the methods never differ. Whether a positive difference favours A depends on the
    metric, see ``higher_is_better``.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    metric: str
    estimate: float
    low: float
    high: float
    share_opposite: float
    higher_is_better: bool
    n: int
    n_resamples: int
    level: float


# --------------------------------------------------------------------------- validation


def _check_draw(n_resamples: int, seed: int) -> None:
    if isinstance(n_resamples, bool) or not isinstance(n_resamples, int | np.integer) or n_resamples < 1:
        raise ValueError(f"n_resamples must be a positive integer, got {n_resamples!r}")
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer):
        raise ValueError(f"seed must be an integer, got {seed!r}")


def _check_resampling(n_resamples: int, level: float, seed: int) -> None:
    _check_draw(n_resamples, seed)
    try:
        valid_level = not isinstance(level, bool) and 0.0 < float(level) < 1.0
    except (TypeError, ValueError):
        valid_level = False
    if not valid_level:
        raise ValueError(f"level must be a number strictly between 0 and 1, got {level!r}")


def _check_metric_names(names: Sequence[str], argument: str) -> tuple[str, ...]:
    if isinstance(names, str):
        names = (names,)
    chosen = tuple(dict.fromkeys(names))
    if not chosen:
        raise ValueError(f"{argument} must name at least one metric")
    for name in chosen:
        if name == "accuracy":
            raise ValueError(
                f"{argument}: 'accuracy' has no bootstrap interval here: resampling is stratified by "
                "the label, so every resample has the observed accuracy and the interval would be zero-width"
            )
        if name not in _REFERENCE:
            raise ValueError(f"{argument}: unknown metric {name!r}; choose from {', '.join(METRIC_NAMES)}")
    return chosen


def _plain(value: Any) -> Any:
    """A numpy scalar as the Python value it holds, so 'a' and np.str_('a') are one key."""
    return value.item() if isinstance(value, np.generic) else value


def _as_labels(values: ArrayLike | Sequence[Hashable], n: int, argument: str) -> list[Hashable]:
    items = [_plain(v) for v in (values.tolist() if isinstance(values, np.ndarray) else list(values))]  # type: ignore[arg-type]
    if len(items) != n:
        raise ValueError(f"{argument} has {len(items)} entries, expected {n} (one per record)")
    for index, item in enumerate(items):
        try:
            hash(item)
        except TypeError as exc:
            raise ValueError(f"{argument}[{index}] = {item!r} is not hashable") from exc
    return items


def _codes(values: Sequence[Hashable]) -> NDArray[np.int64]:
    """Integer codes in order of first appearance (works for any hashable labels)."""
    seen: dict[Hashable, int] = {}
    return np.fromiter((seen.setdefault(v, len(seen)) for v in values), dtype=np.int64, count=len(values))


# --------------------------------------------------------------------------- resampling


def resample_indices(n: int, *, n_resamples: int, seed: int, strata: NDArray[np.integer] | None = None) -> IndexArray:
    """Row indices of ``n_resamples`` bootstrap resamples of ``n`` rows, shape (n_resamples, n).

    Without ``strata``, a plain bootstrap: each resample draws ``n`` rows with replacement
    from all of them, exactly ``np.random.default_rng(seed).integers(0, n, size=(n_resamples,
    n))``. With ``strata`` (one integer code per row), rows are drawn within each stratum and
    each stratum keeps its size, so every resample holds the data's count of each; columns
    are then grouped by stratum, in ascending code order. The draw depends only on ``n``,
    ``strata``, ``n_resamples`` and ``seed``, so figures computed on the same rows with the
    same seed share their resamples (which is what makes a paired comparison paired).
    """
    if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 1:
        raise ValueError(f"n must be a positive integer (the number of rows), got {n!r}")
    _check_draw(n_resamples, seed)
    codes = np.zeros(n, dtype=np.int64) if strata is None else np.asarray(strata)
    if codes.shape != (n,):
        raise ValueError(f"strata has shape {codes.shape}, expected ({n},): one code per row")
    rng = np.random.default_rng(seed)
    blocks = []
    for code in np.unique(codes):
        members = np.flatnonzero(codes == code)
        blocks.append(members[rng.integers(0, members.size, size=(n_resamples, members.size))])
    return np.concatenate(blocks, axis=1)


def _cells(correct: BoolArray, strata: NDArray[np.int64] | None) -> NDArray[np.int64]:
    """One code per (stratum, label) cell, the strata the metric bootstrap resamples within:
    every resample keeps the data's label counts (per stratum), and all metrics here ignore
    the order of the rows."""
    stratum = np.zeros(correct.size, dtype=np.int64) if strata is None else strata
    return stratum * 2 + correct.astype(np.int64)


def _sorted_rows(conf: FloatArray, corr: BoolArray, index: IndexArray) -> tuple[FloatArray, BoolArray]:
    """Confidences and outcomes of every resample, each row in ascending confidence.

    The data are sorted once and the resample indices are mapped to positions in that
    order; sorting those integers per row is far cheaper than sorting every resample's
    confidences, and it lets the ranking metrics below skip their own sort. Every
    metric here is invariant to row order, so nothing else changes.
    """
    order = np.argsort(conf, kind="stable")
    position = np.empty_like(order)
    position[order] = np.arange(order.size)
    ranked = np.sort(position[index], axis=1)
    return conf[order][ranked], corr[order][ranked]


def _auroc_rows(conf: FloatArray, corr: BoolArray) -> FloatArray:
    """AUROC of every row by the Mann-Whitney rank formula (ties get average ranks).

    Rows need not be sorted (sorted rows just rank faster). Equals ``roc_auc_score``
    (tested); NaN for rows with a single class.
    """
    ranks = rankdata(conf, axis=1)
    n_pos = corr.sum(axis=1).astype(np.float64)
    n_neg = corr.shape[1] - n_pos
    rank_sum = np.where(corr, ranks, 0.0).sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        result = (rank_sum - n_pos * (n_pos + 1.0) / 2.0) / (n_pos * n_neg)
    return np.where((n_pos > 0) & (n_neg > 0), result, np.nan)


def _average_precision_descending(scores: FloatArray, positive: BoolArray) -> FloatArray:
    """Average precision of every row, as ``average_precision_score`` defines it.

    Each row must already be in non-increasing score order. Each group of tied scores
    is one threshold: the precision at its last item is weighted by the recall the
    group adds. NaN for rows without positives.
    """
    true_pos = np.cumsum(positive, axis=1, dtype=np.float64)
    threshold_end = np.ones(scores.shape, dtype=bool)
    threshold_end[:, :-1] = scores[:, 1:] != scores[:, :-1]
    # True positives up to the previous threshold: the running maximum of the counts at
    # threshold ends, shifted one place (counts never decrease).
    at_ends = np.where(threshold_end, true_pos, 0.0)
    before = np.zeros(scores.shape)
    before[:, 1:] = np.maximum.accumulate(at_ends, axis=1)[:, :-1]
    gained = np.where(threshold_end, true_pos - before, 0.0)
    precision = true_pos / np.arange(1, scores.shape[1] + 1)
    n_pos = true_pos[:, -1]
    with np.errstate(divide="ignore", invalid="ignore"):
        result = (gained * precision).sum(axis=1) / n_pos
    return np.where(n_pos > 0, result, np.nan)


def _metric_rows(name: str, conf: FloatArray, corr: BoolArray, n_bins: int) -> FloatArray:
    """One value of metric ``name`` per resample row; NaN where it is undefined.

    Each row of ``conf`` must be in ascending order (see ``_sorted_rows``).
    """
    if name == "auroc":
        return _auroc_rows(conf, corr)
    if name == "auprc_pos":
        return _average_precision_descending(conf[:, ::-1], corr[:, ::-1])
    if name == "auprc_neg":
        # 1 - conf is non-increasing along an ascending row: already in the needed order.
        return _average_precision_descending(1.0 - conf, ~corr)
    reference = _REFERENCE[name]
    values = np.empty(conf.shape[0])
    for row in range(conf.shape[0]):
        value = reference(conf[row], corr[row], n_bins)
        values[row] = np.nan if value is None else value
    return values


def percentile_interval(values: ArrayLike, level: float) -> tuple[float, float] | None:
    """Percentile bootstrap interval of the finite resampled values (None if there are none)."""
    values = np.asarray(values, dtype=np.float64)
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return None
    tail = (1.0 - level) / 2.0
    low, high = np.quantile(finite, [tail, 1.0 - tail])
    return float(low), float(high)


def _prepare(
    correct: ArrayLike, strata: ArrayLike | Sequence[Hashable] | None, **named: ArrayLike
) -> tuple[list[FloatArray], BoolArray, NDArray[np.int64] | None]:
    """Validated confidences (in the order given), outcomes and stratum codes."""
    checked = []
    corr: BoolArray | None = None
    for name, values in named.items():
        try:
            conf, corr = _validate(values, correct)
        except ValueError as exc:
            raise ValueError(str(exc) if name == "confidences" else f"{name}: {exc}") from exc
        checked.append(conf)
    assert corr is not None
    codes = None if strata is None else _codes(_as_labels(strata, corr.size, "strata"))
    return checked, corr, codes


# --------------------------------------------------------------------------- public API


def bootstrap_intervals(
    confidences: ArrayLike,
    correct: ArrayLike,
    *,
    metrics: Sequence[str] = DEFAULT_METRICS,
    n_resamples: int = 1000,
    level: float = 0.95,
    seed: int = 0,
    strata: ArrayLike | Sequence[Hashable] | None = None,
    n_bins: int = 10,
) -> dict[str, tuple[float, float] | None]:
    """Percentile bootstrap interval of each metric, keyed like ``metrics.summarize``.

    Rows are resampled with replacement within each label (and within each
    (stratum, label) cell when ``strata`` is given), keeping the cell sizes, so the
    ranking metrics are defined on every resample whenever they are on the data. A
    metric that is undefined on the data (e.g. AUROC when every answer is right) maps
    to None, as in ``metrics``. ``n_bins`` is passed to ECE/MCE. The resamples depend
    only on ``correct``, ``strata``, ``n_resamples`` and ``seed``, so methods evaluated
    on the same questions with the same seed share them.
    """
    names = _check_metric_names(metrics, "metrics")
    _check_resampling(n_resamples, level, seed)
    (conf,), corr, codes = _prepare(correct, strata, confidences=confidences)

    estimates = {name: _REFERENCE[name](conf, corr, n_bins) for name in names}
    intervals: dict[str, tuple[float, float] | None] = dict.fromkeys(names)
    wanted = [name for name in names if estimates[name] is not None]
    if not wanted:
        return intervals
    index = resample_indices(corr.size, n_resamples=n_resamples, seed=seed, strata=_cells(corr, codes))
    conf_rows, corr_rows = _sorted_rows(conf, corr, index)
    for name in wanted:
        intervals[name] = percentile_interval(_metric_rows(name, conf_rows, corr_rows, n_bins), level)
    return intervals


def paired_bootstrap_difference(
    conf_a: ArrayLike,
    conf_b: ArrayLike,
    correct: ArrayLike,
    *,
    metric: str,
    n_resamples: int = 1000,
    level: float = 0.95,
    seed: int = 0,
    strata: ArrayLike | Sequence[Hashable] | None = None,
    n_bins: int = 10,
    correct_b: ArrayLike | None = None,
) -> PairedDifference | None:
    """Bootstrap the difference metric(A) - metric(B) of two methods on the same questions.

    Both methods are scored on the same resampled rows every time, so the variation
    the two share (hard questions, the label mix) cancels and the interval is far
    narrower than two separate intervals would suggest. Resampling is stratified as in
    ``bootstrap_intervals``. ``correct_b`` gives method B outcomes of its own: two methods
    that answered the same questions differently (one sample's answer against the
    majority's), each judged on its own answers; the resamples then keep only the
    ``strata``, since the two label columns cannot both keep their counts. Returns None
    when the metric is undefined on the data for either method (e.g. AUROC with a single
    class). Rows where one method has no score must be dropped by the caller: a paired
    comparison needs both scores on every row.
    """
    (name,) = _check_metric_names((metric,) if isinstance(metric, str) else metric, "metric")
    _check_resampling(n_resamples, level, seed)
    (first,), corr, codes = _prepare(correct, strata, conf_a=conf_a)
    (second,), corr_b, _ = _prepare(correct if correct_b is None else correct_b, strata, conf_b=conf_b)
    if corr_b.size != corr.size:
        raise ValueError(f"conf_b has {corr_b.size} rows but conf_a has {corr.size}: pair them on the same questions")

    reference = _REFERENCE[name]
    value_a, value_b = reference(first, corr, n_bins), reference(second, corr_b, n_bins)
    if value_a is None or value_b is None:
        return None
    cells = _cells(corr, codes) if correct_b is None else codes
    index = resample_indices(corr.size, n_resamples=n_resamples, seed=seed, strata=cells)
    # Each method sorts the shared resamples its own way; the rows themselves are the same.
    differences = _metric_rows(name, *_sorted_rows(first, corr, index), n_bins) - _metric_rows(
        name, *_sorted_rows(second, corr_b, index), n_bins
    )
    differences = differences[np.isfinite(differences)]
    interval = percentile_interval(differences, level)
    if interval is None:
        return None
    share = min(1.0, 2.0 * min(float(np.mean(differences <= 0.0)), float(np.mean(differences >= 0.0))))
    return PairedDifference(
        metric=name,
        estimate=value_a - value_b,
        low=interval[0],
        high=interval[1],
        share_opposite=share,
        higher_is_better=name in HIGHER_IS_BETTER,
        n=int(corr.size),
        n_resamples=int(n_resamples),
        level=float(level),
    )


def cross_fit_folds(
    ids: Sequence[Hashable] | ArrayLike,
    labels: Sequence[Hashable] | ArrayLike,
    groups: Sequence[Hashable] | ArrayLike | None = None,
    k: int = 5,
    seed: int = 0,
) -> NDArray[np.int64]:
    """Fold number (0..k-1) of every record, for fitting on k-1 folds and scoring on one.

    Stratified by (group, label): every fold gets its share of every dataset and of
    right/wrong answers, so a calibrator is never fitted without one kind of question.
    Within a cell, records are ordered by a blake2b hash of ``f"{seed}:{id}"`` and dealt
    round-robin; the dealing continues from cell to cell (cells taken in a fixed order),
    so per-cell, per-group and overall fold sizes each differ by at most one. The fold of
    a record depends on the ids, labels and groups, not on the order of the records, so
    re-reading a shuffled file gives every record the same fold. Adding or removing
    records does move other records of the same cell, as any balanced dealing must.
    """
    if isinstance(k, bool) or not isinstance(k, int | np.integer) or k < 2:
        raise ValueError(f"k must be an integer of at least 2, got {k!r}")
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer):
        raise ValueError(f"seed must be an integer, got {seed!r}")
    keys = [str(_plain(i)) for i in (ids.tolist() if isinstance(ids, np.ndarray) else list(ids))]  # type: ignore[arg-type]
    n = len(keys)
    label_list = _as_labels(labels, n, "labels")
    group_list: list[Hashable] = [None] * n if groups is None else _as_labels(groups, n, "groups")
    if n < k:
        raise ValueError(f"ids has {n} records, fewer than k = {k} folds")
    seen: dict[str, int] = {}
    for index, key in enumerate(keys):
        if key in seen:
            raise ValueError(f"ids are not unique: {key!r} at positions {seen[key]} and {index}")
        seen[key] = index

    cells: dict[tuple[Hashable, Hashable], list[int]] = {}
    for index, cell in enumerate(zip(group_list, label_list, strict=True)):
        cells.setdefault(cell, []).append(index)

    def digest(index: int) -> tuple[bytes, str]:
        return hashlib.blake2b(f"{seed}:{keys[index]}".encode(), digest_size=16).digest(), keys[index]

    folds = np.empty(n, dtype=np.int64)
    offset = 0
    for cell in sorted(cells, key=lambda c: (repr(c[0]), repr(c[1]))):
        members = sorted(cells[cell], key=digest)
        folds[members] = (offset + np.arange(len(members))) % k
        offset = (offset + len(members)) % k
    return folds


def format_interval(
    value: float | None,
    interval: tuple[float, float] | None,
    digits: int = 3,
) -> str:
    """A value with its interval for tables, e.g. ``0.812 [0.760, 0.861]``.

    An undefined value (None or NaN) prints as ``n/a`` whatever the interval; a value
    without an interval prints alone, so a table can mix both.
    """
    if isinstance(digits, bool) or not isinstance(digits, int) or digits < 0:
        raise ValueError(f"digits must be a non-negative integer, got {digits!r}")
    if value is None or not math.isfinite(value):
        return "n/a"
    text = f"{value:.{digits}f}"
    if interval is None:
        return text
    low, high = interval
    return f"{text} [{low:.{digits}f}, {high:.{digits}f}]"
