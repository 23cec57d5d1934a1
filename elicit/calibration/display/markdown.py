"""Metric rows as a Markdown table, for result pages kept in the repository.

The cells are those of the terminal table (values with their 95% intervals, the best
value per metric and dataset in bold), so a table in the docs reads like the run that
wrote it. Method and dataset names are escaped: a method called ``a|b`` or ``*x*`` must
not break the table or turn into emphasis. Numbers and labels are the project's own text
and stay as written.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from elicit.calibration.display.cells import MAIN_COLUMNS, Column, cell_text, table_columns
from elicit.calibration.rows import MetricRow, best_metrics

TEXT_COLUMNS = frozenset({"method", "dataset"})
"""Names: aligned left and escaped; numbers align right so their digits line up."""
_SPECIAL = re.compile(r"([\\`*_\[\]<>|~])")


def _cell(row: MetricRow, key: str, best: bool) -> str:
    text = cell_text(row, key)
    if key in TEXT_COLUMNS:
        text = _SPECIAL.sub(r"\\\1", text)
    return f"**{text}**" if best else text


def markdown_table(rows: Sequence[MetricRow], columns: Sequence[Column] = MAIN_COLUMNS) -> str:
    """The rows as a GitHub-flavoured Markdown table, one line per row, ending in a newline.

    Rows per dataset get a leading dataset column (as in the terminal table); a metric
    that is undefined for a row shows the missing mark.
    """
    chosen = table_columns(rows, columns)
    lines = [
        "| " + " | ".join(label for _, label in chosen) + " |",
        "|" + "|".join(":---" if key in TEXT_COLUMNS else "---:" for key, _ in chosen) + "|",
    ]
    for row, best in zip(rows, best_metrics(rows), strict=True):
        lines.append("| " + " | ".join(_cell(row, key, key in best) for key, _ in chosen) + " |")
    return "\n".join(lines) + "\n"
