"""Consistency and confidence aggregation over the samples drawn for one question.

Every function takes the full list of samples, including those whose answer could not be
parsed. Where a sample without an answer still says something about trust (it is one more
draw that did not produce the answer), it stays in the denominator; each function's
docstring states its choice. Empty input gives None: there is nothing to measure.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize
from scipy.special import expit, log_expit, softmax

from elicit.elicitation.matching import normalize_answer, same_answer
from elicit.types import Guess, Sample

PAIR_RANK_L2 = 1e-2
"""L2 penalty on the Pair-Rank logits: an answer that always wins would otherwise drift to
an infinite logit; this keeps the fit bounded while barely moving well-determined ones."""


@dataclass(frozen=True)
class AnswerGroup:
    """Answers that name the same thing under :func:`~elicit.elicitation.matching.same_answer`.

    ``key`` is the normalized form of the group's most frequent answer and ``keys`` every
    normalized form merged into it. ``answer`` is the most frequent original spelling (the
    first seen on ties), so a user sees text the model actually wrote.
    """

    key: str
    keys: tuple[str, ...]
    answer: str
    count: int
    indices: tuple[int, ...]


def _group_strings(answers: Iterable[str | None], question: str | None = None) -> list[AnswerGroup]:
    """Group strings that name the same answer, largest group first.

    Strings are first pooled by normalized form; then, from the most frequent form down,
    each form joins the first group whose leading form it matches (``same_answer``), so
    "Canberra" and "The capital is Canberra" are one answer for "What is the capital of
    Australia?". Joining the leading form (not any member) keeps groups from chaining
    through loose matches. None and strings that normalize to "" are skipped: an answer
    with no content cannot agree with anything.
    """
    members: dict[str, list[int]] = {}
    spellings: dict[str, list[str]] = {}
    for index, answer in enumerate(answers):
        if answer is None:
            continue
        key = normalize_answer(answer)
        if not key:
            continue
        members.setdefault(key, []).append(index)
        spellings.setdefault(key, []).append(answer.strip())
    # dicts keep first-appearance order and sort is stable, so ties stay in that order.
    forms = sorted(members, key=lambda key: -len(members[key]))
    merged: list[list[str]] = []
    for key in forms:
        home = next((group for group in merged if same_answer(group[0], key, question)), None)
        if home is None:
            merged.append([key])
        else:
            home.append(key)
    groups = [
        AnswerGroup(
            key=keys[0],
            keys=tuple(keys),
            # Counter.most_common keeps insertion order among equal counts.
            answer=Counter(spelling for key in keys for spelling in spellings[key]).most_common(1)[0][0],
            count=sum(len(members[key]) for key in keys),
            indices=tuple(sorted(index for key in keys for index in members[key])),
        )
        for keys in merged
    ]
    return sorted(groups, key=lambda group: -group.count)


def group_answers(samples: Sequence[Sample], question: str | None = None) -> list[AnswerGroup]:
    """Groups of equivalent sample answers, largest first, ties by first appearance.

    Samples without an answer belong to no group; ``indices`` refer to ``samples``.
    ``question`` lets framing words of the question count as framing (see matching).
    """
    return _group_strings((sample.answer for sample in samples), question)


def majority_answer(samples: Sequence[Sample], question: str | None = None) -> str | None:
    """Most frequent answer (representative spelling); None if no sample gave one."""
    groups = group_answers(samples, question)
    return groups[0].answer if groups else None


def matching_samples(samples: Sequence[Sample], answer: str, question: str | None = None) -> list[Sample]:
    """Samples whose parsed answer names the same thing as ``answer`` (never those without one)."""
    return [s for s in samples if s.answer is not None and same_answer(s.answer, answer, question)]


def agreement(samples: Sequence[Sample], answer: str | None, question: str | None = None) -> float | None:
    """Fraction of ALL samples whose answer matches ``answer``.

    Unparsed samples count as disagreeing: a draw that failed to produce the answer is
    evidence against it, and dropping it would make a model that often fails to answer
    look more consistent than it is.
    """
    if not samples or answer is None:
        return None
    return len(matching_samples(samples, answer, question)) / len(samples)


def answer_entropy_confidence(samples: Sequence[Sample], question: str | None = None) -> float | None:
    """1 - H(answers) / log(n): 1 when every sample agrees, 0 when all differ.

    Each unparsed sample counts as its own distinct answer. Pooling them into one "no
    answer" class would reward a model that fails the same way every time as if it were
    consistent; treating them as distinct gives them the largest entropy contribution,
    which is the conservative reading. None for fewer than 2 samples (log(1) = 0).
    """
    n = len(samples)
    if n < 2:
        return None
    counts = [group.count for group in group_answers(samples, question)]
    counts += [1] * (n - sum(counts))
    probabilities = np.asarray(counts, dtype=float) / n
    entropy = float(-np.sum(probabilities * np.log(probabilities)))
    return 1.0 - entropy / math.log(n)


def margin(samples: Sequence[Sample], question: str | None = None) -> float | None:
    """(size of the largest answer group - size of the second) / n.

    The denominator is all samples, so unparsed ones shrink the margin; they do not form
    a competing group, because they do not agree on a rival answer. A single group has a
    second group of size 0. None when no sample gave an answer (no leading answer exists).
    """
    groups = group_answers(samples, question)
    if not groups:
        return None
    runner_up = groups[1].count if len(groups) > 1 else 0
    return (groups[0].count - runner_up) / len(samples)


def verbal_mean(samples: Sequence[Sample]) -> float | None:
    """Mean verbalized confidence over the samples that stated one (answer or not)."""
    confidences = [s.confidence for s in samples if s.confidence is not None]
    return float(np.mean(confidences)) if confidences else None


def avg_conf(samples: Sequence[Sample], answer: str | None, question: str | None = None) -> float | None:
    """Avg-Conf (Xiong et al. 2024): sum_i c_i * [a_i matches answer] / sum_i c_i.

    Sums run over samples that stated a confidence, including unparsed ones: a confident
    draw without the answer is confidence placed elsewhere. None if no sample stated a
    confidence or they sum to 0.
    """
    if answer is None:
        return None
    total = sum(s.confidence for s in samples if s.confidence is not None)
    if total <= 0.0:
        return None
    matched = sum(s.confidence for s in matching_samples(samples, answer, question) if s.confidence is not None)
    return matched / total


def _ranking(guesses: Sequence[Guess]) -> list[str]:
    """A sample's guesses best first: by stated probability when every guess has one
    (stable, so ties keep the listed order), otherwise in the order they were listed."""
    if all(guess.probability is not None for guess in guesses):
        guesses = sorted(guesses, key=lambda guess: -(guess.probability or 0.0))
    return [guess.answer for guess in guesses]


def _fit_bradley_terry(winners: np.ndarray, losers: np.ndarray, weights: np.ndarray, n_items: int) -> np.ndarray:
    """Categorical p = softmax(z) maximizing sum_w log(p_u / (p_u + p_v)) - L2 * ||z||^2."""

    def objective(z: np.ndarray) -> tuple[float, np.ndarray]:
        diff = z[winners] - z[losers]
        # d/d(diff) of log sigmoid(diff) is sigmoid(-diff).
        slope = weights * expit(-diff)
        gradient = np.bincount(losers, slope, n_items) - np.bincount(winners, slope, n_items)
        value = -float(np.sum(weights * log_expit(diff))) + PAIR_RANK_L2 * float(z @ z)
        return value, gradient + 2.0 * PAIR_RANK_L2 * z

    result = minimize(objective, np.zeros(n_items), jac=True, method="L-BFGS-B")
    return softmax(result.x)


def pair_rank(samples: Sequence[Sample], answer: str | None, question: str | None = None) -> float | None:
    """Pair-Rank (Xiong et al. 2024): probability of ``answer`` from the top-K rankings.

    Each sample's guesses form a ranking. Every distinct answer u seen in any sample's
    guesses gets a probability p_u = softmax(z)_u. "u is ranked above v" has likelihood
    p_u / (p_u + p_v) (Bradley-Terry), and the observed pairs are, per sample: every pair
    inside its top-K (higher rank wins), and every (u in its top-K, v seen elsewhere but
    absent from its top-K). The logits z maximize

        sum over observed pairs (u above v) of log(p_u / (p_u + p_v)) - PAIR_RANK_L2 * ||z||^2

    by L-BFGS (the penalty keeps an always-winning answer's logit finite). Returns the
    total p of the answer groups matching ``answer`` (0 if the model never guessed it);
    None if no sample listed guesses or there is no answer.
    """
    if answer is None:
        return None
    rankings = [_ranking(s.guesses) for s in samples if s.guesses]
    groups = _group_strings((guess for ranking in rankings for guess in ranking), question)
    if not groups:
        return None
    item_of = {key: item for item, group in enumerate(groups) for key in group.keys}
    pair_counts: Counter[tuple[int, int]] = Counter()
    for ranking in rankings:
        keys = [normalize_answer(guess) for guess in ranking]
        # A sample listing the same answer twice ranks it where it first appears.
        ranked = list(dict.fromkeys(item_of[key] for key in keys if key))
        unranked = set(range(len(groups))) - set(ranked)
        for position, winner in enumerate(ranked):
            for loser in [*ranked[position + 1 :], *unranked]:
                pair_counts[winner, loser] += 1
    if pair_counts:
        pairs = np.array(list(pair_counts), dtype=int)
        weights = np.array(list(pair_counts.values()), dtype=float)
        probabilities = _fit_bradley_terry(pairs[:, 0], pairs[:, 1], weights, len(groups))
    else:
        probabilities = np.ones(1)  # one distinct guess overall: all mass on it
    return float(
        sum(p for p, group in zip(probabilities, groups, strict=True) if same_answer(group.answer, answer, question))
    )
