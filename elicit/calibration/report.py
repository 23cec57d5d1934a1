"""Calibration reports: compare confidence methods on the same labelled questions.

A report answers "which confidence should I trust, and how far?" in three forms: a
table of metrics per method (terminal and HTML), figures (reliability diagrams,
confidence histograms of right vs wrong answers, risk-coverage curves), and a
``report.json`` with the numbers behind them so a report can be compared or re-plotted
without re-running the model.

Missing signals. A method's score array may hold NaN where that signal does not exist
for a question (e.g. token probabilities from a server without logprobs). Such a method
is evaluated on the questions it scored, and its row carries ``n`` (how many) and
``coverage`` (the fraction of all questions). Imputing a neutral 0.5 would invent
miscalibration the signal never had, and dropping the questions for every method would
throw away data from the complete ones; the coverage column instead makes it visible
that the numbers of a partial method come from a (possibly easier) subset.

Uncertainty. Every row carries ``ci``: 95% bootstrap intervals (stratified by label and,
when given, by dataset; seeded) of its main metrics, so a table never shows a difference
that is only noise without saying so. Comparisons between two methods use the paired
bootstrap of :mod:`elicit.calibration.stats`.
"""

from __future__ import annotations

import html
import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from numpy.typing import ArrayLike, NDArray
from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from elicit.calibration import metrics
from elicit.calibration.metrics import HIGHER_IS_BETTER, LOWER_IS_BETTER
from elicit.calibration.stats import bootstrap_intervals, format_interval, paired_bootstrap_difference

INTERVAL_METRICS: tuple[str, ...] = ("auroc", "ece", "brier", "prr")
"""Metrics that get a bootstrap interval in every row (and in report.json's ``ci``)."""
SHOWN_WITH_INTERVAL = frozenset({"auroc", "ece", "brier"})
"""Table columns printed with their interval."""
N_RESAMPLES = 1000
INTERVAL_NOTE = f"95% bootstrap, {N_RESAMPLES} resamples stratified by dataset and label"
"""How a report's intervals were made, for its metadata."""


HTML_COLUMNS: tuple[tuple[str, str], ...] = (
    ("method", "method"),
    ("n", "n"),
    ("coverage", "coverage"),
    ("accuracy", "accuracy"),
    ("ece", "ECE ↓"),
    ("mce", "MCE ↓"),
    ("brier", "Brier ↓"),
    ("nll", "NLL ↓"),
    ("auroc", "AUROC ↑"),
    ("auprc_pos", "AUPRC+ ↑"),
    ("auprc_neg", "AUPRC- ↑"),
    ("aurc", "AURC ↓"),
    ("prr", "PRR ↑"),
)
TERMINAL_COLUMNS: tuple[tuple[str, str], ...] = (
    ("method", "method"),
    ("n", "n"),
    ("accuracy", "accuracy"),
    ("ece", "ECE [95% CI]"),
    ("brier", "Brier [95% CI]"),
    ("auroc", "AUROC [95% CI]"),
    ("prr", "PRR"),
)
PERCENT_COLUMNS = frozenset({"coverage", "accuracy"})
MISSING = "–"

MAX_AUTO_PANELS = 4
"""Methods shown in the figures when none are highlighted: the best by AUROC."""
RISK_CURVE_POINTS = 100
"""Coverage levels per risk-coverage curve; enough for a smooth plot, small in JSON."""
FIGURE_DPI = 100
PANEL_SIZE = 3.4
PANEL_COLUMNS = 3
FIGURE_FILES = {
    "reliability": "reliability.png",
    "histograms": "confidence_histograms.png",
    "risk_coverage": "risk_coverage.png",
}

