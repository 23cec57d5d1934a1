"""Policies compared on questions answered both ways: the table at each budget, and the designation.

Pure functions of the stored outcomes and the policies' scores (see
:mod:`elicit.routing.curves`): no model is asked again. The designation picks a default
policy on DEV questions by the routing outcome at ``DESIGNATION_BUDGET``; the comparison
reports every policy on held-out questions at every one of ``BUDGETS``.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping

import numpy as np
from numpy.typing import NDArray
from pydantic import BaseModel, ConfigDict

from elicit.routing.builtin import BuiltInPolicy
from elicit.routing.curves import (
    BUDGETS,
    accuracy_at,
    accuracy_interval,
    generation_calls,
    paired_difference,
    retrieval_count,
    routing_curves,
)

DESIGNATION_BUDGET = 0.3
"""The retrieval rate the designated pre-generation policy is chosen at (on DEV) and judged at."""


class PolicyRow(BaseModel):
    """One policy at one retrieval budget."""

    model_config = ConfigDict(extra="forbid")

    policy: str
    rate: float
    accuracy: float
    interval: tuple[float, float]
    vs_random: float | None = None
    vs_random_interval: tuple[float, float] | None = None
    generation_calls: int


def designate(
    without: NDArray[np.float64],
    with_: NDArray[np.float64],
    scores: Mapping[str, NDArray[np.float64]],
    candidates: Collection[str] | None = None,
) -> tuple[str, dict[str, float]]:
    """The candidate (default: every policy) with the highest accuracy at ``DESIGNATION_BUDGET``
    on these (DEV) questions, ties going to the earlier one, and every policy's accuracy there.

    Chosen by the routing outcome itself, not by how well a policy predicts "answered
    correctly": a policy can know which questions the model gets wrong and still spend the
    budget where passages cannot help.
    """
    accuracy = {name: accuracy_at(name, values, without, with_, DESIGNATION_BUDGET) for name, values in scores.items()}
    eligible = [name for name in accuracy if candidates is None or name in candidates]
    if not eligible:
        raise ValueError("scores must hold at least one candidate policy to designate")
    return max(eligible, key=accuracy.__getitem__), accuracy


def compare_policies(
    without: NDArray[np.float64],
    with_: NDArray[np.float64],
    scores: Mapping[str, NDArray[np.float64]],
    *,
    seed: int = 0,
    n_resamples: int = 1000,
) -> tuple[dict[str, list[float]], dict[str, list[PolicyRow]]]:
    """Curves at ``RATES`` and, at each of ``BUDGETS``, every policy's accuracy with its interval,
    its paired difference from random (the exact expectation of random routing, on every
    resample) and the generation calls it spends."""
    curves = routing_curves(without, with_, scores)
    n = without.size
    tables: dict[str, list[PolicyRow]] = {}
    for budget in BUDGETS:
        count = retrieval_count(budget, n)
        rows = []
        for name in (BuiltInPolicy.RANDOM, *scores, BuiltInPolicy.ORACLE):
            policy_scores = scores.get(name)
            low_high = accuracy_interval(
                name, policy_scores, without, with_, budget, n_resamples=n_resamples, seed=seed
            )
            shift, shift_interval = (
                (None, None)
                if name == BuiltInPolicy.RANDOM
                else paired_difference(name, policy_scores, BuiltInPolicy.RANDOM, None, without, with_, budget,
                                       n_resamples=n_resamples, seed=seed)
            )  # fmt: skip
            rows.append(
                PolicyRow(
                    policy=name,
                    rate=count / n,
                    accuracy=accuracy_at(name, policy_scores, without, with_, budget),
                    interval=low_high,
                    vs_random=shift,
                    vs_random_interval=shift_interval,
                    generation_calls=generation_calls(name, n, count),
                )
            )
        tables[f"{budget:g}"] = rows
    return curves, tables
