"""The retrieve-or-abstain agent on the real server, with BM25 over the built-in corpus."""

from __future__ import annotations

import pytest

from elicit.calibration.certificate import Certificate
from elicit.chains import ConfidenceChain
from elicit.datasets import build_corpus
from elicit.decisions.agent import build_agent
from elicit.model.loop import run_sync
from elicit.routing.retrieval import BM25PassageRetriever
from elicit.routing.router import RetrievalRouter


@pytest.fixture(scope="module")
def chain(llm) -> ConfidenceChain:
    return ConfidenceChain(llm, n_samples=5)


@pytest.fixture(scope="module")
def certificate(chain: ConfidenceChain) -> Certificate:
    """A certificate for this chain's setup at 0.6, between the confidence the embedded model gives answers it
    knows (about 0.8) and the one it gives guesses (about 0.2); its making is tested on real records elsewhere."""
    return Certificate(
        threshold=0.6, risk=0.2, delta=0.1, n=400, answered=0.2, calibration_risk=0.1, source="default",
        setup=chain.setup, calibration_ids=[], created="2026-01-01T00:00:00Z",
    )  # fmt: skip


@pytest.fixture(scope="module")
def retriever() -> BM25PassageRetriever:
    return BM25PassageRetriever.from_passages(build_corpus(), k=2)


def test_known_questions_are_answered_unknown_ones_retrieved_for_and_hopeless_ones_abstained_on(
    chain, certificate, retriever
):
    graph = build_agent(chain, retriever, certificate)
    known = graph.invoke({"question": "What is the capital of France?"})
    assert known["decision"] == "answered" and known["answer"] == "Paris" and len(known["steps"]) == 1
    unknown = graph.invoke({"question": "In which country is the city of Pawni?"})
    assert unknown["decision"] == "retrieved" and unknown["answer"] == "India"
    assert [step.step for step in unknown["steps"]] == ["answer", "answer with passages"]
    assert unknown["steps"][1].passages and not unknown["steps"][0].certified
    hopeless = graph.invoke({"question": "What is 47 * 89?"})
    assert hopeless["decision"] == "abstained" and hopeless["answer"] is None
    assert [step.certified for step in hopeless["steps"][:2]] == [False, False]


def test_the_agent_streams_each_step_and_can_hand_off(chain, certificate, retriever):
    async def ask_someone(state):
        return "4183"

    graph = build_agent(chain, retriever, certificate, handoff=ask_someone)

    async def updates():
        return [update async for update in graph.astream({"question": "What is 47 * 89?"}, stream_mode="updates")]

    streamed = run_sync(updates())
    assert [next(iter(update)) for update in streamed] == ["answer", "answer_with_passages", "abstain"]
    assert streamed[-1]["abstain"]["decision"] == "handed off" and streamed[-1]["abstain"]["answer"] == "4183"


def test_the_router_retrieves_for_answers_that_are_not_certified(chain, certificate, retriever):
    router = RetrievalRouter(chain, retriever, certificate=certificate)
    routed = router.invoke("In which country is the city of Pawni?")
    assert routed.retrieved and routed.final.answer == "India"
    with pytest.raises(ValueError, match="confidence policy"):
        RetrievalRouter(chain, retriever, "always", certificate=certificate)
