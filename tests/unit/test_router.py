"""RetrievalRouter decisions with fake models, and the routing evaluation's curve maths on hand-made outcomes."""

from __future__ import annotations

import itertools
import json
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from langchain_core.language_models import BaseChatModel, FakeListChatModel
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatResult

from elicit.chains import ConfidenceChain
from elicit.datasets import QAItem
from elicit.evaluation.batch import RecordsFileError
from elicit.model.loop import run_sync
from elicit.routing.evaluate import (
    arun_route_eval,
    budget_rows,
    fit_thrust,
    mixed_items,
    oracle_accuracy,
    parse_mix,
    policy_accuracy,
    popularity_rows,
    random_accuracy,
    retrieval_count,
    routing_curves,
)
from elicit.routing.retrieval import BM25PassageRetriever
from elicit.routing.router import RetrievalRouter, RoutedAnswer
from elicit.routing.thrust import ThrustScorer

PASSAGES = [
    ("city:1", "Pawni", "Pawni is a city in India with a population of 23,450."),
    ("lake:2", "Pawni Lake", "Pawni Lake is a lake in the country of Canada."),
    ("country:FR", "France", "France is a country in Europe. Its capital is Paris."),
]
KNOWN = "What is the capital of France?"
UNKNOWN = "In which country is the city of Pawni?"


class TableEmbeddings:
    """Question -> fixed vector: Thrust scores of constructed points, no model."""

    model_name = "table"

    def __init__(self, vectors: dict[str, list[float]]) -> None:
        self.vectors = vectors

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return [self.vectors[t] for t in texts]

    def encode(self, texts: list[str]) -> np.ndarray:
        return np.array(self.embed_documents(list(texts)))


def table_embeddings() -> TableEmbeddings:
    # KNOWN sits in a dense cluster of training points; UNKNOWN is far from it.
    return TableEmbeddings({KNOWN: [0.1, 0.0], UNKNOWN: [40.0, 40.0], "Q3?": [0.0, 0.2]})


def fitted_scorer() -> ThrustScorer:
    points = np.array([[0.0, 0.0], [0.2, 0.0], [0.0, 0.3], [-0.2, 0.1], [0.1, -0.2], [0.3, 0.3]])
    return ThrustScorer("table").fit(points, n_clusters=2)


def fake_chain(*responses: str) -> ConfidenceChain:
    return ConfidenceChain(FakeListChatModel(responses=list(responses)), n_samples=1, p_true=False)


def retriever() -> BM25PassageRetriever:
    return BM25PassageRetriever.from_passages(PASSAGES, k=5)


def thrust_router(chain: ConfidenceChain, signal: str = "thrust", **kwargs: Any) -> RetrievalRouter:
    return RetrievalRouter(
        chain, retriever(), signal=signal, scorer=fitted_scorer(), embeddings=table_embeddings(), **kwargs
    )


# -- routing decisions --------------------------------------------------------------------------


def test_thrust_retrieves_for_the_low_thrust_question_only_and_decides_before_generating():
    router = thrust_router(fake_chain("Answer: Paris\nConfidence: 90%"), thrust_threshold=1.0)
    known_score, unknown_score = router.thrust_scores([KNOWN, UNKNOWN])
    assert unknown_score < 1.0 < known_score

    known = router.invoke(KNOWN)
    assert isinstance(known, RoutedAnswer)
    assert not known.retrieved and known.passages == [] and known.final.context == []
    assert known.no_retrieval is None and known.answer == "Paris"
    assert known.thrust_score == pytest.approx(known_score) and known.thrust_threshold == 1.0

    chain = fake_chain("Answer: India\nConfidence: 80%", "Answer: a second generation")
    unknown = thrust_router(chain, thrust_threshold=1.0).invoke(UNKNOWN)
    assert unknown.retrieved and unknown.no_retrieval is None  # straight to the retrieval pass
    assert chain.llm.i == 1  # one generation in all
    best_first = [doc.metadata["id"] for doc in retriever().invoke(UNKNOWN)]
    assert best_first[:2] == ["city:1", "lake:2"]
    assert [p.id for p in unknown.passages] == ["lake:2", "city:1"]  # k=2, most relevant LAST
    assert unknown.final.context == [p.text for p in unknown.passages]
    assert unknown.answer == "India" and unknown.final.confidence == pytest.approx(0.8)


