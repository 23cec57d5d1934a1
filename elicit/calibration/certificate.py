"""A certificate: a certified confidence threshold, the promise it keeps, and what it is valid for.

A threshold certified on one model's answers, asked one way and scored by one confidence,
says nothing about another: the file records the risk α and δ, the number of calibration
records, the procedure, the confidence source (the default combination, or a fusion head by
its digest) and the run setup, and every place that takes a certificate refuses one of
another model, strategy, sample count or head, naming both.
"""

from __future__ import annotations

import hashlib
import math
import time
from collections.abc import Sequence

import numpy as np
from pydantic import ConfigDict, Field

from elicit.calibration.fitting import scored_records
from elicit.calibration.head import FusionHead
from elicit.calibration.head_file import id_digest
from elicit.calibration.risk_control import PROCEDURE, certify_threshold, records_needed
from elicit.files import VersionedFile
from elicit.types import EvalRecord, RunSetup

FORMAT_NAME = "elicit-certificate"
FORMAT_VERSION = 1
DEFAULT_SOURCE = "default"
"""The confidence source of records scored without a head: the default combination."""


class CertificateError(ValueError):
    """A certificate cannot be made or used: bad input, another format, or another setup."""


class Certificate(VersionedFile):
    """A confidence threshold certified by Learn-then-Test; ``threshold`` None: nothing could be certified."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    file_error = CertificateError
    kind = "certificate"
    remedy = "certify again with `elicit certify`"

    format: str = FORMAT_NAME
    format_version: int = FORMAT_VERSION
    threshold: float | None
    risk: float = Field(gt=0.0, lt=1.0)
    delta: float = Field(gt=0.0, lt=1.0)
    n: int
    answered: float
    """Share of the calibration records at or above the threshold."""
    calibration_risk: float | None
    """Error rate among those answered calibration records."""
    procedure: str = PROCEDURE
    source: str
    """The confidence certified: ``default``, or ``fusion head <digest>``."""
    setup: RunSetup | None
    calibration_ids: list[str]
    created: str

    def certifies(self, confidence: float | None) -> bool:
        """Whether an answer of this confidence is within the promise (answer it)."""
        return confidence is not None and self.threshold is not None and confidence >= self.threshold

    def check(self, setup: RunSetup | None, head: FusionHead | None) -> None:
        """Refuse answers of another model, strategy or sample count, or scored by another head, naming both."""
        expected = DEFAULT_SOURCE if head is None else head_source(head)
        if self.source != expected:
            raise CertificateError(f"the certificate was made for confidence from {self.source}, not {expected}")
        if self.setup is None or setup is None:
            return
        for name in ("model", "strategy", "n_samples"):
            mine, theirs = getattr(self.setup, name), getattr(setup, name)
            if mine is not None and theirs is not None and mine != theirs:
                raise CertificateError(
                    f"the certificate was made for {name}={mine!r} but is applied to {name}={theirs!r}: "
                    "certify records of this setup"
                )

    def summary(self) -> dict[str, float | str | None]:
        """What a confidence object shows of the certificate."""
        return {"threshold": self.threshold, "risk": self.risk, "delta": self.delta, "source": self.source}


def head_source(head: FusionHead) -> str:
    """How a certificate names the head whose confidence it certifies: by the digest of its file's content."""
    return "fusion head " + hashlib.sha256(head.to_file().model_dump_json().encode()).hexdigest()[:16]


def certify(records: Sequence[EvalRecord], *, risk: float, delta: float, head: FusionHead | None = None) -> Certificate:
    """Certify a threshold on labelled records: their stored confidence, or ``head``'s.

    The records must be disjoint from the head's training records (a head is overconfident on
    the rows it learned from), and must carry a confidence for every question.
    """
    kept, _ = scored_records(records)
    if not kept:
        raise CertificateError("no labelled records to certify on")
    if head is not None:
        seen = head.overlap([r.id for r in kept])
        if seen:
            raise CertificateError(
                f"{len(seen)} of the {len(kept)} calibration records trained the head (e.g. {seen[0]!r}): certify on "
                "records the head has not seen"
            )
        confidence = head.predict([r.signals for r in kept])
    else:
        missing = [r.id for r in kept if r.confidence is None]
        if missing:
            raise CertificateError(f"{len(missing)} records carry no confidence (e.g. {missing[0]!r}): pass a head")
        confidence = np.array([r.confidence for r in kept], dtype=float)
    correct = np.array([r.correct for r in kept], dtype=bool)
    threshold = certify_threshold(confidence, correct, risk=risk, delta=delta)
    answered = confidence >= threshold
    observed = float(1 - correct[answered].mean()) if answered.any() else None
    if math.isinf(threshold) and correct.sum() < records_needed(risk=risk, delta=delta):
        needed = records_needed(risk=risk, delta=delta)
        raise CertificateError(
            f"{len(kept)} records with {int(correct.sum())} correct cannot certify any threshold at risk {risk} and "
            f"delta {delta}: at least {needed} correctly answered records are needed, more with errors among them"
        )
    setups = {r.setup.model_dump_json() for r in kept if r.setup is not None}
    return Certificate(
        threshold=None if math.isinf(threshold) else threshold, risk=risk, delta=delta, n=len(kept),
        answered=float(answered.mean()), calibration_risk=observed,
        source=DEFAULT_SOURCE if head is None else head_source(head),
        setup=kept[0].setup if len(setups) == 1 else None, calibration_ids=sorted(id_digest(r.id) for r in kept),
        created=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    )  # fmt: skip
