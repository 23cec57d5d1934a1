"""Where an answer sits in a sample's generated tokens, and what the model paid for it.

Token-probability signals read the probabilities the model gave to the tokens of its own
answer, so the answer's span must be found in the tokens first; these are the pieces the
logit signals (:mod:`elicit.signals.logit`) and their shared statistics
(:class:`~elicit.signals.sample_set.SampleSet`) are built from.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

import numpy as np
from scipy.special import entr, softmax

from elicit.types import TokenLogprob

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