def test_confidence_routing_answers_first_and_retrieves_when_unsure():
    unsure = RetrievalRouter(
        fake_chain("Answer: Spain\nConfidence: 20%", "Answer: India\nConfidence: 85%"),
        retriever(),
        signal="confidence",
        confidence_threshold=0.5,
    ).invoke(UNKNOWN)
    assert unsure.retrieved and unsure.confidence == pytest.approx(0.2)
    assert unsure.no_retrieval.answer == "Spain" and unsure.answer == "India"
    assert unsure.final.confidence == pytest.approx(0.85) and unsure.passages[-1].id == "city:1"

    sure = RetrievalRouter(
        fake_chain("Answer: Paris\nConfidence: 90%"), retriever(), signal="confidence", confidence_threshold=0.5
    ).invoke(KNOWN)
    assert not sure.retrieved and sure.final == sure.no_retrieval and sure.answer == "Paris"


def test_missing_confidence_counts_as_lowest():
    result = RetrievalRouter(
        fake_chain("no idea at all, sorry about that", "Answer: India"),
        retriever(),
        signal="confidence",
        confidence_threshold=0.0,
    ).invoke(UNKNOWN)
    assert result.no_retrieval.confidence is None and result.retrieved


def test_both_retrieves_when_either_signal_is_low():
    def both(chain: ConfidenceChain) -> RetrievalRouter:
        return thrust_router(chain, signal="both", thrust_threshold=1.0, confidence_threshold=0.5)

    by_thrust = both(fake_chain("Answer: India\nConfidence: 90%")).invoke(UNKNOWN)
    assert by_thrust.retrieved and by_thrust.no_retrieval is None  # Thrust alone decided
    by_confidence = both(fake_chain("Answer: Lyon\nConfidence: 10%", "Answer: Paris\nConfidence: 95%")).invoke(KNOWN)
    assert by_confidence.retrieved and by_confidence.no_retrieval.answer == "Lyon"
    neither = both(fake_chain("Answer: Paris\nConfidence: 90%")).invoke(KNOWN)
    assert not neither.retrieved and neither.answer == "Paris"


def test_batch_keeps_input_order():
    router = thrust_router(fake_chain("Answer: X\nConfidence: 50%"), thrust_threshold=1.0)
    results = router.batch([UNKNOWN, KNOWN, UNKNOWN])
    assert [r.question for r in results] == [UNKNOWN, KNOWN, UNKNOWN]
    assert [r.retrieved for r in results] == [True, False, True]
    assert [r.question for r in run_sync(router.abatch([KNOWN, UNKNOWN]))] == [KNOWN, UNKNOWN]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"signal": "popularity"}, "signal must be one of"),
        ({"signal": "thrust"}, "needs scorer"),
        ({"signal": "both", "scorer": ThrustScorer().fit(np.eye(3))}, "needs embeddings"),
        ({"signal": "thrust", "scorer": ThrustScorer(), "embeddings": table_embeddings()}, "not fitted"),
        ({"signal": "confidence", "k": 0}, "k .* must be >= 1"),
        ({"signal": "confidence", "confidence_threshold": float("nan")}, "confidence_threshold"),
    ],
)
def test_bad_configuration_is_named(kwargs, message):
    with pytest.raises(ValueError, match=message):
        RetrievalRouter(fake_chain("x"), retriever(), **kwargs)


def test_threshold_errors():
    router = thrust_router(fake_chain("x"))
    with pytest.raises(ValueError, match="thrust_threshold is not set"):
        router.invoke(KNOWN)
    for budget in (-0.1, 1.5):
        with pytest.raises(ValueError, match="budget"):
            router.fit_threshold([0.1, 0.2], budget)
    with pytest.raises(ValueError, match="not used"):
        router.fit_threshold([0.1], 0.5, signal="confidence")
    with pytest.raises(ValueError, match="not a mix"):
        router.fit_threshold([KNOWN, 0.3], 0.5)
    both = thrust_router(fake_chain("x"), signal="both")
    with pytest.raises(ValueError, match="which threshold"):
        both.fit_threshold([0.1], 0.5)


