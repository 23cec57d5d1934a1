"""The one label check: booleans, both classes, enough of each for stratified folds, in each caller's words."""

from __future__ import annotations

import numpy as np
import pytest

from elicit.calibration.calibrators import check_labels
from elicit.calibration.labels import (
    MIN_PER_CLASS,
    ClassCounts,
    binary_labels,
    class_counts,
    require_per_class,
    stratified_folds,
)
from elicit.calibration.linear import inner_folds
from elicit.routing.probe import KnowledgeProbe, LearnedRouter, RetrievalGainProbe
from elicit.routing.thrust import as_labels


def test_binary_labels_accept_bools_and_0_1_and_name_the_first_bad_entry():
    assert binary_labels([True, 0, 1.0, np.bool_(False)]).tolist() == [True, False, True, False]
    assert binary_labels(np.array([0.0, 1.0])).dtype == np.bool_
    for values, shown in (
        ([1, 0.7], "0.7"),
        ([True, "yes"], "'yes'"),
        ([0, None], "None"),
        (np.array([1.0, 2.0]), "2.0"),
    ):
        with pytest.raises(ValueError, match=rf"^outcome\[1\] = {shown} is not a bool or 0/1$"):
            binary_labels(values, "outcome")


def test_counts_and_folds():
    labels = np.array([True, True, True, False, False])
    assert class_counts(labels) == ClassCounts(3, 2) and class_counts(labels).rarer == 2
    assert stratified_folds(labels, 5, str) == 2  # the rarer class limits the folds
    assert stratified_folds(np.array([True, False] * 10), 5, str) == 5
    with pytest.raises(ValueError, match=r"^ClassCounts\(positive=4, negative=1\)$"):
        stratified_folds(np.array([True] * 4 + [False]), 5, str)
    assert require_per_class(labels, 1, str).total == 5
    with pytest.raises(ValueError, match="only 0 wrong"):
        require_per_class(np.ones(3, dtype=bool), 1, lambda counts: f"only {counts.negative} wrong")
    assert MIN_PER_CLASS == 2


X = np.random.default_rng(0).normal(size=(6, 2))
ONE_WRONG = np.array([True] * 5 + [False])


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (
            lambda: check_labels(3, [True] * 3),
            r"labels must contain both classes \(correct and wrong\); all 3 are True",
        ),
        (lambda: check_labels(2, [True, 0.5]), r"labels\[1\] = 0.5 is not a bool or 0/1"),
        (lambda: inner_folds(ONE_WRONG), "fitting needs at least 2 correct and 2 wrong answers; got 1 of one class"),
        (lambda: KnowledgeProbe().fit(X, np.ones(6)), "all correct or all wrong: a probe needs both"),
        (
            lambda: KnowledgeProbe().fit(X, ONE_WRONG),
            "a probe needs at least 2 correct and 2 wrong training answers, got 5 correct and 1 wrong",
        ),
        (
            lambda: RetrievalGainProbe().fit(X, ~ONE_WRONG),
            "retrieval fixed 1 of 6 training answers: the gain probe needs at least 2 fixed and 2 not fixed",
        ),
        (lambda: RetrievalGainProbe().fit(X, [0, 1, 0.5, 1, 0, 1]), r"fixed\[2\] = 0.5 is not a bool or 0/1"),
        (
            lambda: LearnedRouter().fit(X, ONE_WRONG, lambda v, y: {}),
            "the learned router needs at least 2 correct and 2 wrong training answers",
        ),
        (lambda: as_labels([1, 0], 3), r"correct has shape \(2,\), expected \(3,\)"),
    ],
)
def test_each_caller_keeps_its_own_words(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_gain_probe_fittable_needs_two_of_each():
    assert not RetrievalGainProbe.fittable(~ONE_WRONG) and RetrievalGainProbe.fittable([1, 1, 0, 0])
