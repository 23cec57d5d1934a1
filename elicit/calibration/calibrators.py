"""One-signal calibrators: the baselines a fused head must beat, and the map on its own output.

A ``ScoreMap`` turns one score into a probability with a monotone map (Platt's sigmoid or
an isotonic step function) and saves as plain numbers, so the head file can carry the map
on its output. A ``Calibrator`` applies one to one feature of the signals (see
:mod:`elicit.calibration.features`), imputing a missing value with the training mean, the
same neutral guess the head makes, so baselines and head are compared on equal terms.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Literal, Self

import numpy as np
from numpy.typing import NDArray
from pydantic import BaseModel, ConfigDict
from scipy.optimize import minimize_scalar
from scipy.special import expit, logit
from sklearn.exceptions import NotFittedError
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score

from elicit.calibration.features import LOGIT_CLIP, check_features, feature_matrix, features, signal_matrix
from elicit.calibration.labels import binary_labels, require_per_class
from elicit.signals.registry import specs
from elicit.types import Signals

MAP_KINDS: tuple[str, ...] = ("platt", "isotonic")


def temperature_signals() -> tuple[str, ...]:
    """Signals that are model probabilities (``SignalSpec.probability``), the only ones where a
    temperature means anything."""
    return tuple(signal.name for signal in specs() if signal.probability)


def check_labels(n_rows: int, labels: Sequence[bool]) -> NDArray[np.bool_]:
    """Labels as a bool array, after the checks every fit needs."""
    if n_rows != len(labels):
        raise ValueError(f"signals and labels differ in length ({n_rows} != {len(labels)})")
    if not n_rows:
        raise ValueError("signals and labels are empty; fitting needs labelled examples")
    array = binary_labels(labels)
    require_per_class(
        array,
        1,
        lambda counts: (
            f"labels must contain both classes (correct and wrong); all {counts.total} are {counts.positive > 0}"
        ),
    )
    return array


class ScoreMap(BaseModel):
    """A fitted monotone map from a score to a probability, stored as numbers.

    ``platt``: sigmoid(slope * score + intercept), unregularized (one slope cannot overfit).
    ``isotonic``: the non-decreasing step function through ``knots``, linear between them and
    flat outside them, which is how scikit-learn's isotonic regression predicts.
    """

    model_config = ConfigDict(extra="forbid")

    kind: Literal["platt", "isotonic"]
    slope: float = 1.0
    intercept: float = 0.0
    knots_x: list[float] = []
    knots_y: list[float] = []

    @classmethod
    def fit(cls, kind: str, scores: NDArray[np.float64], labels: NDArray[np.bool_]) -> ScoreMap:
        """Fit a map of ``kind`` (``platt`` or ``isotonic``) to labelled scores."""
        if kind == "platt":
            model = LogisticRegression(C=np.inf, max_iter=1000).fit(scores[:, None], labels)
            return cls(kind="platt", slope=float(model.coef_[0, 0]), intercept=float(model.intercept_[0]))
        if kind == "isotonic":
            iso = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip").fit(scores, labels.astype(float))
            return cls(kind="isotonic", knots_x=iso.X_thresholds_.tolist(), knots_y=iso.y_thresholds_.tolist())
        raise ValueError(f"map kind must be one of {list(MAP_KINDS)}, got {kind!r}")

    def predict(self, scores: NDArray[np.float64]) -> NDArray[np.float64]:
        """Probabilities for ``scores``."""
        if self.kind == "platt":
            return expit(self.slope * scores + self.intercept)
        return np.interp(scores, self.knots_x, self.knots_y)


class Calibrator(ABC):
    """A one-feature confidence model: ``fit(signals, labels)``, then ``predict(signals)``."""

    kind: str

    def __init__(self, feature: str) -> None:
        check_features([feature])
        self.feature = feature
        self._mean: float | None = None

    @property
    def name(self) -> str:
        """Label used in reports, e.g. ``platt:agreement``."""
        return f"{self.kind}:{self.feature}"

    def _values(self, signals: Sequence[Signals]) -> NDArray[np.float64]:
        return feature_matrix(signals, [self.feature])[:, 0]

    def _column(self, signals: Sequence[Signals]) -> NDArray[np.float64]:
        if self._mean is None:
            raise NotFittedError(f"{self.name} is not fitted; call fit first")
        values = self._values(signals)
        return np.where(np.isnan(values), self._mean, values)

    def fit(self, signals: Sequence[Signals], labels: Sequence[bool]) -> Self:
        """Fit on labelled questions; returns self."""
        y = check_labels(len(signals), labels)
        values = self._values(signals)
        if np.isnan(values).all():
            raise ValueError(f"feature {self.feature!r} is missing in every training example")
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


class _Mapped(Calibrator):
    """A ``ScoreMap`` of the feature's value (the same form the head reads)."""

    def _fit(self, x: NDArray[np.float64], y: NDArray[np.bool_]) -> None:
        self._map = ScoreMap.fit(self.kind, x, y)

    def _predict(self, x: NDArray[np.float64]) -> NDArray[np.float64]:
        return self._map.predict(x)


