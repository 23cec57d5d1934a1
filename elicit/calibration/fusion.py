"""The fusion head: one calibrated confidence from all signals, plus one-signal baselines.

No single signal is reliable everywhere (verbal confidence is overconfident, agreement
is coarse with few samples, token probabilities need logprobs), so a small logistic
regression learns how much each one is worth on labelled questions. The baselines fit
the same data with one signal at a time, so a report can show what fusing buys.
"""

from __future__ import annotations

import hashlib
import json
import math
from abc import ABC, abstractmethod
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Self

import numpy as np
from numpy.typing import NDArray
from pydantic import BaseModel, ConfigDict, ValidationError
from scipy.optimize import minimize_scalar
from scipy.special import expit, logit
from sklearn.exceptions import NotFittedError
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler

from elicit.types import SIGNAL_NAMES, RunSetup, Signals

FORMAT_NAME = "elicit-fusion-head"
FORMAT_VERSION = 2
MISSING_RULE = (
    "a missing signal is replaced by its training mean, and a 0/1 missing column tells the head it was missing"
)
"""The rule for signals missing at prediction time, written into every head file."""
FUSION_C = 1.0
"""Inverse L2 strength: enough to keep weights finite when a signal separates the
training labels perfectly, weak enough not to flatten a few hundred examples."""

TEMPERATURE_SIGNALS: tuple[str, ...] = (
    "answer_prob",
    "answer_mean_prob",
    "answer_min_prob",
    "p_true",
)
"""Signals that are model probabilities, the only ones where a temperature means anything."""

PROBABILITY_CLIP = 1e-6
"""How far probabilities are kept from 0 and 1 before taking logits."""


class FusionFileError(ValueError):
    """A saved fusion head cannot be used: wrong format or version, bad content, or features."""


def signal_matrix(signals: Sequence[Signals], features: Sequence[str]) -> tuple[NDArray[np.float64], NDArray[np.bool_]]:
    """Rows of signal values (NaN where missing) and the matching missing mask."""
    unknown = [name for name in features if name not in SIGNAL_NAMES]
    if unknown:
        raise ValueError(f"features has unknown signal names {unknown}; known: {list(SIGNAL_NAMES)}")
    values = np.array([[getattr(item, name) for name in features] for item in signals], dtype=float).reshape(
        len(signals), len(features)
    )
    return values, np.isnan(values)


def _check_training_data(signals: Sequence[Signals], labels: Sequence[bool]) -> NDArray[np.bool_]:
    """Labels as a bool array, after the checks every fit needs."""
    if len(signals) != len(labels):
        raise ValueError(f"signals and labels differ in length ({len(signals)} != {len(labels)})")
    if not signals:
        raise ValueError("signals and labels are empty; fitting needs labelled examples")
    for index, label in enumerate(labels):
        if label not in (0, 1):
            raise ValueError(f"labels[{index}] = {label!r} is not a bool or 0/1")
    array = np.array([bool(label) for label in labels])
    if array.all() or not array.any():
        raise ValueError(f"labels must contain both classes (correct and wrong); all {len(array)} are {bool(array[0])}")
    return array


def _present_features(signals: Sequence[Signals], features: Sequence[str] | None) -> tuple[str, ...]:
    """The requested features, or every signal observed at least once; each must be observed."""
    names = tuple(SIGNAL_NAMES) if features is None else tuple(features)
    _, missing = signal_matrix(signals, names)
    never_seen = [name for name, column in zip(names, missing.T, strict=True) if column.all()]
    if features is None:
        names = tuple(name for name in names if name not in never_seen)
        if not names:
            raise ValueError("signals: no signal is present in any training example")
    elif never_seen:
        raise ValueError(f"features {never_seen} are missing in every training example")
    elif not names:
        raise ValueError("features is empty")
    return names


def _design_matrix(
    signals: Sequence[Signals],
    features: Sequence[str],
    means: NDArray[np.float64],
    indicators: Sequence[str],
) -> NDArray[np.float64]:
    """Mean-imputed feature values followed by one 0/1 column per missing indicator."""
    values, missing = signal_matrix(signals, features)
    imputed = np.where(missing, means, values)
    positions = [list(features).index(name) for name in indicators]
    return np.hstack([imputed, missing[:, positions].astype(float)])


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


class HeadMismatch(ValueError):
    """A head is applied to answers produced differently from the ones it was fitted on."""


