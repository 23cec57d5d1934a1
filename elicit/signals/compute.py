"""Every signal of one sample set, assembled into one ``Signals``.

One generation set is scored by every signal, so verbal, consistency and logit signals all
read the same samples; each is in [0, 1] or None with the reason it could not be computed.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from elicit.model.embeddings import TextEncoder
from elicit.signals import consistency
from elicit.signals.logit import logit_signals, sequence_signals
from elicit.signals.semantic import semantic_signals
from elicit.types import LOGIT_SIGNALS, SIGNAL_NAMES, Sample, Signals


def compute_signals(
    samples: Sequence[Sample],
    answer: str | None,
    *,
    p_true: float | None = None,
    p_true_reason: str | None = None,
    question: str | None = None,
    encoder: TextEncoder | None = None,
) -> Signals:
    """Every signal for one question about ``answer``, each in [0, 1] or None with a reason.

    ``answer`` is usually the majority answer, but any answer can be scored (agreement,
    Avg-Conf, Pair-Rank and the logit features refer to it; entropy and margin describe the
    answer distribution as a whole). ``p_true`` comes from a separate self-evaluation call;
    ``p_true_reason`` says why it is missing (the request failed, its reply named neither word).
    ``question`` makes answer matching question-aware: "The capital is Canberra" and
    "Canberra" are one answer to "What is the capital of Australia?".
    ``encoder`` embeds answers for the embedding-based semantic signals (None: those are
    missing, and meaning clusters come from answer matching alone).
    Values are clipped to [0, 1] to absorb floating-point rounding.
    """
    if p_true is not None and not 0.0 <= p_true <= 1.0:
        raise ValueError(f"p_true must be in [0, 1], got {p_true}")
    values: dict[str, float | None] = {
        "verbal_mean": consistency.verbal_mean(samples),
        "avg_conf": consistency.avg_conf(samples, answer, question),
        "pair_rank": consistency.pair_rank(samples, answer, question),
        "agreement": consistency.agreement(samples, answer, question),
        "entropy": consistency.answer_entropy_confidence(samples, question),
        "margin": consistency.margin(samples, question),
        "p_true": p_true,
    }
    has_confidence = any(s.confidence is not None for s in samples)
    reasons = {
        "verbal_mean": "no sample gave a verbal confidence",
        "avg_conf": "verbal confidences sum to 0" if has_confidence else "no sample gave a verbal confidence",
        "pair_rank": "no top-k guesses",
        "agreement": "no samples",
        "entropy": "entropy needs at least 2 samples",
        "margin": "no sample gave a parsable answer",
        "p_true": p_true_reason or "P(True) not computed",
    }
    if answer is None:
        no_answer = "no answer to score"
        logit_values: dict[str, float] = {}
        reasons |= {"avg_conf": no_answer, "pair_rank": no_answer, "agreement": no_answer}
        reasons |= dict.fromkeys(LOGIT_SIGNALS, no_answer)
    else:
        logit_values, logit_reasons = logit_signals(samples, answer, question)
        reasons |= logit_reasons
    values |= logit_values
    sequence_values, sequence_reasons = sequence_signals(samples)
    semantic_values, semantic_reasons = semantic_signals(samples, answer, question, encoder)
    values |= sequence_values | semantic_values
    reasons |= sequence_reasons | semantic_reasons
    if not samples:
        reasons |= {name: "no samples" for name in SIGNAL_NAMES if name != "p_true"}
    clipped = {
        name: None if (value := values.get(name)) is None else float(np.clip(value, 0.0, 1.0)) for name in SIGNAL_NAMES
    }
    missing = {name: reasons[name] for name in SIGNAL_NAMES if clipped[name] is None}
    return Signals(**clipped, n_samples=len(samples), missing=missing)
