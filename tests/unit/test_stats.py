from __future__ import annotations

import math
from collections import Counter

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import roc_auc_score

from elicit.calibration import metrics, stats


def typical(n: int, seed: int, power: float = 1.3) -> tuple[np.ndarray, np.ndarray]:
    """Informative, mildly overconfident scores: right with probability conf**power."""
    rng = np.random.default_rng(seed)
    conf = rng.beta(4.0, 1.5, size=n)
    correct = rng.uniform(size=n) < conf**power
    return conf, correct


CONF, CORRECT = typical(600, seed=11)

grid_conf = st.integers(0, 20).map(lambda k: k / 20)  # coarse grid: many ties


@st.composite
def labelled(draw: st.DrawFn, min_size: int = 2, max_size: int = 40) -> tuple[np.ndarray, np.ndarray]:
    """Scores with ties and both classes present."""
    size = draw(st.integers(min_size, max_size))
    conf = np.array(draw(st.lists(grid_conf, min_size=size, max_size=size)))
    correct = np.array(draw(st.lists(st.booleans(), min_size=size, max_size=size)))
    correct[0], correct[1] = True, False
    return conf, correct


# --------------------------------------------------------------------------- fast paths


@settings(max_examples=60, deadline=None)
@given(data=labelled(), seed=st.integers(0, 2**16))
def test_fast_auroc_matches_sklearn_with_ties(data: tuple[np.ndarray, np.ndarray], seed: int) -> None:
    conf, correct = data
    rng = np.random.default_rng(seed)
    rows = rng.integers(0, conf.size, size=(8, conf.size))
    rows[:, :2] = [0, 1]  # keep both classes in every row
    fast = stats._auroc_rows(conf[rows], correct[rows])
    expected = [roc_auc_score(correct[row], conf[row]) for row in rows]
    assert fast == pytest.approx(expected, abs=1e-12)


def test_fast_auroc_on_continuous_scores_and_single_class_rows() -> None:
    rng = np.random.default_rng(3)
    conf = rng.uniform(size=(5, 400))
    correct = rng.uniform(size=(5, 400)) < conf
    correct[4] = True
    fast = stats._auroc_rows(conf, correct)
    expected = [roc_auc_score(correct[i], conf[i]) for i in range(4)]
    assert fast[:4] == pytest.approx(expected, abs=1e-12)
    assert np.isnan(fast[4])


@settings(max_examples=40, deadline=None)
@given(data=labelled(), seed=st.integers(0, 2**16), use_strata=st.booleans())
def test_batched_metrics_equal_reference_on_every_resample(
    data: tuple[np.ndarray, np.ndarray], seed: int, use_strata: bool
) -> None:
    conf, correct = data
    strata = np.arange(conf.size) % 3 if use_strata else None
    index = stats.resample_indices(correct.size, n_resamples=6, seed=seed, strata=stats._cells(correct, strata))
    conf_rows, corr_rows = stats._sorted_rows(conf, correct, index)
    for name in stats.METRIC_NAMES:
        batched = stats._metric_rows(name, conf_rows, corr_rows, 10)
        reference = [stats._REFERENCE[name](conf[row], correct[row], 10) for row in index]
        assert batched == pytest.approx(reference, abs=1e-12), name


# --------------------------------------------------------------------------- resampling


@settings(max_examples=60, deadline=None)
@given(
    correct=st.lists(st.booleans(), min_size=1, max_size=30),
    strata_seed=st.integers(0, 2**16),
    n_strata=st.integers(1, 4),
    seed=st.integers(0, 2**16),
)
def test_resample_indices_keep_every_cell_count(
    correct: list[bool], strata_seed: int, n_strata: int, seed: int
) -> None:
    labels = np.array(correct)
    strata = np.random.default_rng(strata_seed).integers(0, n_strata, size=labels.size)
    index = stats.resample_indices(labels.size, n_resamples=25, seed=seed, strata=stats._cells(labels, strata))
    assert index.shape == (25, labels.size)
    cells = list(zip(strata.tolist(), labels.tolist(), strict=True))
    expected = Counter(cells)
    for row in index:
        assert Counter(cells[i] for i in row) == expected


