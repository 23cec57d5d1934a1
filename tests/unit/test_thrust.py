import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from elicit.routing.thrust import (
    NearestCorrectScorer,
    SignedPullScorer,
    ThrustModelError,
    ThrustScorer,
    default_n_clusters,
    threshold_for_budget,
)

BLOB_CENTERS = np.array([[0.0, 0.0], [6.0, 0.0], [0.0, 6.0]])


def _blobs(seed: int = 0, per_blob: int = 40) -> np.ndarray:
    """Three tight, well-separated blobs: KMeans with k=3 recovers them exactly."""
    rng = np.random.default_rng(seed)
    return np.vstack([c + rng.normal(0.0, 0.2, size=(per_blob, 2)) for c in BLOB_CENTERS])


QUERIES = np.array([[0.5, 0.3], [3.0, 3.0], [-4.0, 2.0], [6.2, -0.4], [20.0, 20.0]])


def test_hand_worked_score() -> None:
    # Points exactly on two centroids: (-1, 0) with 2 members, (3, 0) with 1 member.
    x = np.array([[-1.0, 0.0], [-1.0, 0.0], [3.0, 0.0]])
    scorer = ThrustScorer(n_clusters=2).fit(x)
    # From the origin: 2/1^2 * (-1, 0) + 1/3^2 * (1, 0) = (-17/9, 0), as published (no 1/K).
    assert scorer.score(np.zeros((1, 2)))[0] == pytest.approx(17 / 9)


def test_query_at_dense_cluster_beats_far_outlier() -> None:
    scorer = ThrustScorer(n_clusters=3).fit(_blobs())
    near, outlier = scorer.score(np.array([[0.1, 0.1], [40.0, -35.0]]))
    assert near > 100 * outlier


def test_query_exactly_at_centroid_gets_a_finite_maximal_score() -> None:
    scorer = ThrustScorer(n_clusters=3).fit(_blobs())
    at, beside = scorer.score(np.vstack([scorer.centroids[0], scorer.centroids[0] + 0.01]))
    assert math.isfinite(at) and at > beside


def test_scores_are_invariant_to_permuting_training_points() -> None:
    x = _blobs()
    order = np.random.default_rng(1).permutation(len(x))
    original = ThrustScorer(n_clusters=3).fit(x).score(QUERIES)
    permuted = ThrustScorer(n_clusters=3).fit(x[order]).score(QUERIES)
    np.testing.assert_allclose(permuted, original, rtol=1e-9)


def test_translating_points_and_query_together_leaves_scores_unchanged() -> None:
    x, shift = _blobs(), np.array([7.5, -3.25])
    original = ThrustScorer(n_clusters=3).fit(x).score(QUERIES)
    moved = ThrustScorer(n_clusters=3).fit(x + shift).score(QUERIES + shift)
    np.testing.assert_allclose(moved, original, rtol=1e-9)


@pytest.mark.parametrize("c", [0.01, 3.0, 250.0])
def test_scaling_all_coordinates_by_c_scales_scores_by_inverse_c_squared(c: float) -> None:
    # Unit directions are scale-free and |C| / ||d||^2 carries 1 / c^2.
    x = _blobs()
    original = ThrustScorer(n_clusters=3).fit(x).score(QUERIES)
    scaled = ThrustScorer(n_clusters=3).fit(c * x).score(c * QUERIES)
    np.testing.assert_allclose(scaled, original / c**2, rtol=1e-9)


@pytest.mark.parametrize(("n", "k"), [(1, 3), (80, 3), (81, 3), (255, 3), (256, 4), (9999, 9), (10000, 10)])
def test_default_n_clusters_formula(n: int, k: int) -> None:
    assert default_n_clusters(n) == k


def test_fit_uses_default_k_and_clips_to_distinct_points() -> None:
    x = np.random.default_rng(3).normal(size=(300, 4))  # 300 ** 0.25 = 4.16
    assert ThrustScorer().fit(x).centroids.shape == (4, 4)
    duplicated = np.array([[0.0, 1.0], [0.0, 1.0], [2.0, 2.0]])
    assert ThrustScorer().fit(duplicated).centroids.shape == (2, 2)


def test_query_of_wrong_dimension_is_rejected() -> None:
    scorer = ThrustScorer().fit(_blobs())
    with pytest.raises(ThrustModelError, match="dimension 3"):
        scorer.score(np.zeros((2, 3)))
    assert issubclass(ThrustModelError, ValueError)


def test_threshold_handles_ties_and_full_budget() -> None:
    scores = np.array([1.0, 1.0, 1.0, 2.0])
    assert threshold_for_budget(scores, 0.5) == 1.0  # retrieving any tied 1.0 costs 75%
    assert threshold_for_budget(scores, 0.75) == 2.0
    assert threshold_for_budget(scores, 1.0) == math.inf
    assert threshold_for_budget(scores, 0.0) == 1.0


