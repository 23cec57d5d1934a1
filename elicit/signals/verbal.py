"""Verbal signals: what the model says about its own confidence, alone or aggregated over samples.

Avg-Conf and Pair-Rank are Xiong et al.'s (2024) hybrid aggregates: stated confidences (or
top-k rankings) weighted by which samples agree with the scored answer.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

import numpy as np
from scipy.optimize import minimize
from scipy.special import expit, log_expit, softmax

from elicit.elicitation.matching import normalize_answer, same_answer
from elicit.signals.groups import group_strings
from elicit.signals.sample_set import SampleSet
from elicit.signals.spec import Missing, SignalSpec, Value
from elicit.types import Guess

PAIR_RANK_L2 = 1e-2
"""L2 penalty on the Pair-Rank logits: an answer that always wins would otherwise drift to
an infinite logit; this keeps the fit bounded while barely moving well-determined ones."""

NO_VERBAL = Missing("no sample gave a verbal confidence")
NO_ANSWER = Missing("no answer to score")


def verbal_mean(samples: SampleSet) -> Value:
    """Mean verbalized confidence over the samples that stated one (answer or not)."""
    stated = samples.stated_confidences
    return float(np.mean(stated)) if stated else NO_VERBAL


def avg_conf(samples: SampleSet) -> Value:
    """Avg-Conf: sum_i c_i * [a_i matches the answer] / sum_i c_i.

    Sums run over samples that stated a confidence, including unparsed ones: a confident
    draw without the answer is confidence placed elsewhere.
    """
    if samples.answer is None:
        return NO_ANSWER
    if not samples.stated_confidences:
        return NO_VERBAL
    total = sum(samples.stated_confidences)
    if total <= 0.0:
        return Missing("verbal confidences sum to 0")
    return sum(s.confidence for s in samples.matching if s.confidence is not None) / total


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


def pair_rank(samples: SampleSet) -> Value:
    """Pair-Rank: the probability of the answer read off every sample's top-K ranking.

    Each sample's guesses form a ranking. Every distinct answer u seen in any sample's
    guesses gets a probability p_u = softmax(z)_u. "u is ranked above v" has likelihood
    p_u / (p_u + p_v) (Bradley-Terry), and the observed pairs are, per sample: every pair
    inside its top-K (higher rank wins), and every (u in its top-K, v seen elsewhere but
    absent from its top-K). The logits z maximize

        sum over observed pairs (u above v) of log(p_u / (p_u + p_v)) - PAIR_RANK_L2 * ||z||^2

    by L-BFGS (the penalty keeps an always-winning answer's logit finite). The value is
    the total p of the answer groups matching the answer (0 if the model never guessed it).
    """
    answer, question = samples.answer, samples.question
    if answer is None:
        return NO_ANSWER
    rankings = [_ranking(s.guesses) for s in samples.samples if s.guesses]
    groups = group_strings((guess for ranking in rankings for guess in ranking), question)
    if not groups:
        return Missing("no top-k guesses")
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


SIGNALS: tuple[SignalSpec, ...] = (
    SignalSpec(
        "verbal_mean", "verbal", "mean verbalized confidence over the samples", verbal_mean, "logit",
        default=("one sample",),
    ),
    SignalSpec(
        "avg_conf", "verbal", "Avg-Conf: stated confidence of the samples that agree, over all stated",
        avg_conf, "logit", default=("several samples",),
    ),
    SignalSpec("pair_rank", "verbal", "Pair-Rank: the answer's probability from top-k rankings", pair_rank, "logit"),
)  # fmt: skip