def test_label_stratified_resamples_keep_label_counts_and_vary() -> None:
    index = stats.resample_indices(CORRECT.size, n_resamples=200, seed=0, strata=stats._cells(CORRECT, None))
    assert (CORRECT[index].sum(axis=1) == CORRECT.sum()).all()
    # With replacement: rows repeat items, and resamples differ from one another.
    assert all(np.unique(row).size < CORRECT.size for row in index[:10])
    assert len({row.tobytes() for row in index}) == 200


@settings(max_examples=30, deadline=None)
@given(n=st.integers(1, 50), n_resamples=st.integers(1, 20), seed=st.integers(0, 2**16))
def test_plain_resamples_are_one_draw_of_the_generator(n: int, n_resamples: int, seed: int) -> None:
    expected = np.random.default_rng(seed).integers(0, n, size=(n_resamples, n))
    assert np.array_equal(stats.resample_indices(n, n_resamples=n_resamples, seed=seed), expected)
    # A single stratum is the same draw: strata only split it, never reshuffle it.
    assert np.array_equal(stats.resample_indices(n, n_resamples=n_resamples, seed=seed, strata=np.full(n, 3)), expected)


def test_stratified_resamples_draw_each_stratum_in_code_order() -> None:
    strata = np.array([1, 0, 1, 0, 0])
    rng = np.random.default_rng(7)
    zeros, ones = np.array([1, 3, 4]), np.array([0, 2])
    expected = np.hstack([zeros[rng.integers(0, 3, size=(4, 3))], ones[rng.integers(0, 2, size=(4, 2))]])
    assert np.array_equal(stats.resample_indices(5, n_resamples=4, seed=7, strata=strata), expected)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"n": 0}, "n must be a positive integer"),
        ({"n_resamples": 0}, "n_resamples must be a positive integer"),
        ({"seed": 1.5}, "seed must be an integer"),
        ({"strata": np.zeros(3)}, r"strata has shape \(3,\), expected \(4,\)"),
    ],
)
def test_resample_indices_name_bad_arguments(kwargs: dict[str, object], message: str) -> None:
    arguments: dict[str, object] = {"n": 4, "n_resamples": 10, "seed": 0, **kwargs}
    with pytest.raises(ValueError, match=message):
        stats.resample_indices(**arguments)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- intervals


def test_interval_contains_point_estimate_on_typical_data() -> None:
    intervals = stats.bootstrap_intervals(CONF, CORRECT, metrics=stats.METRIC_NAMES)
    summary = metrics.summarize(CONF, CORRECT)
    assert list(intervals) == list(stats.METRIC_NAMES)
    for name, interval in intervals.items():
        assert interval is not None, name
        low, high = interval
        estimate = summary[name]
        assert estimate is not None
        assert low < high, name
        assert low <= estimate <= high, name


def test_default_metrics_and_strata_are_accepted() -> None:
    datasets = np.where(np.arange(CONF.size) % 4 == 0, "trivia", "math")
    plain = stats.bootstrap_intervals(CONF, CORRECT, n_resamples=300)
    stratified = stats.bootstrap_intervals(CONF, CORRECT, n_resamples=300, strata=list(datasets))
    assert list(plain) == list(stats.DEFAULT_METRICS)
    assert plain != stratified
    for name in stats.DEFAULT_METRICS:
        plain_interval, stratified_interval = plain[name], stratified[name]
        assert plain_interval is not None and stratified_interval is not None
        width = plain_interval[1] - plain_interval[0]
        assert stratified_interval[1] - stratified_interval[0] == pytest.approx(width, rel=0.5)


