"""A calibration report as one value: which confidence should I trust, and how far?

:func:`build_report` computes everything a report shows, once: the metric rows of every
method (pooled and, if asked, per dataset), the paired verdicts, and the data of the
figures. The result is a plain value with no drawing in it; the display modules
(:mod:`elicit.calibration.display`) turn it into a terminal table, figures, an HTML
page, Markdown tables or report.json, so every form shows the same numbers and the
bootstrap runs once however many forms are written.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from numpy.typing import ArrayLike
from pydantic import BaseModel, ConfigDict

from elicit.calibration.figure_data import ConfidenceHistogram, RiskCoverage, confidence_histogram, risk_coverage
from elicit.calibration.fitting import BEST_SINGLE, DEFAULT, HEAD, CrossFit
from elicit.calibration.head import FUSED
from elicit.calibration.metrics import ReliabilityBin, reliability_bins
from elicit.calibration.rows import INTERVAL_NOTE, MetricRow, comparison_rows, dataset_rows, scored_by_method
from elicit.calibration.verdicts import Verdict, verdicts

MAX_AUTO_PANELS = 4
"""Methods shown in the figures when none are highlighted: the best by AUROC."""


class Report(BaseModel):
    """Everything a calibration report shows, computed.

    ``rows`` covers every method; the figure data (``reliability_bins``,
    ``risk_coverage``, ``histograms``) too, while the figures draw only ``shown``, so a
    report over many baselines stays readable. ``error_rate`` is the share of wrong
    answers among all questions: the risk with no abstention.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    title: str
    meta: dict[str, Any]
    rows: list[MetricRow]
    by_dataset: list[MetricRow]
    verdicts: list[Verdict]
    reliability_bins: dict[str, list[ReliabilityBin]]
    risk_coverage: dict[str, RiskCoverage]
    histograms: dict[str, ConfidenceHistogram]
    error_rate: float
    shown: list[str]


def _shown_methods(rows: Sequence[MetricRow], highlight: Sequence[str]) -> list[str]:
    """Highlighted methods in the given order, or the best few by AUROC (None last)."""
    names = [row.method for row in rows]
    unknown = [name for name in highlight if name not in names]
    if unknown:
        raise ValueError(f"highlight names methods not in scores: {unknown}; known: {names}")
    if highlight:
        return list(dict.fromkeys(highlight))
    ranked = sorted(rows, key=lambda row: (row.auroc is None, -(row.auroc or 0.0)))
    return [row.method for row in ranked[:MAX_AUTO_PANELS]]


def _check_named(argument: str, names: Sequence[str], scores: Mapping[str, ArrayLike]) -> None:
    unknown = [name for name in names if name not in scores]
    if unknown:
        raise ValueError(f"{argument} names methods not in scores: {unknown}; known: {list(scores)}")


def build_report(
    correct: ArrayLike,
    scores: Mapping[str, ArrayLike],
    *,
    title: str,
    meta: Mapping[str, Any] | None = None,
    strata: Sequence[str] | None = None,
    seed: int = 0,
    highlight: Sequence[str] = (),
    n_bins: int = 10,
    by_dataset_methods: Sequence[str] = (),
    verdict_pairs: Sequence[tuple[str, str]] = (),
) -> Report:
    """Compare the ``scores`` of every method against ``correct``, one entry per question.

    ``strata`` names each question's dataset: the bootstrap resamples within it, and
    ``by_dataset_methods`` get a row per dataset beside the pooled ones. Each
    ``(method, rival)`` of ``verdict_pairs`` gets one :class:`Verdict` per metric of
    ``VERDICT_METRICS`` (:mod:`elicit.calibration.verdicts`). ``highlight`` picks the
    methods the figures show (default: the best few by AUROC). ``seed`` fixes every
    resample, so the same inputs give the same report.
    """
    scored = scored_by_method(correct, scores, strata)
    rows = comparison_rows(correct, scores, n_bins, strata=strata, seed=seed)
    shown = _shown_methods(rows, highlight)
    _check_named("by_dataset_methods", by_dataset_methods, scores)
    _check_named("verdict_pairs", [name for pair in verdict_pairs for name in pair], scores)
    by_dataset: list[MetricRow] = []
    if by_dataset_methods:
        if strata is None:
            raise ValueError("by_dataset_methods needs strata: the dataset of every question")
        by_dataset = dataset_rows(correct, scores, strata, by_dataset_methods, n_bins, seed)
    found = [
        verdict
        for method, rival in verdict_pairs
        for verdict in verdicts(correct, scores, method, rival, strata=strata, seed=seed, n_bins=n_bins)
    ]
    return Report(
        title=title,
        meta=dict(meta or {}),
        rows=rows,
        by_dataset=by_dataset,
        verdicts=found,
        reliability_bins={name: reliability_bins(item.conf, item.outcomes, n_bins) for name, item in scored.items()},
        risk_coverage={name: risk_coverage(item.conf, item.outcomes) for name, item in scored.items()},
        histograms={name: confidence_histogram(item.conf, item.outcomes) for name, item in scored.items()},
        error_rate=1.0 - float(np.mean(np.asarray(correct, dtype=float))),
        shown=shown,
    )


CROSS_FIT_METHODS: tuple[str, ...] = (HEAD, FUSED, BEST_SINGLE, DEFAULT)
"""The methods a cross-fit report shows per dataset and in its figures."""


def cross_fit_report(fit: CrossFit, *, title: str, folds: int, seed: int) -> Report:
    """The report of a cross-fit: every method out of fold, per dataset, and the head and the fused
    model each against the best single signal (the verdicts)."""
    meta = {
        "records scored": len(fit.records),
        "left out (few-shot questions)": fit.excluded_few_shot,
        "scoring": f"out of fold, {folds}-fold cross-fitting stratified by dataset and label (seed {seed})",
        "intervals": INTERVAL_NOTE,
        "raw signal fallbacks (missing -> 0)": {k: v for k, v in fit.fallbacks.items() if v},
        f"{HEAD} (chosen in each training part)": ", ".join(fit.head_choices),
        f"{BEST_SINGLE} (highest AUROC in each training part, Platt-mapped)": ", ".join(fit.best_single_choices),
        "saved head (refit on all records)": fit.head.choice,
    }
    return build_report(
        fit.correct, fit.scores, title=title, meta=meta, strata=fit.datasets, seed=seed,
        highlight=CROSS_FIT_METHODS, by_dataset_methods=CROSS_FIT_METHODS,
        verdict_pairs=[(HEAD, BEST_SINGLE), (FUSED, BEST_SINGLE)],
    )  # fmt: skip