def test_fit_threshold_on_questions_splits_known_from_unknown():
    router = thrust_router(fake_chain("Answer: X"))
    threshold = router.fit_threshold([KNOWN, UNKNOWN, "Q3?"], budget=0.34)
    assert router.thrust_threshold == threshold
    assert [r.retrieved for r in router.batch([KNOWN, UNKNOWN, "Q3?"])] == [False, True, False]


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.one_of(st.none(), st.floats(0, 1)), min_size=1, max_size=30),
    st.floats(0, 1),
)
def test_fitted_confidence_threshold_never_exceeds_the_budget(confidences, budget):
    router = RetrievalRouter(fake_chain("x"), retriever(), signal="confidence")
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
    assert random_accuracy(without, with_, 2) == pytest.approx(0.5 + 0.5 * 0.25)


@settings(max_examples=80, deadline=None)
@given(outcomes)
def test_policies_against_brute_force(case):
    without, with_, scores = case
    n = len(without)
    for m in range(n + 1):
        subsets = [set(s) for s in itertools.combinations(range(n), m)]
        accuracies = [subset_accuracy(without, with_, s) for s in subsets]
        assert oracle_accuracy(without, with_, m) == pytest.approx(max(accuracies))
        assert random_accuracy(without, with_, m) == pytest.approx(np.mean(accuracies))
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


def test_budget_rows_compare_every_policy_at_the_same_rate():
    without, with_ = [0, 0, 1, 1, 0, 1, 0, 0, 1, 0], [1, 1, 1, 0, 0, 1, 1, 0, 1, 1]
    rows = budget_rows(without, with_, {"conf": list(range(10))}, budget=0.3)
    by_policy = {row["policy"]: row for row in rows}
    assert list(by_policy) == ["never", "always", "random", "conf", "oracle"]
    assert by_policy["never"]["rate"] == 0.0 and by_policy["always"]["rate"] == 1.0
    assert {row["rate"] for row in rows[2:]} == {0.3}
    assert by_policy["conf"]["accuracy"] == pytest.approx(0.6)  # questions 0-2: +1, +1, 0
    assert by_policy["oracle"]["accuracy"] == pytest.approx(0.7)
    assert by_policy["random"]["vs_random"] == 0.0
    assert by_policy["conf"]["vs_random"] == pytest.approx(0.6 - (0.4 + 0.3 * 0.3))  # mean gain 3/10


def test_retrieval_count_rounds_half_up_and_checks_the_rate():
    assert [retrieval_count(r, 10) for r in (0.0, 0.1, 0.25, 0.3, 1.0)] == [0, 1, 3, 3, 10]
    assert retrieval_count(0.1, 150) == 15
    with pytest.raises(ValueError, match="rate"):
        retrieval_count(1.2, 10)


def test_outcome_validation():
    with pytest.raises(ValueError, match="retrieval has shape"):
        random_accuracy([1, 0], [1], 1)
    with pytest.raises(ValueError, match="booleans"):
        oracle_accuracy([1, 0.5], [1, 1], 1)
    with pytest.raises(ValueError, match="count"):
        oracle_accuracy([1, 0], [1, 1], 3)
    with pytest.raises(ValueError, match="scores has shape"):
        policy_accuracy([1.0], [1, 0], [1, 1], 1)


def test_popularity_quartiles_rank_questions_by_popularity():
    popularity = [800, 100, 700, 200, 600, 300, 500, 400]
    without = [1, 0, 1, 0, 1, 0, 0, 0]
    with_ = [1, 1, 1, 1, 1, 1, 1, 0]
    rows = popularity_rows(popularity, without, with_, {"thrust": popularity})
    ranges = [(r["popularity_min"], r["popularity_max"]) for r in rows]
    assert ranges == [(100, 200), (300, 400), (500, 600), (700, 800)]
    assert [r["accuracy_no_retrieval"] for r in rows] == [0.0, 0.0, 0.5, 1.0]
    assert [r["accuracy_retrieval"] for r in rows] == [1.0, 0.5, 1.0, 1.0]
    assert [r["mean_thrust"] for r in rows] == [150, 350, 550, 750]


# -- data and Thrust variants -------------------------------------------------------------------


