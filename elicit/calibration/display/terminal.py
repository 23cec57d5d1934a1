"""Metric rows as a terminal table (rich)."""

from __future__ import annotations

from collections.abc import Sequence

from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from elicit.calibration.display.cells import MAIN_COLUMNS, cell_text, table_columns
from elicit.calibration.rows import MetricRow, best_metrics


def print_table(rows: Sequence[MetricRow], console: Console | None = None, title: str = "Confidence methods") -> None:
    """Print the rows as a terminal table, best value per metric (and dataset) in bold."""
    columns = table_columns(rows, MAIN_COLUMNS)
    # A light box with collapsed padding keeps the table narrow; long names fold.
    table = Table(title=title, box=box.SIMPLE_HEAD, padding=(0, 1), collapse_padding=True, pad_edge=False)
    for key, label in columns:
        if key == "method":
            table.add_column(label, overflow="fold", min_width=8)
        else:
            table.add_column(label, justify="right", no_wrap=True)
    for row, best in zip(rows, best_metrics(rows), strict=True):
        # Text cells, not markup strings: a method named "[x]" must print as is.
        table.add_row(*(Text(cell_text(row, key), style="bold" if key in best else "") for key, _ in columns))
    (console or Console()).print(table)
