"""Signals recomputed from the samples a record already holds, with no model call.

When the signal set grows, an evaluation run kept with ``--keep-tokens`` can be scored
again instead of regenerated: every signal is read from the stored samples and tokens; the
answer, its label and P(True) (a separate request whose logprobs are not stored) are kept.
"""

from __future__ import annotations

from collections.abc import Sequence

from elicit.model.embeddings import TextEncoder
from elicit.signals.compute import compute_signals
from elicit.types import EvalRecord


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
        signals = compute_signals(
            record.samples, record.answer, p_true=record.signals.p_true,
            p_true_reason=record.signals.missing.get("p_true"), question=record.question, encoder=encoder,
        )  # fmt: skip
        result.append(record.model_copy(update={"signals": signals}))
    return result
