"""One recipe for a linear probe: standardize, then an L2 logistic regression with ``C`` chosen on data.

The fused model over signals and the routing probes over hidden states are the same model:
features of very different scales (log-odds, rates, activations), a few hundred labels, and
a regularisation strength that must be chosen on the training rows only. ``C`` is chosen by
stratified K-fold cross-validation on log loss (scikit-learn's ``LogisticRegressionCV``),
since log loss is what the probabilities are judged by. A column can be left (nearly)
unpenalized, as glmnet's penalty factors do, by fitting on it multiplied by ``FREE_SCALE``:
the fused head uses this to shrink toward its best single feature instead of toward a
constant. The result is kept as plain numbers, so files hold a few lists instead of a
pickled estimator.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray
from pydantic import BaseModel, ConfigDict, model_validator
from sklearn.linear_model import LogisticRegression, LogisticRegressionCV
from sklearn.model_selection import StratifiedKFold
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

MAX_ITER = 5000
"""Solver iterations allowed; small standardized problems converge in far fewer."""
FREE_SCALE = 100.0
"""How much a free column is scaled up before the L2 fit: its penalty is 1/10,000 of the others."""


class LogisticProbe(BaseModel):
    """``sigmoid(((x - mean) / scale) @ coef + intercept)``, fitted at inverse L2 strength ``C``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    mean: list[float]
    scale: list[float]
    coef: list[float]
    intercept: float
    C: float

    @model_validator(mode="after")
    def _consistent(self) -> LogisticProbe:
        for field in ("scale", "coef"):
            if len(getattr(self, field)) != len(self.mean):
                raise ValueError(f"{field} has {len(getattr(self, field))} entries, mean has {len(self.mean)}")
        if any(not value > 0 for value in self.scale):
            raise ValueError("scale entries must be positive")
        return self

    @classmethod
    def fit(
        cls,
        x: NDArray[np.float64],
        y: NDArray[np.bool_],
        *,
        folds: int,
        seed: int,
        cs: int | Sequence[float] = 10,
        free: Sequence[int] = (),
    ) -> LogisticProbe:
        """Fit on rows ``x`` and boolean labels ``y``, with ``C`` chosen among ``cs``.

        ``cs`` is a grid, or a number of values on scikit-learn's default log-spaced range.
        The folds are stratified and shuffled with ``seed``; the caller decides how many from
        its label counts (see :func:`elicit.calibration.labels.stratified_folds`), so that its
        error can say what its labels are. Columns in ``free`` are barely penalized, so a
        small ``C`` leaves a logistic regression on them alone.
        """
        search = LogisticRegressionCV(
            Cs=cs if isinstance(cs, int) else list(cs), l1_ratios=(0.0,), scoring="neg_log_loss",
            cv=StratifiedKFold(folds, shuffle=True, random_state=seed), max_iter=MAX_ITER, use_legacy_attributes=False,
        )  # fmt: skip
        return cls._fitted(search, x, y, free)

    @classmethod
    def fit_at(cls, x: NDArray[np.float64], y: NDArray[np.bool_], c: float, free: Sequence[int] = ()) -> LogisticProbe:
        """Fit at a given ``C``, with no search: a refit on other rows at an already chosen
        ``C`` costs one fit instead of one per grid value and fold."""
        return cls._fitted(LogisticRegression(C=c, max_iter=MAX_ITER), x, y, free)

    @classmethod
    def _fitted(
        cls, model: LogisticRegression, x: NDArray[np.float64], y: NDArray[np.bool_], free: Sequence[int]
    ) -> LogisticProbe:
        """Standardize and fit; a constant column is left unscaled (scale 1) and gets weight 0.

        A free column enters the fit multiplied by ``FREE_SCALE`` and its weight is multiplied
        back, so the stored weights apply to the standardized rows like every other."""
        scaler = StandardScaler()
        factors = np.ones(x.shape[1])
        factors[list(free)] = FREE_SCALE
        # One BLAS thread: these matrices are tiny, and extra threads only contend with a model server.
        with threadpool_limits(1):
            model.fit(scaler.fit_transform(x) * factors, y)
        chosen = float(np.ravel(model.C_)[0]) if isinstance(model, LogisticRegressionCV) else float(model.C)
        return cls(
            mean=scaler.mean_.tolist(), scale=scaler.scale_.tolist(), coef=(model.coef_[0] * factors).tolist(),
            intercept=float(model.intercept_[0]), C=chosen,
        )  # fmt: skip

    def standardize(self, x: NDArray[np.float64]) -> NDArray[np.float64]:
        """Rows on the scale the weights apply to."""
        if x.ndim != 2 or x.shape[1] != len(self.mean):
            raise ValueError(f"x must have {len(self.mean)} columns (the probe's features), got shape {x.shape}")
        return (x - np.asarray(self.mean)) / np.asarray(self.scale)

    def decision(self, x: NDArray[np.float64]) -> NDArray[np.float64]:
        """The log-odds of each row."""
        return self.standardize(x) @ np.asarray(self.coef) + self.intercept

    def predict(self, x: NDArray[np.float64]) -> NDArray[np.float64]:
        """The probability of the positive class for each row."""
        return 1.0 / (1.0 + np.exp(-self.decision(x)))
