"""Consistency signals: how often the samples give the scored answer, and how spread their answers are.

Every sample counts, including those whose answer could not be parsed. Where a sample
without an answer still says something about trust (it is one more draw that did not
produce the answer), it stays in the denominator; each signal's docstring states its choice.
"""

from __future__ import annotations

import math

import numpy as np

from elicit.signals.sample_set import SampleSet
from elicit.signals.spec import Missing, SignalSpec, Value


def agreement(samples: SampleSet) -> Value:
    """Fraction of ALL samples whose answer matches the scored one.

    Unparsed samples count as disagreeing: a draw that failed to produce the answer is
    evidence against it, and dropping it would make a model that often fails to answer
    look more consistent than it is.
    """
    if samples.answer is None:
        return Missing("no answer to score")
    return len(samples.matching) / samples.n


def entropy(samples: SampleSet) -> Value:
    """1 - H(answers) / log(n): 1 when every sample agrees, 0 when all differ.

    Each unparsed sample counts as its own distinct answer. Pooling them into one "no
    answer" class would reward a model that fails the same way every time as if it were
    consistent; treating them as distinct gives them the largest entropy contribution,
    which is the conservative reading. It describes the answer distribution as a whole,
    whatever answer is scored.
    """
    n = samples.n
    if n < 2:
        return Missing("entropy needs at least 2 samples")
    counts = [group.count for group in samples.groups]
    counts += [1] * (n - sum(counts))
    probabilities = np.asarray(counts, dtype=float) / n
    return 1.0 - float(-np.sum(probabilities * np.log(probabilities))) / math.log(n)


def margin(samples: SampleSet) -> Value:
    """(size of the largest answer group - size of the second) / n.

    The denominator is all samples, so unparsed ones shrink the margin; they do not form
    a competing group, because they do not agree on a rival answer. A single group has a
    second group of size 0.
    """
    groups = samples.groups
    if not groups:
        return Missing("no sample gave a parsable answer")
    runner_up = groups[1].count if len(groups) > 1 else 0
    return (groups[0].count - runner_up) / samples.n


SIGNALS: tuple[SignalSpec, ...] = (
    SignalSpec(
        "agreement", "consistency", "share of samples that give the scored answer", agreement, "smoothed",
        default=("several samples",),
    ),
    SignalSpec("entropy", "consistency", "1 - normalized entropy of the sampled answers", entropy, "linear"),
    SignalSpec("margin", "consistency", "share of the first answer group minus the second's", margin, "linear"),
)  # fmt: skip
