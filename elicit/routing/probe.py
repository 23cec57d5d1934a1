"""Learned pre-generation routers: a P(IK) probe on hidden states, and a combination of every scorer.

* :class:`KnowledgeProbe` is Kadavath et al.'s (2022) "P(I know)" idea on a small model: a
  logistic regression from the question's hidden states to "answered correctly without
  retrieval", its regularisation chosen by cross-validation on the training questions only.
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
from sklearn.linear_model import LogisticRegressionCV
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

from elicit.routing.thrust import as_labels, as_matrix, check_queries


class Scorer(Protocol):
    """A fitted pre-generation score: vectors in, higher = answer without retrieval (the model
    likely knows the answer, or passages would not help)."""

    kind: ClassVar[str]

    def score(self, embeddings: ArrayLike) -> NDArray[np.float64]: ...

    def state(self) -> dict[str, Any]: ...


MIN_PER_LABEL = 2
"""Fewest training questions of each label a probe is fitted on: two folds at least, each
holding one of each label."""


def _fit_logistic(features: NDArray[np.float64], labels: NDArray[np.bool_], seed: int) -> tuple[Any, Any]:
    """Standardize, then a logistic regression whose C is chosen by 5-fold cross-validation
    (log loss); returns the fitted scaler and classifier."""
    if labels.all() or not labels.any():
        raise ValueError("the training labels are all correct or all wrong: a probe needs both")
    folds = min(5, int(labels.sum()), int((~labels).sum()))
    if folds < MIN_PER_LABEL:
        raise ValueError(f"a probe needs at least {MIN_PER_LABEL} correct and {MIN_PER_LABEL} wrong training answers")
    pipeline = make_pipeline(
        StandardScaler(),
        LogisticRegressionCV(Cs=10, cv=StratifiedKFold(folds, shuffle=True, random_state=seed), scoring="neg_log_loss",
                             max_iter=5000, l1_ratios=(0.0,), use_legacy_attributes=False),
    )  # fmt: skip
    with threadpool_limits(1):  # small fits: extra BLAS threads only wait on a shared machine
        pipeline.fit(features, labels)
    return pipeline[0], pipeline[1]


def _logistic(features: NDArray[np.float64], state: Mapping[str, Any]) -> NDArray[np.float64]:
    z = (features - np.asarray(state["mean"])) / np.asarray(state["scale"])
    return 1.0 / (1.0 + np.exp(-(z @ np.asarray(state["coef"]) + state["intercept"])))


def _logistic_state(scaler: Any, classifier: Any) -> dict[str, Any]:
    return {
        "mean": scaler.mean_.tolist(),
        "scale": scaler.scale_.tolist(),
        "coef": classifier.coef_[0].tolist(),
        "intercept": float(classifier.intercept_[0]),
        "C": float(np.ravel(classifier.C_)[0]),
    }


class KnowledgeProbe:
    """P(answered correctly without retrieval | the question's hidden states)."""

    kind: ClassVar[str] = "probe"

    def __init__(self, seed: int = 0) -> None:
        self.seed = seed
        self.params: dict[str, Any] | None = None

    def fit(self, embeddings: ArrayLike, correct: ArrayLike) -> KnowledgeProbe:
        x = as_matrix(embeddings, "embeddings")
        self.params = _logistic_state(*_fit_logistic(x, as_labels(correct, x.shape[0]), self.seed))
        return self

    def score(self, embeddings: ArrayLike) -> NDArray[np.float64]:
        if self.params is None:
            raise RuntimeError("KnowledgeProbe is not fitted: call fit() or load it first")
        return _logistic(check_queries(embeddings, len(self.params["coef"])), self.params)

    def state(self) -> dict[str, Any]:
        if self.params is None:
            raise RuntimeError("KnowledgeProbe is not fitted")
        return dict(self.params)

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> KnowledgeProbe:
        probe = cls()
        probe.params = dict(state)
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
        labels = np.asarray(fixed, dtype=bool)
        return min(int(labels.sum()), int((~labels).sum())) >= MIN_PER_LABEL

    def fit(self, embeddings: ArrayLike, fixed: ArrayLike) -> RetrievalGainProbe:
        """``fixed``: per question, whether it was wrong without passages and right with them."""
        if not self.fittable(fixed):
            count, total = int(np.sum(fixed)), len(np.asarray(fixed))
            raise ValueError(
                f"retrieval fixed {count} of {total} training answers: the gain probe needs at least "
                f"{MIN_PER_LABEL} fixed and {MIN_PER_LABEL} not fixed"
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
        self.params: dict[str, Any] | None = None

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
        folds = min(self.folds, int(labels.sum()), int((~labels).sum()))
        if folds < 2:
            raise ValueError("the learned router needs at least 2 correct and 2 wrong training answers")
        split = StratifiedKFold(folds, shuffle=True, random_state=self.seed)
        for train, held_out in split.split(x, labels):
            block = self._features(make_scorers(x[train], labels[train]), x[held_out])
            columns = np.zeros((len(x), block.shape[1])) if columns is None else columns
            columns[held_out] = block
        assert columns is not None
        self.params = _logistic_state(*_fit_logistic(columns, labels, self.seed))
        self.scorers = make_scorers(x, labels)
        return self

    def score(self, embeddings: ArrayLike) -> NDArray[np.float64]:
        if self.params is None:
            raise RuntimeError("LearnedRouter is not fitted: call fit() or load it first")
        return _logistic(self._features(self.scorers, embeddings), self.params)

    def state(self) -> dict[str, Any]:
        if self.params is None:
            raise RuntimeError("LearnedRouter is not fitted")
        return {**self.params, "scorers": {name: {"kind": s.kind, **s.state()} for name, s in self.scorers.items()}}
