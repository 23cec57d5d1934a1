"""Verdicts: whether one confidence method beats another on the same questions, as numbers.

A verdict holds the paired-bootstrap interval of a metric's difference between two
methods (see :func:`elicit.calibration.stats.paired_bootstrap_difference`) and derives
its word, "better", "worse" or "no difference distinguishable from noise", from that
interval and the metric's direction. The word is never stored apart from the numbers,
so no sentence about a comparison (written by
:func:`elicit.calibration.display.sentences.verdict_sentence`) can claim more than its
interval shows.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Literal, Self

import numpy as np
from numpy.typing import ArrayLike
from pydantic import BaseModel, ConfigDict, computed_field, model_validator

from elicit.calibration.metrics import HIGHER_IS_BETTER, LOWER_IS_BETTER
from elicit.calibration.rows import N_RESAMPLES
from elicit.calibration.stats import paired_bootstrap_difference

Word = Literal["better", "worse", "no difference distinguishable from noise"]
VERDICT_METRICS: tuple[str, ...] = ("auroc", "brier")
"""What a report compares by default: how well a confidence ranks, and how well it is calibrated."""


class Verdict(BaseModel):
    """``method`` against ``rival`` on ``metric``: metric(method) - metric(rival) and its 95% interval.

    ``estimate``, ``low`` and ``high`` are None together when the metric is undefined on
    these questions (e.g. AUROC when every answer is right); ``n`` counts the questions
    and ``seed`` the resamples, so a verdict can be reproduced.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    method: str
    rival: str
    metric: str
    estimate: float | None
    low: float | None
    high: float | None
    n: int
    seed: int

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.metric not in HIGHER_IS_BETTER | LOWER_IS_BETTER:
            known = ", ".join(sorted(HIGHER_IS_BETTER | LOWER_IS_BETTER))
            raise ValueError(f"metric {self.metric!r} has no direction; choose from {known}")
        numbers = (self.estimate, self.low, self.high)
        if any(value is None for value in numbers) and any(value is not None for value in numbers):
            raise ValueError("estimate, low and high are either all given or all None (undefined metric)")
        if self.low is not None and self.high is not None and self.low > self.high:
            raise ValueError(f"low {self.low} is above high {self.high}")
        return self

    @computed_field  # type: ignore[prop-decorator]
    @property
    def word(self) -> Word | None:
        """What the interval shows, read in the metric's direction; None when undefined."""
        if self.low is None or self.high is None:
            return None
        above, below = self.low > 0, self.high < 0
        if self.metric in LOWER_IS_BETTER:
            above, below = below, above
        return "better" if above else "worse" if below else "no difference distinguishable from noise"


def verdicts(
    correct: ArrayLike,
    scores: Mapping[str, ArrayLike],
    method: str,
    rival: str,
    *,
    metrics: Sequence[str] = VERDICT_METRICS,
    strata: Sequence[str] | None = None,
    seed: int = 0,
    n_bins: int = 10,
    rival_correct: ArrayLike | None = None,
) -> list[Verdict]:
    """``method`` against ``rival``, one verdict per metric, by the paired bootstrap on the same
    questions (stratified by label and, if given, ``strata``). Both methods need a score on
    every question: a paired comparison has no meaning where one of them is missing.
    ``rival_correct`` judges the rival on answers of its own (see ``paired_bootstrap_difference``)."""
    n = int(np.asarray(correct).size)
    found = []
    for metric in metrics:
        difference = paired_bootstrap_difference(
            scores[method],
            scores[rival],
            correct,
            metric=metric,
            n_resamples=N_RESAMPLES,
            seed=seed,
            strata=strata,
            n_bins=n_bins,
            correct_b=rival_correct,
        )
        estimate, low, high = (
            (None, None, None) if difference is None else (difference.estimate, difference.low, difference.high)
        )
        found.append(
            Verdict(method=method, rival=rival, metric=metric, estimate=estimate, low=low, high=high, n=n, seed=seed)
        )
    return found