@pytest.mark.parametrize("budget", [-0.1, 1.5, float("nan")])
def test_threshold_rejects_bad_budget(budget: float) -> None:
    with pytest.raises(ValueError, match="budget"):
        threshold_for_budget(np.array([1.0, 2.0]), budget)


def test_threshold_rejects_empty_scores() -> None:
    with pytest.raises(ValueError, match="scores"):
        threshold_for_budget(np.array([]), 0.5)


@given(
    st.lists(st.integers(0, 6).map(float) | st.floats(0, 1e6), min_size=1, max_size=60),
    st.floats(0.0, 1.0),
)
def test_threshold_never_exceeds_budget_and_is_tight(scores: list[float], budget: float) -> None:
    values = np.array(scores)
    threshold = threshold_for_budget(values, budget)
    assert np.mean(values < threshold) <= budget
    if math.isfinite(threshold):
        # Raising the threshold past t would also retrieve every score equal to t.
        assert np.mean(values <= threshold) > budget


def _known_and_unknown_regions() -> tuple[np.ndarray, np.ndarray]:
    """A big cluster of WRONG answers at the origin and a smaller one of right answers at (10, 0)."""
    rng = np.random.default_rng(4)
    wrong = rng.normal(0.0, 0.3, size=(60, 2))
    right = np.array([10.0, 0.0]) + rng.normal(0.0, 0.3, size=(20, 2))
    return np.vstack([wrong, right]), np.array([False] * 60 + [True] * 20)


def test_labelled_variants_call_a_query_beside_wrong_answers_unknown() -> None:
    x, correct = _known_and_unknown_regions()
    beside_wrong, beside_right = np.array([[0.4, 0.2]]), np.array([[10.4, 0.2]])

    signed = SignedPullScorer().fit(x, correct)
    nearest = NearestCorrectScorer(k=10).fit(x, correct)

    assert signed.score(beside_wrong)[0] < 0 < signed.score(beside_right)[0]
    assert nearest.score(beside_wrong)[0] < 0.5 < nearest.score(beside_right)[0]
    # Published Thrust ignores the labels: the dense wrong cluster is "known" to it.
    published = ThrustScorer().fit(x)
    assert published.score(beside_wrong)[0] > published.score(beside_right)[0]


def test_signed_pull_is_the_difference_of_the_two_groups_thrust() -> None:
    x, correct = _known_and_unknown_regions()
    queries = np.array([[0.4, 0.2], [5.0, 1.0], [10.4, 0.2]])
    expected = ThrustScorer().fit(x[correct]).score(queries) - ThrustScorer().fit(x[~correct]).score(queries)
    np.testing.assert_allclose(SignedPullScorer().fit(x, correct).score(queries), expected)


def test_signed_pull_with_one_label_only_counts_that_group() -> None:
    x = _blobs()
    only_right = SignedPullScorer().fit(x, np.ones(len(x), dtype=bool))
    np.testing.assert_allclose(only_right.score(QUERIES), ThrustScorer().fit(x).score(QUERIES))


def test_nearest_correct_matches_a_brute_force_neighbour_count() -> None:
    rng = np.random.default_rng(5)
    x, correct, queries = rng.normal(size=(40, 3)), rng.random(40) < 0.4, rng.normal(size=(7, 3))
    distances = np.linalg.norm(x[None, :, :] - queries[:, None, :], axis=2)
    expected = correct[np.argsort(distances, axis=1)[:, :5]].mean(axis=1)
    np.testing.assert_allclose(NearestCorrectScorer(k=5).fit(x, correct).score(queries), expected)


@pytest.mark.parametrize(
    ("fit", "message"),
    [
        (lambda x: SignedPullScorer().fit(x, [True]), "one label per embedding row"),
        (lambda x: NearestCorrectScorer().fit(x, ["yes"] * len(x)), r"correct\[0\] = 'yes' is not a bool or 0/1"),
        (lambda x: NearestCorrectScorer(k=0), "k must be >= 1"),
        (lambda x: ThrustScorer().fit(x[:, :0]), "non-empty 2-D"),
        (lambda x: ThrustScorer(n_clusters=0).fit(x), "n_clusters"),
    ],
)
def test_bad_input_is_named(fit, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        fit(_blobs())


def test_unfitted_scorers_say_so() -> None:
    for scorer in (ThrustScorer(), SignedPullScorer(), NearestCorrectScorer()):
        with pytest.raises(RuntimeError, match="not fitted"):
            scorer.score(QUERIES)
