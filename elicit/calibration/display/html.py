"""A report as one self-contained HTML page (beside its PNG figures); every text escaped."""

from __future__ import annotations

import html
import json
from collections.abc import Mapping, Sequence
from typing import Any

from elicit.calibration.display.cells import ALL_COLUMNS, MAIN_COLUMNS, Column, cell_text, table_columns
from elicit.calibration.display.figures import FIGURE_FILES
from elicit.calibration.display.sentences import verdict_sentence
from elicit.calibration.report import Report
from elicit.calibration.rows import MetricRow, best_metrics

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


def _cell(row: MetricRow, key: str, best: bool) -> str:
    text = html.escape(cell_text(row, key))
    return f"<td><b>{text}</b></td>" if best else f"<td>{text}</td>"


def _table(rows: Sequence[MetricRow], columns: Sequence[Column]) -> str:
    chosen = table_columns(rows, columns)
    header = "".join(f"<th>{html.escape(label)}</th>" for _, label in chosen)
    body = "".join(
        "<tr>" + "".join(_cell(row, key, key in best) for key, _ in chosen) + "</tr>\n"
        for row, best in zip(rows, best_metrics(rows), strict=True)
    )
    return f"<table>\n<tr>{header}</tr>\n{body}</table>"


def _meta_text(value: Any) -> str:
    """Containers as JSON (readable and unambiguous), everything else as its plain str."""
    return json.dumps(value, default=str) if isinstance(value, Mapping | list | tuple) else str(value)


def html_page(report: Report) -> str:
    """The page: metadata, the comparison table, verdicts, per-dataset table and the figures."""
    meta_rows = "".join(
        f"<tr><th>{html.escape(str(key))}</th><td>{html.escape(_meta_text(value))}</td></tr>"
        for key, value in report.meta.items()
    )
    figures = "".join(
        f'<figure><img src="{html.escape(FIGURE_FILES[key])}" alt="{html.escape(caption)}">'
        f"<figcaption>{html.escape(caption)}</figcaption></figure>\n"
        for key, caption in FIGURE_CAPTIONS.items()
    )
    parts = [
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">',
        f"<title>{html.escape(report.title)}</title>\n<style>{CSS}</style>\n</head>\n<body>",
        f"<h1>{html.escape(report.title)}</h1>",
        f'<table class="meta">{meta_rows}</table>' if meta_rows else "",
        "<h2>Comparison</h2>",
        "<p>Best value per metric in bold (arrows: which direction is better); brackets hold 95% bootstrap "
        "intervals. Methods with missing scores are evaluated on the questions they scored; see n and "
        "coverage.</p>",
        "".join(f"<p><b>{html.escape(verdict_sentence(verdict))}</b></p>" for verdict in report.verdicts),
        _table(report.rows, ALL_COLUMNS),
        "<h2>Per dataset</h2>" if report.by_dataset else "",
        _table(report.by_dataset, MAIN_COLUMNS) if report.by_dataset else "",
        "<h2>Figures</h2>",
        f"<p>Methods shown: {html.escape(', '.join(report.shown))}.</p>",
        f"{figures}</body>\n</html>\n",
    ]
    return "\n".join(part for part in parts if part)
