"""A head fitted on one set of records and judged on another, beside the rival chosen on the same training rows.

The comparison every out-of-domain claim rests on: the head's whole choice is made on the
training records, the best single signal is chosen there too (by AUROC, Platt-mapped), and
both then score records neither has seen, so their paired difference is out of sample.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from elicit import defaults
from elicit.calibration.calibrators import BestSingle
from elicit.calibration.fitting import BEST_SINGLE, HEAD, dataset_of, scored_records, with_probe
from elicit.calibration.head import FusionHead
from elicit.calibration.white_box import AnswerProbe, probe_text
from elicit.model.hidden_states import HiddenStateEmbeddings
from elicit.types import EvalRecord


@dataclass(frozen=True)
class HeldOut:
    """The head and its rival, fitted on ``n_train`` records, scoring held-out ones."""

    head: FusionHead
    rival: BestSingle
    records: list[EvalRecord]
    correct: NDArray[np.bool_]
    datasets: list[str]
    scores: dict[str, NDArray[np.float64]]
    n_train: int
    probe: AnswerProbe | None = None


def held_out(
    train: Sequence[EvalRecord],
    test: Sequence[EvalRecord],
    *,
    seed: int = defaults.SEED,
    white_box: HiddenStateEmbeddings | None = None,
) -> HeldOut:
    """Fit the head and the best single signal on ``train``; score ``test`` with both.

    Records the prompt shows as few-shot examples are left out of both sides; a test record
    that is also a training record is refused, naming it. With ``white_box`` the answer probe
    joins the signals of both sides, out of fold on the training side (see
    :func:`~elicit.calibration.white_box.stacked_values`), so head and rival may both use it.
    """
    fitting, _ = scored_records(train)
    judged, _ = scored_records(test)
    seen = {record.id for record in fitting} & {record.id for record in judged}
    if seen:
        raise ValueError(f"{len(seen)} held-out records are training records too (e.g. {sorted(seen)[0]!r})")
    signals = [record.signals for record in fitting]
    labels = [record.correct for record in fitting]
    tested = [record.signals for record in judged]
    probe = None
    if white_box is not None:
        signals, tested, probe = with_probe(
            white_box, signals, [probe_text(r.question, r.answer) for r in fitting], labels, tested,
            [probe_text(r.question, r.answer) for r in judged], seed,
        )  # fmt: skip
    head = FusionHead(seed=seed).fit(signals, labels)
    rival = BestSingle().fit(signals, labels)
    return HeldOut(
        head=head, rival=rival, records=judged, correct=np.array([r.correct for r in judged], dtype=bool),
        datasets=[dataset_of(r) for r in judged],
        scores={HEAD: head.predict(tested), BEST_SINGLE: rival.predict(tested)}, n_train=len(fitting), probe=probe,
    )  # fmt: skip
