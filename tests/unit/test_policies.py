"""The P(IK) probe, the learned router and the policy file, against scikit-learn and round trips."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegressionCV
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from elicit.routing.policies import (
    FORMAT_VERSION,
    GAIN_PROBE,
    PRE_GENERATION,
    PolicyDetails,
    PolicySet,
    fit_components,
    fit_scorers,
)
from elicit.routing.probe import KnowledgeProbe, LearnedRouter, RetrievalGainProbe
from elicit.routing.thrust import ThrustModelError


def _data(n: int = 160, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Two overlapping Gaussian groups in 6-D: known questions lie towards +x0."""
    rng = np.random.default_rng(seed)
    correct = rng.random(n) < 0.4
    x = rng.normal(size=(n, 6))
    x[:, 0] += np.where(correct, 1.5, -1.5)
    return x, correct


class Encoder:
    model_name = "table-encoder"

    def __init__(self, vectors: dict[str, np.ndarray]) -> None:
        self.vectors = vectors

    def encode(self, texts):
        return np.array([self.vectors[t] for t in texts])


def test_probe_matches_scikit_learn_and_chooses_c_by_cross_validation():
    x, correct = _data()
    reference = make_pipeline(
        StandardScaler(),
        LogisticRegressionCV(Cs=10, cv=StratifiedKFold(5, shuffle=True, random_state=0), scoring="neg_log_loss",
                             max_iter=5000, l1_ratios=(0.0,), use_legacy_attributes=False),
    ).fit(x, correct)  # fmt: skip
    probe = KnowledgeProbe().fit(x, correct)
    queries = np.random.default_rng(1).normal(size=(9, 6))
    np.testing.assert_allclose(probe.score(queries), reference.predict_proba(queries)[:, 1], rtol=1e-9)
    assert probe.state()["C"] == np.ravel(reference[-1].C_)[0]


def test_probe_needs_both_labels():
    x, _ = _data()
    with pytest.raises(ValueError, match="all correct or all wrong"):
        KnowledgeProbe().fit(x, np.ones(len(x), dtype=bool))


def test_gain_probe_is_one_minus_the_probe_of_retrieval_fixing_the_answer():
    x, fixed = _data(seed=3)
    gain = RetrievalGainProbe().fit(x, fixed)
    queries = np.random.default_rng(4).normal(size=(7, 6))
    np.testing.assert_allclose(gain.score(queries), 1.0 - KnowledgeProbe().fit(x, fixed).score(queries), rtol=1e-12)
    assert gain.score(queries[:1] + [5, 0, 0, 0, 0, 0])[0] < 0.1  # far on the "fixed" side: retrieve first
    one_fixed = np.zeros(len(x), dtype=bool)
    one_fixed[0] = True
    assert not RetrievalGainProbe.fittable(one_fixed) and RetrievalGainProbe.fittable(fixed)
    with pytest.raises(ValueError, match="retrieval fixed 1 of 160 training answers: the gain probe needs at least 2"):
        RetrievalGainProbe().fit(x, one_fixed)


def test_fit_scorers_adds_the_gain_probe_only_with_retrieval_outcomes(tmp_path):
    x, correct = _data()
    _, fixed = _data(seed=3)
    assert GAIN_PROBE not in fit_scorers(x, correct)
    scorers = fit_scorers(x, correct, fixed=fixed)
    assert list(scorers) == [*PRE_GENERATION, GAIN_PROBE]
    PolicySet("table-encoder", scorers).save(tmp_path / "policies.json")
    loaded = PolicySet.load(tmp_path / "policies.json").scorers[GAIN_PROBE]
    assert isinstance(loaded, RetrievalGainProbe)
    np.testing.assert_allclose(loaded.score(x[:5]), scorers[GAIN_PROBE].score(x[:5]), rtol=1e-12)


def test_learned_router_stacks_out_of_fold_scores_and_ranks_new_questions():
    x, correct = _data(200)
    fits = []

    def make(v, y):
        fits.append(len(v))
        return fit_components(v, y)

    router = LearnedRouter(folds=5).fit(x, correct, make)
    assert fits[:5] == [160] * 5 and fits[5] == 200  # five folds, then every row
    new_x, new_correct = _data(200, seed=7)
    assert roc_auc_score(new_correct, router.score(new_x)) > 0.85
    assert np.all((router.score(new_x) > 0) & (router.score(new_x) < 1))


def test_policy_file_round_trip_gives_the_same_scores(tmp_path):
    x, correct = _data()
    scorers = fit_scorers(x, correct)
    assert list(scorers) == list(PRE_GENERATION)
    PolicySet("table-encoder", scorers, PolicyDetails(layer=3)).save(tmp_path / "policies.json")
    loaded = PolicySet.load(tmp_path / "policies.json")
    queries = np.random.default_rng(2).normal(size=(5, 6))
    for name, scorer in scorers.items():
        np.testing.assert_allclose(loaded.scorers[name].score(queries), scorer.score(queries), rtol=1e-12)
    encoder = Encoder({f"q{i}": q for i, q in enumerate(queries)})
    policy = loaded.policy("learned", encoder)
    np.testing.assert_allclose(policy.scores(["q0", "q3"]), scorers["learned"].score(queries[[0, 3]]))
    assert loaded.details == PolicyDetails(layer=3)
    assert json.loads((tmp_path / "policies.json").read_text())["details"] == {"layer": 3}  # only what was given


