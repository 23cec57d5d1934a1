"""An agent that answers when it can stand by the answer, retrieves when it cannot, and abstains when that fails too.

A LangGraph graph of three steps: answer the question; if the answer is not certified
(its confidence is below the certificate's threshold, whose answers are wrong at most the
certificate's risk), retrieve passages with any LangChain retriever and answer again from
them; if that answer is not certified either, abstain (or hand the question to a callback,
e.g. a human or a larger model). Its state records every step's answer, confidence and
decision, and the graph streams each step as it happens (``graph.stream(...)``).

A certificate keeps its promise only for answers drawn like its calibration records: the
answer from passages is judged by ``context_certificate`` when one is given (certified on
answers made with passages), else by the same certificate as the first answer.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Literal, TypedDict

from langchain_core.retrievers import BaseRetriever
from langchain_core.runnables import RunnableLambda
from langgraph.graph import END, START, StateGraph
from pydantic import BaseModel, ConfigDict

from elicit.calibration.certificate import Certificate
from elicit.chains.confidence import ConfidenceChain
from elicit.model.loop import run_sync
from elicit.routing.router import RetrievedPassage, aretrieve_passages
from elicit.types import Elicitation

Decision = Literal["answered", "retrieved", "abstained", "handed off"]


class Step(BaseModel):
    """One step of the agent: the answer it produced (if any), its confidence, and what was decided."""

    model_config = ConfigDict(extra="forbid")

    step: Literal["answer", "answer with passages", "abstain", "hand off"]
    answer: str | None = None
    confidence: float | None = None
    certified: bool | None = None
    passages: list[RetrievedPassage] = []
    decision: str


class AgentState(TypedDict, total=False):
    """The graph's state: the question, every step so far, and the outcome."""

    question: str
    steps: list[Step]
    answer: str | None
    decision: Decision


Handoff = Callable[[AgentState], Awaitable[str | None]]
"""Called with the state when the agent would abstain; returns an answer to give instead, or None."""


def _certified(certificate: Certificate, result: Elicitation) -> bool:
    return certificate.certifies(result.confidence) and result.answer is not None


def _node(step: Callable[[AgentState], Awaitable[AgentState]]) -> RunnableLambda[AgentState, AgentState]:
    """A graph node for both APIs: the async step, and its twin on elicit's background loop for ``invoke``."""

    def run(state: AgentState) -> AgentState:
        return run_sync(step(state))  # type: ignore[arg-type]

    return RunnableLambda(run, afunc=step)


def build_agent(
    chain: ConfidenceChain, retriever: BaseRetriever, certificate: Certificate, *,
    context_certificate: Certificate | None = None, k: int = 2, handoff: Handoff | None = None,
) -> Any:  # fmt: skip
    """The compiled graph: ``graph.invoke({"question": ...})`` returns the final state.

    ``certificate`` judges the first answer and ``context_certificate`` (default: the same)
    the answer from the top ``k`` passages; ``handoff``, when given, replaces abstaining.
    """
    certificate.check(chain.setup, chain.fusion)
    second = context_certificate or certificate
    if context_certificate is not None:
        context_certificate.check(chain.setup, chain.fusion)

    async def answer(state: AgentState) -> AgentState:
        result = await chain.ainvoke(state["question"])
        certified = _certified(certificate, result)
        step = Step(step="answer", answer=result.answer, confidence=result.confidence, certified=certified,
                    decision="answer" if certified else "retrieve")  # fmt: skip
        outcome: AgentState = {"steps": [*state.get("steps", []), step]}
        if certified:
            outcome |= {"answer": result.answer, "decision": "answered"}
        return outcome

    async def answer_with_passages(state: AgentState) -> AgentState:
        passages = await aretrieve_passages(retriever, state["question"], k)
        result = await chain.ainvoke({"question": state["question"], "context": [p.text for p in passages]})
        certified = _certified(second, result)
        step = Step(step="answer with passages", answer=result.answer, confidence=result.confidence,
                    certified=certified, passages=passages, decision="answer" if certified else "abstain")  # fmt: skip
        outcome: AgentState = {"steps": [*state["steps"], step]}
        if certified:
            outcome |= {"answer": result.answer, "decision": "retrieved"}
        return outcome

    async def abstain(state: AgentState) -> AgentState:
        given = await handoff(state) if handoff is not None else None
        if given is not None:
            step = Step(step="hand off", answer=given, decision="answer from the handoff")
            return {"steps": [*state["steps"], step], "answer": given, "decision": "handed off"}
        step = Step(step="abstain", decision="abstain: no certified answer with or without passages")
        return {"steps": [*state["steps"], step], "answer": None, "decision": "abstained"}

    def after(state: AgentState) -> str:
        return END if "decision" in state else "next"

    graph = StateGraph(AgentState)
    graph.add_node("answer", _node(answer))
    graph.add_node("answer_with_passages", _node(answer_with_passages))
    graph.add_node("abstain", _node(abstain))
    graph.add_edge(START, "answer")
    graph.add_conditional_edges("answer", after, {END: END, "next": "answer_with_passages"})
    graph.add_conditional_edges("answer_with_passages", after, {END: END, "next": "abstain"})
    graph.add_edge("abstain", END)
    return graph.compile()
