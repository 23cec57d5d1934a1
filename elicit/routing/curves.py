"""Routing curves: accuracy against retrieval rate for every policy, from stored outcomes.

Every evaluation question is answered twice, without and with retrieved passages, and both
outcomes are stored. A policy that retrieves for a subset S of the n questions scores
``(correct-with-retrieval over S + correct-without over the rest) / n``, so every policy at
every retrieval rate follows from the stored outcomes without asking the model again, and
all policies are compared retrieving for exactly the same number of questions. Intervals
resample questions (plain percentile bootstrap: the accuracy itself is uncertain); a
comparison of two policies resamples them in pairs, so the hardness the two share cancels.

Two rows are references rather than routers: ``random`` is the exact expectation of a
router's seeded coin (:class:`elicit.routing.builtin.RandomPolicy`) over seeds, and
``oracle`` the best any policy could do knowing both answers.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence

import numpy as np
from numpy.typing import ArrayLike, NDArray

from elicit.calibration.labels import binary_labels
from elicit.calibration.stats import percentile_interval, resample_indices
from elicit.routing.builtin import BuiltInPolicy

RATES: tuple[float, ...] = tuple(i / 10 for i in range(11))
"""Retrieval rates at which every curve is evaluated."""

BUDGETS: tuple[float, ...] = (0.1, 0.2, 0.3, 0.5)
"""Retrieval budgets of the comparison table."""


def _outcomes(no_retrieval: ArrayLike, retrieval: ArrayLike) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    without = np.asarray(no_retrieval, dtype=np.float64)
    with_ = np.asarray(retrieval, dtype=np.float64)
    if without.ndim != 1 or without.size == 0:
        raise ValueError(f"no_retrieval must be a non-empty 1-D sequence of outcomes, got shape {without.shape}")
    if with_.shape != without.shape:
        raise ValueError(f"retrieval has shape {with_.shape} but no_retrieval has {without.shape}")
    for name, values in (("no_retrieval", without), ("retrieval", with_)):
        binary_labels(values, name)
    return without, with_


def retrieval_count(rate: float, n: int) -> int:
    """How many of ``n`` questions a retrieval rate means (nearest integer, halves up), so that
    every policy compared at one rate retrieves for the same number of questions."""
    if not 0.0 <= rate <= 1.0:
        raise ValueError(f"rate must be in [0, 1], got {rate!r}")
    return min(n, math.floor(rate * n + 0.5))


def _check_count(count: int, n: int) -> None:
    if not 0 <= count <= n:
        raise ValueError(f"count must be between 0 and {n} (the number of questions), got {count}")


def expected_random_accuracy(no_retrieval: ArrayLike, retrieval: ArrayLike, count: int) -> float:
    """Expected accuracy when ``count`` questions chosen uniformly at random are retrieved for.

    This is the ``random`` router evaluated exactly: over its seeds, the seeded coin of
    :class:`~elicit.routing.builtin.RandomPolicy` retrieves for every set of ``count``
    questions alike, so each question is retrieved for with probability count / n, and the
    expectation is the never-retrieve accuracy plus that fraction of retrieval's total gain.
    No seed's luck enters the curve.
    """
    without, with_ = _outcomes(no_retrieval, retrieval)
    _check_count(count, without.size)
    return float((without.sum() + count / without.size * (with_ - without).sum()) / without.size)


def policy_accuracy(scores: ArrayLike, no_retrieval: ArrayLike, retrieval: ArrayLike, count: int) -> float:
    """Accuracy when the ``count`` questions with the LOWEST scores are retrieved for.

    Ties at the cut-off are resolved by expectation: when it falls inside a group of equal
    scores, each member counts with the group's mean gain. The result is what a random
    tie-break gives on average, and does not depend on the order of the questions.
    """
    without, with_ = _outcomes(no_retrieval, retrieval)
    values = np.asarray(scores, dtype=np.float64)
    if values.shape != without.shape:
        raise ValueError(f"scores has shape {values.shape} but the outcomes have {without.shape}")
    if not np.isfinite(values).all():
        raise ValueError("scores must all be finite")
    _check_count(count, without.size)
    _, group = np.unique(values, return_inverse=True)  # ascending: lowest scores first
    sizes = np.bincount(group)
    gains = np.bincount(group, weights=with_ - without)
    boundaries = np.concatenate(([0.0], np.cumsum(sizes)))
    cumulative_gain = np.concatenate(([0.0], np.cumsum(gains)))
    return float((without.sum() + np.interp(count, boundaries, cumulative_gain)) / without.size)


def oracle_accuracy(no_retrieval: ArrayLike, retrieval: ArrayLike, count: int) -> float:
    """Best accuracy any policy can reach retrieving for ``count`` questions: retrieve first
    where retrieval fixes a wrong answer, then where it changes nothing, last where it hurts."""
    without, with_ = _outcomes(no_retrieval, retrieval)
    _check_count(count, without.size)
    best_gains = np.sort(with_ - without)[::-1]
    return float((without.sum() + best_gains[:count].sum()) / without.size)


def routing_curves(
    no_retrieval: ArrayLike,
    retrieval: ArrayLike,
    signals: Mapping[str, ArrayLike],
    rates: Sequence[float] = RATES,
) -> dict[str, list[float]]:
    """Accuracy at each rate for random routing (its expectation), each signal's routing and the oracle."""
    without, with_ = _outcomes(no_retrieval, retrieval)
    counts = [retrieval_count(rate, without.size) for rate in rates]
    curves: dict[str, list[float]] = {
        BuiltInPolicy.RANDOM: [expected_random_accuracy(without, with_, m) for m in counts]
    }
    for name, scores in signals.items():
        curves[name] = [policy_accuracy(scores, without, with_, m) for m in counts]
    curves[BuiltInPolicy.ORACLE] = [oracle_accuracy(without, with_, m) for m in counts]
    return curves


