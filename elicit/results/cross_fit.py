"""A cross-fit written to a folder: the head file, the report's files, and what the terminal shows.

``elicit fit`` and ``elicit demo`` (and the demo's results document) run the same steps
on their records, so they live here once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console

from elicit import defaults
from elicit.calibration.display.report_files import write_report
from elicit.calibration.display.sentences import verdict_sentence
from elicit.calibration.display.terminal import print_table
from elicit.calibration.fitting import BEST_SINGLE, HEAD, CrossFit, cross_fit
from elicit.calibration.head import DEFAULT_RULE, Rule
from elicit.calibration.report import Report, cross_fit_report
from elicit.types import EvalRecord

HEAD_FILE = "fusion-head.json"


@dataclass(frozen=True)
class FitResult:
    """A cross-fit, its report, and where both were saved."""

    fit: CrossFit
    report: Report
    head_path: Path
    page: Path


def fit_to_folder(
    records: Sequence[EvalRecord], out_dir: Path, *, title: str, folds: int = defaults.FOLDS, seed: int = defaults.SEED,
    source: str | None = None, nonnegative: bool = True, rule: Rule = DEFAULT_RULE,
) -> FitResult:  # fmt: skip
    """Cross-fit ``records``, save the head refit on all of them and the report, in ``out_dir``."""
    fit = cross_fit(records, k=folds, seed=seed, source=source, nonnegative=nonnegative, rule=rule)
    out_dir.mkdir(parents=True, exist_ok=True)
    head_path = out_dir / HEAD_FILE
    fit.head.save(head_path)
    report = cross_fit_report(fit, title=title, folds=folds, seed=seed)
    return FitResult(fit, report, head_path, write_report(out_dir, report))


def print_fit(result: FitResult, console: Console, *, folds: int, seed: int) -> None:
    """What ``elicit fit`` prints: both tables, each fold's choices, the verdicts, where the files are."""
    fit = result.fit
    console.print(
        f"{len(fit.records)} records, every method scored out of fold ({folds} folds, seed {seed}); "
        f"{fit.excluded_few_shot} few-shot questions left out"
    )
    print_table(result.report.rows, console=console)
    print_table(result.report.by_dataset, console=console, title="Per dataset")
    console.print(f"{HEAD} chosen per fold: {', '.join(fit.head_choices)}")
    console.print(f"{BEST_SINGLE} per fold: {', '.join(fit.best_single_choices)}")
    for verdict in result.report.verdicts:
        console.print(f"verdict: {verdict_sentence(verdict)}")
    console.print(
        f"fusion head (refit on all {len(fit.records)} records, is {fit.head.choice}): {result.head_path}\n"
        f"report: {result.page}"
    )
