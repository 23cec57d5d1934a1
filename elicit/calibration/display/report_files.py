"""A report written to a folder: report.json, the PNG figures and report.html.

report.json holds the numbers behind the page (rows, verdicts, reliability bins,
risk-coverage curves), so a report can be compared or re-plotted without re-running the
model. ``format_version`` says which layout a reader gets.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from elicit.calibration.display.figures import FIGURE_FILES, write_figures
from elicit.calibration.display.html import html_page
from elicit.calibration.display.sentences import verdict_sentence
from elicit.calibration.report import Report

FORMAT_VERSION = 1
"""The layout of report.json; raise it when a key changes meaning or goes away."""


def report_document(report: Report) -> dict[str, Any]:
    """The content of report.json, as a JSON-compatible dict (``meta`` values as given)."""
    return {
        "format_version": FORMAT_VERSION,
        "title": report.title,
        "meta": report.meta,
        "rows": [row.to_dict() for row in report.rows],
        "by_dataset": [row.to_dict() for row in report.by_dataset],
        "verdict": [verdict_sentence(verdict) for verdict in report.verdicts],
        "reliability_bins": {name: [b.model_dump() for b in bins] for name, bins in report.reliability_bins.items()},
        "risk_coverage": {name: curve.model_dump() for name, curve in report.risk_coverage.items()},
        "figures": {"methods": report.shown, **FIGURE_FILES},
    }


def write_report(out_dir: Path, report: Report) -> Path:
    """Write report.json, the PNG figures and report.html into ``out_dir``; return report.html."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    # default=str keeps paths or dates in meta readable; NaN never occurs in the computed parts.
    document = json.dumps(report_document(report), indent=2, default=str, allow_nan=False)
    (out_dir / "report.json").write_text(document + "\n")
    write_figures(report, out_dir)
    page = out_dir / "report.html"
    page.write_text(html_page(report), encoding="utf-8")
    return page
