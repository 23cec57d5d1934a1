"""RetrievalRouter decisions with fake models, and the routing evaluation's curve maths on hand-made outcomes."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from langchain_core.language_models import FakeListChatModel
from matplotlib.colors import to_rgba
from typer.testing import CliRunner

from elicit.calibration.metrics import auroc
from elicit.chains import ConfidenceChain
from elicit.cli import app
from elicit.model.loop import run_sync
from elicit.routing.builtin import BUILT_IN, THRESHOLD_FREE, BuiltInPolicy, RandomPolicy
from elicit.routing.comparison import compare_policies, designate
from elicit.routing.curves import (
    RATES,
    accuracy_interval,
    expected_random_accuracy,
    generation_calls,
    oracle_accuracy,
    oracle_share,
    paired_difference,
    policy_accuracy,
    retrieval_count,
    routing_curves,
)
from elicit.routing.figures import curves_figure, plot_curves
from elicit.routing.mix import _shares, mixed_items, parse_mix
from elicit.routing.retrieval import BM25PassageRetriever
from elicit.routing.router import RetrievalRouter, RoutedAnswer
from elicit.routing.run import RouteEvalResult

PASSAGES = [
    ("city:1", "Pawni", "Pawni is a city in India with a population of 23,450."),
    ("lake:2", "Pawni Lake", "Pawni Lake is a lake in the country of Canada."),
    ("country:FR", "France", "France is a country in Europe. Its capital is Paris."),
]
KNOWN = "What is the capital of France?"
UNKNOWN = "In which country is the city of Pawni?"


class TablePolicy:
    """Question -> fixed score: routing decisions without a model."""

    name = "table"

    def __init__(self, scores: dict[str, float]) -> None:
        self.table = scores
        self.calls = 0

    def scores(self, questions: list[str]) -> np.ndarray:
        self.calls += 1
        return np.array([self.table[q] for q in questions])


def table_policy() -> TablePolicy:
    return TablePolicy({KNOWN: 5.0, UNKNOWN: 0.1, "Q3?": 3.0})


def fake_chain(*responses: str) -> ConfidenceChain:
    return ConfidenceChain(FakeListChatModel(responses=list(responses)), n_samples=1, p_true=False)


def retriever() -> BM25PassageRetriever:
    return BM25PassageRetriever.from_passages(PASSAGES, k=5)


# -- routing decisions --------------------------------------------------------------------------


def test_pre_generation_policy_retrieves_for_the_low_score_only_and_decides_before_generating():
    router = RetrievalRouter(fake_chain("Answer: Paris\nConfidence: 90%"), retriever(), table_policy(), threshold=1.0)
    known = router.invoke(KNOWN)
    assert isinstance(known, RoutedAnswer) and known.policy == "table"
    assert not known.retrieved and known.passages == [] and known.final.context == []
    assert known.no_retrieval is None and known.answer == "Paris"
    assert known.score == 5.0 and known.threshold == 1.0

    chain = fake_chain("Answer: India\nConfidence: 80%", "Answer: a second generation")
    unknown = RetrievalRouter(chain, retriever(), table_policy(), threshold=1.0).invoke(UNKNOWN)
    assert unknown.retrieved and unknown.no_retrieval is None  # straight to the retrieval pass
    assert chain.llm.i == 1  # one generation in all
    best_first = [doc.metadata["id"] for doc in retriever().invoke(UNKNOWN)]
    assert best_first[:2] == ["city:1", "lake:2"]
    assert [p.id for p in unknown.passages] == ["lake:2", "city:1"]  # k=2, most relevant LAST
    assert unknown.final.context == [p.text for p in unknown.passages]
    assert unknown.answer == "India" and unknown.final.confidence == pytest.approx(0.8)


def test_policies_by_name_and_by_object_route_alike():
    policy = table_policy()
    by_name = RetrievalRouter(fake_chain("Answer: X"), retriever(), "table", policies={"table": policy}, threshold=1.0)
    by_object = RetrievalRouter(fake_chain("Answer: X"), retriever(), policy, threshold=1.0)
    questions = [KNOWN, UNKNOWN, "Q3?"]
    assert [r.retrieved for r in by_name.batch(questions)] == [r.retrieved for r in by_object.batch(questions)]
    assert policy.calls == 2  # one scoring batch per router batch


def test_never_always_and_random_need_no_fitted_policy():
    never = RetrievalRouter(fake_chain("Answer: Paris"), retriever(), "never").invoke(UNKNOWN)
    always = RetrievalRouter(fake_chain("Answer: India"), retriever(), "always").invoke(KNOWN)
    assert not never.retrieved and never.score is None and never.threshold is None
    assert always.retrieved and always.passages
    router = RetrievalRouter(fake_chain("Answer: X"), retriever(), "random", seed=3)
    questions = [f"Question {i}?" for i in range(200)]
    router.fit_threshold(questions, budget=0.3)
    retrieved = [r.retrieved for r in router.batch(questions)]
    assert sum(retrieved) == 60  # a budget fitted on the questions themselves is met exactly
    assert router.scores(questions).tolist() == RandomPolicy(3).scores(questions).tolist()


def test_built_in_names_are_the_command_line_strings_and_the_oracle_cannot_route():
    assert list(BUILT_IN) == ["never", "always", "random", "confidence"] and list(THRESHOLD_FREE) == ["never", "always"]
    assert BuiltInPolicy.named("random") is BuiltInPolicy.RANDOM and BuiltInPolicy.named("thrust") is None
    assert RandomPolicy.name == "random" and f"{BuiltInPolicy.ORACLE}" == "oracle"
    with pytest.raises(ValueError, match="unknown policy 'oracle'"):
        RetrievalRouter(fake_chain("x"), retriever(), "oracle")


def test_route_eval_reports_on_test_only_and_route_needs_the_representation(tmp_path):
    refused = CliRunner().invoke(app, ["route-eval", "--split", "test"])
    assert refused.exit_code == 2 and "No such option" in refused.output
    path = tmp_path / "policies.json"
    path.write_text(
        '{"format": "elicit.routing-policies", "version": 2, "representation": "x", "details": {}, "scorers": {}}'
    )
    unknown = CliRunner().invoke(app, ["route", "Q?", "--policies", str(path), "--policy", "never"])
    assert unknown.exit_code == 2 and "details.layer and details.pooling must say how to encode" in unknown.output


def test_confidence_routing_answers_first_and_retrieves_when_unsure():
    unsure = RetrievalRouter(
        fake_chain("Answer: Spain\nConfidence: 20%", "Answer: India\nConfidence: 85%"),
        retriever(),
        "confidence",
        threshold=0.5,
    ).invoke(UNKNOWN)
    assert unsure.retrieved and unsure.score == pytest.approx(0.2)
    assert unsure.no_retrieval.answer == "Spain" and unsure.answer == "India"
    assert unsure.final.confidence == pytest.approx(0.85) and unsure.passages[-1].id == "city:1"

    sure = RetrievalRouter(
        fake_chain("Answer: Paris\nConfidence: 90%"), retriever(), "confidence", threshold=0.5
    ).invoke(KNOWN)
    assert not sure.retrieved and sure.final == sure.no_retrieval and sure.answer == "Paris"


def test_missing_confidence_counts_as_lowest():
    result = RetrievalRouter(
        fake_chain("no idea at all, sorry about that", "Answer: India"), retriever(), "confidence", threshold=0.0
    ).invoke(UNKNOWN)
    assert result.no_retrieval.confidence is None and result.retrieved


def test_batch_keeps_input_order():
    router = RetrievalRouter(fake_chain("Answer: X\nConfidence: 50%"), retriever(), table_policy(), threshold=1.0)
    results = router.batch([UNKNOWN, KNOWN, UNKNOWN])
    assert [r.question for r in results] == [UNKNOWN, KNOWN, UNKNOWN]
    assert [r.retrieved for r in results] == [True, False, True]
    assert [r.question for r in run_sync(router.abatch([KNOWN, UNKNOWN]))] == [KNOWN, UNKNOWN]


@pytest.mark.parametrize(
    ("args", "kwargs", "message"),
    [
        (("popularity",), {}, "unknown policy 'popularity'; known: never, always, random, confidence"),
        (("probe",), {"policies": {"thrust": table_policy()}}, "known: .*thrust"),
        (("confidence",), {"k": 0}, "k .* must be >= 1"),
        (("confidence",), {"threshold": float("nan")}, "threshold must be a number"),
    ],
)
def test_bad_configuration_is_named(args, kwargs, message):
    with pytest.raises(ValueError, match=message):
        RetrievalRouter(fake_chain("x"), retriever(), *args, **kwargs)


def test_threshold_errors():
    router = RetrievalRouter(fake_chain("x"), retriever(), table_policy())
    with pytest.raises(ValueError, match="threshold is not set for policy 'table'"):
        router.invoke(KNOWN)
    for budget in (-0.1, 1.5):
        with pytest.raises(ValueError, match="budget"):
            router.fit_threshold([0.1, 0.2], budget)
    with pytest.raises(ValueError, match="not a mix"):
        router.fit_threshold([KNOWN, 0.3], 0.5)
    with pytest.raises(ValueError, match="'never' has no threshold"):
        RetrievalRouter(fake_chain("x"), retriever(), "never").fit_threshold([0.1], 0.5)


def test_fit_threshold_on_questions_splits_known_from_unknown():
    router = RetrievalRouter(fake_chain("Answer: X"), retriever(), table_policy())
    threshold = router.fit_threshold([KNOWN, UNKNOWN, "Q3?"], budget=0.34)
    assert router.threshold == threshold
    assert [r.retrieved for r in router.batch([KNOWN, UNKNOWN, "Q3?"])] == [False, True, False]


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.one_of(st.none(), st.floats(0, 1)), min_size=1, max_size=30),
    st.floats(0, 1),
)
def test_fitted_confidence_threshold_never_exceeds_the_budget(confidences, budget):
    router = RetrievalRouter(fake_chain("x"), retriever(), "confidence")
    threshold = router.fit_threshold(confidences, budget)
    retrieved = [(-1.0 if c is None else c) < threshold for c in confidences]
    assert sum(retrieved) / len(confidences) <= budget + 1e-12


# -- curve maths --------------------------------------------------------------------------------

outcomes = st.integers(1, 7).flatmap(
    lambda n: st.tuples(
        st.lists(st.booleans(), min_size=n, max_size=n),
        st.lists(st.booleans(), min_size=n, max_size=n),
        st.lists(st.integers(0, 3), min_size=n, max_size=n),  # few values: many ties
    )
)


def subset_accuracy(without, with_, subset) -> float:
    return sum(with_[i] if i in subset else without[i] for i in range(len(without))) / len(without)


def test_policy_accuracy_hand_worked():
    scores, without, with_ = [0.1, 0.2, 0.3, 0.4], [0, 1, 0, 1], [1, 0, 1, 1]
    assert policy_accuracy(scores, without, with_, 0) == 0.5
    assert policy_accuracy(scores, without, with_, 1) == 0.75  # fixes question 0
    assert policy_accuracy(scores, without, with_, 2) == 0.5  # then breaks question 1
    assert policy_accuracy(scores, without, with_, 4) == 0.75
    assert oracle_accuracy(without, with_, 2) == 1.0
    assert expected_random_accuracy(without, with_, 2) == pytest.approx(0.5 + 0.5 * 0.25)


@settings(max_examples=80, deadline=None)
@given(outcomes)
def test_policies_against_brute_force(case):
    without, with_, scores = case
    n = len(without)
    for m in range(n + 1):
        subsets = [set(s) for s in itertools.combinations(range(n), m)]
        accuracies = [subset_accuracy(without, with_, s) for s in subsets]
        assert oracle_accuracy(without, with_, m) == pytest.approx(max(accuracies))
        assert expected_random_accuracy(without, with_, m) == pytest.approx(np.mean(accuracies))
        # Ties by expectation = the mean over the subsets a random tie-break could pick.
        cut = sorted(scores)[m - 1] if m else -1
        below = {i for i in range(n) if scores[i] < cut}
        tied = [s for s in subsets if below <= s and all(scores[i] <= cut for i in s)]
        expected = np.mean([subset_accuracy(without, with_, s) for s in tied])
        assert policy_accuracy(scores, without, with_, m) == pytest.approx(expected)


@settings(max_examples=60, deadline=None)
@given(outcomes)
def test_curves_share_endpoints_random_is_linear_and_oracle_bounds_all(case):
    without, with_, scores = case
    curves = routing_curves(without, with_, {"signal": scores, "reversed": [-s for s in scores]})
    never, always = np.mean(without), np.mean(with_)
    for values in curves.values():
        assert values[0] == pytest.approx(never) and values[-1] == pytest.approx(always)
    n = len(without)
    rates = [i / 10 for i in range(11)]
    expected_random = [never + retrieval_count(r, n) / n * (always - never) for r in rates]
    assert curves["random"] == pytest.approx(expected_random)
    for name, values in curves.items():
        assert all(o >= v - 1e-12 for o, v in zip(curves["oracle"], values, strict=True)), name


def test_retrieval_count_rounds_half_up_and_checks_the_rate():
    assert [retrieval_count(r, 10) for r in (0.0, 0.1, 0.25, 0.3, 1.0)] == [0, 1, 3, 3, 10]
    assert retrieval_count(0.1, 150) == 15
    with pytest.raises(ValueError, match="rate"):
        retrieval_count(1.2, 10)


def test_outcome_validation():
    with pytest.raises(ValueError, match="retrieval has shape"):
        expected_random_accuracy([1, 0], [1], 1)
    with pytest.raises(ValueError, match=r"no_retrieval\[1\] = 0.5 is not a bool or 0/1"):
        oracle_accuracy([1, 0.5], [1, 1], 1)
    with pytest.raises(ValueError, match="count"):
        oracle_accuracy([1, 0], [1, 1], 3)
    with pytest.raises(ValueError, match="scores has shape"):
        policy_accuracy([1.0], [1, 0], [1, 1], 1)


# -- data and Thrust variants -------------------------------------------------------------------


def test_parse_mix_and_proportional_shares():
    assert parse_mix(["cities=3", "capitals"]) == {"cities": 3.0, "capitals": 1.0}
    with pytest.raises(ValueError, match="must be > 0"):
        parse_mix(["cities=0"])
    items = mixed_items({"cities": 3, "capitals": 1}, "dev", 8)
    assert sorted(item.id.split(":")[0] for item in items) == ["capitals"] * 2 + ["cities"] * 6


def test_a_short_set_gives_all_it_has_and_the_others_fill_its_share():
    assert _shares({"a": 1, "b": 1, "c": 2}, {"a": 5, "b": 100, "c": 100}, 100) == {"a": 5, "b": 32, "c": 63}
    assert _shares({"a": 1, "b": 1}, {"a": 3, "b": 4}, 100) == {"a": 3, "b": 4}
    assert sum(_shares({"a": 3, "b": 1, "c": 1}, {"a": 999, "b": 999, "c": 999}, 7).values()) == 7


def test_oracle_share_hand_worked():
    rates = [0.0, 0.5, 1.0]
    curves = {"random": [0.2, 0.4, 0.6], "good": [0.2, 0.6, 0.6], "bad": [0.2, 0.3, 0.6], "oracle": [0.2, 0.8, 0.6]}
    # Areas above random (trapezoids): good 0.1, bad -0.05, oracle 0.2.
    assert oracle_share(curves, rates) == pytest.approx({"random": 0.0, "good": 0.5, "bad": -0.25, "oracle": 1.0})
    assert oracle_share({"random": [0.5, 0.5], "oracle": [0.5, 0.5]}, [0.0, 1.0]) == {"random": None, "oracle": None}


def test_generation_calls_per_policy():
    assert generation_calls("thrust", 600, 180) == 600
    assert generation_calls("confidence", 600, 180) == 780
    assert generation_calls("oracle", 600, 180) == 1200


def test_intervals_cover_the_estimate_and_a_policy_compared_with_itself_differs_by_zero():
    rng = np.random.default_rng(0)
    without, with_ = (rng.random(200) < 0.3).astype(float), (rng.random(200) < 0.8).astype(float)
    scores = without + rng.normal(0, 0.3, 200)  # a noisy signal of "correct without retrieval"
    estimate = policy_accuracy(scores, without, with_, retrieval_count(0.3, 200))
    low, high = accuracy_interval("signal", scores, without, with_, 0.3, n_resamples=300)
    assert low <= estimate <= high and high - low < 0.2
    shift, (d_low, d_high) = paired_difference("signal", scores, "random", None, without, with_, 0.3, n_resamples=300)
    assert shift == pytest.approx(estimate - expected_random_accuracy(without, with_, 60)) and d_low > 0
    same, same_interval = paired_difference("a", scores, "b", scores, without, with_, 0.3, n_resamples=50)
    assert same == 0.0 and same_interval == (0.0, 0.0)
    with pytest.raises(ValueError, match="needs scores"):
        accuracy_interval("signal", None, without, with_, 0.3)


def test_designation_follows_the_routing_outcome_not_knowing():
    # Questions 0-3 are wrong without passages; passages fix 0 and 1 only (2 and 3 are, say,
    # arithmetic the corpus cannot help with). "knows" ranks 2 and 3 lowest: it is right that
    # the model does not know them, and still spends the budget where it gains nothing.
    without = np.array([0, 0, 0, 0, 1, 1, 1, 1, 1, 1], dtype=float)
    with_ = np.array([1, 1, 0, 0, 1, 1, 1, 1, 1, 1], dtype=float)
    knows = np.array([0.3, 0.3, 0.1, 0.1, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9])
    gain = np.array([0.1, 0.1, 0.7, 0.7, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6])
    assert auroc(knows, without) > auroc(gain, without)
    name, accuracy = designate(without, with_, {"knows": knows, "gain": gain})
    assert name == "gain" and accuracy == pytest.approx({"knows": 0.7, "gain": 0.8})
    assert designate(without, with_, {"first": gain, "second": gain})[0] == "first"  # ties: the earlier
    only_knows, every = designate(without, with_, {"knows": knows, "gain": gain}, candidates={"knows"})
    assert only_knows == "knows" and set(every) == {"knows", "gain"}  # every policy's accuracy is still given
    with pytest.raises(ValueError, match="at least one candidate policy"):
        designate(without, with_, {"gain": gain}, candidates=())


def test_routing_figure_draws_every_policy_in_its_own_colour_and_marks_the_designated(tmp_path):
    rng = np.random.default_rng(0)
    without, with_ = (rng.random(100) < 0.3).astype(float), (rng.random(100) < 0.7).astype(float)
    scores = {f"policy{i}": rng.random(100) for i in range(9)}
    curves, tables = compare_policies(without, with_, scores, n_resamples=20)
    result = RouteEvalResult(
        settings={}, seed=0, n_train=1, n_dev=1, n_eval=100, train_accuracy=0.3, dev_accuracy=0.3,
        accuracy_no_retrieval=float(without.mean()), accuracy_retrieval=float(with_.mean()), retrieval_fixes=0,
        retrieval_breaks=0, gold_passage_recall=None, representation="table", sweep=[], dev_auroc={},
        dev_accuracy_at_budget={}, designated="policy4", rates=list(RATES), curves=curves,
        oracle_share=oracle_share(curves), budgets=tables, auroc_no_retrieval_correct={}, by_dataset=[],
    )  # fmt: skip
    drawn = curves_figure(result).axes[0].get_lines()
    lines = {line.get_label(): line for line in drawn if not str(line.get_label()).startswith("_")}  # not budgets
    assert set(lines) == {"random", "oracle", "policy4 (designated)", *(f"policy{i}" for i in (0, 1, 2, 3, 5, 6, 7, 8))}
    colours = [tuple(to_rgba(line.get_color())) for line in lines.values()]
    assert len(set(colours)) == len(colours)  # nine policies, random and oracle: no two alike
    assert lines["policy4 (designated)"].get_linewidth() > lines["policy0"].get_linewidth()
    plot_curves(result, tmp_path / "route-eval.png")
    assert (tmp_path / "route-eval.png").read_bytes().startswith(b"\x89PNG")
