"""What every table of metric rows shares: its columns and the text of each cell.

The terminal, HTML and Markdown tables differ only in markup; the same row prints the
same text in all of them because they take it from here.
"""

from __future__ import annotations

from collections.abc import Sequence

from elicit.calibration.rows import MetricRow
from elicit.calibration.stats import format_interval

Column = tuple[str, str]
"""A row field and the label over its column."""

ALL_COLUMNS: tuple[Column, ...] = (
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
"""Every metric, arrows saying which direction is better (the HTML page's full table)."""
MAIN_COLUMNS: tuple[Column, ...] = (
    ("method", "method"),
    ("n", "n"),
    ("accuracy", "accuracy"),
    ("ece", "ECE [95% CI]"),
    ("brier", "Brier [95% CI]"),
    ("auroc", "AUROC [95% CI]"),
    ("prr", "PRR"),
)
"""The headline metrics, narrow enough for a terminal or a page of prose."""
DATASET_COLUMN: Column = ("dataset", "dataset")
SHOWN_WITH_INTERVAL = frozenset({"auroc", "ece", "brier"})
"""Columns printed with their interval."""
PERCENT_COLUMNS = frozenset({"coverage", "accuracy"})
MISSING = "–"
"""The text of a metric that is undefined for a row (e.g. AUROC with one class)."""
ROW_FIELDS: tuple[str, ...] = tuple(name for name in MetricRow.model_fields if name != "ci")
"""What a column can show (intervals go with their metric, not in a column of their own)."""


def table_columns(rows: Sequence[MetricRow], columns: Sequence[Column]) -> list[Column]:
    """``columns``, led by the dataset when the rows are per dataset; unknown fields are refused."""
    unknown = [key for key, _ in columns if key not in ROW_FIELDS]
    if unknown:
        raise ValueError(f"columns name no row field: {unknown}; choose from {', '.join(ROW_FIELDS)}")
    per_dataset = bool(rows) and rows[0].dataset is not None and all(key != "dataset" for key, _ in columns)
    return [DATASET_COLUMN, *columns] if per_dataset else list(columns)


def cell_text(row: MetricRow, key: str) -> str:
    """A row's value as a table prints it; the main metrics with their interval."""
    value = getattr(row, key)
    interval = row.ci.get(key)
    if key in SHOWN_WITH_INTERVAL and value is not None and interval is not None:
        return format_interval(value, interval)
    if value is None:
        return MISSING
    if key in ("method", "dataset"):
        return str(value)
    if key == "n":
        return str(int(value))
    if key in PERCENT_COLUMNS:
        return f"{100 * value:.1f}%"
    return f"{value:.3f}"