CSS = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1100px; color: #222; }
table { border-collapse: collapse; margin: 1em 0; font-size: 0.9em; }
th, td { padding: 0.3em 0.7em; border-bottom: 1px solid #ddd; text-align: right; }
th { background: #f3f3f3; }
td:first-child, th:first-child { text-align: left; }
table.meta td, table.meta th { text-align: left; }
figure { margin: 1.5em 0; }
figcaption { color: #555; font-size: 0.9em; }
img { max-width: 100%; }
"""

FIGURE_CAPTIONS = {
    "reliability": "Reliability diagrams: accuracy per confidence bin (bin counts above the bars); "
    "bars on the diagonal are calibrated, below it overconfident.",
    "histograms": "Confidence of correct and wrong answers: the less they overlap, the better the ranking.",
    "risk_coverage": "Error rate of the answers kept when abstaining on the least confident ones.",
}


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


class _Scored(NamedTuple):
    """One method's non-missing scores, the matching outcomes and strata, and the share scored."""

    conf: NDArray[np.float64]
    outcomes: NDArray[Any]
    coverage: float
    strata: list[str] | None


def _scored(
    correct: ArrayLike, scores: Mapping[str, ArrayLike], strata: Sequence[str] | None = None
) -> dict[str, _Scored]:
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
        scored[name] = _Scored(array[present], outcomes[present], float(present.mean()), kept)
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
) -> list[dict[str, Any]]:
    """One row per method: ``method``, ``coverage``, the keys of ``metrics.summarize`` and ``ci``.

    Methods with NaN scores are evaluated on the questions they scored (see the module
    docstring); ``n`` counts those questions and ``coverage`` is ``n`` over all of them.
    ``ci`` maps each of ``INTERVAL_METRICS`` to its 95% bootstrap ``[low, high]`` (None
    where undefined), resampled within label and, if given, within ``strata``.
    """
    return _rows(_scored(correct, scores, strata), n_bins, seed)


def _rows(scored: Mapping[str, _Scored], n_bins: int, seed: int) -> list[dict[str, Any]]:
    rows = []
    for name, item in scored.items():
        row: dict[str, Any] = {"method": name, "coverage": item.coverage}
        row |= _summarize(name, item.conf, item.outcomes, n_bins)
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
        row["ci"] = {key: None if value is None else list(value) for key, value in intervals.items()}
        rows.append(row)
    return rows


def _best_values(rows: Sequence[Mapping[str, Any]]) -> dict[str, float]:
    """The best value of every ranked column, skipping columns where no method has one."""
    best = {}
    for key in LOWER_IS_BETTER | HIGHER_IS_BETTER:
        values = [row[key] for row in rows if row.get(key) is not None]
        if values:
            best[key] = min(values) if key in LOWER_IS_BETTER else max(values)
    return best


def _best_per_dataset(rows: Sequence[Mapping[str, Any]]) -> dict[Any, dict[str, float]]:
    """Best values among the rows of each dataset (one group, None, for a pooled table):
    methods are ranked against each other, never across datasets."""
    groups: dict[Any, list[Mapping[str, Any]]] = {}
    for row in rows:
        groups.setdefault(row.get("dataset"), []).append(row)
    return {name: _best_values(members) for name, members in groups.items()}


def _is_best(key: str, value: Any, best: Mapping[str, float]) -> bool:
    return value is not None and key in best and math.isclose(value, best[key], rel_tol=1e-9, abs_tol=1e-12)


def _format_cell(key: str, row: Mapping[str, Any]) -> str:
    """A row's value for a table; the main metrics with their interval."""
    value = row.get(key)
    interval = (row.get("ci") or {}).get(key)
    if key in SHOWN_WITH_INTERVAL and value is not None and interval is not None:
        return format_interval(value, tuple(interval))
    return _format_value(key, value)


def _format_value(key: str, value: Any) -> str:
    if value is None:
        return MISSING
    if key in ("method", "dataset"):
        return str(value)
    if key == "n":
        return str(int(value))
    if key in PERCENT_COLUMNS:
        return f"{100 * value:.1f}%"
    return f"{value:.3f}"


def print_table(
    rows: Sequence[Mapping[str, Any]], console: Console | None = None, title: str = "Confidence methods"
) -> None:
    """Print the comparison rows as a terminal table, best value per metric (and dataset) in bold."""
    best = _best_per_dataset(rows)
    columns = (("dataset", "dataset"), *TERMINAL_COLUMNS) if rows and "dataset" in rows[0] else TERMINAL_COLUMNS
    # A light box with collapsed padding keeps the table narrow; long names fold.
    table = Table(title=title, box=box.SIMPLE_HEAD, padding=(0, 1), collapse_padding=True, pad_edge=False)
    for key, label in columns:
        if key == "method":
            table.add_column(label, overflow="fold", min_width=8)
        else:
            table.add_column(label, justify="right", no_wrap=True)
    for row in rows:
        # Text cells, not markup strings: a method named "[x]" must print as is.
        table.add_row(
            *(
                Text(
                    _format_cell(key, row),
                    style="bold" if _is_best(key, row.get(key), best[row.get("dataset")]) else "",
                )
                for key, _ in columns
            )
        )
    (console or Console()).print(table)


def _shown_methods(rows: Sequence[Mapping[str, Any]], highlight: Sequence[str]) -> list[str]:
    """Highlighted methods in the given order, or the best few by AUROC (None last)."""
    names = [row["method"] for row in rows]
    unknown = [name for name in highlight if name not in names]
    if unknown:
        raise ValueError(f"highlight names methods not in scores: {unknown}; known: {names}")
    if highlight:
        return list(dict.fromkeys(highlight))
    ranked = sorted(rows, key=lambda row: (row["auroc"] is None, -(row["auroc"] or 0.0)))
    return [row["method"] for row in ranked[:MAX_AUTO_PANELS]]


def _risk_coverage(conf: NDArray[np.float64], outcomes: NDArray[Any]) -> dict[str, list[float]]:
    """Error rate among the most confident items at evenly spaced coverage levels."""
    levels = np.linspace(0.0, 1.0, min(conf.size, RISK_CURVE_POINTS) + 1)[1:]
    risks = [1.0 - metrics.accuracy_at_coverage(conf, outcomes, float(level)) for level in levels]
    return {"coverage": levels.tolist(), "risk": risks}


def _label(name: str) -> str:
    """A method name as matplotlib text: "$" would start mathtext, and legends skip "_" names."""
    text = name if len(name) <= 40 else name[:39] + "…"
    text = text.replace("$", r"\$")
    return " " + text if text.startswith("_") else text


def _panel_grid(count: int) -> tuple[Figure, list[Axes]]:
    """A figure with one square panel per method, unused grid cells hidden."""
    rows = math.ceil(count / PANEL_COLUMNS)
    columns = math.ceil(count / rows)  # balanced: 4 panels as 2x2, not 3 + 1
    figure = Figure(figsize=(PANEL_SIZE * columns, PANEL_SIZE * rows), dpi=FIGURE_DPI, layout="constrained")
    FigureCanvasAgg(figure)
    axes = list(figure.subplots(rows, columns, squeeze=False).ravel())
    for unused in axes[count:]:
        unused.set_visible(False)
    return figure, axes[:count]


def _reliability_figure(
    names: Sequence[str], bins: Mapping[str, list[dict[str, Any]]], rows: Mapping[str, Any]
) -> Figure:
    figure, axes = _panel_grid(len(names))
    for ax, name in zip(axes, names, strict=True):
        filled = [b for b in bins[name] if b["count"]]
        ax.bar(
            [b["lower"] for b in filled],
            [b["accuracy"] for b in filled],
            width=[b["upper"] - b["lower"] for b in filled],
            align="edge",
            color="#4c72b0",
            edgecolor="white",
            label="accuracy",
        )
        ax.plot([0, 1], [0, 1], linestyle="--", color="#555555", linewidth=1, label="perfect calibration")
        for b in filled:
            ax.text((b["lower"] + b["upper"]) / 2, b["accuracy"] + 0.02, str(b["count"]), ha="center", fontsize=7)
        ax.set(xlim=(0, 1), ylim=(0, 1.1), xlabel="confidence", ylabel="accuracy")
        ax.set_yticks(np.linspace(0, 1, 6))
        ax.set_title(f"{_label(name)}\nECE {rows[name]['ece']:.3f}, n={rows[name]['n']}", fontsize=9)
    axes[0].legend(loc="upper left", fontsize=7)
    return figure


def _histogram_figure(names: Sequence[str], scored: Mapping[str, _Scored]) -> Figure:
    figure, axes = _panel_grid(len(names))
    # Bins centred on 0, 0.1, ..., 1: verbalized confidences are round numbers, and
    # edges at exactly 0.7 or 0.8 would split them by floating-point accident.
    edges = np.linspace(-0.05, 1.05, 12)
    for ax, name in zip(axes, names, strict=True):
        conf, outcomes = scored[name].conf, scored[name].outcomes
        right = outcomes.astype(bool)
        ax.hist(
            [conf[right], conf[~right]],
            bins=edges.tolist(),
            color=["#55a868", "#c44e52"],
            label=[f"correct ({right.sum()})", f"wrong ({(~right).sum()})"],
        )
        ax.set(xlim=(-0.05, 1.05), xlabel="confidence", ylabel="questions")
        ax.set_title(_label(name), fontsize=9)
        ax.legend(fontsize=7)
    return figure


def _risk_figure(names: Sequence[str], curves: Mapping[str, dict[str, list[float]]], error_rate: float) -> Figure:
    figure = Figure(figsize=(5.5, 4.0), dpi=FIGURE_DPI, layout="constrained")
    FigureCanvasAgg(figure)
    ax = figure.subplots()
    for name in names:
        ax.plot(curves[name]["coverage"], curves[name]["risk"], label=_label(name), linewidth=1.5)
    ax.axhline(error_rate, color="#555555", linestyle="--", linewidth=1, label="error rate (no abstention)")
    ax.set(xlim=(0, 1), ylim=(0, None), xlabel="coverage (most confident first)", ylabel="error rate of kept answers")
    ax.set_title("Risk-coverage (lower is better)", fontsize=10)
    ax.legend(fontsize=8)
    return figure


def _save(figure: Figure, path: Path) -> None:
    """Write the PNG and release the figure's artists.

    Figures are built without pyplot, so no global figure manager keeps them alive;
    clearing drops the artists right away instead of at the next garbage collection.
    """
    figure.savefig(path, dpi=FIGURE_DPI)
    figure.clear()


def _html_cell(key: str, row: Mapping[str, Any], best: Mapping[str, float]) -> str:
    text = html.escape(_format_cell(key, row))
    return f"<td><b>{text}</b></td>" if _is_best(key, row.get(key), best) else f"<td>{text}</td>"


def _html_table(rows: Sequence[Mapping[str, Any]], columns: Sequence[tuple[str, str]]) -> str:
    best = _best_per_dataset(rows)
    header = "".join(f"<th>{html.escape(label)}</th>" for _, label in columns)
    body = "".join(
        "<tr>" + "".join(_html_cell(key, row, best[row.get("dataset")]) for key, _ in columns) + "</tr>\n"
        for row in rows
    )
    return f"<table>\n<tr>{header}</tr>\n{body}</table>"


def _meta_text(value: Any) -> str:
    """Containers as JSON (readable and unambiguous), everything else as its plain str."""
    return json.dumps(value, default=str) if isinstance(value, Mapping | list | tuple) else str(value)


def _html_page(
    title: str,
    meta: Mapping[str, Any],
    rows: Sequence[Mapping[str, Any]],
    shown: Sequence[str],
    by_dataset: Sequence[Mapping[str, Any]],
    verdict: Sequence[str],
) -> str:
    meta_rows = "".join(
        f"<tr><th>{html.escape(str(key))}</th><td>{html.escape(_meta_text(value))}</td></tr>"
        for key, value in meta.items()
    )
    figures = "".join(
        f'<figure><img src="{html.escape(FIGURE_FILES[key])}" alt="{html.escape(caption)}">'
        f"<figcaption>{html.escape(caption)}</figcaption></figure>\n"
        for key, caption in FIGURE_CAPTIONS.items()
    )
    parts = [
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">',
        f"<title>{html.escape(title)}</title>\n<style>{CSS}</style>\n</head>\n<body>",
        f"<h1>{html.escape(title)}</h1>",
        f'<table class="meta">{meta_rows}</table>' if meta_rows else "",
        "<h2>Comparison</h2>",
        "<p>Best value per metric in bold (arrows: which direction is better); brackets hold 95% bootstrap "
        "intervals. Methods with missing scores are evaluated on the questions they scored; see n and "
        "coverage.</p>",
        "".join(f"<p><b>{html.escape(line)}</b></p>" for line in verdict),
        _html_table(rows, HTML_COLUMNS),
        "<h2>Per dataset</h2>" if by_dataset else "",
        _html_table(by_dataset, (("dataset", "dataset"), *TERMINAL_COLUMNS)) if by_dataset else "",
        "<h2>Figures</h2>",
        f"<p>Methods shown: {html.escape(', '.join(shown))}.</p>",
        f"{figures}</body>\n</html>\n",
    ]
    return "\n".join(part for part in parts if part)


def write_report(
    out_dir: Path,
    correct: ArrayLike,
    scores: Mapping[str, ArrayLike],
    *,
    title: str,
    meta: Mapping[str, Any] | None = None,
    highlight: Sequence[str] = (),
    n_bins: int = 10,
    strata: Sequence[str] | None = None,
    seed: int = 0,
    by_dataset: Sequence[Mapping[str, Any]] = (),
    verdict: Sequence[str] = (),
    rows: Sequence[dict[str, Any]] | None = None,
) -> Path:
    """Write report.json, the PNG figures and report.html into ``out_dir``; return report.html.

    Figures show the ``highlight`` methods, or the best few by AUROC when none are given,
    so a report over many baselines stays readable; the table and JSON cover every method.
    ``by_dataset`` rows (see :func:`dataset_rows`) and ``verdict`` lines are shown beside them.
    ``rows`` takes this data's :func:`comparison_rows` when the caller has them already, so
    the bootstrap intervals are not drawn twice.
    """
    scored = _scored(correct, scores, strata)
    rows = list(rows) if rows is not None else _rows(scored, n_bins, seed)
    by_name = {row["method"]: row for row in rows}
    shown = _shown_methods(rows, highlight)
    bins = {
        name: [b.model_dump() for b in metrics.reliability_bins(item.conf, item.outcomes, n_bins)]
        for name, item in scored.items()
    }
    curves = {name: _risk_coverage(item.conf, item.outcomes) for name, item in scored.items()}
    meta = dict(meta or {})

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    content = {
        "title": title,
        "meta": meta,
        "rows": rows,
        "by_dataset": list(by_dataset),
        "verdict": list(verdict),
        "reliability_bins": bins,
        "risk_coverage": curves,
        "figures": {"methods": shown, **FIGURE_FILES},
    }
    # default=str keeps paths or dates in meta readable; NaN never occurs in the computed parts.
    (out_dir / "report.json").write_text(json.dumps(content, indent=2, default=str, allow_nan=False) + "\n")

    error_rate = 1.0 - float(np.mean(np.asarray(correct, dtype=float)))
    _save(_reliability_figure(shown, bins, by_name), out_dir / FIGURE_FILES["reliability"])
    _save(_histogram_figure(shown, scored), out_dir / FIGURE_FILES["histograms"])
    _save(_risk_figure(shown, curves, error_rate), out_dir / FIGURE_FILES["risk_coverage"])

    page = out_dir / "report.html"
    page.write_text(_html_page(title, meta, rows, shown, by_dataset, verdict), encoding="utf-8")
    return page


def dataset_rows(
    correct: ArrayLike,
    scores: Mapping[str, ArrayLike],
    datasets: Sequence[str],
    methods: Sequence[str],
    n_bins: int = 10,
    seed: int = 0,
) -> list[dict[str, Any]]:
    """Rows of ``methods`` within each dataset: a pooled AUROC partly measures which dataset a
    question came from, so each set is also shown alone. A set with one class has no AUROC."""
    outcomes = np.asarray(correct)
    names = np.asarray(datasets)
    rows = []
    for dataset in sorted(set(datasets)):
        mask = names == dataset
        subset = {name: np.asarray(scores[name], dtype=float)[mask] for name in methods}
        for row in comparison_rows(outcomes[mask], subset, n_bins, seed=seed):
            rows.append({"dataset": dataset, **row})
    return rows


def verdict_lines(
    correct: ArrayLike,
    scores: Mapping[str, ArrayLike],
    method: str,
    rival: str,
    strata: Sequence[str] | None = None,
    seed: int = 0,
) -> list[str]:
    """``method`` against ``rival`` on the same questions: paired-bootstrap intervals of the
    AUROC and Brier differences, and whether each interval excludes zero."""
    lines = []
    for metric in ("auroc", "brier"):
        result = paired_bootstrap_difference(
            scores[method], scores[rival], correct, metric=metric, n_resamples=N_RESAMPLES, seed=seed, strata=strata
        )
        if result is None:
            lines.append(f"{metric}: undefined on these questions")
            continue
        better = (result.low > 0) if result.higher_is_better else (result.high < 0)
        worse = (result.high < 0) if result.higher_is_better else (result.low > 0)
        word = "better" if better else "worse" if worse else "no difference distinguishable from noise"
        lines.append(
            f"{method} vs {rival}, {metric.upper()} difference {result.estimate:+.3f} "
            f"[{result.low:+.3f}, {result.high:+.3f}] (paired bootstrap, n={result.n}): {word}"
        )
    return lines
