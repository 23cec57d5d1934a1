"""Meanings of a question's answers: which answer forms say the same thing, and how close the rest are.

Form-level grouping counts "Leonardo da Vinci" and "da Vinci" as two answers; the semantic
signals (:mod:`elicit.signals.semantic`) read the same samples through answer matching
plus sentence-embedding similarity, so near-paraphrases count as one meaning and differing
answers count by how far apart they are. These are the statistics they share, computed once
per question by :class:`~elicit.signals.sample_set.SampleSet`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

from elicit.elicitation.matching import same_answer
from elicit.model.embeddings import TextEncoder
from elicit.signals.groups import AnswerGroup
from elicit.types import Sample

SEMANTIC_THRESHOLD = 0.9
"""Cosine similarity of two answer forms above which they are one meaning. Set high on
purpose: all-MiniLM puts different entities of one kind ("Paris", "Lyon") near 0.5-0.7,
and a wrong merge inflates agreement, while a missed one only leaves the form-level count."""

WEIGHT_STEP = 1e-3
"""Sequence weights are rounded to this step (and kept at least one step): a CPU server's
log-probabilities vary in their last digits with the batch a request ran in, and the order
of two near-equal entropies should not hinge on those digits."""

_NUMBER = re.compile(r"\d+(?:[.,]\d+)?")


def _numbers_differ(a: str, b: str) -> bool:
    """Both answers state numbers and not the same ones ("391" and "392" embed alike)."""
    first, second = _NUMBER.findall(a), _NUMBER.findall(b)
    return bool(first) and bool(second) and sorted(first) != sorted(second)


def _cosine(encoder: TextEncoder, texts: Sequence[str]) -> NDArray[np.float64]:
    """Pairwise cosine similarity of ``texts``, clipped to [0, 1] (opposite is as far as unrelated)."""
    vectors = np.asarray(encoder.encode(list(texts)), dtype=float)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    unit = vectors / np.where(norms > 0, norms, 1.0)
    return np.clip(unit @ unit.T, 0.0, 1.0)


class Meanings:
    """Answer forms of one question with their pairwise cosine (when an encoder is given)."""

    def __init__(self, texts: Sequence[str], encoder: TextEncoder | None, question: str | None) -> None:
        self.index = {text: i for i, text in enumerate(texts)}
        self.cosine = _cosine(encoder, texts) if encoder is not None and texts else None
        self.question = question

    def similarity(self, a: str, b: str) -> float:
        return 0.0 if self.cosine is None else float(self.cosine[self.index[a], self.index[b]])

    def same(self, a: str, b: str) -> bool:
        """One meaning: the same answer by matching, or embeddings this close with no number disagreeing."""
        return same_answer(a, b, self.question) or (
            self.similarity(a, b) >= SEMANTIC_THRESHOLD and not _numbers_differ(a, b)
        )


def meaning_clusters(groups: Sequence[AnswerGroup], n_samples: int, meanings: Meanings) -> list[list[int]]:
    """Sample indices per meaning; each unanswered sample is a cluster of its own.

    Matching groups are merged into the first cluster whose leading group is close enough
    (not any member, so clusters cannot chain through a series of loose neighbours).
    """
    leads: list[str] = []
    clusters: list[list[int]] = []
    for group in groups:
        home = next((position for position, lead in enumerate(leads) if meanings.same(lead, group.answer)), None)
        if home is None:
            leads.append(group.answer)
            clusters.append(list(group.indices))
        else:
            clusters[home].extend(group.indices)
    answered = {i for cluster in clusters for i in cluster}
    return clusters + [[i] for i in range(n_samples) if i not in answered]


def sequence_weights(samples: Sequence[Sample]) -> NDArray[np.float64]:
    """Each sample's length-normalized probability when every sample has tokens, else 1 each."""
    if any(not s.tokens for s in samples):
        return np.ones(len(samples))
    weights = np.array([math.exp(float(np.mean([t.logprob for t in s.tokens or []]))) for s in samples])
    return np.maximum(np.round(weights / WEIGHT_STEP) * WEIGHT_STEP, WEIGHT_STEP)


def sample_similarity(answers: Sequence[str | None], meanings: Meanings) -> NDArray[np.float64] | None:
    """Cosine of every pair of samples' answers (0 where either has none, 1 on the diagonal);
    None without embeddings."""
    if meanings.cosine is None:
        return None
    n = len(answers)
    positions = np.array([meanings.index[a] if a is not None else -1 for a in answers])
    given = np.flatnonzero(positions >= 0)
    matrix = np.zeros((n, n))
    rows, columns = np.ix_(given, given)
    matrix[rows, columns] = meanings.cosine[positions[rows], positions[columns]]
    np.fill_diagonal(matrix, 1.0)
    return matrix


def eigen_confidence(similarity: NDArray[np.float64]) -> float:
    """1 - (U_EigV - 1) / (n - 1), U_EigV = sum_k max(0, 1 - lambda_k) of the normalized Laplacian.

    U_EigV is a continuous count of semantic sets (Lin et al. 2023): 1 when all answers mean
    the same, n when all are unrelated; the map puts one set at 1 and n sets at 0.
    """
    n = similarity.shape[0]
    inverse_root = 1.0 / np.sqrt(similarity.sum(axis=1))
    laplacian = np.eye(n) - inverse_root[:, None] * similarity * inverse_root[None, :]
    sets = float(np.clip(1.0 - np.linalg.eigvalsh(laplacian), 0.0, None).sum())
    return 1.0 - (sets - 1.0) / (n - 1)
