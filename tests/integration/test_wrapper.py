"""with_confidence on the real server: in an LCEL chain, multi-turn, batch, stream, async."""

from __future__ import annotations

from typing import Any

import pytest
from langchain_core.messages import AIMessage, AIMessageChunk, HumanMessage, SystemMessage
from langchain_core.prompts import ChatPromptTemplate, MessagesPlaceholder

from elicit.chains import with_confidence
from elicit.chains.conversation import conversation
from elicit.model.client import chat_model
from elicit.model.loop import run_sync
from elicit.signals.registry import SIGNAL_NAMES
from elicit.types import Signals

THRESHOLD = 0.5
HISTORY = [
    SystemMessage(content="You are a helpful assistant."),
    HumanMessage(content="Who wrote Hamlet?"),
    AIMessage(content="Hamlet was written by William Shakespeare."),
    HumanMessage(content="In which country was he born?"),
]


@pytest.fixture(scope="module")
def chat(server):
    """The user's model: short greedy replies, so the tests stay fast and each reply states an answer."""
    return chat_model(server, max_tokens=24, temperature=0.0)


@pytest.fixture(scope="module")
def wrapped(chat):
    return with_confidence(chat, n_samples=2, max_tokens=16, threshold=THRESHOLD)


def check_confidence(metadata: dict[str, Any]) -> dict[str, Any]:
    confidence = metadata["confidence"]
    assert confidence["n_samples"] == 2
    assert confidence["threshold"] == THRESHOLD
    signals = Signals.model_validate(confidence["signals"])
    for name, value in signals.values().items():
        assert value is None or 0.0 <= value <= 1.0, name
        if value is None:
            assert signals.missing[name], f"{name} is None without a reason"
    assert set(signals.values()) == set(SIGNAL_NAMES)
    value = confidence["value"]
    assert value is None or 0.0 <= value <= 1.0
    assert confidence["low_trust"] == (value is None or value < THRESHOLD)
    assert (confidence["answer"] is None) == (value is None) == bool(confidence["reason"])  # no claim: null and why
    return confidence


def check_reply(message: AIMessage) -> dict[str, Any]:
    assert isinstance(message, AIMessage)
    assert isinstance(message.content, str) and message.content.strip()
    assert message.response_metadata.get("finish_reason")  # the model's own metadata is kept
    return check_confidence(message.response_metadata)


def test_inside_an_lcel_chain_with_a_prompt_template(wrapped, chat):
    before = chat.model_dump()
    prompt = ChatPromptTemplate.from_messages([("system", "Answer in one sentence."), ("human", "{question}")])
    reply = (prompt | wrapped).invoke({"question": "What is the capital of France?"})
    confidence = check_reply(reply)
    assert confidence["answer"] == "Paris"  # the claim read from the reply itself
    assert confidence["signals"]["agreement"] is not None
    assert confidence["signals"]["p_true"] is not None, confidence["signals"]["missing"]
    assert chat.model_dump() == before  # the wrapped model is never changed


def test_multi_turn_history_and_batch(wrapped):
    replies = wrapped.batch([HISTORY, "What is the largest planet in the solar system?"])
    assert len(replies) == 2
    for reply in replies:
        check_reply(reply)


def test_per_call_settings_reach_the_reply_only(wrapped):
    reply = wrapped.invoke("Name a primary colour.", max_tokens=3)
    assert reply.response_metadata["finish_reason"] == "length"
    check_confidence(reply.response_metadata)


def test_stream_chunks_concatenate_and_the_last_carries_the_confidence(wrapped):
    chain = ChatPromptTemplate.from_messages([MessagesPlaceholder("history")]) | wrapped
    chunks = list(chain.stream({"history": HISTORY}))
    assert len(chunks) > 2
    assert all(isinstance(chunk, AIMessageChunk) for chunk in chunks)
    assert all("confidence" not in chunk.response_metadata for chunk in chunks[:-1])
    assert chunks[-1].content == ""
    check_confidence(chunks[-1].response_metadata)
    total = chunks[0]
    for chunk in chunks[1:]:
        total += chunk
    assert total.content == "".join(chunk.content for chunk in chunks)
    assert total.content.strip()
    assert total.response_metadata["confidence"] == chunks[-1].response_metadata["confidence"]


def test_async_invoke_and_stream(wrapped):
    async def both() -> tuple[AIMessage, list[AIMessageChunk]]:
        reply = await wrapped.ainvoke("What is 2 + 2?")
        chunks = [chunk async for chunk in wrapped.astream("What is 2 + 2?")]
        return reply, chunks

    reply, chunks = run_sync(both())
    check_reply(reply)
    check_confidence(chunks[-1].response_metadata)
    assert "".join(chunk.content for chunk in chunks).strip()


def test_seeded_samples_of_one_conversation_are_the_same_every_time(wrapped):
    messages = conversation(HISTORY)

    async def twice() -> tuple[list, list]:
        return await wrapped.scorer.asample(messages), await wrapped.scorer.asample(messages)

    first, second = run_sync(twice())
    assert wrapped.scorer.seed == 0  # seeded by default
    assert [s.text for s in first] == [s.text for s in second]
