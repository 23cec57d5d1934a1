"""The fusion head: the fused model against scikit-learn, the choice among candidates, its file."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import brier_score_loss, roc_auc_score

from elicit.calibration.features import feature_matrix
from elicit.calibration.head import FUSED, FusionHead
from elicit.calibration.head_file import FORMAT_VERSION, FusionFileError
from elicit.calibration.linear import C_GRID
from elicit.types import Signals


@pytest.fixture(scope="module")
def head(train) -> FusionHead:
    """The fused model with signed weights, so that every feature stays in it."""
    return FusionHead(select=False, nonnegative=False, rule="one-se").fit(*train)


def test_fused_head_reads_observed_features_and_one_indicator_per_missing_pattern(head: FusionHead) -> None:
    assert head.features_ == ("verbal_mean", "agreement", "p_true")
    assert head.linear_ is not None and head.linear_.indicators == [["p_true"]]
    assert head.choice.startswith(f"{FUSED}+") and head.n_train_ == 400
    assert head.linear_.c in C_GRID  # chosen by inner cross-validation, not fixed


def test_signals_missing_together_share_one_indicator(train) -> None:
    signals, labels = train
    together = [s.model_copy(update={"answer_prob": None if s.p_true is None else 0.5}) for s in signals]
    fitted = FusionHead(select=False, nonnegative=False).fit(together, labels)
    assert fitted.linear_ is not None and fitted.linear_.indicators == [["answer_prob", "p_true"]]


def test_fused_model_matches_scikit_learn_at_the_chosen_c(head: FusionHead, train) -> None:
    signals, labels = train
    linear = head.linear_
    assert linear is not None
    design = linear.design(signals)
    oracle = LogisticRegression(C=linear.c, max_iter=2000).fit(design, labels)
    np.testing.assert_allclose(
        linear.decision(signals), oracle.decision_function(design), rtol=1e-2, atol=2e-2
    )  # solver tolerance


def test_informative_signal_beats_useless_one(head: FusionHead, train, test_set) -> None:
    useless = FusionHead(features=["verbal_mean"]).fit(*train)
    fused_auc = roc_auc_score(test_set[1], head.predict(test_set[0]))
    assert fused_auc > 0.9
    assert fused_auc > roc_auc_score(test_set[1], useless.predict(test_set[0])) + 0.3


def test_predictions_are_probabilities(head: FusionHead, test_set) -> None:
    predictions = head.predict(test_set[0])
    assert predictions.shape == (400,)
    assert np.all((predictions >= 0) & (predictions <= 1))
    assert 0.0 <= head.predict_one(Signals()) <= 1.0


def two_informative(n: int, seed: int) -> tuple[list[Signals], list[bool]]:
    """Two independent signals each carry half of the evidence."""
    rng = np.random.default_rng(seed)
    a, b = rng.normal(size=n), rng.normal(size=n)
    labels = rng.uniform(size=n) < 1 / (1 + np.exp(-(1.5 * a + 1.5 * b)))
    signals = [
        Signals(answer_prob=float(1 / (1 + np.exp(-x))), p_true=float(1 / (1 + np.exp(-y))))
        for x, y in zip(a, b, strict=True)
    ]
    return signals, labels.tolist()


def test_head_fuses_when_signals_complement_each_other() -> None:
    fitted = FusionHead().fit(*two_informative(600, 0))
    assert fitted.linear_ is not None
    names = {(c.name, c.map) for c in fitted.candidates_}
    assert {(FUSED, "platt"), ("answer_prob", "isotonic"), ("p_true", "platt")} <= names


def test_head_keeps_the_single_signal_when_the_rest_is_noise(train, test_set) -> None:
    """Never worse than the best single signal: here agreement alone generates the labels.

    The one-standard-error rule takes the simplest candidate within one standard error of the
    best, so it keeps agreement alone; the rule that keeps the fused model unless a single
    feature beats it clearly keeps the fused one. Either must be as good on new questions.
    """
    chosen = FusionHead(nonnegative=False, rule="one-se").fit(*train)
    assert chosen.feature_ == "agreement"
    fused = FusionHead(nonnegative=False, rule="fused-unless-beaten").fit(*train)
    best_single = min((c for c in fused.candidates_ if c.name != FUSED), key=lambda c: c.brier)
    assert fused.linear_ is not None and best_single.vs_fused + best_single.vs_fused_se >= 0
    single = FusionHead(features=["agreement"], select=True).fit(*train)
    single_brier = brier_score_loss(test_set[1], single.predict(test_set[0]))
    for fitted in (chosen, fused, FusionHead().fit(*train)):
        assert brier_score_loss(test_set[1], fitted.predict(test_set[0])) <= single_brier + 0.01
    with pytest.raises(ValueError, match="rule must be one of one-se, fused-unless-beaten, shrunk"):
        FusionHead(rule="largest").fit(*train)  # type: ignore[arg-type]


def test_the_shrunk_head_nests_the_best_ranking_signal(train, test_set) -> None:
    """Shrunk toward its best-ranking feature, the head needs held-out evidence for every other one.

    Agreement alone generates the labels: the shrunk fit leaves it unpenalized, keeps the
    others near zero, and ranks new questions as agreement does."""
    shrunk = FusionHead(rule="shrunk").fit(*train)
    assert shrunk.linear_ is not None and shrunk.linear_.free == "agreement"
    assert shrunk.choice.startswith(f"{FUSED} toward agreement+")
    weights = dict(zip(shrunk.linear_.features, shrunk.linear_.coef, strict=False))
    assert weights["agreement"] > 5 * max(abs(w) for name, w in weights.items() if name != "agreement")
    agreement = feature_matrix(test_set[0], ["agreement"])[:, 0]
    head_auroc = roc_auc_score(test_set[1], shrunk.predict(test_set[0]))
    assert head_auroc >= roc_auc_score(test_set[1], agreement) - 0.01
    complementary = FusionHead(rule="shrunk").fit(*two_informative(600, 0))
    assert complementary.linear_ is not None and min(complementary.linear_.coef[:2]) > 0.5


def test_any_candidate_can_be_adopted_from_one_fit(train, tmp_path: Path) -> None:
    chosen = FusionHead().fit(*train)
    fused = chosen.alternative(FUSED)
    assert fused.linear_ is not None and fused.candidates_ == chosen.candidates_
    agreement = chosen.alternative("agreement")
    assert agreement.features_ == ("agreement",) and agreement.linear_ is None
    assert agreement.feature_mean_ == pytest.approx(np.mean(feature_matrix(train[0], ["agreement"])))
    chosen.save(tmp_path / "head.json")
    with pytest.raises(NotFittedError, match="fitted here"):  # a loaded head keeps no scores to choose from
        FusionHead.load(tmp_path / "head.json").alternative(FUSED)


def test_the_head_is_a_scikit_learn_estimator(train) -> None:
    template = FusionHead(select=False, nonnegative=False, seed=3)
    copy = clone(template)
    assert copy.get_params() == template.get_params() and not hasattr(copy, "output_")
    with pytest.raises(NotFittedError, match="not fitted"):
        copy.predict(train[0])
    assert copy.fit(*train) is copy and copy.linear_ is not None


def test_nonnegative_weights_drop_features_that_would_go_negative() -> None:
    rng = np.random.default_rng(4)
    x = rng.normal(size=500)
    labels = rng.uniform(size=500) < 1 / (1 + np.exp(-2 * x))
    # margin is collinear with the real signal but enters with the opposite weight in a free fit.
    signals = [
        Signals(answer_prob=float(1 / (1 + np.exp(-v))), margin=float(np.clip(0.5 + 0.1 * v + 0.02 * e, 0, 1)))
        for v, e in zip(x, rng.normal(size=500), strict=True)
    ]
    constrained = FusionHead(select=False).fit(signals, labels.tolist())  # the default
    assert constrained.linear_ is not None and constrained.linear_.nonnegative
    assert all(w >= 0 for w in constrained.linear_.coef[: len(constrained.linear_.features)])
    free = FusionHead(select=False, nonnegative=False).fit(signals, labels.tolist())
    assert free.linear_ is not None and not free.linear_.nonnegative
    assert free.linear_.coef[free.linear_.features.index("margin")] < 0  # what the default avoids
    # Only a feature that goes negative: nothing is left to keep, and the head says it is signed.
    against = [Signals(margin=s.margin) for s in signals]
    alone = FusionHead(select=False).fit(against, (~labels).tolist())
    assert alone.linear_ is not None and alone.linear_.coef[0] < 0 and not alone.linear_.nonnegative


def test_missing_indicator_is_used_when_missingness_is_informative() -> None:
    # Rows without p_true are almost always wrong; the indicator lets the head say so.
    rng = np.random.default_rng(3)
    signals, labels = [], []
    for i in range(300):
        has_p_true = i % 3 != 0
        signals.append(Signals(p_true=float(rng.uniform(0.4, 0.6)) if has_p_true else None))
        labels.append(bool(has_p_true and rng.uniform() < 0.8))
    fitted = FusionHead(select=False).fit(signals, labels)
    assert fitted.predict_one(Signals()) < 0.15
    assert fitted.predict_one(Signals(p_true=0.5)) > 0.6
    assert fitted.imputed(Signals()) == ["p_true"]


def test_constant_feature_is_accepted(train) -> None:
    signals, labels = train
    constant = [s.model_copy(update={"margin": 0.5}) for s in signals]
    fitted = FusionHead(features=["agreement", "margin"], select=False).fit(constant, labels)
    assert fitted.linear_ is not None and fitted.linear_.coef[1] == 0.0
    assert np.all(np.isfinite(fitted.predict(constant)))


@pytest.mark.parametrize(
    ("signals", "labels", "features", "pattern"),
    [
        ([Signals(agreement=0.1)] * 3, [True, True, True], None, "both classes"),
        ([Signals(agreement=0.1)] * 3, [True, False], None, "differ in length"),
        ([], [], None, "empty"),
        ([Signals(agreement=0.1)] * 2, [True, "yes"], None, r"labels\[1\]"),
        ([Signals()] * 4, [True, False] * 2, None, "no signal is present"),
        ([Signals(agreement=0.1)] * 4, [True, False] * 2, ["p_true"], r"\['p_true'\] are missing in every"),
        ([Signals(agreement=0.1)] * 4, [True, False] * 2, ["confidence"], "unknown feature names"),
        ([Signals(agreement=0.1)] * 3, [True, False, False], None, "at least 2 correct and 2 wrong"),
    ],
)
def test_fit_errors(signals: list[Signals], labels: list, features: list[str] | None, pattern: str) -> None:
    with pytest.raises(ValueError, match=pattern):
        FusionHead(features=features).fit(signals, labels)


def test_save_load_round_trip(train, test_set, tmp_path: Path) -> None:
    for fitted in (FusionHead().fit(*train), FusionHead(select=False).fit(*train)):
        path = tmp_path / "head.json"
        fitted.save(path)
        document = json.loads(path.read_text())
        assert document["format"] == "elicit-fusion-head" and document["format_version"] == FORMAT_VERSION
        assert document["choice"] == fitted.choice
        assert len(document["candidates"]) == len(fitted.candidates_)
        loaded = FusionHead.load(path, expected_features=list(fitted.features_))
        assert np.array_equal(loaded.predict(test_set[0]), fitted.predict(test_set[0]))
        assert loaded.choice == fitted.choice and loaded.n_train_ == fitted.n_train_


def test_load_rejects_mismatched_features(head: FusionHead, tmp_path: Path) -> None:
    path = tmp_path / "head.json"
    head.save(path)
    with pytest.raises(FusionFileError) as excinfo:
        FusionHead.load(path, expected_features=["agreement", "p_true"])
    assert "['verbal_mean', 'agreement', 'p_true']" in str(excinfo.value)
    assert "expected ['agreement', 'p_true']" in str(excinfo.value)


@pytest.mark.parametrize(
    ("edit", "pattern"),
    [
        (lambda d: d.update(format_version=2), "unsupported format_version 2"),
        (lambda d: d.update(format="something-else"), "format is 'something-else'"),
        (lambda d: d["linear"].pop("coef"), "coef: Field required"),
        (lambda d: d["linear"].update(coef=[1.0]), "coef has 1 entries, expected 4"),
        (lambda d: d["linear"].update(intercept="high"), "intercept"),
        (lambda d: d["linear"].update(indicators=[["margin"]]), r"\['margin'\] are not among the features"),
        (lambda d: d["linear"].update(features=["p_true", "verbal_mean", "bogus"]), "unknown feature names"),
        (lambda d: d["linear"].update(means=[0.5]), "means has 1 entries"),
        (lambda d: d["linear"].update(scaler_scale=[1.0, 0.0, 1.0, 1.0]), "scaler_scale entries must be positive"),
        (lambda d: d.update(feature="agreement", feature_mean=0.5), "exactly one of 'linear' and 'feature'"),
    ],
)
def test_load_rejects_bad_files(head: FusionHead, tmp_path: Path, edit, pattern: str) -> None:
    document = head.to_dict()
    edit(document)
    path = tmp_path / "head.json"
    path.write_text(json.dumps(document))
    with pytest.raises(FusionFileError, match=pattern):
        FusionHead.load(path)


def test_load_rejects_corrupted_json(tmp_path: Path) -> None:
    path = tmp_path / "head.json"
    path.write_text('{"format": "elicit-fusion-head", ')
    with pytest.raises(FusionFileError, match="not valid JSON"):
        FusionHead.load(path)
    path.write_text("[1, 2]")
    with pytest.raises(FusionFileError, match="expected a JSON object"):
        FusionHead.load(path)
