"""Correct/wrong labels: booleans, with enough of each class to fit on and to cross-validate on.

Every fit in the project learns a yes/no outcome (answered correctly, retrieval fixed the
answer) and fails the same ways: an entry that is not a bool, a class that never occurs, or
too few of one class for K stratified folds, each of which must hold one of each. The
checks live here once; each caller words the error for its own context (what its labels
are, what needs them), because "labels" alone tells a user little.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import NamedTuple

import numpy as np
from numpy.typing import ArrayLike, NDArray

MIN_PER_CLASS = 2
"""Fewest examples of each class a cross-validated fit runs on: two stratified folds, each
holding one of each class."""


class ClassCounts(NamedTuple):
    """How many labels are true (correct) and false (wrong)."""

    positive: int
    negative: int

    @property
    def total(self) -> int:
        return self.positive + self.negative

    @property
    def rarer(self) -> int:
        """The size of the smaller class: what limits stratified folds."""
        return min(self.positive, self.negative)


Problem = Callable[[ClassCounts], str]
"""Words the error for the caller's context, given the counts that fell short."""


def binary_labels(values: ArrayLike | Sequence[object], name: str = "labels") -> NDArray[np.bool_]:
    """``values`` as booleans, or a ValueError naming the first entry that is not a bool or 0/1.

    A float like 0.7 is refused rather than rounded: a score passed where an outcome belongs
    would otherwise be read silently as "correct".
    """
    array = values if isinstance(values, np.ndarray) else np.asarray(values, dtype=object)
    flat = array.ravel()
    if flat.dtype != np.bool_:
        bad = np.flatnonzero(~((flat == 0) | (flat == 1)))
        if bad.size:
            index = int(bad[0])
            value = flat[index]
            value = value.item() if isinstance(value, np.generic) else value
            raise ValueError(f"{name}[{index}] = {value!r} is not a bool or 0/1")
    return array.astype(bool)


def class_counts(labels: NDArray[np.bool_]) -> ClassCounts:
    """The counts of each class of boolean labels."""
    positive = int(np.count_nonzero(labels))
    return ClassCounts(positive, int(labels.size) - positive)


def require_per_class(labels: NDArray[np.bool_], at_least: int, problem: Problem) -> ClassCounts:
    """The class counts, or a ValueError worded by ``problem`` when a class has fewer than
    ``at_least`` members (1: both classes present)."""
    counts = class_counts(labels)
    if counts.rarer < at_least:
        raise ValueError(problem(counts))
    return counts


def stratified_folds(labels: NDArray[np.bool_], most: int, problem: Problem) -> int:
    """How many stratified folds these labels allow: ``most``, fewer when the rarer class has
    fewer members (every fold holds one of each); ``problem`` words the error when even
    ``MIN_PER_CLASS`` folds are impossible."""
    return min(most, require_per_class(labels, MIN_PER_CLASS, problem).rarer)
