"""The fused model: a standardized logistic regression over features, its L2 strength chosen on data.

``C`` is chosen by inner stratified cross-validation on log loss (scikit-learn's
``LogisticRegressionCV``), never fixed: a few hundred labels and twenty collinear features
need more shrinkage than a few thousand. By default every feature weight is kept
non-negative: all features point the same way (higher = more confident), so a negative
weight can only be collinearity, which does not carry over to new questions. (The default
was chosen by cross-fitting on the training split of a set never tuned on; the README gives
the comparison.)

One feature may be left ``free`` (barely penalized): L2 then shrinks the fit toward a
logistic regression on that feature alone rather than toward a constant, so where the
other features add nothing the cross-validated ``C`` leaves the single feature's model.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray
from pydantic import BaseModel, ConfigDict

from elicit.calibration.features import feature_matrix
from elicit.calibration.labels import MIN_PER_CLASS, stratified_folds
from elicit.calibration.probe import LogisticProbe
from elicit.types import Signals

C_GRID: tuple[float, ...] = tuple(np.logspace(-3, 2, 11).tolist())
"""Inverse L2 strengths tried by the inner cross-validation."""
INNER_FOLDS = 5
MISSING_RULE = (
    "a missing feature is replaced by its training mean; one 0/1 column per distinct training "
    "pattern of missingness tells the logistic regression which features were missing"
)
"""The rule for features missing at prediction time, written into every head file."""


def inner_folds(y: NDArray[np.bool_]) -> int:
    """Inner folds: ``INNER_FOLDS``, fewer when a class is too rare to appear in each."""
    return stratified_folds(
        y,
        INNER_FOLDS,
        lambda counts: (
            f"fitting needs at least {MIN_PER_CLASS} correct and {MIN_PER_CLASS} wrong answers; "
            f"got {counts.rarer} of one class"
        ),
    )


class LinearModel(BaseModel):
    """Standardized logistic regression over features, with mean imputation and missing indicators.

    Signals that fail together (no answer parsed: every answer-dependent feature is missing)
    share one indicator column instead of one duplicate column each: ``indicators`` lists,
    per column, the features whose missingness it marks (a row is marked if any is missing).
    """

    model_config = ConfigDict(extra="forbid")

    features: list[str]
    means: list[float]
    indicators: list[list[str]]
    scaler_mean: list[float]
    scaler_scale: list[float]
    coef: list[float]
    intercept: float
    c: float
    nonnegative: bool = False
    free: str | None = None
    """The feature left unpenalized, if any."""

    @property
    def probe(self) -> LogisticProbe:
        """The logistic regression on the design matrix, as the fitting recipe holds it."""
        return LogisticProbe(
            mean=self.scaler_mean, scale=self.scaler_scale, coef=self.coef, intercept=self.intercept, C=self.c
        )

    def design(self, signals: Sequence[Signals]) -> NDArray[np.float64]:
        """Standardized design matrix: imputed features, then indicator columns."""
        return self.probe.standardize(_design(signals, self.features, self.means, self.indicators))

    def decision(self, signals: Sequence[Signals]) -> NDArray[np.float64]:
        """The log-odds before the output map."""
        return self.probe.decision(_design(signals, self.features, self.means, self.indicators))

    @classmethod
    def fit(
        cls,
        signals: Sequence[Signals],
        y: NDArray[np.bool_],
        features: Sequence[str],
        *,
        nonnegative: bool,
        seed: int,
        free: str | None = None,
    ) -> LinearModel:
        """Fit with ``C`` chosen by inner cross-validation on log loss.

        With ``nonnegative``, features whose weight comes out negative are dropped and the
        rest refit until every feature weight is >= 0 (indicators stay free to be negative).
        The ``free`` feature is never dropped. If nothing else is left to drop, that fit is
        returned as it is, marked ``nonnegative=False`` when a weight is still negative, so
        the file does not claim otherwise.
        """
        kept = list(features)
        while True:
            model = cls._fit_once(signals, y, kept, seed, free=free)
            negative = [name for name, w in zip(model.features, model.coef, strict=False) if w < 0]
            droppable = [name for name in negative if name != free]
            if not nonnegative or not droppable or len(droppable) == len(kept):
                return model.model_copy(update={"nonnegative": nonnegative and not negative})
            kept = [name for name in kept if name not in droppable]

    def refit(self, signals: Sequence[Signals], y: NDArray[np.bool_]) -> LinearModel:
        """The same features at the same ``C``, fitted on other rows (no new search).

        Out-of-fold outputs for choosing among candidates need one fit per fold; searching
        ``C`` again inside each would multiply the cost by the grid for little gain.
        """
        refitted = self._fit_once(signals, y, self.features, 0, self.c, free=self.free)
        return refitted.model_copy(update={"nonnegative": self.nonnegative})

    @classmethod
    def _fit_once(
        cls,
        signals: Sequence[Signals],
        y: NDArray[np.bool_],
        features: list[str],
        seed: int,
        c: float | None = None,
        *,
        free: str | None = None,
    ) -> LinearModel:
        values = feature_matrix(signals, features)
        observed = ~np.isnan(values)
        counts = observed.sum(axis=0)
        # A feature never observed in this part is imputed as 0: a constant column, weight 0.
        means = np.divide(
            np.where(observed, values, 0.0).sum(axis=0), counts, out=np.zeros(len(features)), where=counts > 0
        )
        patterns: dict[bytes, list[str]] = {}
        for name, column in zip(features, np.isnan(values).T, strict=True):
            if column.any() and not column.all():
                patterns.setdefault(column.tobytes(), []).append(name)
        indicators = list(patterns.values())
        design = _design(signals, features, means.tolist(), indicators)
        columns = [features.index(free)] if free is not None else []
        probe = (
            LogisticProbe.fit(design, y, folds=inner_folds(y), seed=seed, cs=C_GRID, free=columns)
            if c is None
            else LogisticProbe.fit_at(design, y, c, free=columns)
        )
        return cls(
            features=list(features), means=means.tolist(), indicators=indicators, scaler_mean=probe.mean,
            scaler_scale=probe.scale, coef=probe.coef, intercept=probe.intercept, c=probe.C, free=free,
        )  # fmt: skip


def _design(
    signals: Sequence[Signals], features: Sequence[str], means: Sequence[float], indicators: Sequence[Sequence[str]]
) -> NDArray[np.float64]:
    values = feature_matrix(signals, features)
    missing = np.isnan(values)
    imputed = np.where(missing, np.asarray(means, dtype=float), values)
    positions = {name: i for i, name in enumerate(features)}
    marks = [missing[:, [positions[name] for name in group]].any(axis=1) for group in indicators]
    return np.column_stack([imputed, *marks]).astype(float) if marks else imputed
