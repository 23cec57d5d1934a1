import json
import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from elicit.routing.thrust import (
    FORMAT_VERSION,
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
    scorer = ThrustScorer().fit(x, n_clusters=2)
    # From the origin: 2/1^2 * (-1, 0) + 1/3^2 * (1, 0) = (-17/9, 0); divided by K = 2.
    assert scorer.score(np.zeros((1, 2)))[0] == pytest.approx(17 / 18)


def test_query_at_dense_cluster_beats_far_outlier() -> None:
    scorer = ThrustScorer().fit(_blobs(), n_clusters=3)
    near, outlier = scorer.score(np.array([[0.1, 0.1], [40.0, -35.0]]))
    assert near > 100 * outlier


def test_query_exactly_at_centroid_gets_a_finite_maximal_score() -> None:
    scorer = ThrustScorer().fit(_blobs(), n_clusters=3)
    at, beside = scorer.score(np.vstack([scorer.centroids[0], scorer.centroids[0] + 0.01]))
    assert math.isfinite(at) and at > beside


def test_scores_are_invariant_to_permuting_training_points() -> None:
    x = _blobs()
    order = np.random.default_rng(1).permutation(len(x))
    original = ThrustScorer().fit(x, n_clusters=3).score(QUERIES)
    permuted = ThrustScorer().fit(x[order], n_clusters=3).score(QUERIES)
    np.testing.assert_allclose(permuted, original, rtol=1e-9)


def test_translating_points_and_query_together_leaves_scores_unchanged() -> None:
    x, shift = _blobs(), np.array([7.5, -3.25])
    original = ThrustScorer().fit(x, n_clusters=3).score(QUERIES)
    moved = ThrustScorer().fit(x + shift, n_clusters=3).score(QUERIES + shift)
    np.testing.assert_allclose(moved, original, rtol=1e-9)


@pytest.mark.parametrize("c", [0.01, 3.0, 250.0])
def test_scaling_all_coordinates_by_c_scales_scores_by_inverse_c_squared(c: float) -> None:
    # Unit directions are scale-free and |C| / ||d||^2 carries 1 / c^2.
    x = _blobs()
    original = ThrustScorer().fit(x, n_clusters=3).score(QUERIES)
    scaled = ThrustScorer().fit(c * x, n_clusters=3).score(c * QUERIES)
    np.testing.assert_allclose(scaled, original / c**2, rtol=1e-9)


def test_per_label_clustering_keeps_each_labels_centroids() -> None:
    rng = np.random.default_rng(2)
    correct_centers = np.array([[0.0, 0.0], [10.0, 0.0]])
    wrong_centers = np.array([[0.0, 10.0], [10.0, 10.0]])
    correct = np.vstack([c + rng.normal(0, 0.1, (20, 2)) for c in correct_centers])
    wrong = np.vstack([c + rng.normal(0, 0.1, (10, 2)) for c in wrong_centers])
    x = np.vstack([correct, wrong])
    labels = [True] * len(correct) + [False] * len(wrong)

    scorer = ThrustScorer().fit(x, labels=np.array(labels), n_clusters=2)

    assert scorer.centroid_labels.count(True) == 2
    assert scorer.centroid_labels.count(False) == 2
    for label, centers, size in [(True, correct_centers, 20), (False, wrong_centers, 10)]:
        mask = np.array(scorer.centroid_labels) == label
        found = scorer.centroids[mask][np.argsort(scorer.centroids[mask][:, 0])]
        np.testing.assert_allclose(found, centers, atol=0.1)
        assert scorer.sizes[mask].tolist() == [size, size]


def test_labels_must_match_embeddings() -> None:
    with pytest.raises(ValueError, match="labels"):
        ThrustScorer().fit(_blobs(), labels=[True, False])


@pytest.mark.parametrize(("n", "k"), [(1, 3), (80, 3), (81, 3), (255, 3), (256, 4), (9999, 9), (10000, 10)])
def test_default_n_clusters_formula(n: int, k: int) -> None:
    assert default_n_clusters(n) == k


def test_fit_uses_default_k_and_clips_to_distinct_points() -> None:
    x = np.random.default_rng(3).normal(size=(300, 4))  # 300 ** 0.25 = 4.16
    assert ThrustScorer().fit(x).centroids.shape == (4, 4)
    duplicated = np.array([[0.0, 1.0], [0.0, 1.0], [2.0, 2.0]])
    assert ThrustScorer().fit(duplicated).centroids.shape == (2, 2)


def test_save_load_round_trip(tmp_path) -> None:
    x = _blobs()
    scorer = ThrustScorer(embedding_model="mini").fit(x, labels=[i % 2 for i in range(len(x))])
    path = tmp_path / "thrust.json"
    scorer.save(path)

    loaded = ThrustScorer.load(path, embedding_model="mini")

    assert json.loads(path.read_text())["version"] == FORMAT_VERSION
    assert loaded.embedding_model == "mini" and loaded.dim == 2
    assert loaded.centroid_labels == scorer.centroid_labels
    np.testing.assert_array_equal(loaded.score(QUERIES), scorer.score(QUERIES))


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [("version", FORMAT_VERSION + 1, "version"), ("dim", 3, "dim"), ("sizes", [1.0], "sizes")],
)
def test_load_rejects_mismatched_files(tmp_path, field: str, value, message: str) -> None:
    path = tmp_path / "thrust.json"
    ThrustScorer().fit(_blobs(), n_clusters=3).save(path)
    payload = json.loads(path.read_text())
    payload[field] = value
    path.write_text(json.dumps(payload))
    with pytest.raises(ThrustModelError, match=message):
        ThrustScorer.load(path)


def test_load_rejects_other_embedding_model(tmp_path) -> None:
    path = tmp_path / "thrust.json"
    ThrustScorer(embedding_model="mini").fit(_blobs()).save(path)
    with pytest.raises(ThrustModelError, match="embedding_model"):
        ThrustScorer.load(path, embedding_model="other")


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
