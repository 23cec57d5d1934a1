"""The routing figure: accuracy against retrieval rate for every policy (PNG, Agg canvas, no display)."""

from __future__ import annotations

from pathlib import Path

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from elicit.routing.run import RouteEvalResult

_STYLES = {"random": ("grey", "--"), "oracle": ("black", ":")}


def plot_curves(result: RouteEvalResult, path: Path | str) -> None:
    """Every policy's curve, the never/always endpoints, and the budgets of the table marked."""
    figure = Figure(figsize=(7.5, 4.8))
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    for name, values in result.curves.items():
        color, line = _STYLES.get(name, (None, "-"))
        axes.plot(result.rates, values, line, color=color, marker="o", markersize=3, label=name)
    axes.scatter([0.0, 1.0], [result.accuracy_no_retrieval, result.accuracy_retrieval], color="red", zorder=5,
                 label="never / always")  # fmt: skip
    for budget in result.budgets:
        axes.axvline(float(budget), color="grey", linewidth=0.6, linestyle="-.")
    axes.set_xlabel("retrieval rate (fraction of questions given passages)")
    axes.set_ylabel("accuracy")
    axes.set_title(f"Routing on {result.n_eval} held-out questions (seed {result.seed})")
    axes.grid(alpha=0.3)
    axes.legend(fontsize=7, ncol=2)
    figure.tight_layout()
    figure.savefig(path, dpi=120)
