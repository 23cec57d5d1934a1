"""Thrust: decide from the question alone whether the model needs external knowledge.

Thrust (Zhao et al. 2023, "Thrust: Adaptively propels large language models with
external knowledge") summarises the questions a model has already seen as clusters in
embedding space and measures how strongly a new question is "pulled" by them. Questions
in well-populated neighbourhoods are ones the model has knowledge about; questions far
from every cluster are the ones worth sending to retrieval. Because the score needs only
an embedding, it is available before any generation and costs a few dot products.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.cluster import KMeans

FORMAT_VERSION = 1
"""Version of the JSON layout written by :meth:`ThrustScorer.save`."""

_FORMAT_NAME = "elicit.thrust"


class ThrustModelError(ValueError):
    """A saved or fitted Thrust model does not match what it is used with.

    Raised for an unknown file version, inconsistent dimensions, a different embedding
    model, or a query whose dimension differs from the centroids': every one of these
    would silently produce meaningless scores, so they fail loudly instead.
    """


def default_n_clusters(n_examples: int) -> int:
    """Number of clusters used when none is given: ``max(3, floor(N ** 0.25))``.

    The fourth root grows slowly, so large training sets get a few more clusters without
    fragmenting into tiny ones whose centroids would be noisy.
    """
    if n_examples < 1:
        raise ValueError(f"n_examples must be >= 1, got {n_examples}")
    return max(3, math.floor(n_examples**0.25))


class ThrustScorer:
    """Cluster known questions and score new ones by the pull of those clusters.

    For a query embedding ``q`` and clusters ``C_1..C_K`` with centroids ``c_k``, let
    ``d_k = c_k - q``. The Thrust score is::

        s(q) = || (1/K) * sum_k  (|C_k| / ||d_k||^2) * (d_k / ||d_k||) ||

    Each cluster pulls the query towards its centroid like a mass under gravity: the pull
    grows with the number of known examples in the cluster and falls with the squared
    distance. A query sitting next to a dense cluster of questions the model has seen gets
    a large score ("the model knows this neighbourhood"); a query far from everything, or
    balanced between clusters pulling in opposite directions, gets a small one and is the
    candidate for retrieval. Scores are >= 0, invariant to translating queries and
    training points together, and scale as ``1 / c**2`` when all coordinates scale by c.

    ``n_init`` KMeans restarts keep the best clustering: a few guard against a poor
    initialisation, and each one costs a full KMeans run over the training set.

    A query closer than ``eps`` to a centroid has its distance clamped to ``eps``; the
    direction of a zero offset is undefined, so it is taken along the first axis, which
    keeps the (huge, maximal-trust) pull instead of silently dropping it.
    """

    def __init__(
        self,
        embedding_model: str | None = None,
        random_state: int = 0,
        n_init: int = 3,
        eps: float = 1e-9,
    ) -> None:
        if not eps > 0:
            raise ValueError(f"eps must be > 0, got {eps}")
        if n_init < 1:
            raise ValueError(f"n_init must be >= 1, got {n_init}")
        self.embedding_model = embedding_model
        self.random_state = random_state
        self.n_init = n_init
        self.eps = eps
        self.centroids: np.ndarray | None = None
        self.sizes: np.ndarray | None = None
        self.centroid_labels: list[Any] | None = None

    @property
    def dim(self) -> int:
        """Embedding dimension the scorer was fitted on."""
        return self._fitted()[0].shape[1]

    def fit(
        self,
        embeddings: np.ndarray,
        labels: Sequence[Any] | None = None,
        n_clusters: int | None = None,
    ) -> ThrustScorer:
        """Cluster the training embeddings (one row per known question).

        With ``labels`` (e.g. whether each question was answered correctly), every label's
        examples are clustered separately and all centroids are kept, so a correct and an
        incorrect region never merge into one centroid. ``n_clusters`` is per label group
        (default :func:`default_n_clusters` of the group size) and is clipped to the number
        of distinct points in the group, since KMeans cannot find more clusters than that.
        """
        x = _as_matrix(embeddings, "embeddings")
        if labels is None:
            groups: list[tuple[Any, np.ndarray]] = [(None, x)]
        else:
            label_list = [_json_scalar(label) for label in labels]
            if len(label_list) != x.shape[0]:
                raise ValueError(f"labels has {len(label_list)} entries but embeddings has {x.shape[0]} rows")
            label_array = np.array(label_list, dtype=object)
            groups = [(label, x[label_array == label]) for label in dict.fromkeys(label_list)]
        if n_clusters is not None and n_clusters < 1:
            raise ValueError(f"n_clusters must be >= 1, got {n_clusters}")

        centroids, sizes, centroid_labels = [], [], []
        for label, points in groups:
            k = n_clusters if n_clusters is not None else default_n_clusters(len(points))
            k = min(k, np.unique(points, axis=0).shape[0])
            kmeans = KMeans(n_clusters=k, random_state=self.random_state, n_init=self.n_init)
            assignment = kmeans.fit_predict(points)
            centroids.append(kmeans.cluster_centers_)
            sizes.append(np.bincount(assignment, minlength=k))
            centroid_labels.extend([label] * k)
        self.centroids = np.vstack(centroids).astype(np.float64)
        self.sizes = np.concatenate(sizes).astype(np.float64)
        self.centroid_labels = centroid_labels if labels is not None else None
        return self

    def score(self, embeddings: np.ndarray) -> np.ndarray:
        """Raw Thrust score (>= 0) of each query row; one row gives a length-1 array."""
        centroids, sizes = self._fitted()
        q = _as_matrix(np.atleast_2d(embeddings), "embeddings")
        if q.shape[1] != centroids.shape[1]:
            raise ThrustModelError(f"embeddings have dimension {q.shape[1]}, the scorer expects {centroids.shape[1]}")
        pull = np.zeros_like(q)
        for centroid, size in zip(centroids, sizes, strict=True):
            offset = centroid - q
            distance = np.linalg.norm(offset, axis=1)
            at_centroid = distance < self.eps
            offset[at_centroid] = 0.0
            offset[at_centroid, 0] = self.eps
            distance = np.maximum(distance, self.eps)
            # (|C| / ||d||^2) * (d / ||d||) == |C| * d / ||d||^3
            pull += (size / distance**3)[:, None] * offset
        return np.linalg.norm(pull / len(centroids), axis=1)

    def save(self, path: str | Path) -> None:
        """Write the fitted scorer as a small versioned JSON file."""
        centroids, sizes = self._fitted()
        payload = {
            "format": _FORMAT_NAME,
            "version": FORMAT_VERSION,
            "embedding_model": self.embedding_model,
            "dim": int(centroids.shape[1]),
            "eps": self.eps,
            "centroids": centroids.tolist(),
            "sizes": sizes.tolist(),
            "centroid_labels": self.centroid_labels,
        }
        Path(path).write_text(json.dumps(payload), encoding="utf-8")

    @classmethod
    def load(cls, path: str | Path, embedding_model: str | None = None) -> ThrustScorer:
        """Read a scorer written by :meth:`save`.

        Pass ``embedding_model`` to check that the file was fitted on embeddings from the
        same model as the queries will be: vectors from different models are not
        comparable even when their dimensions agree.
        """
        payload = json.loads(Path(path).read_text(encoding="utf-8"))
        if payload.get("format") != _FORMAT_NAME or payload.get("version") != FORMAT_VERSION:
            raise ThrustModelError(
                f"{path}: expected format {_FORMAT_NAME!r} version {FORMAT_VERSION}, got "
                f"{payload.get('format')!r} version {payload.get('version')!r}"
            )
        if embedding_model is not None and payload["embedding_model"] != embedding_model:
            raise ThrustModelError(
                f"{path}: embedding_model is {payload['embedding_model']!r}, expected {embedding_model!r}"
            )
        centroids = np.asarray(payload["centroids"], dtype=np.float64)
        sizes = np.asarray(payload["sizes"], dtype=np.float64)
        labels = payload["centroid_labels"]
        if centroids.ndim != 2 or centroids.shape[1] != payload["dim"]:
            raise ThrustModelError(f"{path}: centroids have shape {centroids.shape}, dim says {payload['dim']}")
        if sizes.shape != (centroids.shape[0],) or (labels is not None and len(labels) != centroids.shape[0]):
            raise ThrustModelError(
                f"{path}: {centroids.shape[0]} centroids but {sizes.shape[0]} sizes"
                + ("" if labels is None else f" and {len(labels)} centroid_labels")
            )
        scorer = cls(embedding_model=payload["embedding_model"], eps=payload["eps"])
        scorer.centroids, scorer.sizes, scorer.centroid_labels = centroids, sizes, labels
        return scorer

    def _fitted(self) -> tuple[np.ndarray, np.ndarray]:
        if self.centroids is None or self.sizes is None:
            raise RuntimeError("ThrustScorer is not fitted: call fit() or load() first")
        return self.centroids, self.sizes


def threshold_for_budget(scores: np.ndarray, budget: float) -> float:
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


def _as_matrix(values: np.ndarray, name: str) -> np.ndarray:
    matrix = np.asarray(values, dtype=np.float64)
    if matrix.ndim != 2 or matrix.shape[0] == 0 or matrix.shape[1] == 0:
        raise ValueError(f"{name} must be a non-empty 2-D array, got shape {matrix.shape}")
    if not np.all(np.isfinite(matrix)):
        raise ValueError(f"{name} must be finite")
    return matrix


def _json_scalar(label: Any) -> Any:
    """Plain Python value for a label (numpy scalars do not survive ``json.dumps``)."""
    return label.item() if isinstance(label, np.generic) else label