class _FusionFile(BaseModel):
    """Schema of a saved head; ``format`` and ``format_version`` are checked before it."""

    model_config = ConfigDict(extra="forbid")

    format: str
    format_version: int
    features: list[str]
    imputation_means: dict[str, float]
    missing_indicators: list[str]
    scaler_mean: list[float]
    scaler_scale: list[float]
    coef: list[float]
    intercept: float
    n_train: int
    train_accuracy: float
    missing_rule: str = MISSING_RULE
    provenance: HeadProvenance | None = None


class FusionHead:
    """Standardized logistic regression over signals, with imputation and missing indicators.

    A missing signal is replaced by its training mean (``MISSING_RULE``, written into the
    file), and every signal that was ever missing in training also gets a 0/1 "is
    missing" column. The indicator matters
    because missingness carries information: a sample with no parsable confidence or
    no agreement is itself a sign of a confused model, which mean imputation alone
    would hide. Signals never missing in training get no indicator (it would be a
    constant column); if such a signal is missing at prediction time it is imputed.
    """

    def __init__(
        self,
        features: Sequence[str],
        imputation_means: Sequence[float],
        missing_indicators: Sequence[str],
        scaler_mean: Sequence[float],
        scaler_scale: Sequence[float],
        coef: Sequence[float],
        intercept: float,
        n_train: int,
        train_accuracy: float,
        provenance: HeadProvenance | None = None,
    ) -> None:
        self.features = tuple(features)
        self.imputation_means = np.asarray(imputation_means, dtype=float)
        self.missing_indicators = tuple(missing_indicators)
        self.scaler_mean = np.asarray(scaler_mean, dtype=float)
        self.scaler_scale = np.asarray(scaler_scale, dtype=float)
        self.coef = np.asarray(coef, dtype=float)
        self.intercept = float(intercept)
        self.n_train = int(n_train)
        self.train_accuracy = float(train_accuracy)
        self.provenance = provenance

    @property
    def columns(self) -> tuple[str, ...]:
        """Names of the design-matrix columns: features, then ``missing:<signal>`` indicators."""
        return self.features + tuple(f"missing:{name}" for name in self.missing_indicators)

    @classmethod
    def fit(
        cls,
        signals: Sequence[Signals],
        labels: Sequence[bool],
        features: Sequence[str] | None = None,
    ) -> FusionHead:
        """Fit on labelled questions (label = the answer was correct).

        ``features`` defaults to every signal present in at least one example; a
        feature that is constant in training is kept (the scaler leaves it at weight 0).
        """
        y = _check_training_data(signals, labels)
        names = _present_features(signals, features)
        values, missing = signal_matrix(signals, names)
        means = np.nanmean(values, axis=0)
        indicators = tuple(name for name, column in zip(names, missing.T, strict=True) if column.any())
        design = _design_matrix(signals, names, means, indicators)
        scaler = StandardScaler().fit(design)
        model = LogisticRegression(C=FUSION_C, max_iter=1000).fit(scaler.transform(design), y)
        accuracy = float(np.mean(model.predict(scaler.transform(design)) == y))
        return cls(
            names,
            means,
            indicators,
            scaler.mean_,
            scaler.scale_,
            model.coef_[0],
            float(model.intercept_[0]),
            len(y),
            accuracy,
        )

    def imputed(self, signals: Signals) -> list[str]:
        """The features of ``signals`` this head fills in by its missing rule."""
        return [name for name in self.features if getattr(signals, name) is None]

    def check_setup(self, setup: RunSetup) -> None:
        """Refuse answers produced with another strategy, sample count or model, naming both.

        A head learns how much each signal is worth under one setup: agreement out of 5
        samples is not agreement out of 10, and another model's token probabilities live
        on another scale. Heads without provenance (fitted directly in Python) are trusted.
        """
        fitted = self.provenance.setup if self.provenance is not None else None
        if fitted is None:
            return
        for name in ("strategy", "n_samples", "model"):
            mine, theirs = getattr(fitted, name), getattr(setup, name)
            if mine is not None and theirs is not None and mine != theirs:
                raise HeadMismatch(
                    f"the fusion head was fitted on {name}={mine!r} but is applied to {name}={theirs!r}: "
                    "fit a head on records of this setup"
                )

    def overlap(self, ids: Sequence[str]) -> list[str]:
        """The ids among ``ids`` that this head was trained on (by their stored digests)."""
        if self.provenance is None:
            return []
        seen = set(self.provenance.training_ids)
        return [i for i in ids if id_digest(i) in seen]

    def predict(self, signals: Sequence[Signals]) -> NDArray[np.float64]:
        """Probability that each answer is correct."""
        design = _design_matrix(signals, self.features, self.imputation_means, self.missing_indicators)
        return expit((design - self.scaler_mean) / self.scaler_scale @ self.coef + self.intercept)

    def predict_one(self, signals: Signals) -> float:
        """Probability that one answer is correct."""
        return float(self.predict([signals])[0])

    def to_dict(self) -> dict[str, Any]:
        """The JSON document ``save`` writes."""
        return _FusionFile(
            format=FORMAT_NAME,
            format_version=FORMAT_VERSION,
            features=list(self.features),
            imputation_means=dict(zip(self.features, self.imputation_means.tolist(), strict=True)),
            missing_indicators=list(self.missing_indicators),
            scaler_mean=self.scaler_mean.tolist(),
            scaler_scale=self.scaler_scale.tolist(),
            coef=self.coef.tolist(),
            intercept=self.intercept,
            n_train=self.n_train,
            train_accuracy=self.train_accuracy,
            provenance=self.provenance,
        ).model_dump(mode="json")

    def save(self, path: str | Path) -> None:
        """Write a small, human-readable, versioned JSON file."""
        Path(path).write_text(json.dumps(self.to_dict(), indent=2) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, path: str | Path, expected_features: Sequence[str] | None = None) -> FusionHead:
        """Read a head written by ``save``.

        ``expected_features`` guards against applying a head to signals computed by a
        different configuration: a mismatch raises instead of silently predicting.
        """
        try:
            raw = json.loads(Path(path).read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise FusionFileError(f"{path}: not valid JSON ({exc})") from exc
        if not isinstance(raw, dict):
            raise FusionFileError(f"{path}: expected a JSON object, got {type(raw).__name__}")
        if raw.get("format") != FORMAT_NAME:
            raise FusionFileError(f"{path}: format is {raw.get('format')!r}, expected {FORMAT_NAME!r}")
        if raw.get("format_version") != FORMAT_VERSION:
            raise FusionFileError(
                f"{path}: unsupported format_version {raw.get('format_version')!r};"
                f" this version of elicit reads version {FORMAT_VERSION}"
            )
        try:
            content = _FusionFile.model_validate(raw)
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(part) for part in error['loc'])}: {error['msg']}" for error in exc.errors()
            )
            raise FusionFileError(f"{path}: invalid fusion head file: {problems}") from exc
        _check_content(content, path)
        if expected_features is not None and list(expected_features) != content.features:
            raise FusionFileError(
                f"{path}: features do not match; file has {content.features}, expected {list(expected_features)}"
            )
        return cls(
            content.features,
            [content.imputation_means[name] for name in content.features],
            content.missing_indicators,
            content.scaler_mean,
            content.scaler_scale,
            content.coef,
            content.intercept,
            content.n_train,
            content.train_accuracy,
            content.provenance,
        )