def test_policy_file_errors_are_named(tmp_path):
    x, correct = _data()
    policy_set = PolicySet("table-encoder", fit_components(x, correct))
    other = Encoder({})
    other.model_name = "minilm"
    with pytest.raises(ThrustModelError, match="fitted on 'table-encoder' vectors, the encoder gives 'minilm'"):
        policy_set.policy("probe", other)
    with pytest.raises(ValueError, match="unknown policy 'learned'; this file holds: thrust, signed_pull"):
        policy_set.policy("learned", Encoder({}))
    path = tmp_path / "policies.json"
    policy_set.save(path)
    payload = json.loads(path.read_text())
    path.write_text(json.dumps({**payload, "version": 1}))
    with pytest.raises(ThrustModelError, match="version 1"):
        PolicySet.load(path)
    payload["scorers"]["thrust"]["kind"] = "gravity"
    path.write_text(json.dumps(payload))
    with pytest.raises(ThrustModelError, match="unknown scorer kind 'gravity'"):
        PolicySet.load(path)


def test_details_round_trip_with_the_keys_route_eval_writes(tmp_path):
    x, correct = _data()
    details = PolicyDetails(
        layer=9, pooling="mean", dev_auroc=0.71, seed=1, designated="probe", budget=0.3, threshold=math.inf
    )
    path = tmp_path / "policies.json"
    PolicySet("table-encoder", fit_components(x, correct), details).save(path)
    written = json.loads(path.read_text())
    assert written["version"] == FORMAT_VERSION == 2
    assert list(written["details"]) == ["layer", "pooling", "dev_auroc", "seed", "designated", "budget", "threshold"]
    assert written["details"]["threshold"] == math.inf  # a budget covering every question keeps inf, as before
    assert PolicySet.load(path).details == details


def test_a_version_2_file_written_before_typed_details_loads(tmp_path):
    """The layout an earlier release wrote: details as a plain object, the probe as plain numbers."""
    probe = {"mean": [0.5, -1.0], "scale": [2.0, 0.5], "coef": [1.5, -0.25], "intercept": -0.1, "C": 0.35938136638046}
    payload = {
        "format": "elicit.routing-policies",
        "version": 2,
        "representation": "table-encoder",
        "details": {"layer": 6, "pooling": "last", "dev_auroc": 0.68, "seed": 0, "designated": "probe",
                    "budget": 0.3, "threshold": 0.42},
        "scorers": {
            "thrust": {"kind": "thrust", "centroids": [[0.0, 0.0], [1.0, 1.0]], "sizes": [3.0, 5.0]},
            "probe": {"kind": "probe", **probe},
            "learned": {"kind": "learned", "mean": [0.0], "scale": [1.0], "coef": [2.0], "intercept": 0.0, "C": 1.0,
                        "scorers": {"probe": {"kind": "probe", **probe}}},
        },
    }  # fmt: skip
    path = tmp_path / "policies.json"
    path.write_text(json.dumps(payload))
    loaded = PolicySet.load(path)
    assert loaded.details == PolicyDetails(**payload["details"])
    queries = np.array([[0.3, 0.2], [-1.0, 2.0]])
    z = (queries - probe["mean"]) / np.asarray(probe["scale"])
    expected = 1 / (1 + np.exp(-(z @ probe["coef"] + probe["intercept"])))
    np.testing.assert_allclose(loaded.scorers["probe"].score(queries), expected, rtol=1e-12)
    np.testing.assert_allclose(loaded.scorers["learned"].score(queries), 1 / (1 + np.exp(-2 * expected)), rtol=1e-12)
    loaded.save(path)
    again = json.loads(path.read_text())
    assert again["details"] == payload["details"] and again["scorers"] == payload["scorers"]  # written back unchanged


def test_bad_details_and_probe_states_are_named_by_their_place_in_the_file(tmp_path):
    x, correct = _data()
    path = tmp_path / "policies.json"
    PolicySet("table-encoder", fit_components(x, correct), PolicyDetails(layer=3)).save(path)
    payload = json.loads(path.read_text())
    path.write_text(json.dumps({**payload, "details": {"layer": "third", "colour": "red"}}))
    with pytest.raises(ThrustModelError, match=r"details\.layer: Input should be a valid integer.*details\.colour"):
        PolicySet.load(path)
    payload["scorers"]["probe"].pop("coef")
    path.write_text(json.dumps(payload))
    with pytest.raises(ThrustModelError, match=r"scorers\.probe\.coef: Field required"):
        PolicySet.load(path)
