"""Token-probability signals: what the model paid, in probability, for the answer and for whole samples.

They need the generated tokens with logprobs; when those are absent the signal is missing
with the reason, so a fusion head can tell "off" from "uninformative". Answer-span signals
average over the samples that gave the scored answer (see ``SampleSet.answer_spans``);
whole-sample signals read every sample with tokens, whatever its answer.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from elicit.signals.sample_set import SampleSet
from elicit.signals.spec import Missing, SignalSpec, Value


def _span_mean(key: str) -> Callable[[SampleSet], Value]:
    """The mean over samples of one probability of the answer span (``span_logprob_features``)."""

    def compute(samples: SampleSet) -> Value:
        readings = samples.answer_spans
        if isinstance(readings, Missing):
            return readings
        return float(np.mean([reading.probabilities[key] for reading in readings]))

    return compute


def token_entropy(samples: SampleSet) -> Value:
    """1 - mean normalized top-k entropy over the answer's tokens, averaged over samples."""
    readings = samples.answer_spans
    if isinstance(readings, Missing):
        return readings
    confidences = [r.entropy_confidence for r in readings if r.entropy_confidence is not None]
    return float(np.mean(confidences)) if confidences else Missing("no top_logprobs at the answer tokens")


def sequence_prob(samples: SampleSet) -> Value:
    """Mean per-token geometric-mean probability of every sample (1 / perplexity): long and
    short samples compare; it reads how sure the model was of everything it wrote."""
    if not samples.token_logprobs:
        return Missing("logprobs were not requested")
    return float(np.mean([np.exp(values.mean()) for values in samples.token_logprobs]))


def sequence_joint_prob(samples: SampleSet) -> Value:
    """Probability of the whole sampled text (geometric mean over samples of exp(total
    log-probability)), the maximum-sequence-probability score: it also charges a model for
    long, wandering replies."""
    if not samples.token_logprobs:
        return Missing("logprobs were not requested")
    return float(np.exp(np.mean([values.sum() for values in samples.token_logprobs])))


SIGNALS: tuple[SignalSpec, ...] = (
    SignalSpec(
        "answer_prob", "logit", "joint probability of the answer's tokens", _span_mean("answer_prob"), "log",
        probability=True,
    ),
    SignalSpec(
        "answer_mean_prob", "logit", "geometric-mean probability of the answer's tokens",
        _span_mean("answer_mean_prob"), "log", probability=True, default=("one sample", "several samples"),
    ),
    SignalSpec(
        "answer_min_prob", "logit", "probability of the answer's least likely token", _span_mean("answer_min_prob"),
        "log", probability=True,
    ),
    SignalSpec("token_entropy", "logit", "1 - mean top-k entropy at the answer's tokens", token_entropy, "linear"),
    SignalSpec("sequence_prob", "logit", "whole-sample 1 / perplexity", sequence_prob, "log"),
    SignalSpec("sequence_joint_prob", "logit", "whole-sample joint probability", sequence_joint_prob, "log"),
)  # fmt: skip
