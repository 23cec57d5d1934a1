"""Semantic signals: how close in meaning the samples are, not only in form.

They read the same samples as every other signal (no extra generation), through the
meaning statistics of :mod:`elicit.signals.meanings`:

- semantic agreement / entropy: Kuhn et al. 2023, "Semantic Uncertainty": entropy over
  meaning clusters, each weighted by its samples' sequence probabilities;
- lexical similarity: mean pairwise token F1 of the answers (Fomicheva et al. 2020);
- embedding similarity and answer similarity: mean pairwise cosine of the answers, and of
  every answer to the scored one (the consistency term of CoCoA, Vashurin et al. 2025);
- eigenvalue confidence: the number of semantic sets read off the similarity graph's
  Laplacian spectrum (Lin et al. 2023, "Generating with Confidence"), here over cosine
  similarity instead of an NLI model, which the embedded setup does not ship.

Unanswered samples stay in every denominator (as in the form-level signals): their
similarity to anything is 0 and each is its own meaning. Without an encoder, clusters come
from answer matching alone and the embedding-based signals are missing with a reason.
"""

from __future__ import annotations

import math

import numpy as np

from elicit.elicitation.matching import token_f1
from elicit.signals.meanings import eigen_confidence
from elicit.signals.sample_set import SampleSet
from elicit.signals.spec import Missing, SignalSpec, Value

TOO_FEW = Missing("needs at least 2 samples")


def semantic_agreement(samples: SampleSet) -> Value:
    """Share of samples in the scored answer's meaning cluster (0 if no cluster means it)."""
    scored = samples.scored
    if scored is None:
        return Missing("no answer to score")
    answers, meanings = samples.answers, samples.meanings
    own = [c for c in samples.clusters if (lead := answers[c[0]]) is not None and meanings.same(lead, scored)]
    return len(own[0]) / samples.n if own else 0.0


def semantic_entropy(samples: SampleSet) -> Value:
    """1 - H(meaning clusters) / log(n), each cluster weighted by its samples' sequence probabilities."""
    if samples.n < 2:
        return TOO_FEW
    weights = samples.weights
    mass = np.array([weights[cluster].sum() for cluster in samples.clusters]) / weights.sum()
    return 1.0 - float(-np.sum(mass * np.log(mass))) / math.log(samples.n)


def lexical_similarity(samples: SampleSet) -> Value:
    """Mean token F1 over every pair of samples' answers (0 for a pair with a missing answer)."""
    n, answers = samples.n, samples.answers
    if n < 2:
        return TOO_FEW
    pairs = [(answers[i], answers[j]) for i in range(n) for j in range(i + 1, n)]
    return float(np.mean([token_f1(a, [b]) if b else 0.0 for a, b in pairs]))


def embedding_similarity(samples: SampleSet) -> Value:
    """Mean cosine over every pair of samples' answers."""
    if samples.n < 2:
        return TOO_FEW
    matrix = samples.similarity
    if matrix is None:
        return samples.no_embeddings()
    n = samples.n
    return float((matrix.sum() - np.trace(matrix)) / (n * (n - 1)))


def answer_similarity(samples: SampleSet) -> Value:
    """Mean cosine of every sample's answer to the scored one (0 for a sample without an answer)."""
    scored = samples.scored
    if scored is None:
        return Missing("no answer to score")
    meanings = samples.meanings
    if meanings.cosine is None:
        return samples.no_embeddings()
    return float(np.mean([meanings.similarity(scored, a) if a is not None else 0.0 for a in samples.answers]))


def eigen(samples: SampleSet) -> Value:
    """1 minus the share of extra semantic sets in the samples' similarity graph."""
    if samples.n < 2:
        return TOO_FEW
    matrix = samples.similarity
    return samples.no_embeddings() if matrix is None else eigen_confidence(matrix)


SIGNALS: tuple[SignalSpec, ...] = (
    SignalSpec(
        "semantic_agreement", "semantic", "share of samples in the answer's meaning cluster", semantic_agreement,
        "smoothed",
    ),
    SignalSpec(
        "semantic_entropy", "semantic", "1 - normalized entropy over meaning clusters (Kuhn et al. 2023)",
        semantic_entropy, "linear",
    ),
    SignalSpec("lexical_similarity", "semantic", "mean pairwise token F1 of the answers", lexical_similarity, "linear"),
    SignalSpec(
        "embedding_similarity", "semantic", "mean pairwise embedding cosine of the answers", embedding_similarity,
        "linear",
    ),
    SignalSpec(
        "answer_similarity", "semantic", "mean cosine of the answers to the scored one", answer_similarity, "linear"
    ),
    SignalSpec(
        "eigen_confidence", "semantic", "semantic sets from the similarity graph's spectrum (Lin et al. 2023)", eigen,
        "linear",
    ),
)  # fmt: skip
