from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.calibration import calibration_curve
from sklearn.metrics import (
    average_precision_score,
    brier_score_loss,
    log_loss,
    roc_auc_score,
)

from elicit.calibration import metrics

RNG = np.random.default_rng(7)
CONF = RNG.uniform(0.01, 0.99, size=300)
CORRECT = RNG.uniform(size=300) < CONF**1.5

grid_conf = st.integers(0, 1000).map(lambda k: k / 1000)


@st.composite
def scored(draw: st.DrawFn, min_size: int = 1) -> tuple[list[float], list[bool]]:
    size = draw(st.integers(min_size, 40))
    conf = draw(st.lists(grid_conf, min_size=size, max_size=size))
    correct = draw(st.lists(st.booleans(), min_size=size, max_size=size))
    return conf, correct


def test_brier_and_nll_match_sklearn() -> None:
    assert metrics.brier(CONF, CORRECT) == pytest.approx(brier_score_loss(CORRECT, CONF))
    assert metrics.nll(CONF, CORRECT) == pytest.approx(log_loss(CORRECT, CONF))


def test_ranking_metrics_match_sklearn() -> None:
    assert metrics.auroc(CONF, CORRECT) == pytest.approx(roc_auc_score(CORRECT, CONF))
    assert metrics.auprc_positive(CONF, CORRECT) == pytest.approx(average_precision_score(CORRECT, CONF))
    assert metrics.auprc_negative(CONF, CORRECT) == pytest.approx(average_precision_score(~CORRECT, -CONF))


def test_uniform_reliability_bins_match_calibration_curve() -> None:
    prob_true, prob_pred = calibration_curve(CORRECT, CONF, n_bins=10, strategy="uniform")
    filled = [b for b in metrics.reliability_bins(CONF, CORRECT) if b.count]
    assert [b.accuracy for b in filled] == pytest.approx(prob_true.tolist())
    assert [b.mean_confidence for b in filled] == pytest.approx(prob_pred.tolist())


def test_a_confidence_on_a_bin_edge_goes_to_the_lower_bin() -> None:
    # Verbal confidences such as 0.5, 0.8 and 0.9 sit exactly on the edges of ten uniform
    # bins. Bins are closed on the right, (lower, upper], as in scikit-learn's calibration_curve.
    edges = [0.0, 0.1, 0.5, 0.8, 0.9, 1.0]
    bins = metrics.reliability_bins(edges, [True] * len(edges), n_bins=10)
    counts = [b.count for b in bins]
    assert counts == [2, 0, 0, 0, 1, 0, 0, 1, 1, 1]
    assert bins[4].lower == pytest.approx(0.4) and bins[4].upper == pytest.approx(0.5)
    # 0.45 (wrong) and 0.5 (right) share the bin (0.4, 0.5]: accuracy 1/2 against mean
    # confidence 0.475. Were 0.5 put in (0.5, 0.6], the two bins' gaps would give 0.475.
    assert metrics.ece([0.45, 0.5], [False, True]) == pytest.approx(0.025)
    prob_true, prob_pred = calibration_curve([0, 1, 1, 0, 1], [0.45, 0.5, 0.8, 0.8, 0.9], n_bins=10)
    filled = [b for b in metrics.reliability_bins([0.45, 0.5, 0.8, 0.8, 0.9], [0, 1, 1, 0, 1]) if b.count]
    assert [b.accuracy for b in filled] == pytest.approx(prob_true)
    assert [b.mean_confidence for b in filled] == pytest.approx(prob_pred)


def test_ece_equals_weighted_gap_of_reliability_bins() -> None:
    for strategy in ("uniform", "quantile"):
        bins = metrics.reliability_bins(CONF, CORRECT, n_bins=15, strategy=strategy)
        gaps = [abs(b.accuracy - b.mean_confidence) for b in bins if b.count]
        weighted = sum(b.count * abs(b.accuracy - b.mean_confidence) for b in bins if b.count)
        assert metrics.ece(CONF, CORRECT, 15, strategy) == pytest.approx(weighted / CONF.size)
        assert metrics.mce(CONF, CORRECT, 15, strategy) == pytest.approx(max(gaps))


def test_ece_and_mce_hand_worked_uniform() -> None:
    conf, correct = [0.1, 0.15, 0.85, 0.95], [0, 1, 1, 1]
    # Bin [0, 0.5]: mean conf 0.125, accuracy 0.5; bin (0.5, 1]: 0.9 vs 1.0.
    assert metrics.ece(conf, correct, n_bins=2) == pytest.approx(0.5 * 0.375 + 0.5 * 0.1)
    assert metrics.mce(conf, correct, n_bins=2) == pytest.approx(0.375)


def test_ece_hand_worked_quantile_differs_from_uniform() -> None:
    conf, correct = [0.1, 0.2, 0.3, 0.4], [0, 0, 1, 1]
    # Quantile bins split at the median 0.25: gaps 0.15 and 0.65.
    assert metrics.ece(conf, correct, n_bins=2, strategy="quantile") == pytest.approx(0.4)
    assert metrics.mce(conf, correct, n_bins=2, strategy="quantile") == pytest.approx(0.65)
    # Uniform bins put everything in [0, 0.5]: |0.5 - 0.25|.
    assert metrics.ece(conf, correct, n_bins=2) == pytest.approx(0.25)


