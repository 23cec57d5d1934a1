"""Certified answering: a confidence threshold whose answers are wrong at most a stated share of the time.

Learn-then-Test (Angelopoulos, Bates, Candès, Jordan & Lei 2021) turns labelled calibration
records into a threshold λ̂ such that, with probability at least 1 − δ over the draw of the
calibration records, the error rate among the questions answered (confidence ≥ λ̂) is at most
α; Yadkori et al. 2024 apply it to abstention in LLM question answering. Each threshold of a
fixed grid is a hypothesis "the answered error rate exceeds α", tested with the
Hoeffding-Bentkus p-value of its calibration errors; the family-wise error over the grid is
controlled by Bonferroni-Holm, which holds whatever the dependence between thresholds; λ̂ is
the lowest threshold that passes (the most questions answered). The computation is MAPIE's
(``mapie.risk_control.BinaryClassificationController``, controlling precision at 1 − α).
"""

from __future__ import annotations

import math
import warnings

import numpy as np
from numpy.typing import ArrayLike, NDArray

THRESHOLDS: NDArray[np.float64] = np.round(np.linspace(0.0, 0.99, 100), 2)
"""The thresholds tested, fixed before any label is seen (a data-chosen grid would void the guarantee)."""
PROCEDURE = (
    "Learn-then-Test (Angelopoulos et al. 2021): Hoeffding-Bentkus p-values for 'answered error rate > risk' "
    f"at {THRESHOLDS.size} thresholds 0.00-0.99, Bonferroni-Holm over them; MAPIE BinaryClassificationController "
    "(precision >= 1 - risk)"
)


def _check_level(name: str, value: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0.0 < value < 1.0:
        raise ValueError(f"{name} must be a number strictly between 0 and 1, got {value!r}")
    return float(value)


def _inputs(confidence: ArrayLike, correct: ArrayLike) -> tuple[NDArray[np.float64], NDArray[np.bool_]]:
    conf = np.asarray(confidence, dtype=float)
    labels = np.asarray(correct)
    if conf.ndim != 1 or labels.shape != conf.shape:
        raise ValueError(f"confidence and correct must be 1-D and of one length, got {conf.shape} and {labels.shape}")
    if conf.size == 0:
        raise ValueError("confidence is empty: certifying a threshold needs labelled calibration records")
    if np.isnan(conf).any():
        raise ValueError(f"confidence holds NaN at index {int(np.flatnonzero(np.isnan(conf))[0])}")
    if ((conf < 0) | (conf > 1)).any():
        raise ValueError("confidence values must be in [0, 1]")
    if not np.isin(labels, (0, 1)).all():
        raise ValueError("correct must hold booleans (answered correctly or not) for every record")
    return conf, labels.astype(bool)


def certify_threshold(confidence: ArrayLike, correct: ArrayLike, *, risk: float, delta: float) -> float:
    """The certified threshold λ̂: answer when confidence ≥ λ̂; ``math.inf`` when none can be certified.

    With probability at least 1 − ``delta`` over the calibration records, the error rate of
    the answers given at λ̂ is at most ``risk``, for new questions drawn like them.
    """
    from mapie.risk_control import BinaryClassificationController, control_fwer  # scikit-learn loads only here

    alpha, level = _check_level("risk", risk), _check_level("delta", delta)
    conf, labels = _inputs(confidence, correct)
    controller = BinaryClassificationController(
        _as_proba, risk="precision", target_level=1.0 - alpha, confidence_level=1.0 - level,
        list_predict_params=THRESHOLDS, fwer_method="bonferroni_holm",
    )  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # "no threshold found" is answered by returning inf
        controller.calibrate(conf, labels)
    # A threshold above every calibration confidence answers nothing: its precision, hence its
    # p-value, is undefined (NaN), and one NaN makes the controller's Holm step reject nothing at
    # all. Such a threshold offers no evidence, so its p-value is 1; it still counts in the family.
    p_values = np.nan_to_num(np.asarray(controller.p_values, dtype=float).ravel(), nan=1.0)
    valid = THRESHOLDS[control_fwer(p_values, level, "bonferroni_holm")]
    return float(valid.min()) if valid.size else math.inf


def _as_proba(confidence: ArrayLike) -> NDArray[np.float64]:
    """Confidences as the (wrong, right) probability pairs MAPIE's controller thresholds."""
    values = np.asarray(confidence, dtype=float)
    return np.column_stack([1.0 - values, values])


def records_needed(*, risk: float, delta: float) -> int:
    """The fewest calibration answers that could certify anything: all of them right at the top threshold.

    An answered set with no error has exact p-value (1 − risk)^n; Bonferroni-Holm tests the
    best threshold at δ / (number of thresholds), so n must reach log(δ / m) / log(1 − risk).
    """
    alpha, level = _check_level("risk", risk), _check_level("delta", delta)
    return math.ceil(math.log(level / THRESHOLDS.size) / math.log(1.0 - alpha))
