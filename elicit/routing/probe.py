"""Learned pre-generation routers: a P(IK) probe on hidden states, and a combination of every scorer.

* :class:`KnowledgeProbe` is Kadavath et al.'s (2022) "P(I know)" idea on a small model: a
  logistic regression from the question's hidden states to "answered correctly without
  retrieval", its regularisation chosen by cross-validation on the training questions only
  (the recipe the fusion head uses too, :class:`elicit.calibration.probe.LogisticProbe`).
* :class:`RetrievalGainProbe` is the same probe aimed at the routing decision itself: its label
  is "retrieval fixed the answer" (wrong without passages, right with them), from TRAIN
  questions answered both ways. Not knowing is not enough: a question the model gets wrong
  but the corpus cannot help with (arithmetic, say) wastes the budget.
* :class:`LearnedRouter` combines the pre-generation scores (Thrust, signed pull, nearest
  correct, probe) with a second logistic regression. Its inputs on the training questions
  are out of fold (each fold scored by scorers fitted on the other folds), since in-sample
  scores (a question among its own nearest neighbours, a probe that saw it) would teach the
  combination to trust them far more than they deserve on new questions.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, ClassVar, Protocol

import numpy as np
from numpy.typing import ArrayLike, NDArray
from sklearn.model_selection import StratifiedKFold

from elicit.calibration.labels import (
    MIN_PER_CLASS,
    ClassCounts,
    binary_labels,
    class_counts,
    require_per_class,
    stratified_folds,
)
from elicit.calibration.probe import LogisticProbe
from elicit.routing.thrust import as_labels, as_matrix, check_queries


class Scorer(Protocol):
    """A fitted pre-generation score: vectors in, higher = answer without retrieval (the model
    likely knows the answer, or passages would not help)."""

    kind: ClassVar[str]

    def score(self, embeddings: ArrayLike) -> NDArray[np.float64]: ...

    def state(self) -> dict[str, Any]: ...


PROBE_FOLDS = 5
"""Cross-validation folds the probes choose their regularisation by (fewer for a rare label)."""


def _too_few(counts: ClassCounts) -> str:
    """The probes' own words: labels all alike is another mistake than too few of one kind."""
    if counts.rarer == 0:
        return "the training labels are all correct or all wrong: a probe needs both"
    return (
        f"a probe needs at least {MIN_PER_CLASS} correct and {MIN_PER_CLASS} wrong training answers, "
        f"got {counts.positive} correct and {counts.negative} wrong"
    )


def _fit_probe(features: NDArray[np.float64], labels: NDArray[np.bool_], seed: int) -> LogisticProbe:
    """The shared logistic recipe on ten values of ``C``, by up to ``PROBE_FOLDS`` folds."""
    return LogisticProbe.fit(features, labels, folds=stratified_folds(labels, PROBE_FOLDS, _too_few), seed=seed)


class KnowledgeProbe:
    """P(answered correctly without retrieval | the question's hidden states)."""

    kind: ClassVar[str] = "probe"

    def __init__(self, seed: int = 0) -> None:
        self.seed = seed
        self.logistic: LogisticProbe | None = None

    def fit(self, embeddings: ArrayLike, correct: ArrayLike) -> KnowledgeProbe:
        x = as_matrix(embeddings, "embeddings")
        self.logistic = _fit_probe(x, as_labels(correct, x.shape[0]), self.seed)
        return self

    def _fitted(self) -> LogisticProbe:
        if self.logistic is None:
            raise RuntimeError(f"{type(self).__name__} is not fitted: call fit() or load it first")
        return self.logistic

    def score(self, embeddings: ArrayLike) -> NDArray[np.float64]:
        logistic = self._fitted()
        return logistic.predict(check_queries(embeddings, len(logistic.coef)))

    def state(self) -> dict[str, Any]:
        return self._fitted().model_dump()

    @classmethod
    def from_state(cls, state: Mapping[str, Any]) -> KnowledgeProbe:
        probe = cls()
        probe.logistic = LogisticProbe.model_validate(state)
        return probe


