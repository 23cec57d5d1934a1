"""Thrust: decide from the question alone whether the model needs external knowledge.

Thrust (Zhao et al. 2023, "Thrust: Adaptively Propels Large Language Models with External
Knowledge") summarises the questions a model has seen as k-means clusters of the model's
own representations and measures how strongly a new question is pulled by them, like a mass
by gravity. It needs no generation, so it decides before the model answers.

Published Thrust counts every known question alike, so a neighbourhood of questions the
model gets *wrong* pulls as hard as one it gets right. The two labelled variants use
whether each training question was answered correctly:

* :class:`SignedPullScorer`: the pull of correctly answered clusters minus the pull of
  wrongly answered ones;
* :class:`NearestCorrectScorer`: the share of the k nearest labelled questions the model
  answered correctly (SKR-style, Wang et al. 2023, "Self-Knowledge Guided Retrieval").

Every scorer returns higher = "the model knows this"; a router retrieves for the lowest.
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

import numpy as np
from numpy.typing import ArrayLike, NDArray
from sklearn.cluster import KMeans
from sklearn.neighbors import NearestNeighbors
from threadpoolctl import threadpool_limits

from elicit.calibration.labels import binary_labels

Matrix = NDArray[np.float64]


class ThrustModelError(ValueError):
    """A fitted or saved scorer does not match what it is used with (dimension, representation,
    file version): each of these would silently produce meaningless scores."""


def default_n_clusters(n_examples: int) -> int:
    """Number of clusters of the published method: ``max(3, floor(N ** 0.25))``."""
    if n_examples < 1:
        raise ValueError(f"n_examples must be >= 1, got {n_examples}")
    return max(3, math.floor(n_examples**0.25))


def as_matrix(values: ArrayLike, name: str) -> Matrix:
    """A finite, non-empty 2-D float array, or a ValueError naming ``name``."""
    matrix = np.asarray(values, dtype=np.float64)
    if matrix.ndim != 2 or matrix.shape[0] == 0 or matrix.shape[1] == 0:
        raise ValueError(f"{name} must be a non-empty 2-D array, got shape {matrix.shape}")
    if not np.all(np.isfinite(matrix)):
        raise ValueError(f"{name} must be finite")
    return matrix


def as_labels(correct: ArrayLike, n: int) -> NDArray[np.bool_]:
    """Correct/wrong labels, one per training row, as booleans."""
    shape = np.shape(correct)
    if shape != (n,):
        raise ValueError(f"correct has shape {shape}, expected ({n},): one label per embedding row")
    return binary_labels(correct, "correct")


def check_queries(queries: ArrayLike, dim: int) -> Matrix:
    """Query rows of the fitted dimension (one row may be given as a vector)."""
    q = as_matrix(np.atleast_2d(np.asarray(queries, dtype=np.float64)), "embeddings")
    if q.shape[1] != dim:
        raise ThrustModelError(f"embeddings have dimension {q.shape[1]}, the scorer expects {dim}")
    return q


def cluster(points: Matrix, n_clusters: int | None, seed: int) -> tuple[Matrix, NDArray[np.float64]]:
    """k-means centroids and cluster sizes (k clipped to the number of distinct points)."""
    k = n_clusters if n_clusters is not None else default_n_clusters(len(points))
    if k < 1:
        raise ValueError(f"n_clusters must be >= 1, got {k}")
    k = min(k, np.unique(points, axis=0).shape[0])
    with threadpool_limits(1):  # a few hundred points: extra threads only wait on a shared machine
        kmeans = KMeans(n_clusters=k, random_state=seed, n_init=10).fit(points)
    return kmeans.cluster_centers_.astype(np.float64), np.bincount(kmeans.labels_, minlength=k).astype(np.float64)


def pull(centroids: Matrix, sizes: NDArray[np.float64], queries: Matrix, eps: float = 1e-9) -> Matrix:
    """The Thrust vector of each query: ``sum_k |C_k| * (c_k - q) / ||c_k - q||**3``.

    A query closer than ``eps`` to a centroid has that distance clamped to ``eps`` and the
    offset taken along the first axis, keeping its (huge) pull instead of dividing by zero.
    """
    total = np.zeros_like(queries)
    for centroid, size in zip(centroids, sizes, strict=True):
        offset = centroid - queries
        distance = np.linalg.norm(offset, axis=1)
        at_centroid = distance < eps
        offset[at_centroid] = 0.0
        offset[at_centroid, 0] = eps
        total += (size / np.maximum(distance, eps) ** 3)[:, None] * offset
    return total


class ThrustScorer:
    """Thrust as published: ONE k-means over all known questions, K = max(3, floor(N^(1/4))),
    score ``|| sum_k |C_k| * (c_k - q) / ||c_k - q||^3 ||`` (>= 0; no labels used)."""

    kind: ClassVar[str] = "thrust"

    def __init__(self, n_clusters: int | None = None, seed: int = 0) -> None:
        self.n_clusters, self.seed = n_clusters, seed
        self.centroids: Matrix | None = None
        self.sizes: NDArray[np.float64] | None = None

    def fit(self, embeddings: ArrayLike, correct: ArrayLike | None = None) -> ThrustScorer:
        """Cluster the known questions; ``correct`` is accepted for a common signature and ignored."""
        self.centroids, self.sizes = cluster(as_matrix(embeddings, "embeddings"), self.n_clusters, self.seed)
        return self

    def score(self, embeddings: ArrayLike) -> NDArray[np.float64]:
        centroids, sizes = self._fitted()
        return np.linalg.norm(pull(centroids, sizes, check_queries(embeddings, centroids.shape[1])), axis=1)

    def _fitted(self) -> tuple[Matrix, NDArray[np.float64]]:
        if self.centroids is None or self.sizes is None:
            raise RuntimeError(f"{type(self).__name__} is not fitted: call fit() or load it first")
        return self.centroids, self.sizes

    def state(self) -> dict[str, Any]:
        centroids, sizes = self._fitted()
        return {"centroids": centroids.tolist(), "sizes": sizes.tolist()}

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> ThrustScorer:
        scorer = cls()
        scorer.centroids = as_matrix(state["centroids"], "centroids")
        scorer.sizes = np.asarray(state["sizes"], dtype=np.float64)
        if scorer.sizes.shape != (scorer.centroids.shape[0],):
            raise ThrustModelError(f"{scorer.centroids.shape[0]} centroids but {scorer.sizes.shape[0]} sizes")
        return scorer


class SignedPullScorer:
    """Labelled Thrust: ``||pull of correct clusters|| - ||pull of wrong clusters||``.

    Correctly and wrongly answered questions are clustered apart (each group with the
    published K of its size), so a query next to questions the model gets wrong is pushed
    below zero instead of being counted as known. A group that is empty pulls with 0.
    """

    kind: ClassVar[str] = "signed_pull"

    def __init__(self, seed: int = 0) -> None:
        self.seed = seed
        self.groups: dict[bool, ThrustScorer] = {}

    def fit(self, embeddings: ArrayLike, correct: ArrayLike) -> SignedPullScorer:
        x = as_matrix(embeddings, "embeddings")
        labels = as_labels(correct, x.shape[0])
        self.groups = {label: ThrustScorer(seed=self.seed).fit(x[labels == label]) for label in (True, False)
                       if (labels == label).any()}  # fmt: skip
        return self

    def score(self, embeddings: ArrayLike) -> NDArray[np.float64]:
        if not self.groups:
            raise RuntimeError("SignedPullScorer is not fitted: call fit() or load it first")
        q = np.atleast_2d(np.asarray(embeddings, dtype=np.float64))
        known = self.groups[True].score(q) if True in self.groups else np.zeros(q.shape[0])
        unknown = self.groups[False].score(q) if False in self.groups else np.zeros(q.shape[0])
        return known - unknown

    def state(self) -> dict[str, Any]:
        return {("correct" if label else "wrong"): scorer.state() for label, scorer in self.groups.items()}

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> SignedPullScorer:
        scorer = cls()
        scorer.groups = {name == "correct": ThrustScorer.from_state(group) for name, group in state.items()}
        return scorer


class NearestCorrectScorer:
    """Share of the ``k`` nearest labelled questions (Euclidean) that were answered correctly."""

    kind: ClassVar[str] = "nearest_correct"

    def __init__(self, k: int = 10) -> None:
        if k < 1:
            raise ValueError(f"k must be >= 1, got {k}")
        self.k = k
        self.points: Matrix | None = None
        self.correct: NDArray[np.bool_] | None = None
        self.index: NearestNeighbors | None = None

    def fit(self, embeddings: ArrayLike, correct: ArrayLike) -> NearestCorrectScorer:
        self.points = as_matrix(embeddings, "embeddings")
        self.correct = as_labels(correct, self.points.shape[0])
        # Built once: a router scores one question at a time.
        self.index = NearestNeighbors(n_neighbors=min(self.k, len(self.points))).fit(self.points)
        return self

    def score(self, embeddings: ArrayLike) -> NDArray[np.float64]:
        if self.points is None or self.correct is None or self.index is None:
            raise RuntimeError("NearestCorrectScorer is not fitted: call fit() or load it first")
        with threadpool_limits(1):  # one query against a few hundred points: threads cost 30x the search
            _, neighbours = self.index.kneighbors(check_queries(embeddings, self.points.shape[1]))
        return self.correct[neighbours].mean(axis=1)

    def state(self) -> dict[str, Any]:
        if self.points is None or self.correct is None:
            raise RuntimeError("NearestCorrectScorer is not fitted")
        return {"k": self.k, "points": self.points.tolist(), "correct": self.correct.tolist()}

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> NearestCorrectScorer:
        return cls(int(state["k"])).fit(state["points"], state["correct"])


def threshold_for_budget(scores: ArrayLike, budget: float) -> float:
    """Threshold t such that routing ``score < t => retrieve`` retrieves for at most
    ``budget`` (a fraction in [0, 1]) of the given calibration scores.

    The returned t is the largest threshold that respects the budget: tied scores are
    either all retrieved or all kept, so ties make the routed fraction smaller, never
    larger. A budget covering every score returns ``inf``.
    """
    if not 0.0 <= budget <= 1.0:
        raise ValueError(f"budget must be a number in [0, 1], got {budget!r}")
    values = np.sort(np.asarray(scores, dtype=np.float64).ravel())
    if values.size == 0:
        raise ValueError("scores must not be empty")
    if not np.all(np.isfinite(values)):
        raise ValueError("scores must all be finite")
    n = values.size
    # Largest count m with m / n <= budget, compared exactly as the routed fraction is
    # measured (floor(budget * n) can be off by one through rounding).
    allowed = int(np.count_nonzero(np.arange(1, n + 1) / n <= budget))
    if allowed == n:
        return math.inf
    # Strictly below the (allowed+1)-th smallest score there are at most `allowed` scores.
    return float(values[allowed])
