"""White-box signals: what the model's own hidden states say about its answer.

The answer probe (:mod:`elicit.calibration.white_box`) is fitted on labelled records and
reads the served model's hidden states of the question and the chosen answer, so it needs
the model's weights on this machine; its value reaches the sample set as evidence gathered
beside the samples, and is missing, with the reason, where no probe was given or the weights
are not local.
"""

from __future__ import annotations

from elicit.signals.sample_set import SampleSet
from elicit.signals.spec import Missing, SignalSpec, Value

ANSWER_PROBE = "answer_probe"


def answer_probe(samples: SampleSet) -> Value:
    """The probe's probability that the answer is right, or why there is none."""
    return samples.evidence.get(ANSWER_PROBE, Missing("no hidden-state probe given"))


SIGNALS: tuple[SignalSpec, ...] = (
    SignalSpec(
        ANSWER_PROBE, "white-box", "a probe on the model's hidden states of the question and its answer",
        answer_probe, "logit", needs_samples=False,
    ),
)  # fmt: skip