def test_intervals_shrink_like_one_over_root_n() -> None:
    rng = np.random.default_rng(5)
    conf = rng.beta(4.0, 1.5, size=3000)
    correct = rng.uniform(size=3000) < conf**1.3
    chosen = ("auroc", "brier", "nll")
    small = stats.bootstrap_intervals(conf[:100], correct[:100], metrics=chosen, seed=1)
    large = stats.bootstrap_intervals(conf, correct, metrics=chosen, seed=1)
    expected = math.sqrt(100 / 3000)
    for name in chosen:
        small_interval, large_interval = small[name], large[name]
        assert small_interval is not None and large_interval is not None
        ratio = (large_interval[1] - large_interval[0]) / (small_interval[1] - small_interval[0])
        assert expected / 2 < ratio < expected * 2, (name, ratio)


def test_same_seed_same_result_other_seed_other_result() -> None:
    first = stats.bootstrap_intervals(CONF, CORRECT, n_resamples=200, seed=4)
    again = stats.bootstrap_intervals(CONF, CORRECT, n_resamples=200, seed=4)
    other = stats.bootstrap_intervals(CONF, CORRECT, n_resamples=200, seed=5)
    assert first == again
    assert all(first[name] != other[name] for name in first)


def test_higher_level_gives_wider_interval() -> None:
    narrow = stats.bootstrap_intervals(CONF, CORRECT, metrics=("auroc",), n_resamples=400, level=0.5)["auroc"]
    wide = stats.bootstrap_intervals(CONF, CORRECT, metrics=("auroc",), n_resamples=400, level=0.99)["auroc"]
    assert narrow is not None and wide is not None
    assert wide[0] < narrow[0] < narrow[1] < wide[1]


def test_metric_undefined_on_the_sample_gives_none() -> None:
    all_right = np.ones(CONF.size, dtype=bool)
    intervals = stats.bootstrap_intervals(CONF, all_right, n_resamples=200)
    for name in ("auroc", "prr", "auprc_neg"):
        assert intervals[name] is None
    brier = intervals["brier"]
    assert brier is not None and brier[0] < metrics.brier(CONF, all_right) < brier[1]
    assert intervals["auprc_pos"] == (1.0, 1.0)
    only_undefined = stats.bootstrap_intervals(CONF, all_right, metrics=("auroc",), n_resamples=200)
    assert only_undefined == {"auroc": None}


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"correct": CORRECT[:-1]}, "differ in length"),
        ({"confidences": CONF * 2}, "outside"),
        ({"level": 1.0}, "level"),
        ({"level": 0.0}, "level"),
        ({"level": "high"}, "level"),
        ({"n_resamples": 0}, "n_resamples"),
        ({"n_resamples": 10.5}, "n_resamples"),
        ({"seed": 1.5}, "seed"),
        ({"metrics": ("auroc", "sharpness")}, "unknown metric"),
        ({"metrics": ("accuracy",)}, "zero-width"),
        ({"metrics": ()}, "at least one"),
        ({"strata": ["a", "b"]}, "strata"),
    ],
)
def test_bootstrap_intervals_rejects_bad_input(kwargs: dict[str, object], message: str) -> None:
    arguments: dict[str, object] = {"confidences": CONF, "correct": CORRECT, "n_resamples": 10, **kwargs}
    with pytest.raises(ValueError, match=message):
        stats.bootstrap_intervals(**arguments)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- paired differences


def test_paired_difference_of_a_method_with_itself_is_exactly_zero() -> None:
    for name in stats.METRIC_NAMES:
        result = stats.paired_bootstrap_difference(CONF, CONF, CORRECT, metric=name, n_resamples=200)
        assert result is not None
        assert (result.estimate, result.low, result.high) == (0.0, 0.0, 0.0), name
        assert result.share_opposite == 1.0
        assert result.n == CONF.size and result.n_resamples == 200