def test_reliability_bins_keep_empty_bins() -> None:
    bins = metrics.reliability_bins([0.05, 0.95], [0, 1], n_bins=4)
    assert [b.count for b in bins] == [1, 0, 0, 1]
    assert bins[1].mean_confidence is None and bins[1].accuracy is None
    assert [(b.lower, b.upper) for b in bins] == [(0.0, 0.25), (0.25, 0.5), (0.5, 0.75), (0.75, 1.0)]
    assert bins[3].mean_confidence == pytest.approx(0.95) and bins[3].accuracy == 1.0


def test_quantile_bins_tile_unit_interval() -> None:
    bins = metrics.reliability_bins(CONF, CORRECT, n_bins=5, strategy="quantile")
    assert bins[0].lower == 0.0 and bins[-1].upper == 1.0
    assert all(a.upper == b.lower for a, b in itertools.pairwise(bins))
    assert sum(b.count for b in bins) == CONF.size
    assert max(b.count for b in bins) - min(b.count for b in bins) <= 1


def test_aurc_hand_worked() -> None:
    # Risks at coverage 1..4: 0, 1/2, 1/3, 1/2.
    conf, correct = [0.9, 0.8, 0.7, 0.6], [1, 0, 1, 0]
    assert metrics.aurc(conf, correct) == pytest.approx((0 + 1 / 2 + 1 / 3 + 1 / 2) / 4)


def test_aurc_ties_average_over_tie_breaks() -> None:
    conf, correct = [0.9, 0.9, 0.5], [1, 0, 1]
    # Orders (right, wrong) and (wrong, right) give risks (0, .5, 1/3) and (1, .5, 1/3).
    assert metrics.aurc(conf, correct) == pytest.approx((0.5 + 0.5 + 1 / 3) / 3)
    assert metrics.aurc(conf[::-1], correct[::-1]) == metrics.aurc(conf, correct)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.sampled_from([0.2, 0.5, 0.8]), st.booleans()), min_size=1, max_size=6))
def test_aurc_equals_mean_over_all_tie_breaking_orders(items: list[tuple[float, bool]]) -> None:
    def aurc_in_order(order: tuple[tuple[float, bool], ...]) -> float:
        errors = np.cumsum([not ok for _, ok in order])
        return float(np.mean(errors / np.arange(1, len(order) + 1)))

    orders = [
        perm for perm in set(itertools.permutations(items)) if all(a[0] >= b[0] for a, b in itertools.pairwise(perm))
    ]
    # Every distinct order stands for the same number of item-level tie-breaks
    # (identical items are interchangeable), so a plain mean is the expectation.
    expected = np.mean([aurc_in_order(p) for p in orders])
    conf, correct = zip(*items, strict=True)
    assert metrics.aurc(conf, correct) == pytest.approx(expected)


def test_prr_hand_worked() -> None:
    # Rejection-curve areas: confidence 32/48, random 24/48, oracle 38/48.
    conf, correct = [0.9, 0.8, 0.7, 0.6], [1, 0, 1, 0]
    assert metrics.prr(conf, correct) == pytest.approx(4 / 7)
    # Reversed ranking is worse than random.
    assert metrics.prr([0.6, 0.7, 0.8, 0.9], correct) < 0


def test_accuracy_at_coverage() -> None:
    conf, correct = [0.9, 0.8, 0.7, 0.6], [1, 0, 1, 0]
    assert metrics.accuracy_at_coverage(conf, correct, 0.25) == 1.0
    assert metrics.accuracy_at_coverage(conf, correct, 0.3) == 0.5  # ceil(1.2) = 2 items
    assert metrics.accuracy_at_coverage(conf, correct, 0.5) == 0.5
    assert metrics.accuracy_at_coverage(conf, correct, 0.75) == pytest.approx(2 / 3)
    assert metrics.accuracy_at_coverage(conf, correct, 1.0) == 0.5
    for bad in (0.0, 1.5, -0.1):
        with pytest.raises(ValueError, match="coverage"):
            metrics.accuracy_at_coverage(conf, correct, bad)


def test_all_correct() -> None:
    conf, correct = [0.2, 0.9, 0.6], [True, True, True]
    assert metrics.auroc(conf, correct) is None
    assert metrics.prr(conf, correct) is None
    assert metrics.auprc_negative(conf, correct) is None
    assert metrics.auprc_positive(conf, correct) == 1.0
    assert metrics.aurc(conf, correct) == 0.0
    assert metrics.ece(conf, correct) == pytest.approx(1 - np.mean(conf))


def test_all_wrong() -> None:
    conf, correct = [0.2, 0.9, 0.6], [False, False, False]
    assert metrics.auroc(conf, correct) is None
    assert metrics.prr(conf, correct) is None
    assert metrics.auprc_positive(conf, correct) is None
    assert metrics.auprc_negative(conf, correct) == 1.0
    assert metrics.aurc(conf, correct) == 1.0


