"""Self-evaluation: P(True), the model's own probability that the scored answer is correct.

It is read from the first token's logprobs of a separate self-check request
(:func:`~elicit.elicitation.sampling.ap_true`), made after the samples, so it reaches the
sample set as evidence gathered beside them and exists even when no sample was drawn.
"""

from __future__ import annotations

from elicit.signals.sample_set import SampleSet
from elicit.signals.spec import Missing, SignalSpec, Value

P_TRUE = "p_true"


def p_true(samples: SampleSet) -> Value:
    """P(True) from the self-evaluation request, or why it is missing."""
    return samples.evidence.get(P_TRUE, Missing("P(True) not computed"))


SIGNALS: tuple[SignalSpec, ...] = (
    SignalSpec(
        P_TRUE, "self-evaluation", "P(True) from the True/False logprobs of a self-check prompt", p_true, "logit",
        probability=True, needs_samples=False, default=("one sample", "several samples"),
    ),
)  # fmt: skip