class PlattScaling(_Mapped):
    """Unregularized 1-D logistic regression on the feature (a sigmoid in log or logit space)."""

    kind = "platt"


class IsotonicCalibration(_Mapped):
    """Non-decreasing step function fitted to the labels; clipped outside the training range."""

    kind = "isotonic"


class TemperatureScaling(Calibrator):
    """sigmoid(logit(p) / T) with one T > 0 fitted by minimum NLL, on the raw probability.

    Only for signals that are model probabilities: T > 1 softens an overconfident
    model without changing the ranking, which is why it is the standard fix for
    token probabilities. T is searched on a log scale so it stays positive.
    """

    kind = "temperature"
    LOG_T_BOUNDS: tuple[float, float] = (math.log(1e-2), math.log(1e2))

    def __init__(self, feature: str) -> None:
        if feature not in temperature_signals():
            raise ValueError(
                f"feature {feature!r} is not probability-valued; temperature scaling needs one of"
                f" {list(temperature_signals())}"
            )
        super().__init__(feature)
        self.temperature = 1.0

    def _values(self, signals: Sequence[Signals]) -> NDArray[np.float64]:
        return signal_matrix(signals, [self.feature])[:, 0]

    @staticmethod
    def _logits(x: NDArray[np.float64]) -> NDArray[np.float64]:
        return logit(np.clip(x, LOGIT_CLIP, 1.0 - LOGIT_CLIP))

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


def present_features(signals: Sequence[Signals], names: Sequence[str] | None = None) -> tuple[str, ...]:
    """The requested features, or every feature observed at least once; each must be observed."""
    requested = tuple(features()) if names is None else tuple(names)
    if not requested:
        raise ValueError("features is empty")
    values = feature_matrix(signals, requested)
    never_seen = [name for i, name in enumerate(requested) if np.isnan(values[:, i]).all()]
    if names is None:
        kept = tuple(name for name in requested if name not in never_seen)
        if not kept:
            raise ValueError("signals: no signal is present in any training example")
        return kept
    if never_seen:
        raise ValueError(f"features {never_seen} are missing in every training example")
    return requested


def fit_baselines(
    signals: Sequence[Signals], labels: Sequence[bool], features: Sequence[str] | None = None
) -> dict[str, Calibrator]:
    """Platt and isotonic maps of every usable feature, plus temperature scaling of the
    probability-valued signals, keyed by name (``platt:agreement``, ...)."""
    check_labels(len(signals), labels)
    fitted: dict[str, Calibrator] = {}
    for feature in present_features(signals, features):
        kinds: list[type[Calibrator]] = [PlattScaling, IsotonicCalibration]
        if feature in temperature_signals():
            kinds.append(TemperatureScaling)
        for kind in kinds:
            calibrator = kind(feature).fit(signals, labels)
            fitted[calibrator.name] = calibrator
    return fitted


def best_ranking(signals: Sequence[Signals], y: NDArray[np.bool_], features: Sequence[str] | None = None) -> str:
    """The feature whose values (mean-imputed where missing) rank these answers best by AUROC."""
    names = present_features(signals, features)
    values = feature_matrix(signals, names)
    imputed = np.where(np.isnan(values), np.nanmean(values, axis=0), values)
    aurocs = [roc_auc_score(y, column) for column in imputed.T]
    return names[int(np.argmax(aurocs))]


class BestSingle:
    """The rival a fusion head must beat: the feature that ranks the training answers best, Platt-mapped.

    The feature is chosen by its AUROC on the training rows alone (mean-imputed where
    missing), so the rival, like the head, never sees the rows it is compared on.
    """

    def fit(self, signals: Sequence[Signals], labels: Sequence[bool]) -> Self:
        """Choose the feature on these rows and fit its Platt map; returns self."""
        y = check_labels(len(signals), labels)
        self.feature_ = best_ranking(signals, y)
        self.calibrator_ = PlattScaling(self.feature_).fit(signals, labels)
        return self

    def predict(self, signals: Sequence[Signals]) -> NDArray[np.float64]:
        """Probability that each answer is correct."""
        if not hasattr(self, "calibrator_"):
            raise NotFittedError("BestSingle is not fitted; call fit first")
        return self.calibrator_.predict(signals)
