"""Pre-generation routing policies by name: fitting them, saving them, and scoring questions.

A policy turns questions into scores (higher = the model more likely knows the answer); a
router retrieves for the questions below a threshold. The fitted scorers of one training run
share a representation (the encoder that turned questions into vectors) and are saved
together in one versioned JSON file, which records that representation so a file is never
used with vectors of another model, layer or pooling.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np
from numpy.typing import ArrayLike, NDArray
from pydantic import BaseModel, ConfigDict, ValidationError

from elicit.calibration.probe import LogisticProbe
from elicit.model.embeddings import TextEncoder
from elicit.routing.probe import KnowledgeProbe, LearnedRouter, RetrievalGainProbe, Scorer
from elicit.routing.thrust import (
    NearestCorrectScorer,
    SignedPullScorer,
    ThrustModelError,
    ThrustScorer,
    as_labels,
    as_matrix,
)

FORMAT_NAME = "elicit.routing-policies"
FORMAT_VERSION = 2
"""Version of the JSON layout written by :meth:`PolicySet.save` (1 was a single Thrust scorer)."""

PRE_GENERATION: tuple[str, ...] = ("thrust", "signed_pull", "nearest_correct", "probe", "learned")
"""The pre-generation policies every fit gives, in table order (``GAIN_PROBE`` follows when
retrieval outcomes are given too); all but ``thrust`` need correctness labels."""

GAIN_PROBE = "gain_probe"
"""The pre-generation policy fitted on retrieval's effect, when the TRAIN questions were also
answered with passages (see :class:`RetrievalGainProbe`)."""

_KINDS: dict[str, Any] = {
    cls.kind: cls for cls in (ThrustScorer, SignedPullScorer, NearestCorrectScorer, KnowledgeProbe, RetrievalGainProbe)
}


def fit_components(vectors: NDArray[np.float64], correct: NDArray[np.bool_], seed: int = 0) -> dict[str, Scorer]:
    """Every pre-generation scorer except the learned combination, fitted on one training set."""
    return {
        "thrust": ThrustScorer(seed=seed).fit(vectors),
        "signed_pull": SignedPullScorer(seed=seed).fit(vectors, correct),
        "nearest_correct": NearestCorrectScorer().fit(vectors, correct),
        "probe": KnowledgeProbe(seed=seed).fit(vectors, correct),
    }


def fit_scorers(
    vectors: ArrayLike, correct: ArrayLike, seed: int = 0, *, fixed: ArrayLike | None = None
) -> dict[str, Scorer]:
    """All of ``PRE_GENERATION``, fitted on the training questions' vectors and labels, and
    ``GAIN_PROBE`` too when ``fixed`` says for which of them retrieval fixed the answer."""
    x = as_matrix(vectors, "vectors")
    labels = as_labels(correct, x.shape[0])
    scorers = fit_components(x, labels, seed)
    scorers["learned"] = LearnedRouter(seed=seed).fit(x, labels, lambda v, y: fit_components(v, y, seed))
    if fixed is not None:
        scorers[GAIN_PROBE] = RetrievalGainProbe(seed=seed).fit(x, fixed)
    return scorers


def scorer_from_state(kind: str, state: Mapping[str, Any]) -> Scorer:
    """Rebuild a scorer saved by ``state()`` (the learned combination rebuilds its components)."""
    own = {key: value for key, value in state.items() if key != "kind"}
    if kind == LearnedRouter.kind:
        router = LearnedRouter()
        router.scorers = {name: scorer_from_state(s["kind"], s) for name, s in own.pop("scorers").items()}
        router.logistic = LogisticProbe.model_validate(own)
        return router
    if kind not in _KINDS:
        raise ThrustModelError(f"unknown scorer kind {kind!r}; known kinds: {', '.join([*_KINDS, 'learned'])}")
    return _KINDS[kind].from_state(own)  # type: ignore[no-any-return]


class QuestionPolicy(Protocol):
    """What a router needs of a pre-generation policy: a name and scores for questions."""

    name: str

    def scores(self, questions: Sequence[str]) -> NDArray[np.float64]: ...


class EncodedPolicy:
    """A fitted scorer applied to an encoder's vectors of the questions."""

    def __init__(self, name: str, encoder: TextEncoder, scorer: Scorer) -> None:
        self.name, self.encoder, self.scorer = name, encoder, scorer

    def scores(self, questions: Sequence[str]) -> NDArray[np.float64]:
        return self.scorer.score(np.asarray(self.encoder.encode(list(questions)), dtype=np.float64))


