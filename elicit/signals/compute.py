"""Every signal of one sample set, assembled into one ``Signals``.

One generation set is scored by every signal, so verbal, consistency and logit signals all
read the same samples (and the statistics they share, computed once); each is in [0, 1] or
None with the reason it could not be computed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from elicit.model.embeddings import TextEncoder
from elicit.signals.registry import specs
from elicit.signals.sample_set import SampleSet
from elicit.signals.self_eval import P_TRUE
from elicit.signals.spec import Missing, Value
from elicit.types import Sample, Signals


def compute_signals(
    samples: Sequence[Sample],
    answer: str | None,
    *,
    p_true: float | None = None,
    p_true_reason: str | None = None,
    question: str | None = None,
    encoder: TextEncoder | None = None,
    evidence: Mapping[str, Value] | None = None,
) -> Signals:
    """Every registered signal for one question about ``answer``, each in [0, 1] or None with a reason.

    ``answer`` is usually the majority answer, but any answer can be scored (agreement,
    Avg-Conf, Pair-Rank and the logit features refer to it; entropy and margin describe the
    answer distribution as a whole). ``p_true`` comes from a separate self-evaluation call;
    ``p_true_reason`` says why it is missing (the request failed, its reply named neither word).
    ``question`` makes answer matching question-aware. ``encoder`` embeds answers for the
    embedding-based semantic signals (None: those are missing, and meaning clusters come from
    answer matching alone). ``evidence`` passes other values gathered beside the samples, by
    signal name. Values are clipped to [0, 1] to absorb floating-point rounding.
    """
    if p_true is not None and not 0.0 <= p_true <= 1.0:
        raise ValueError(f"p_true must be in [0, 1], got {p_true}")
    gathered = dict(evidence or {})
    gathered.setdefault(P_TRUE, p_true if p_true is not None else Missing(p_true_reason or "P(True) not computed"))
    sample_set = SampleSet(samples, answer, question=question, encoder=encoder, evidence=gathered)
    values: dict[str, float | None] = {}
    missing: dict[str, str] = {}
    for signal in specs():
        value = signal.compute(sample_set) if samples or not signal.needs_samples else Missing("no samples")
        if isinstance(value, Missing):
            values[signal.name] = None
            missing[signal.name] = value.reason
        else:
            values[signal.name] = float(np.clip(value, 0.0, 1.0))
    return Signals(**values, n_samples=len(samples), missing=missing)