def test_paired_difference_detects_a_clearly_better_method() -> None:
    rng = np.random.default_rng(8)
    noise = rng.uniform(size=CONF.size)
    result = stats.paired_bootstrap_difference(CONF, noise, CORRECT, metric="auroc")
    assert result is not None
    auroc_a, auroc_b = metrics.auroc(CONF, CORRECT), metrics.auroc(noise, CORRECT)
    assert auroc_a is not None and auroc_b is not None
    assert result.estimate == pytest.approx(auroc_a - auroc_b)
    assert 0.0 < result.low < result.estimate < result.high
    assert result.share_opposite < 0.01
    assert result.higher_is_better
    # Lower-is-better metric: the informative method has the smaller Brier score.
    brier = stats.paired_bootstrap_difference(CONF, noise, CORRECT, metric="brier", n_resamples=300)
    assert brier is not None and not brier.higher_is_better
    assert brier.low <= brier.estimate <= brier.high < 0.0


def test_paired_difference_of_two_noise_methods_usually_covers_zero() -> None:
    covered, shares = 0, []
    for replicate in range(20):
        rng = np.random.default_rng(100 + replicate)
        correct = rng.uniform(size=200) < 0.6
        result = stats.paired_bootstrap_difference(
            rng.uniform(size=200), rng.uniform(size=200), correct, metric="auroc", n_resamples=400, seed=replicate
        )
        assert result is not None
        covered += result.low <= 0.0 <= result.high
        shares.append(result.share_opposite)
    assert covered >= 16
    assert np.mean(shares) > 0.3


def test_paired_difference_is_tighter_than_separate_intervals() -> None:
    rng = np.random.default_rng(9)
    similar = np.clip(CONF + rng.normal(0.0, 0.03, size=CONF.size), 0.0, 1.0)
    paired = stats.paired_bootstrap_difference(CONF, similar, CORRECT, metric="auroc", n_resamples=500)
    alone = stats.bootstrap_intervals(CONF, CORRECT, metrics=("auroc",), n_resamples=500)["auroc"]
    assert paired is not None and alone is not None
    assert paired.high - paired.low < (alone[1] - alone[0]) / 3


def test_paired_difference_undefined_metric_and_bad_input() -> None:
    all_wrong = np.zeros(CONF.size, dtype=bool)
    assert stats.paired_bootstrap_difference(CONF, CONF, all_wrong, metric="auroc", n_resamples=50) is None
    with pytest.raises(ValueError, match="conf_b"):
        stats.paired_bootstrap_difference(CONF, CONF[:-1], CORRECT, metric="auroc")
    with pytest.raises(ValueError, match="metric"):
        stats.paired_bootstrap_difference(CONF, CONF, CORRECT, metric="accuracy")
    with pytest.raises(ValueError, match="level"):
        stats.paired_bootstrap_difference(CONF, CONF, CORRECT, metric="auroc", level=95)


def test_paired_difference_is_reproducible_and_accepts_strata() -> None:
    rng = np.random.default_rng(10)
    other = rng.uniform(size=CONF.size)
    strata = ["a" if i % 3 else "b" for i in range(CONF.size)]
    first = stats.paired_bootstrap_difference(CONF, other, CORRECT, metric="ece", n_resamples=200, strata=strata)
    again = stats.paired_bootstrap_difference(CONF, other, CORRECT, metric="ece", n_resamples=200, strata=strata)
    assert first == again


# --------------------------------------------------------------------------- cross-fit folds


@st.composite
def records(draw: st.DrawFn) -> tuple[list[str], list[bool], list[str], int]:
    k = draw(st.integers(2, 6))
    size = draw(st.integers(k, 80))
    ids = [f"q{i}" for i in draw(st.lists(st.integers(0, 10**6), min_size=size, max_size=size, unique=True))]
    labels = draw(st.lists(st.booleans(), min_size=size, max_size=size))
    groups = draw(st.lists(st.sampled_from(["trivia", "math", "geo"]), min_size=size, max_size=size))
    return ids, labels, groups, k