def _check_content(content: _FusionFile, path: str | Path) -> None:
    """Cross-field consistency that the schema alone cannot express."""
    unknown = [name for name in content.features if name not in SIGNAL_NAMES]
    if unknown:
        raise FusionFileError(f"{path}: features has unknown signal names {unknown}")
    if set(content.imputation_means) != set(content.features):
        raise FusionFileError(
            f"{path}: imputation_means has keys {sorted(content.imputation_means)},"
            f" expected the features {content.features}"
        )
    stray = [name for name in content.missing_indicators if name not in content.features]
    if stray:
        raise FusionFileError(f"{path}: missing_indicators {stray} are not among the features")
    n_columns = len(content.features) + len(content.missing_indicators)
    for key in ("scaler_mean", "scaler_scale", "coef"):
        if len(getattr(content, key)) != n_columns:
            raise FusionFileError(f"{path}: {key} has {len(getattr(content, key))} entries, expected {n_columns}")
    if any(not scale > 0 for scale in content.scaler_scale):
        raise FusionFileError(f"{path}: scaler_scale entries must be positive")


class Calibrator(ABC):
    """A one-signal confidence model: ``fit(signals, labels)``, then ``predict(signals)``.

    A missing value is replaced by the signal's training mean, the same neutral guess
    the fusion head makes, so baselines and the head are compared on equal terms.
    """

    kind: str

    def __init__(self, feature: str) -> None:
        if feature not in SIGNAL_NAMES:
            raise ValueError(f"feature {feature!r} is not a signal name; known: {list(SIGNAL_NAMES)}")
        self.feature = feature
        self._mean: float | None = None

    @property
    def name(self) -> str:
        """Label used in reports, e.g. ``platt:agreement``."""
        return f"{self.kind}:{self.feature}"

    def _column(self, signals: Sequence[Signals]) -> NDArray[np.float64]:
        if self._mean is None:
            raise NotFittedError(f"{self.name} is not fitted; call fit first")
        values, missing = signal_matrix(signals, [self.feature])
        return np.where(missing, self._mean, values)[:, 0]

    def fit(self, signals: Sequence[Signals], labels: Sequence[bool]) -> Self:
        """Fit on labelled questions; returns self."""
        y = _check_training_data(signals, labels)
        _present_features(signals, [self.feature])
        values, _ = signal_matrix(signals, [self.feature])
        self._mean = float(np.nanmean(values))
        self._fit(self._column(signals), y)
        return self

    def predict(self, signals: Sequence[Signals]) -> NDArray[np.float64]:
        """Probability that each answer is correct."""
        return self._predict(self._column(signals))

    @abstractmethod
    def _fit(self, x: NDArray[np.float64], y: NDArray[np.bool_]) -> None: ...

    @abstractmethod
    def _predict(self, x: NDArray[np.float64]) -> NDArray[np.float64]: ...