def oracle_share(curves: Mapping[str, Sequence[float]], rates: Sequence[float] = RATES) -> dict[str, float | None]:
    """Share of the oracle's gain over random each policy captures: the area between the
    policy's curve and random's over the area between the oracle's and random's (trapezoids
    over ``rates``). 1 = as good as the oracle, 0 = no better than chance, < 0 = worse.
    None when the oracle gains nothing over random (nothing to capture)."""
    x = np.asarray(rates, dtype=np.float64)
    random = np.asarray(curves[BuiltInPolicy.RANDOM], dtype=np.float64)
    best = float(np.trapezoid(np.asarray(curves[BuiltInPolicy.ORACLE]) - random, x))
    if best <= 0:
        return dict.fromkeys(curves)
    return {name: float(np.trapezoid(np.asarray(values) - random, x)) / best for name, values in curves.items()}


def generation_calls(policy: str, n: int, count: int) -> int:
    """Chain passes a policy spends answering ``n`` questions while retrieving for ``count``.

    A pre-generation policy (and never / always / random) answers each question once, with or
    without passages; ``confidence`` answers every question first and again for the retrieved
    ones; the ``oracle`` must know both answers of every question.
    """
    if policy == BuiltInPolicy.CONFIDENCE:
        return n + count
    if policy == BuiltInPolicy.ORACLE:
        return 2 * n
    return n


def _bootstrap_interval(
    statistic: Callable[[NDArray[np.intp]], float], n: int, n_resamples: int, level: float, seed: int
) -> tuple[float, float]:
    """The percentile interval of ``statistic`` over plain resamples of the ``n`` questions
    (resampled accuracies are always finite)."""
    values = np.array([statistic(rows) for rows in resample_indices(n, n_resamples=n_resamples, seed=seed)])
    interval = percentile_interval(values, level)
    if interval is None:
        raise ValueError("no finite resampled accuracy to take an interval of")
    return interval


def accuracy_interval(
    policy: str,
    scores: ArrayLike | None,
    no_retrieval: ArrayLike,
    retrieval: ArrayLike,
    rate: float,
    *,
    n_resamples: int = 1000,
    level: float = 0.95,
    seed: int = 0,
) -> tuple[float, float]:
    """Percentile bootstrap interval of a policy's accuracy at ``rate`` (``random``/``oracle``
    need no scores); the policy is re-applied to each resample of the questions."""
    without, with_ = _outcomes(no_retrieval, retrieval)
    return _bootstrap_interval(
        lambda rows: _accuracy_on(rows, policy, scores, without, with_, rate), without.size, n_resamples, level, seed
    )


def paired_difference(
    policy_a: str,
    scores_a: ArrayLike | None,
    policy_b: str,
    scores_b: ArrayLike | None,
    no_retrieval: ArrayLike,
    retrieval: ArrayLike,
    rate: float,
    *,
    n_resamples: int = 1000,
    level: float = 0.95,
    seed: int = 0,
) -> tuple[float, tuple[float, float]]:
    """Accuracy(A) - accuracy(B) at ``rate`` on the same questions, with its paired interval."""
    without, with_ = _outcomes(no_retrieval, retrieval)

    def difference(rows: NDArray[np.intp] | slice) -> float:
        a = _accuracy_on(rows, policy_a, scores_a, without, with_, rate)
        return a - _accuracy_on(rows, policy_b, scores_b, without, with_, rate)

    return difference(slice(None)), _bootstrap_interval(difference, without.size, n_resamples, level, seed)


def _accuracy_on(
    rows: NDArray[np.intp] | slice,
    policy: str,
    scores: ArrayLike | None,
    without: NDArray[np.float64],
    with_: NDArray[np.float64],
    rate: float,
) -> float:
    """``accuracy_at`` on the questions ``rows`` (one bootstrap resample, or all of them)."""
    picked = None if scores is None else np.asarray(scores)[rows]
    return accuracy_at(policy, picked, without[rows], with_[rows], rate)


def accuracy_at(
    policy: str,
    scores: NDArray[np.float64] | None,
    without: NDArray[np.float64],
    with_: NDArray[np.float64],
    rate: float,
) -> float:
    """Accuracy of ``random`` (its expectation), ``oracle`` or a scored policy retrieving for
    ``rate`` of the questions."""
    count = retrieval_count(rate, without.size)
    if policy == BuiltInPolicy.RANDOM:
        return expected_random_accuracy(without, with_, count)
    if policy == BuiltInPolicy.ORACLE:
        return oracle_accuracy(without, with_, count)
    if scores is None:
        raise ValueError(f"policy {policy!r} needs scores")
    return policy_accuracy(scores, without, with_, count)
