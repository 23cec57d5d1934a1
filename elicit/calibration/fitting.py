"""Fit the fusion head and the one-signal baselines on evaluation records, score held-out ones.

Records are split by a stable hash of their id (the built-in datasets' 60/20/20 split):
"train" records fit every method, "dev" and "test" records are held out and scored. So
the same question never helps fit the method it is used to judge, and rerunning gives the
same split.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from elicit.calibration.fusion import Calibrator, FusionHead, fit_baselines, signal_matrix
from elicit.datasets import split_of
from elicit.types import SIGNAL_NAMES, EvalRecord

FUSED = "fused"
DEFAULT = "default"


@dataclass
class HeldOut:
    """A fitted head and baselines, and every method's confidences on the held-out records."""

    head: FusionHead
    baselines: dict[str, Calibrator]
    train: list[EvalRecord]
    test: list[EvalRecord]
    correct: NDArray[np.bool_]
    scores: dict[str, NDArray[np.float64]] = field(default_factory=dict)


def split_records(records: Sequence[EvalRecord], seed: int = 0) -> tuple[list[EvalRecord], list[EvalRecord]]:
    """(train, held-out) by the stable split of each record's id."""
    train = [r for r in records if split_of(r.id, seed) == "train"]
    held_out = [r for r in records if split_of(r.id, seed) != "train"]
    return train, held_out


def raw_scores(records: Sequence[EvalRecord]) -> dict[str, NDArray[np.float64]]:
    """Each signal as it is (NaN where missing) and the records' own confidence, under ``raw:<name>``."""
    values, _ = signal_matrix([r.signals for r in records], SIGNAL_NAMES)
    scores = {f"raw:{name}": values[:, i] for i, name in enumerate(SIGNAL_NAMES) if not np.isnan(values[:, i]).all()}
    scores[DEFAULT] = np.array([np.nan if r.confidence is None else r.confidence for r in records], dtype=float)
    return scores


def fit_held_out(records: Sequence[EvalRecord], seed: int = 0) -> HeldOut:
    """Fit on the train split, score the held-out split with the head, every baseline and every raw signal."""
    train, test = split_records(records, seed)
    for name, part in (("train", train), ("held-out", test)):
        if len({r.correct for r in part}) < 2:
            raise ValueError(
                f"the {name} split has {len(part)} records and needs both correct and wrong answers; "
                "evaluate more questions"
            )
    labels = [r.correct for r in train]
    head = FusionHead.fit([r.signals for r in train], labels)
    baselines = {
        name: calibrator
        for name, calibrator in fit_baselines([r.signals for r in train], labels).items()
        if not name.startswith("raw:")  # raw values are reported as they are, missing ones included
    }
    test_signals = [r.signals for r in test]
    scores = raw_scores(test)
    scores.update({name: calibrator.predict(test_signals) for name, calibrator in baselines.items()})
    scores[FUSED] = head.predict(test_signals)
    correct = np.array([r.correct for r in test], dtype=bool)
    return HeldOut(head=head, baselines=baselines, train=train, test=test, correct=correct, scores=scores)
