"""A report's figures (matplotlib, no pyplot): reliability diagrams, confidence histograms, risk-coverage.

The figures draw only what :class:`~elicit.calibration.report.Report` holds, so they can
be drawn again from a report without its scores. They are built on a bare Agg canvas:
without pyplot no global figure manager keeps them alive and nothing opens a window.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from elicit.calibration.report import Report

FIGURE_DPI = 100
PANEL_SIZE = 3.4
PANEL_COLUMNS = 3
FIGURE_FILES = {
    "reliability": "reliability.png",
    "histograms": "confidence_histograms.png",
    "risk_coverage": "risk_coverage.png",
}
"""The PNG file of each figure, beside report.html."""


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


def reliability_figure(report: Report) -> Figure:
    """Accuracy per confidence bin of each shown method, bin counts above the bars."""
    rows = {row.method: row for row in report.rows}
    figure, axes = _panel_grid(len(report.shown))
    for ax, name in zip(axes, report.shown, strict=True):
        # Empty bins (no accuracy) are left out of the bars but keep the axis.
        filled = [(b, b.accuracy) for b in report.reliability_bins[name] if b.accuracy is not None]
        ax.bar(
            [b.lower for b, _ in filled],
            [accuracy for _, accuracy in filled],
            width=[b.upper - b.lower for b, _ in filled],
            align="edge",
            color="#4c72b0",
            edgecolor="white",
            label="accuracy",
        )
        ax.plot([0, 1], [0, 1], linestyle="--", color="#555555", linewidth=1, label="perfect calibration")
        for b, accuracy in filled:
            ax.text((b.lower + b.upper) / 2, accuracy + 0.02, str(b.count), ha="center", fontsize=7)
        ax.set(xlim=(0, 1), ylim=(0, 1.1), xlabel="confidence", ylabel="accuracy")
        ax.set_yticks(np.linspace(0, 1, 6))
        ax.set_title(f"{_label(name)}\nECE {rows[name].ece:.3f}, n={rows[name].n}", fontsize=9)
    axes[0].legend(loc="upper left", fontsize=7)
    return figure


def histogram_figure(report: Report) -> Figure:
    """Confidence of the correct and the wrong answers of each shown method, side by side."""
    figure, axes = _panel_grid(len(report.shown))
    for ax, name in zip(axes, report.shown, strict=True):
        counts = report.histograms[name]
        centres = [(low + high) / 2 for low, high in zip(counts.edges, counts.edges[1:], strict=False)]
        # Counted bins drawn by hist (one point per bin, weighted by its count) look exactly
        # like a histogram of the scores themselves.
        ax.hist(
            [centres, centres],
            bins=counts.edges,
            weights=[counts.correct, counts.wrong],
            color=["#55a868", "#c44e52"],
            label=[f"correct ({sum(counts.correct)})", f"wrong ({sum(counts.wrong)})"],
        )
        ax.set(xlim=(counts.edges[0], counts.edges[-1]), xlabel="confidence", ylabel="questions")
        ax.set_title(_label(name), fontsize=9)
        ax.legend(fontsize=7)
    return figure


def risk_coverage_figure(report: Report) -> Figure:
    """Error rate of the kept answers of each shown method as coverage grows."""
    figure = Figure(figsize=(5.5, 4.0), dpi=FIGURE_DPI, layout="constrained")
    FigureCanvasAgg(figure)
    ax = figure.subplots()
    for name in report.shown:
        curve = report.risk_coverage[name]
        ax.plot(curve.coverage, curve.risk, label=_label(name), linewidth=1.5)
    ax.axhline(report.error_rate, color="#555555", linestyle="--", linewidth=1, label="error rate (no abstention)")
    ax.set(xlim=(0, 1), ylim=(0, None), xlabel="coverage (most confident first)", ylabel="error rate of kept answers")
    ax.set_title("Risk-coverage (lower is better)", fontsize=10)
    ax.legend(fontsize=8)
    return figure


def write_figures(report: Report, out_dir: Path) -> None:
    """Write the three PNGs of ``FIGURE_FILES`` into ``out_dir``.

    Each figure is cleared once saved, which drops its artists right away instead of at
    the next garbage collection.
    """
    for key, draw in (
        ("reliability", reliability_figure),
        ("histograms", histogram_figure),
        ("risk_coverage", risk_coverage_figure),
    ):
        figure = draw(report)
        figure.savefig(out_dir / FIGURE_FILES[key], dpi=FIGURE_DPI)
        figure.clear()