class PolicyDetails(BaseModel):
    """How a policy file's scorers were made and which one to route with, as a router reads them.

    ``layer`` and ``pooling`` rebuild the representation (the hidden-state encoder);
    ``dev_auroc`` is the probe's on the dev questions that chose them. ``designated`` is the
    policy ``route-eval`` chose on dev, and ``threshold`` the score below which it retrieves
    for ``budget`` of the dev questions: a router's defaults. Every field is optional, since a
    file written by hand or by a partial fit may hold only some; only the fields given are
    written back.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    layer: int | None = None
    pooling: str | None = None
    dev_auroc: float | None = None
    seed: int | None = None
    designated: str | None = None
    budget: float | None = None
    threshold: float | None = None


class PolicySet:
    """The fitted pre-generation scorers of one training run, and the representation they expect."""

    def __init__(
        self, representation: str, scorers: Mapping[str, Scorer], details: PolicyDetails | None = None
    ) -> None:
        self.representation = representation
        self.scorers = dict(scorers)
        self.details = details if details is not None else PolicyDetails()

    def policy(self, name: str, encoder: TextEncoder) -> EncodedPolicy:
        """The named policy on ``encoder``'s vectors; the encoder must be the representation fitted on."""
        if name not in self.scorers:
            raise ValueError(f"unknown policy {name!r}; this file holds: {', '.join(self.scorers)}")
        if encoder.model_name != self.representation:
            raise ThrustModelError(
                f"the policies were fitted on {self.representation!r} vectors, the encoder gives {encoder.model_name!r}"
            )
        return EncodedPolicy(name, encoder, self.scorers[name])

    def policies(self, encoder: TextEncoder) -> dict[str, EncodedPolicy]:
        return {name: self.policy(name, encoder) for name in self.scorers}

    def save(self, path: str | Path) -> None:
        payload = {
            "format": FORMAT_NAME,
            "version": FORMAT_VERSION,
            "representation": self.representation,
            "details": self.details.model_dump(exclude_unset=True),
            "scorers": {name: {"kind": s.kind, **s.state()} for name, s in self.scorers.items()},
        }
        Path(path).write_text(json.dumps(payload), encoding="utf-8")

    @classmethod
    def load(cls, path: str | Path) -> PolicySet:
        payload = json.loads(Path(path).read_text(encoding="utf-8"))
        if payload.get("format") != FORMAT_NAME or payload.get("version") != FORMAT_VERSION:
            raise ThrustModelError(
                f"{path}: expected format {FORMAT_NAME!r} version {FORMAT_VERSION}, got "
                f"{payload.get('format')!r} version {payload.get('version')!r}"
            )
        try:
            details = PolicyDetails.model_validate(payload.get("details") or {})
        except ValidationError as exc:
            raise _invalid(path, "details", exc) from exc
        scorers = {}
        for name, state in payload["scorers"].items():
            try:
                scorers[name] = scorer_from_state(state["kind"], state)
            except ValidationError as exc:
                raise _invalid(path, f"scorers.{name}", exc) from exc
        return cls(payload["representation"], scorers, details)


def _invalid(path: str | Path, where: str, exc: ValidationError) -> ThrustModelError:
    """A file's invalid part, every problem named by its place in the file."""
    problems = "; ".join(f"{'.'.join([where, *map(str, error['loc'])])}: {error['msg']}" for error in exc.errors())
    return ThrustModelError(f"{path}: {problems}")