def test_constant_confidence() -> None:
    conf, correct = [0.7] * 4, [1, 1, 1, 0]
    assert metrics.auroc(conf, correct) == 0.5
    assert metrics.aurc(conf, correct) == pytest.approx(0.25)
    assert metrics.prr(conf, correct) == pytest.approx(0.0)
    assert metrics.ece(conf, correct) == pytest.approx(0.05)
    assert metrics.ece(conf, correct, strategy="quantile") == pytest.approx(0.05)


def test_single_item() -> None:
    assert metrics.ece([0.8], [1]) == pytest.approx(0.2)
    assert metrics.auroc([0.8], [1]) is None
    assert metrics.aurc([0.8], [0]) == 1.0
    assert metrics.summarize([0.8], [1])["n"] == 1


def test_nan_reports_argument_and_index() -> None:
    with pytest.raises(ValueError, match=r"confidences contains NaN at index 2"):
        metrics.ece([0.1, 0.2, float("nan")], [0, 1, 1])
    with pytest.raises(ValueError, match=r"correct contains NaN at index 0"):
        metrics.brier([0.1, 0.2], [float("nan"), 1])


@pytest.mark.parametrize(
    ("confidences", "correct", "pattern"),
    [
        ([0.1, 0.2], [1], "differ in length"),
        ([], [], "empty"),
        ([0.1, 1.2], [1, 0], r"confidences\[1\] = 1.2 is outside"),
        ([0.1, 0.2], [1, 2], r"correct\[1\] = 2.0 is not a bool"),
        ([[0.1, 0.2]], [[1, 0]], "one-dimensional"),
        (["high"], [1], "confidences must be numeric"),
    ],
)
def test_invalid_inputs(confidences: list, correct: list, pattern: str) -> None:
    with pytest.raises(ValueError, match=pattern):
        metrics.summarize(confidences, correct)


def test_invalid_binning_arguments() -> None:
    with pytest.raises(ValueError, match="n_bins"):
        metrics.ece(CONF, CORRECT, n_bins=0)
    with pytest.raises(ValueError, match="strategy"):
        metrics.mce(CONF, CORRECT, strategy="equal")  # type: ignore[arg-type]


def test_summarize_keys_and_values() -> None:
    summary = metrics.summarize(CONF, CORRECT, n_bins=10)
    assert set(summary) == {
        "ece",
        "mce",
        "brier",
        "nll",
        "auroc",
        "auprc_pos",
        "auprc_neg",
        "aurc",
        "prr",
        "accuracy",
        "n",
    }
    assert summary["n"] == CONF.size
    assert summary["accuracy"] == pytest.approx(CORRECT.mean())
    assert summary["ece"] == metrics.ece(CONF, CORRECT)
    assert summary["prr"] == metrics.prr(CONF, CORRECT)


@settings(max_examples=100, deadline=None)
@given(scored(), st.integers(1, 20), st.sampled_from(["uniform", "quantile"]))
def test_ece_and_mce_are_in_unit_interval(
    data: tuple[list[float], list[bool]], n_bins: int, strategy: metrics.BinStrategy
) -> None:
    conf, correct = data
    value = metrics.ece(conf, correct, n_bins, strategy)
    assert 0.0 <= value <= metrics.mce(conf, correct, n_bins, strategy) + 1e-12 <= 1.0 + 1e-12


@settings(max_examples=100, deadline=None)
@given(
    st.lists(st.integers(501, 1000), min_size=1, max_size=20),
    st.lists(st.integers(0, 500), min_size=1, max_size=20),
)
def test_prr_of_perfect_ranking_is_one(right: list[int], wrong: list[int]) -> None:
    conf = [k / 1000 for k in right + wrong]
    correct = [True] * len(right) + [False] * len(wrong)
    assert metrics.prr(conf, correct) == pytest.approx(1.0)


@settings(max_examples=100, deadline=None)
@given(scored(min_size=2))
def test_auroc_invariant_under_increasing_transform(data: tuple[list[float], list[bool]]) -> None:
    conf, correct = data
    base = metrics.auroc(conf, correct)
    for transformed in (np.sqrt(conf), np.asarray(conf) ** 3, 0.5 + 0.4 * np.asarray(conf)):
        assert metrics.auroc(transformed, correct) == pytest.approx(base)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.integers(1, 5), min_size=5, max_size=5))
def test_ece_of_perfectly_calibrated_bins_is_zero(multiplicity: list[int]) -> None:
    # Confidence j/4 given to 4*m items of which j*m are right: every bin is exact.
    conf: list[float] = []
    correct: list[bool] = []
    for j, m in enumerate(multiplicity):
        conf += [j / 4] * (4 * m)
        correct += [True] * (j * m) + [False] * ((4 - j) * m)
    assert metrics.ece(conf, correct) == pytest.approx(0.0, abs=1e-12)
    assert metrics.mce(conf, correct) == pytest.approx(0.0, abs=1e-12)