class RetrievalGainProbe(KnowledgeProbe):
    """1 - P(retrieval fixes the answer | the question's hidden states): higher = leave it alone.

    Scored on the same scale as every policy (higher = answer without retrieval), so a router
    retrieves first where passages are most likely to turn a wrong answer into a right one.
    """

    kind: ClassVar[str] = "gain_probe"

    @staticmethod
    def fittable(fixed: ArrayLike) -> bool:
        """Whether retrieval fixed enough training answers, and left enough alone, to fit on."""
        return class_counts(binary_labels(fixed, "fixed")).rarer >= MIN_PER_CLASS

    def fit(self, embeddings: ArrayLike, fixed: ArrayLike) -> RetrievalGainProbe:
        """``fixed``: per question, whether it was wrong without passages and right with them."""
        require_per_class(
            binary_labels(fixed, "fixed"),
            MIN_PER_CLASS,
            lambda counts: (
                f"retrieval fixed {counts.positive} of {counts.total} training answers: the gain probe "
                f"needs at least {MIN_PER_CLASS} fixed and {MIN_PER_CLASS} not fixed"
            ),
        )
        super().fit(embeddings, fixed)
        return self

    def score(self, embeddings: ArrayLike) -> NDArray[np.float64]:
        return 1.0 - super().score(embeddings)


def _feature(kind: str, scores: NDArray[np.float64]) -> NDArray[np.float64]:
    """Thrust-family scores span orders of magnitude (1 / distance^2): compare them on a
    signed log scale; rates and probabilities are used as they are."""
    return np.sign(scores) * np.log1p(np.abs(scores)) if kind in ("thrust", "signed_pull") else scores


class LearnedRouter:
    """A logistic combination of fitted pre-generation scorers (stacked on out-of-fold scores)."""

    kind: ClassVar[str] = "learned"

    def __init__(self, seed: int = 0, folds: int = 5) -> None:
        self.seed, self.folds = seed, folds
        self.scorers: dict[str, Scorer] = {}
        self.logistic: LogisticProbe | None = None

    def _features(self, scorers: Mapping[str, Scorer], embeddings: ArrayLike) -> NDArray[np.float64]:
        return np.column_stack([_feature(s.kind, s.score(embeddings)) for s in scorers.values()])

    def fit(
        self,
        embeddings: ArrayLike,
        correct: ArrayLike,
        make_scorers: Callable[[NDArray[np.float64], NDArray[np.bool_]], dict[str, Scorer]],
    ) -> LearnedRouter:
        """Fit the combination on out-of-fold scores, then keep scorers fitted on every row.

        ``make_scorers(vectors, labels)`` fits the component scorers; it is called once per
        fold and once on all rows.
        """
        x = as_matrix(embeddings, "embeddings")
        labels = as_labels(correct, x.shape[0])
        columns: NDArray[np.float64] | None = None
        folds = stratified_folds(
            labels,
            self.folds,
            lambda counts: (
                f"the learned router needs at least {MIN_PER_CLASS} correct and {MIN_PER_CLASS} wrong "
                f"training answers, got {counts.positive} correct and {counts.negative} wrong"
            ),
        )
        split = StratifiedKFold(folds, shuffle=True, random_state=self.seed)
        for train, held_out in split.split(x, labels):
            block = self._features(make_scorers(x[train], labels[train]), x[held_out])
            columns = np.zeros((len(x), block.shape[1])) if columns is None else columns
            columns[held_out] = block
        assert columns is not None
        self.logistic = _fit_probe(columns, labels, self.seed)
        self.scorers = make_scorers(x, labels)
        return self

    def _fitted(self) -> LogisticProbe:
        if self.logistic is None:
            raise RuntimeError("LearnedRouter is not fitted: call fit() or load it first")
        return self.logistic

    def score(self, embeddings: ArrayLike) -> NDArray[np.float64]:
        return self._fitted().predict(self._features(self.scorers, embeddings))

    def state(self) -> dict[str, Any]:
        return {
            **self._fitted().model_dump(),
            "scorers": {name: {"kind": s.kind, **s.state()} for name, s in self.scorers.items()},
        }
