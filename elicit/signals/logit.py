"""Token-probability features of the answer span in the generated tokens.

Logit features read the probabilities the model gave to the tokens of its own answer, so
they need the generated tokens with logprobs; when those are absent the signal is None and
``Signals.missing`` says why, so a fusion head can tell "off" from "uninformative".
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

import numpy as np
from scipy.special import entr, softmax

from elicit.signals.consistency import matching_samples
from elicit.types import LOGIT_SIGNALS, SEQUENCE_SIGNALS, Sample, TokenLogprob

_ANSWER_LABEL = re.compile(r"(?<!\w)(?:answer|g(?:uess)?\s*\d+)\s*[*_]*\s*[:：]", re.IGNORECASE)
"""A label the prompts put before an answer ("Answer:", "G1:", "**Answer**:", ...)."""


def locate_answer_span(tokens: Sequence[TokenLogprob], answer: str, text: str | None = None) -> tuple[int, int] | None:
    """Token range [start, end) covering ``answer`` in the generated tokens, or None.

    The answer is searched case-insensitively (any whitespace run in it matches any
    whitespace run), first after the first "Answer:" / "G1:"-style label, because a
    reasoning passage before it may mention the answer in another role and the answer
    parser reads that label too; without a label, or when the answer only occurs before
    it, the first occurrence is used. Characters map to tokens through the cumulative
    token lengths; a token partly overlapping the answer is included, since its
    probability was spent (in part) on producing the answer.

    ``text``, when given, must equal the concatenated token texts: it is a consistency
    check that character offsets and tokens line up.
    """
    words = answer.split()
    if not words:
        raise ValueError("answer must contain non-whitespace characters")
    joined = "".join(token.token for token in tokens)
    if text is not None and text != joined:
        raise ValueError("text does not equal the concatenation of the token texts")
    pattern = re.compile(r"\s+".join(re.escape(word) for word in words), re.IGNORECASE)
    label = _ANSWER_LABEL.search(joined)
    found = (label and pattern.search(joined, label.end())) or pattern.search(joined)
    if found is None:
        return None
    first_char, end_char = found.span()
    lengths = np.array([len(token.token) for token in tokens])
    ends = np.cumsum(lengths)
    starts = ends - lengths
    # First token ending after the answer starts, through the last starting before it ends.
    start = int(np.searchsorted(ends, first_char, side="right"))
    end = int(np.searchsorted(starts, end_char, side="left"))
    return start, end


def _check_span(tokens: Sequence[TokenLogprob], span: tuple[int, int]) -> None:
    start, end = span
    if not 0 <= start < end <= len(tokens):
        raise ValueError(f"span {span} is not a non-empty range inside {len(tokens)} tokens")


def span_logprob_features(tokens: Sequence[TokenLogprob], span: tuple[int, int]) -> dict[str, float]:
    """Probability of the answer tokens: joint (exp of the summed logprobs), per-token
    geometric mean (length-neutral), and the weakest token (one unsure token is enough to
    make a multi-token answer wrong)."""
    _check_span(tokens, span)
    logprobs = np.array([token.logprob for token in tokens[span[0] : span[1]]])
    return {
        "answer_prob": float(np.exp(logprobs.sum())),
        "answer_mean_prob": float(np.exp(logprobs.mean())),
        "answer_min_prob": float(np.exp(logprobs.min())),
    }


def _normalized_entropy(token: TokenLogprob) -> float | None:
    """Entropy of one position's top-k distribution divided by log(k), or None for k < 2.

    The server only reports the top k alternatives, so this renormalizes them and is an
    estimate of the true next-token entropy (it ignores the tail outside the top k). The
    sampled token is added when it is not among them, as its probability is known.
    """
    alternatives = dict(token.top_logprobs)
    alternatives.setdefault(token.token, token.logprob)
    logprobs = np.array(list(alternatives.values()))
    if len(logprobs) < 2 or not np.isfinite(logprobs).any():
        return None
    entropy = float(entr(softmax(logprobs)).sum())
    return entropy / math.log(len(logprobs))


def mean_token_entropy_confidence(tokens: Sequence[TokenLogprob], span: tuple[int, int] | None = None) -> float | None:
    """1 - mean normalized top-k entropy over ``span`` (all tokens when None).

    1 means the model saw no plausible alternative at any position. Positions without
    top-k alternatives are skipped; None when no position in range has any.
    """
    if span is not None:
        _check_span(tokens, span)
        tokens = tokens[span[0] : span[1]]
    entropies = [e for token in tokens if (e := _normalized_entropy(token)) is not None]
    return 1.0 - float(np.mean(entropies)) if entropies else None


def logit_signals(
    samples: Sequence[Sample], answer: str, question: str | None = None
) -> tuple[dict[str, float], dict[str, str]]:
    """Logit features averaged over samples that gave ``answer`` and carry tokens.

    Only those samples are used: a sample with another answer says how sure the model was
    of something else. Each sample's own spelling is searched in its tokens, since that is
    the text it generated. Token entropy is taken over the answer span, like the rest.
    """
    if all(s.tokens is None for s in samples):
        reason = "logprobs were not requested"
        return {}, dict.fromkeys(LOGIT_SIGNALS, reason)
    candidates = [(s.tokens, s.answer) for s in matching_samples(samples, answer, question) if s.tokens and s.answer]
    if not candidates:
        reason = "no sample with logprobs gave the answer"
        return {}, dict.fromkeys(LOGIT_SIGNALS, reason)
    per_sample: list[dict[str, float]] = []
    entropy_confidences: list[float] = []
    for tokens, own_answer in candidates:
        span = locate_answer_span(tokens, own_answer)
        if span is None:
            continue
        per_sample.append(span_logprob_features(tokens, span))
        confidence = mean_token_entropy_confidence(tokens, span)
        if confidence is not None:
            entropy_confidences.append(confidence)
    if not per_sample:
        reason = "answer not found in generated tokens"
        return {}, dict.fromkeys(LOGIT_SIGNALS, reason)
    values = {name: float(np.mean([features[name] for features in per_sample])) for name in per_sample[0]}
    missing: dict[str, str] = {}
    if entropy_confidences:
        values["token_entropy"] = float(np.mean(entropy_confidences))
    else:
        missing["token_entropy"] = "no top_logprobs at the answer tokens"
    return values, missing


def sequence_signals(samples: Sequence[Sample]) -> tuple[dict[str, float], dict[str, str]]:
    """Whole-sample probabilities, averaged over every sample with tokens (whatever its answer).

    ``sequence_prob`` is the per-token geometric mean probability, i.e. 1 / perplexity, so
    long and short samples compare; ``sequence_joint_prob`` is the probability of the whole
    sampled text (geometric mean over samples of exp(total log-probability)), the
    maximum-sequence-probability score, which also charges a model for long, wandering
    replies. They read how sure the model was of everything it wrote, not only the answer.
    """
    scored = [s.tokens for s in samples if s.tokens]
    if not scored:
        reason = "no samples" if not samples else "logprobs were not requested"
        return {}, dict.fromkeys(SEQUENCE_SIGNALS, reason)
    logprobs = [np.array([token.logprob for token in tokens]) for tokens in scored]
    return {
        "sequence_prob": float(np.mean([np.exp(values.mean()) for values in logprobs])),
        "sequence_joint_prob": float(np.exp(np.mean([values.sum() for values in logprobs]))),
    }, {}
