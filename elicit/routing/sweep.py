"""Which hidden layer and pooling say most about what the model knows: a sweep on the dev split.

For each (layer, pooling) the P(IK) probe is fitted on the TRAIN questions' vectors and
labels and scored by its AUROC for "answered correctly without retrieval" on the DEV
questions. The best pair becomes the representation every policy is fitted on; the test
questions the policies are reported on play no part in the choice.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from numpy.typing import ArrayLike, NDArray
from pydantic import BaseModel, ConfigDict

from elicit.calibration.metrics import auroc
from elicit.routing.probe import KnowledgeProbe

SWEEP_LAYERS: tuple[int, ...] = tuple(range(0, 31, 3))
"""Layers tried for the embedded model (30 blocks): every third one, embeddings to output."""


class SweepRow(BaseModel):
    """One representation's dev AUROC."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    layer: int
    pooling: str
    dev_auroc: float | None


def sweep_layers(
    train: Mapping[tuple[int, str], NDArray[np.float32]],
    train_correct: ArrayLike,
    dev: Mapping[tuple[int, str], NDArray[np.float32]],
    dev_correct: ArrayLike,
    seed: int = 0,
) -> tuple[SweepRow, list[SweepRow]]:
    """The best (layer, pooling) by dev AUROC of the probe (ties: the earlier pair) and every row."""
    if set(train) != set(dev):
        raise ValueError("train and dev must hold vectors for the same (layer, pooling) pairs")
    dev_labels = np.asarray(dev_correct, dtype=bool)
    rows = []
    for layer, pooling in train:
        probe = KnowledgeProbe(seed=seed).fit(train[(layer, pooling)], train_correct)
        rows.append(
            SweepRow(layer=layer, pooling=pooling, dev_auroc=auroc(probe.score(dev[(layer, pooling)]), dev_labels))
        )
    scored = [row for row in rows if row.dev_auroc is not None]
    if not scored:
        raise ValueError("the dev questions are all correct or all wrong: no AUROC to choose a layer by")
    best = max(scored, key=lambda row: row.dev_auroc or 0.0)
    return best, rows
