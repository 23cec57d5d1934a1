"""The routing figure: accuracy against retrieval rate for every policy (PNG, Agg canvas, no display)."""

from __future__ import annotations

from itertools import cycle
from pathlib import Path

from matplotlib import colormaps
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from elicit.routing.builtin import BuiltInPolicy
from elicit.routing.run import RouteEvalResult

_STYLES: dict[str, tuple[str, str]] = {BuiltInPolicy.RANDOM: ("grey", "--"), BuiltInPolicy.ORACLE: ("black", ":")}
_GREY = 7
"""Index of grey in the tab10 palette: left to random, so no policy is drawn in its colour."""


def plot_curves(result: RouteEvalResult, path: Path | str) -> None:
    """Write :func:`curves_figure` as a PNG."""
    curves_figure(result).savefig(path, dpi=120)


def curves_figure(result: RouteEvalResult) -> Figure:
    """Every policy's curve (the designated one drawn thicker), the never/always endpoints, and
    the budgets of the table marked."""
    figure = Figure(figsize=(7.5, 4.8))
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    tab10 = colormaps["tab10"]
    palette = cycle(tab10(index) for index in range(tab10.N) if index != _GREY)
    for name, values in result.curves.items():
        color, line = _STYLES.get(name) or (next(palette), "-")
        designated = name == result.designated
        label = f"{name} (designated)" if designated else name
        width = 2.4 if designated else 1.2
        axes.plot(result.rates, values, line, color=color, marker="o", markersize=3, linewidth=width, label=label)
    axes.scatter([0.0, 1.0], [result.accuracy_no_retrieval, result.accuracy_retrieval], color="black", marker="s",
                 zorder=5, label="never / always")  # fmt: skip
    for budget in result.budgets:
        axes.axvline(float(budget), color="grey", linewidth=0.6, linestyle="-.")
    axes.set_xlabel("retrieval rate (fraction of questions given passages)")
    axes.set_ylabel("accuracy")
    axes.set_title(f"Routing on {result.n_eval} held-out questions (seed {result.seed})")
    axes.grid(alpha=0.3)
    axes.legend(fontsize=7, ncol=2)
    figure.tight_layout()
    return figure
