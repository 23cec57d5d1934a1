"""The fusion head's file: a small, versioned, human-readable JSON document and its checks.

A head file says what the head is (the chosen candidate, its numbers), what the choice
rested on (every candidate's inner cross-validated scores), and where it came from (the
run setup, digests of the training ids, folds and seed), so a report can refuse to score
a head on its own training rows and a chain can refuse answers of another setup.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from elicit.calibration.calibrators import ScoreMap
from elicit.calibration.features import features as known_features
from elicit.calibration.linear import MISSING_RULE, LinearModel
from elicit.files import VersionedFile
from elicit.types import RunSetup

FORMAT_NAME = "elicit-fusion-head"
FORMAT_VERSION = 3


class FusionFileError(ValueError):
    """A saved fusion head cannot be used: wrong format or version, bad content, or features."""


class HeadProvenance(BaseModel):
    """Where a head came from: what it may be applied to, and which records it has seen.

    ``training_ids`` holds a short digest of every training record id, enough to refuse
    scoring a head on its own training rows without storing the questions themselves.
    """

    model_config = ConfigDict(extra="forbid")

    setup: RunSetup | None = None
    n_train: int
    training_ids_digest: str
    training_ids: list[str]
    source: str | None = None
    folds: int | None = None
    seed: int | None = None


def id_digest(record_id: str) -> str:
    """The short digest of one record id that a head stores."""
    return hashlib.blake2b(record_id.encode(), digest_size=6).hexdigest()


def provenance_for(
    ids: Sequence[str], setup: RunSetup | None, *, source: str | None = None, folds: int | None = None,
    seed: int | None = None,
) -> HeadProvenance:  # fmt: skip
    """The provenance of a head fitted on the records with ``ids``, produced under ``setup``."""
    digests = sorted(id_digest(i) for i in ids)
    whole = hashlib.sha256("\n".join(sorted(ids)).encode()).hexdigest()[:16]
    return HeadProvenance(
        setup=setup, n_train=len(ids), training_ids_digest=whole, training_ids=digests, source=source, folds=folds,
        seed=seed,
    )  # fmt: skip


class Candidate(BaseModel):
    """One option the head chose among, with its inner cross-validated scores.

    ``vs_fused`` is the mean paired difference of its per-question Brier score to the fused
    candidate's (negative: better), ``vs_fused_se`` that mean's standard error.
    """

    model_config = ConfigDict(extra="forbid")

    name: str
    map: str
    brier: float
    auroc: float
    vs_fused: float
    vs_fused_se: float


class HeadFile(VersionedFile):
    """Schema of a saved head; ``format`` and ``format_version`` are checked before it."""

    model_config = ConfigDict(extra="forbid")
    file_error = FusionFileError
    kind = "fusion head file"
    remedy = "refit the head with `elicit fit`"

    format: str = FORMAT_NAME
    format_version: int = FORMAT_VERSION
    choice: str
    output: ScoreMap
    linear: LinearModel | None = None
    feature: str | None = None
    feature_mean: float | None = None
    candidates: list[Candidate]
    n_train: int
    base_rate: float
    missing_rule: str = MISSING_RULE
    provenance: HeadProvenance | None = None

    def check_consistency(self, path: str | Path) -> None:
        """Cross-field consistency that the schema alone cannot express."""
        if (self.linear is None) == (self.feature is None):
            raise FusionFileError(f"{path}: a head has exactly one of 'linear' and 'feature'")
        features = self.linear.features if self.linear is not None else [self.feature or ""]
        catalogue = known_features()
        unknown = [name for name in features if name not in catalogue]
        if unknown:
            raise FusionFileError(f"{path}: unknown feature names {unknown}")
        if self.feature is not None and self.feature_mean is None:
            raise FusionFileError(f"{path}: feature_mean is required with feature")
        if self.output.kind == "isotonic" and (
            not self.output.knots_x or len(self.output.knots_x) != len(self.output.knots_y)
        ):
            raise FusionFileError(f"{path}: an isotonic output needs knots_x and knots_y of equal, non-zero length")
        if self.linear is None:
            return
        linear = self.linear
        stray = [name for group in linear.indicators for name in group if name not in linear.features]
        if stray:
            raise FusionFileError(f"{path}: indicators {stray} are not among the features")
        if len(linear.means) != len(linear.features):
            raise FusionFileError(f"{path}: means has {len(linear.means)} entries, expected {len(linear.features)}")
        n_columns = len(linear.features) + len(linear.indicators)
        for key in ("scaler_mean", "scaler_scale", "coef"):
            if len(getattr(linear, key)) != n_columns:
                raise FusionFileError(f"{path}: {key} has {len(getattr(linear, key))} entries, expected {n_columns}")
        if any(not scale > 0 for scale in linear.scaler_scale):
            raise FusionFileError(f"{path}: scaler_scale entries must be positive")
