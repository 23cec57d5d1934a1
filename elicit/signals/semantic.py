"""Semantic consistency: how close the sampled answers are in meaning, not only in form.

Form-level agreement counts "Leonardo da Vinci" and "da Vinci" as two answers; these
signals read the same samples (no extra generation) through the answer-matching notion
plus sentence-embedding similarity, so near-paraphrases count as one meaning and
differing answers count by how far apart they are:

- semantic agreement / entropy: Kuhn et al. 2023, "Semantic Uncertainty": entropy over
  meaning clusters, each weighted by its samples' sequence probabilities;
- lexical similarity: mean pairwise token F1 of the answers (Fomicheva et al. 2020);
- embedding similarity and answer similarity: mean pairwise cosine of the answers, and of
  every answer to the scored one (the consistency term of CoCoA, Vashurin et al. 2025);
- eigenvalue confidence: the number of semantic sets read off the similarity graph's
  Laplacian spectrum (Lin et al. 2023, "Generating with Confidence"), here over cosine
  similarity instead of an NLI model, which the embedded setup does not ship.

Without an encoder, clusters come from answer matching alone and the embedding-based
signals are None with a reason.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

from elicit.elicitation.matching import same_answer, token_f1
from elicit.model.embeddings import TextEncoder
from elicit.signals.consistency import group_answers
from elicit.types import SEMANTIC_SIGNALS, Sample

SEMANTIC_THRESHOLD = 0.9
"""Cosine similarity of two answer forms above which they are one meaning. Set high on
purpose: all-MiniLM puts different entities of one kind ("Paris", "Lyon") near 0.5-0.7,
and a wrong merge inflates agreement, while a missed one only leaves the form-level count."""

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


class _Meanings:
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


def _clusters(samples: Sequence[Sample], meanings: _Meanings) -> list[list[int]]:
    """Sample indices per meaning; each unanswered sample is a cluster of its own.

    Matching groups are merged into the first cluster whose leading group is close enough
    (not any member, so clusters cannot chain through a series of loose neighbours).
    """
    leads: list[str] = []
    clusters: list[list[int]] = []
    for group in group_answers(samples, meanings.question):
        home = next((position for position, lead in enumerate(leads) if meanings.same(lead, group.answer)), None)
        if home is None:
            leads.append(group.answer)
            clusters.append(list(group.indices))
        else:
            clusters[home].extend(group.indices)
    answered = {i for cluster in clusters for i in cluster}
    return clusters + [[i] for i in range(len(samples)) if i not in answered]


WEIGHT_STEP = 1e-3
"""Sequence weights are rounded to this step (and kept at least one step): a CPU server's
log-probabilities vary in their last digits with the batch a request ran in, and the order
of two near-equal entropies should not hinge on those digits."""


def _sequence_weights(samples: Sequence[Sample]) -> NDArray[np.float64]:
    """Each sample's length-normalized probability when every sample has tokens, else 1 each."""
    if any(not s.tokens for s in samples):
        return np.ones(len(samples))
    weights = np.array([math.exp(float(np.mean([t.logprob for t in s.tokens or []]))) for s in samples])
    return np.maximum(np.round(weights / WEIGHT_STEP) * WEIGHT_STEP, WEIGHT_STEP)


def _mean_off_diagonal(matrix: NDArray[np.float64]) -> float:
    n = matrix.shape[0]
    return float((matrix.sum() - np.trace(matrix)) / (n * (n - 1)))


def _eigen_confidence(sample_similarity: NDArray[np.float64]) -> float:
    """1 - (U_EigV - 1) / (n - 1), U_EigV = sum_k max(0, 1 - lambda_k) of the normalized Laplacian.

    U_EigV is a continuous count of semantic sets: 1 when all answers mean the same, n when
    all are unrelated; the map puts one set at 1 and n sets at 0.
    """
    n = sample_similarity.shape[0]
    degree = sample_similarity.sum(axis=1)
    inverse_root = 1.0 / np.sqrt(degree)
    laplacian = np.eye(n) - inverse_root[:, None] * sample_similarity * inverse_root[None, :]
    eigenvalues = np.linalg.eigvalsh(laplacian)
    sets = float(np.clip(1.0 - eigenvalues, 0.0, None).sum())
    return 1.0 - (sets - 1.0) / (n - 1)


def semantic_signals(
    samples: Sequence[Sample], answer: str | None, question: str | None = None, encoder: TextEncoder | None = None
) -> tuple[dict[str, float], dict[str, str]]:
    """The semantic signals of one sample set about ``answer``, and reasons for missing ones.

    Unanswered samples stay in every denominator (as in the form-level signals): their
    similarity to anything is 0 and each is its own meaning.
    """
    n = len(samples)
    if n == 0:
        return {}, dict.fromkeys(SEMANTIC_SIGNALS, "no samples")
    answers = [s.answer.strip() if s.answer and s.answer.strip() else None for s in samples]
    scored = answer.strip() if answer and answer.strip() else None
    forms = {a for a in answers if a is not None} | ({scored} if scored is not None else set())
    meanings = _Meanings(sorted(forms), encoder, question)
    values: dict[str, float] = {}
    reasons: dict[str, str] = {}
    clusters = _clusters(samples, meanings)
    if scored is None:
        reasons["semantic_agreement"] = reasons["answer_similarity"] = "no answer to score"
    else:
        own = [c for c in clusters if (lead := answers[c[0]]) is not None and meanings.same(lead, scored)]
        values["semantic_agreement"] = len(own[0]) / n if own else 0.0
    if n < 2:
        for name in ("semantic_entropy", "lexical_similarity", "embedding_similarity", "eigen_confidence"):
            reasons[name] = "needs at least 2 samples"
    else:
        weights = _sequence_weights(samples)
        mass = np.array([weights[cluster].sum() for cluster in clusters]) / weights.sum()
        entropy = float(-np.sum(mass * np.log(mass)))
        values["semantic_entropy"] = 1.0 - entropy / math.log(n)
        pairs = [(answers[i], answers[j]) for i in range(n) for j in range(i + 1, n)]
        values["lexical_similarity"] = float(np.mean([token_f1(a, [b]) if b else 0.0 for a, b in pairs]))
    similarity, index = meanings.cosine, meanings.index
    if similarity is None:
        reason = "no embedding model given" if encoder is None else "no sample gave an answer"
        for name in ("embedding_similarity", "answer_similarity", "eigen_confidence"):
            reasons.setdefault(name, reason)
        return values, reasons
    positions = np.array([index[a] if a is not None else -1 for a in answers])
    given = positions >= 0
    per_sample = np.zeros((n, n))
    rows, columns = np.ix_(np.flatnonzero(given), np.flatnonzero(given))
    per_sample[rows, columns] = similarity[positions[rows], positions[columns]]
    np.fill_diagonal(per_sample, 1.0)
    if scored is not None:
        to_answer = np.where(given, similarity[index[scored], np.maximum(positions, 0)], 0.0)
        values["answer_similarity"] = float(to_answer.mean())
    if n >= 2:
        values["embedding_similarity"] = _mean_off_diagonal(per_sample)
        values["eigen_confidence"] = _eigen_confidence(per_sample)
    return values, reasons