def test_parse_mix_and_proportional_shares():
    assert parse_mix(["cities=3", "capitals"]) == {"cities": 3.0, "capitals": 1.0}
    with pytest.raises(ValueError, match="must be > 0"):
        parse_mix(["cities=0"])
    items = mixed_items({"cities": 3, "capitals": 1}, "dev", 8)
    assert sorted(item.id.split(":")[0] for item in items) == ["capitals"] * 2 + ["cities"] * 6


def test_fit_thrust_variants():
    points = np.array([[0.0, 0.0], [0.1, 0.0], [5.0, 5.0], [5.1, 5.0], [0.0, 0.2], [5.0, 5.2]])
    assert set(fit_thrust(points, None, "m")) == {"thrust"}
    scorers = fit_thrust(points, [True, True, False, False, True, False], "m")
    assert set(scorers) == {"thrust", "thrust_unlabeled", "thrust_known"}
    known = scorers["thrust_known"]
    assert known.score(np.array([0.0, 0.1]))[0] > known.score(np.array([5.0, 5.1]))[0]
    assert "thrust_known" not in fit_thrust(points, [False] * 6, "m")


# -- the evaluation end to end, offline -----------------------------------------------------------


class PassageEcho(BaseChatModel):
    """Answers "India" with 80% confidence when given passages, else "Spain" at 40% (counts calls)."""

    calls: int = 0

    @property
    def _llm_type(self) -> str:
        return "passage-echo"

    def _generate(self, messages: list[BaseMessage], stop: Any = None, run_manager: Any = None, **kwargs: Any):
        self.calls += 1
        with_passages = "[1]" in str(messages[-1].content)
        text = "Answer: India\nConfidence: 80%" if with_passages else "Answer: Spain\nConfidence: 40%"
        return ChatResult(generations=[ChatGeneration(message=AIMessage(content=text))])


def items(prefix: str, answers: list[str]) -> list[QAItem]:
    return [
        QAItem(
            id=f"{prefix}:{i}",
            question=f"In which country is {prefix} city {i} of Pawni?",
            answer=answer,
            metadata={"popularity": 1000 * (i + 1), "passage_id": "city:1"},
        )
        for i, answer in enumerate(answers)
    ]


def test_route_eval_end_to_end_offline_and_resumable(tmp_path):
    model = PassageEcho()
    chain = ConfidenceChain(model, n_samples=1, p_true=False)
    train, held_out = items("train", ["Spain", "India", "Spain", "India"]), items("dev", ["Spain", "India"] * 3)
    vectors = {item.question: [float(i), float(i % 2)] for i, item in enumerate(train + held_out)}
    embeddings = TableEmbeddings(vectors)

    def run():
        return run_sync(
            arun_route_eval(
                chain, retriever(), embeddings, train, held_out, tmp_path, settings={"model": "echo"},
                budget=0.5, concurrency=2, progress=False, announce=lambda line: None,
            )
        )  # fmt: skip

    result = run()
    assert model.calls == len(train) + 2 * len(held_out)
    assert result.train_accuracy == 0.5
    assert result.accuracy_no_retrieval == 0.5 and result.accuracy_retrieval == 0.5
    assert result.retrieval_fixes == 3 and result.retrieval_breaks == 3
    assert set(result.curves) == {"random", "confidence", "thrust", "thrust_unlabeled", "thrust_known", "oracle"}
    assert result.curves["oracle"][5] == 1.0  # retrieving for exactly the three India questions
    assert {row["rate"] for row in result.budget_rows[2:]} == {0.5}
    assert len(result.popularity) == 4 and result.gold_passage_recall == 1.0
    assert json.loads((tmp_path / "route-eval.json").read_text())["n_eval"] == 6
    assert (tmp_path / "route-eval.png").stat().st_size > 0
    assert ThrustScorer.load(tmp_path / "thrust.json").dim == 2
    assert len((tmp_path / "retrieval-k2.jsonl").read_text().splitlines()) == 6

    assert run() == result and model.calls == len(train) + 2 * len(held_out)  # resumed: no new calls
    (tmp_path / "settings.json").write_text(json.dumps({"model": "other", "strategy": "vanilla"}))
    with pytest.raises(RecordsFileError, match="model: 'other' -> 'echo'"):
        run()
