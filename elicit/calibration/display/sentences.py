"""Sentences about results, written from their values only.

Every line that says how one method compares with another is made here from a
:class:`~elicit.calibration.verdicts.Verdict`, so the prose of a report, the terminal
and report.json say exactly what the interval shows and nothing hand-written can drift
from the numbers.
"""

from __future__ import annotations

from elicit.calibration.verdicts import Verdict


def verdict_sentence(verdict: Verdict) -> str:
    """One line: the difference, its paired-bootstrap interval and what it shows."""
    if verdict.word is None or verdict.estimate is None or verdict.low is None or verdict.high is None:
        return f"{verdict.metric}: undefined on these questions"
    return (
        f"{verdict.method} vs {verdict.rival}, {verdict.metric.upper()} difference {verdict.estimate:+.3f} "
        f"[{verdict.low:+.3f}, {verdict.high:+.3f}] (paired bootstrap, n={verdict.n}): {verdict.word}"
    )
