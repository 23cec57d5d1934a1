"""Metric rows: one confidence method's quality on labelled questions, with bootstrap intervals.

A row answers "how good is this confidence here?" as numbers only; the terminal table,
the HTML page and Markdown tables (:mod:`elicit.calibration.display`) all print the
same rows, so a figure in one of them never disagrees with another.

Missing signals. A method's score array may hold NaN where that signal does not exist
for a question (e.g. token probabilities from a server without logprobs). Such a method
is evaluated on the questions it scored, and its row carries ``n`` (how many) and
``coverage`` (the fraction of all questions). Imputing a neutral 0.5 would invent
miscalibration the signal never had, and dropping the questions for every method would
throw away data from the complete ones; the coverage column instead makes it visible
that the numbers of a partial method come from a (possibly easier) subset.

Uncertainty. Every row carries ``ci``: 95% bootstrap intervals (stratified by label and,
when given, by dataset; seeded) of its main metrics, so a table never shows a difference
that is only noise without saying so.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

import numpy as np
from numpy.typing import ArrayLike, NDArray
from pydantic import BaseModel, ConfigDict

from elicit.calibration import metrics
from elicit.calibration.metrics import HIGHER_IS_BETTER, LOWER_IS_BETTER
from elicit.calibration.stats import bootstrap_intervals

INTERVAL_METRICS: tuple[str, ...] = ("auroc", "ece", "brier", "prr")
"""Metrics that get a bootstrap interval in every row (and in report.json's ``ci``)."""
N_RESAMPLES = 1000
INTERVAL_NOTE = f"95% bootstrap, {N_RESAMPLES} resamples stratified by dataset and label"
"""How a report's intervals were made, for its metadata."""


class MetricRow(BaseModel):
    """One method's metrics (the keys of :func:`metrics.summarize`), its coverage and intervals.

    ``dataset`` is None for a pooled row. Fields are declared in the order report.json
    has always listed them, so files written before and after read the same.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    dataset: str | None = None
    method: str
    coverage: float
    ece: float
    mce: float
    brier: float
    nll: float
    auroc: float | None
    auprc_pos: float | None
    auprc_neg: float | None
    aurc: float
    prr: float | None
    accuracy: float
    n: int
    ci: dict[str, tuple[float, float] | None]
    """The 95% bootstrap ``(low, high)`` of each of ``INTERVAL_METRICS``; None where undefined."""

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON, as a row of report.json (a pooled row has no ``dataset`` key)."""
        return self.model_dump(mode="json", exclude={"dataset"} if self.dataset is None else None)


class Scored(NamedTuple):
    """One method's non-missing scores, the matching outcomes and strata, and the share scored."""

    conf: NDArray[np.float64]
    outcomes: NDArray[Any]
    coverage: float
    strata: list[str] | None


def _score_vector(name: str, values: ArrayLike, n_questions: int) -> NDArray[np.float64]:
    try:
        array = np.asarray(values, dtype=float)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"scores[{name!r}] must be numeric: {exc}") from exc
    if array.shape != (n_questions,):
        raise ValueError(
            f"scores[{name!r}] has shape {array.shape} but correct has {n_questions} questions; "
            "every method needs one score per question (NaN where missing)"
        )
    if np.isnan(array).all():
        raise ValueError(f"scores[{name!r}] has no score for any question (all NaN)")
    return array


def scored_by_method(
    correct: ArrayLike, scores: Mapping[str, ArrayLike], strata: Sequence[str] | None = None
) -> dict[str, Scored]:
    """Per method, the questions it scored, after checking shapes."""
    if not scores:
        raise ValueError("scores is empty: give at least one method's confidences")
    outcomes = np.asarray(correct)
    if outcomes.ndim != 1 or outcomes.size == 0:
        raise ValueError(f"correct must be a non-empty 1-D array, got shape {outcomes.shape}")
    scored = {}
    for name, values in scores.items():
        array = _score_vector(name, values, outcomes.size)
        present = ~np.isnan(array)
        kept = [s for s, keep in zip(strata, present, strict=True) if keep] if strata is not None else None
        scored[name] = Scored(array[present], outcomes[present], float(present.mean()), kept)
    return scored


