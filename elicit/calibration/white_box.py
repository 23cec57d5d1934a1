"""A white-box correctness signal: a probe on the served model's hidden states of the question and its answer.

Every black-box signal reads the same five samples and their token probabilities, so fusing
them mostly recalibrates; the model's internal state after reading a question and an answer
is evidence of another kind (Kadavath et al. 2022, P(IK); Azaria & Mitchell 2023, SAPLMA).
:class:`AnswerProbe` is a logistic regression from those hidden states (transformers on the
same local weights vLLM serves, :class:`~elicit.model.hidden_states.HiddenStateEmbeddings`)
to "the answer is right". Its layer and pooling are chosen on its training rows only, by a
cross-validated AUROC, and its file names the weights it read, so it is refused for another
model.

Fitted parts must be judged out of sample, and so must what is stacked on them: a head
trained on the probe's in-sample values would trust it far more than it deserves on new
questions. :func:`stacked_values` gives training rows out-of-fold probe values and new rows
the values of a probe fitted on every training row; the head is then fitted on the former.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from pydantic import BaseModel, ConfigDict
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold

from elicit.calibration.labels import require_per_class, stratified_folds
from elicit.calibration.probe import LogisticProbe
from elicit.files import VersionedFile
from elicit.model.hidden_states import HiddenStateEmbeddings

FORMAT_NAME = "elicit-answer-probe"
FORMAT_VERSION = 1
DEPTHS: tuple[float, ...] = (0.25, 0.5, 0.75, 1.0)
"""Layers tried, as fractions of the model's depth (SmolLM2-135M: 30 blocks; Qwen2.5-0.5B: 24)."""
POOLINGS: tuple[str, ...] = ("last", "mean")
"""Poolings tried: the last token (what a causal model has read of everything) and the mean."""
SELECTION_FOLDS = 3
INNER_FOLDS = 5
C_GRID = 5
"""Values of ``C`` searched per representation (scikit-learn's log-spaced default range)."""


class ProbeFileError(ValueError):
    """An answer-probe file cannot be used: wrong format, version, content, or model."""


def probe_text(question: str, answer: str | None) -> str:
    """What the probe reads: the question and the answer the model gave (or none)."""
    return f"Question: {question}\nAnswer: {answer or ''}"


def candidate_layers(n_layers: int) -> list[int]:
    """The layers tried for a model of ``n_layers`` blocks."""
    return sorted({max(1, round(depth * n_layers)) for depth in DEPTHS})


