"""Signals recomputed from the samples a record already holds, with no model call.

When the signal set grows or a reader improves, an evaluation run kept with
``--keep-tokens`` can be scored again instead of regenerated: every sample is read again
from its kept text (and resolved to an option, for a multiple-choice question) and every
signal is computed from the samples and tokens; the scored answer, its label and P(True)
(a separate request whose logprobs are not stored) are kept.
"""

from __future__ import annotations

from collections.abc import Sequence

from elicit.elicitation.choices import choose
from elicit.elicitation.parsing import parse_sample
from elicit.model.embeddings import TextEncoder
from elicit.signals.compute import compute_signals
from elicit.types import EvalRecord, Sample


def reread(sample: Sample, options: Sequence[str], question: str) -> Sample:
    """``sample`` parsed again from its kept text by the current reader, its tokens and hint unchanged."""
    fresh = parse_sample(
        sample.text, sample.strategy, hint=sample.hint, tokens=sample.tokens, finish_reason=sample.finish_reason
    )
    return choose(fresh, options, question)


def rescored(records: Sequence[EvalRecord], encoder: TextEncoder | None) -> list[EvalRecord]:
    """``records`` with every signal recomputed by the current code.

    Records without token logprobs would silently lose their logit signals, so they are
    refused, naming the first such record.
    """
    result = []
    for record in records:
        if record.samples and all(sample.tokens is None for sample in record.samples):
            raise ValueError(
                f"record {record.id!r} holds no token logprobs: rescoring needs records evaluated with --keep-tokens"
            )
        samples = [reread(sample, record.options, record.question) for sample in record.samples]
        signals = compute_signals(
            samples, record.answer, p_true=record.signals.p_true,
            p_true_reason=record.signals.missing.get("p_true"), question=record.question, encoder=encoder,
        )  # fmt: skip
        result.append(record.model_copy(update={"samples": samples, "signals": signals}))
    return result