def spread(counts: Counter[int], k: int) -> int:
    values = [counts.get(fold, 0) for fold in range(k)]
    return max(values) - min(values)


@settings(max_examples=80, deadline=None)
@given(data=records(), seed=st.integers(0, 100))
def test_cross_fit_folds_are_stratified(data: tuple[list[str], list[bool], list[str], int], seed: int) -> None:
    ids, labels, groups, k = data
    folds = stats.cross_fit_folds(ids, labels, groups, k=k, seed=seed)
    assert folds.dtype == np.int64 and folds.shape == (len(ids),)
    assert set(folds.tolist()) <= set(range(k))
    assert spread(Counter(folds.tolist()), k) <= 1
    for cell in set(zip(groups, labels, strict=True)):
        members = [f for f, g, y in zip(folds.tolist(), groups, labels, strict=True) if (g, y) == cell]
        assert spread(Counter(members), k) <= 1, cell
    for group in set(groups):
        members = [f for f, g in zip(folds.tolist(), groups, strict=True) if g == group]
        assert spread(Counter(members), k) <= 1, group


@settings(max_examples=50, deadline=None)
@given(data=records(), shuffle_seed=st.integers(0, 2**16))
def test_cross_fit_folds_ignore_record_order(
    data: tuple[list[str], list[bool], list[str], int], shuffle_seed: int
) -> None:
    ids, labels, groups, k = data
    folds = stats.cross_fit_folds(ids, labels, groups, k=k)
    order = np.random.default_rng(shuffle_seed).permutation(len(ids))
    shuffled = stats.cross_fit_folds(
        [ids[i] for i in order], [labels[i] for i in order], [groups[i] for i in order], k=k
    )
    assert (shuffled == folds[order]).all()


def test_cross_fit_folds_are_deterministic_and_seeded() -> None:
    ids = [f"item-{i}" for i in range(500)]
    labels = (np.arange(500) % 3 == 0).tolist()
    first = stats.cross_fit_folds(ids, labels, k=5, seed=0)
    assert (first == stats.cross_fit_folds(ids, labels, k=5, seed=0)).all()
    assert (first != stats.cross_fit_folds(ids, labels, k=5, seed=1)).mean() > 0.5
    # numpy inputs and no groups behave like lists with a single group.
    assert (first == stats.cross_fit_folds(np.array(ids), np.array(labels), ["one"] * 500, k=5)).all()


@pytest.mark.parametrize(
    ("ids", "labels", "groups", "k", "message"),
    [
        (["a", "b", "c"], [True, False, True], None, 1, "k must"),
        (["a", "b", "c"], [True, False, True], None, 4, "fewer than k"),
        (["a", "b", "a"], [True, False, True], None, 2, "not unique"),
        (["a", "b", "c"], [True, False], None, 2, "labels"),
        (["a", "b", "c"], [True, False, True], ["x"], 2, "groups"),
    ],
)
def test_cross_fit_folds_reject_bad_input(
    ids: list[str], labels: list[bool], groups: list[str] | None, k: int, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        stats.cross_fit_folds(ids, labels, groups, k=k)


# --------------------------------------------------------------------------- formatting


def test_format_interval() -> None:
    assert stats.format_interval(0.81234, (0.76, 0.8614)) == "0.812 [0.760, 0.861]"
    assert stats.format_interval(0.81234, None) == "0.812"
    assert stats.format_interval(0.81234, (0.76, 0.8614), digits=2) == "0.81 [0.76, 0.86]"
    assert stats.format_interval(None, None) == "n/a"
    assert stats.format_interval(float("nan"), (0.1, 0.2)) == "n/a"
    with pytest.raises(ValueError, match="digits"):
        stats.format_interval(0.5, None, digits=-1)