class Representation(BaseModel):
    """One (layer, pooling) the probe could read, and its cross-validated AUROC on the training rows."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    layer: int
    pooling: str
    auroc: float


class AnswerProbe(VersionedFile):
    """The fitted probe and where it came from; a small versioned JSON file."""

    model_config = ConfigDict(extra="forbid")
    file_error = ProbeFileError
    kind = "answer probe"
    remedy = "fit the probe again"

    format: str = FORMAT_NAME
    format_version: int = FORMAT_VERSION
    model: str
    digest: str
    layer: int
    pooling: str
    probe: LogisticProbe
    candidates: list[Representation]
    n_train: int
    seed: int

    @classmethod
    def fit(
        cls, encoder: HiddenStateEmbeddings, texts: Sequence[str], correct: Sequence[bool], *, seed: int = 0
    ) -> AnswerProbe:
        """Choose the layer and pooling by cross-validated AUROC on these rows, then fit there."""
        y = np.asarray(correct, dtype=bool)
        require_per_class(y, SELECTION_FOLDS, _too_few)
        vectors = _vectors(encoder, texts)
        candidates = [Representation(layer=layer, pooling=pooling, auroc=_cv_auroc(x, y, seed))
                      for (layer, pooling), x in vectors.items()]  # fmt: skip
        best = max(candidates, key=lambda c: c.auroc)
        probe = LogisticProbe.fit(vectors[best.layer, best.pooling], y, folds=_folds(y), seed=seed, cs=C_GRID)
        return cls(
            model=encoder.model_dir.name, digest=encoder.digest, layer=best.layer, pooling=best.pooling, probe=probe,
            candidates=candidates, n_train=int(y.size), seed=seed,
        )  # fmt: skip

    def check_encoder(self, encoder: HiddenStateEmbeddings) -> None:
        """Refuse hidden states of other weights, naming both models."""
        if encoder.digest != self.digest:
            raise ProbeFileError(
                f"the answer probe was fitted on {self.model} (weights {self.digest}) but is applied to "
                f"{encoder.model_dir.name} (weights {encoder.digest}): fit a probe for this model"
            )

    def values(self, encoder: HiddenStateEmbeddings, texts: Sequence[str]) -> NDArray[np.float64]:
        """The probability that each answer is right (none for no texts: a refit on every row has none to score)."""
        self.check_encoder(encoder)
        if not texts:
            return np.empty(0)
        vectors = encoder.encode_many(list(texts), [self.layer], [self.pooling])[self.layer, self.pooling]
        return self.probe.predict(np.asarray(vectors, dtype=np.float64))


def _too_few(counts: object) -> str:
    return f"the answer probe needs at least {SELECTION_FOLDS} right and {SELECTION_FOLDS} wrong answers ({counts})"


def _folds(y: NDArray[np.bool_]) -> int:
    return stratified_folds(y, INNER_FOLDS, _too_few)


def _vectors(encoder: HiddenStateEmbeddings, texts: Sequence[str]) -> dict[tuple[int, str], NDArray[np.float64]]:
    computed = encoder.encode_many(list(texts), candidate_layers(encoder.n_layers), POOLINGS)
    return {pair: np.asarray(x, dtype=np.float64) for pair, x in computed.items()}


def _cv_auroc(x: NDArray[np.float64], y: NDArray[np.bool_], seed: int) -> float:
    """Out-of-fold AUROC of a probe whose ``C`` is chosen inside each training part."""
    predicted = np.empty(y.size)
    for train, test in StratifiedKFold(SELECTION_FOLDS, shuffle=True, random_state=seed).split(x, y):
        folds = min(SELECTION_FOLDS, int(y[train].sum()), int((~y[train]).sum()))
        probe = LogisticProbe.fit(x[train], y[train], folds=max(2, folds), seed=seed, cs=C_GRID)
        predicted[test] = probe.decision(x[test])
    return float(roc_auc_score(y, predicted))


def stacked_values(
    encoder: HiddenStateEmbeddings, train_texts: Sequence[str], correct: Sequence[bool], test_texts: Sequence[str],
    *, seed: int = 0,
) -> tuple[NDArray[np.float64], NDArray[np.float64], AnswerProbe]:  # fmt: skip
    """Out-of-fold probe values for the training rows, values for the new rows, and the probe behind the latter.

    The representation and ``C`` are chosen once, on every training row; each training row's
    value then comes from a probe refit at that representation and ``C`` on the other folds.
    """
    probe = AnswerProbe.fit(encoder, train_texts, correct, seed=seed)
    y = np.asarray(correct, dtype=bool)
    x = np.asarray(encoder.encode_many(list(train_texts), [probe.layer], [probe.pooling])[probe.layer, probe.pooling],
                   dtype=np.float64)  # fmt: skip
    out_of_fold = np.empty(y.size)
    for train, test in StratifiedKFold(_folds(y), shuffle=True, random_state=seed).split(x, y):
        out_of_fold[test] = LogisticProbe.fit_at(x[train], y[train], probe.probe.C).predict(x[test])
    return out_of_fold, probe.values(encoder, test_texts), probe


@dataclass(frozen=True)
class ProbeReader:
    """A fitted probe and the hidden states it reads: what a chain needs for the ``answer_probe`` signal.

    Made with :meth:`local`, it reads the weights the probe was fitted on from this machine
    (the model vLLM serves); another model's hidden states are refused at construction.
    """

    probe: AnswerProbe
    encoder: HiddenStateEmbeddings

    def __post_init__(self) -> None:
        self.probe.check_encoder(self.encoder)

    @classmethod
    def local(cls, probe: AnswerProbe, cache_path: str | None = None) -> ProbeReader:
        """The probe on the local copy of its model's weights (materialized from its package)."""
        return cls(probe, HiddenStateEmbeddings(probe.model, cache_path=cache_path))

    def value(self, question: str, answer: str | None) -> float:
        """The probability that ``answer`` to ``question`` is right (an unanswered question is read too)."""
        return float(self.probe.values(self.encoder, [probe_text(question, answer)])[0])