def _summarize(name: str, conf: NDArray[np.float64], outcomes: NDArray[Any], n_bins: int) -> dict[str, Any]:
    try:
        return metrics.summarize(conf, outcomes, n_bins)
    except ValueError as exc:
        # Indices in the message count only this method's scored questions.
        raise ValueError(f"scores[{name!r}] (on its {conf.size} scored questions): {exc}") from exc


def comparison_rows(
    correct: ArrayLike,
    scores: Mapping[str, ArrayLike],
    n_bins: int = 10,
    *,
    strata: Sequence[str] | None = None,
    seed: int = 0,
) -> list[MetricRow]:
    """One row per method, in the order of ``scores``.

    Methods with NaN scores are evaluated on the questions they scored (see the module
    docstring); ``n`` counts those questions and ``coverage`` is ``n`` over all of them.
    ``ci`` holds each of ``INTERVAL_METRICS``' 95% bootstrap interval, resampled within
    label and, if given, within ``strata``.
    """
    rows = []
    for name, item in scored_by_method(correct, scores, strata).items():
        summary = _summarize(name, item.conf, item.outcomes, n_bins)  # checked before the bootstrap: names the method
        intervals = (
            bootstrap_intervals(
                item.conf,
                item.outcomes,
                metrics=INTERVAL_METRICS,
                n_resamples=N_RESAMPLES,
                seed=seed,
                strata=item.strata,
                n_bins=n_bins,
            )
            if 0 < item.outcomes.sum() < item.outcomes.size
            else dict.fromkeys(INTERVAL_METRICS)
        )
        rows.append(MetricRow.model_validate({"method": name, "coverage": item.coverage, **summary, "ci": intervals}))
    return rows


def dataset_rows(
    correct: ArrayLike,
    scores: Mapping[str, ArrayLike],
    datasets: Sequence[str],
    methods: Sequence[str],
    n_bins: int = 10,
    seed: int = 0,
) -> list[MetricRow]:
    """Rows of ``methods`` within each dataset: a pooled AUROC partly measures which dataset a
    question came from, so each set is also shown alone. A set with one class has no AUROC."""
    outcomes = np.asarray(correct)
    names = np.asarray(datasets)
    rows = []
    for dataset in sorted(set(datasets)):
        mask = names == dataset
        subset = {name: np.asarray(scores[name], dtype=float)[mask] for name in methods}
        rows += [
            row.model_copy(update={"dataset": dataset})
            for row in comparison_rows(outcomes[mask], subset, n_bins, seed=seed)
        ]
    return rows


def _best_values(rows: Sequence[MetricRow]) -> dict[str, float]:
    """The best value of every ranked metric, skipping metrics no row has a value for."""
    best = {}
    for key in LOWER_IS_BETTER | HIGHER_IS_BETTER:
        values = [value for row in rows if (value := getattr(row, key)) is not None]
        if values:
            best[key] = min(values) if key in LOWER_IS_BETTER else max(values)
    return best


def best_metrics(rows: Sequence[MetricRow]) -> list[frozenset[str]]:
    """For each row, the metrics in which it holds the best value among the rows of its dataset.

    Methods are ranked against each other, never across datasets (a pooled table is one
    group). Ties all count as best; values equal up to float rounding are ties.
    """
    groups: dict[str | None, list[MetricRow]] = {}
    for row in rows:
        groups.setdefault(row.dataset, []).append(row)
    best = {dataset: _best_values(members) for dataset, members in groups.items()}
    return [
        frozenset(
            key
            for key, value in best[row.dataset].items()
            if (own := getattr(row, key)) is not None and math.isclose(own, value, rel_tol=1e-9, abs_tol=1e-12)
        )
        for row in rows
    ]