class SingleSignal(Calibrator):
    """The signal value itself, taken at face value as a probability."""

    kind = "raw"

    def _fit(self, x: NDArray[np.float64], y: NDArray[np.bool_]) -> None:
        """Nothing to learn beyond the imputation mean."""

    def _predict(self, x: NDArray[np.float64]) -> NDArray[np.float64]:
        return x


class PlattScaling(Calibrator):
    """Unregularized 1-D logistic regression on the signal (a monotone sigmoid map)."""

    kind = "platt"

    def _fit(self, x: NDArray[np.float64], y: NDArray[np.bool_]) -> None:
        self._model = LogisticRegression(C=np.inf, max_iter=1000).fit(x[:, None], y)

    def _predict(self, x: NDArray[np.float64]) -> NDArray[np.float64]:
        return self._model.predict_proba(x[:, None])[:, 1]


class IsotonicCalibration(Calibrator):
    """Non-decreasing step function fitted to the labels; clipped outside the training range."""

    kind = "isotonic"

    def _fit(self, x: NDArray[np.float64], y: NDArray[np.bool_]) -> None:
        self._model = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip").fit(x, y.astype(float))

    def _predict(self, x: NDArray[np.float64]) -> NDArray[np.float64]:
        return self._model.predict(x)


class TemperatureScaling(Calibrator):
    """sigmoid(logit(p) / T) with one T > 0 fitted by minimum NLL.

    Only for signals that are model probabilities: T > 1 softens an overconfident
    model without changing the ranking, which is why it is the standard fix for
    token probabilities. T is searched on a log scale so it stays positive.
    """

    kind = "temperature"
    LOG_T_BOUNDS: tuple[float, float] = (math.log(1e-2), math.log(1e2))

    def __init__(self, feature: str) -> None:
        if feature not in TEMPERATURE_SIGNALS:
            raise ValueError(
                f"feature {feature!r} is not probability-valued; temperature scaling needs one of"
                f" {list(TEMPERATURE_SIGNALS)}"
            )
        super().__init__(feature)
        self.temperature = 1.0

    @staticmethod
    def _logits(x: NDArray[np.float64]) -> NDArray[np.float64]:
        return logit(np.clip(x, PROBABILITY_CLIP, 1.0 - PROBABILITY_CLIP))

    def _fit(self, x: NDArray[np.float64], y: NDArray[np.bool_]) -> None:
        logits = self._logits(x)
        signs = np.where(y, 1.0, -1.0)

        def nll(log_t: float) -> float:
            # -log sigmoid(s * z / T) = logaddexp(0, -s * z / T), stable for large |z|.
            return float(np.mean(np.logaddexp(0.0, -signs * logits / math.exp(log_t))))

        result = minimize_scalar(nll, bounds=self.LOG_T_BOUNDS, method="bounded")
        self.temperature = math.exp(float(result.x))

    def _predict(self, x: NDArray[np.float64]) -> NDArray[np.float64]:
        return expit(self._logits(x) / self.temperature)


def fit_baselines(
    signals: Sequence[Signals],
    labels: Sequence[bool],
    features: Sequence[str] | None = None,
) -> dict[str, Calibrator]:
    """Every baseline for every usable signal, keyed by name (``raw:agreement``, ...).

    Usable means present in at least one example (or listed in ``features``);
    temperature scaling is added only for probability-valued signals.
    """
    _check_training_data(signals, labels)
    kinds: list[type[Calibrator]] = [SingleSignal, PlattScaling, IsotonicCalibration]
    fitted: dict[str, Calibrator] = {}
    for feature in _present_features(signals, features):
        extra = [TemperatureScaling] if feature in TEMPERATURE_SIGNALS else []
        for kind in kinds + extra:
            calibrator = kind(feature).fit(signals, labels)
            fitted[calibrator.name] = calibrator
    return fitted
