"""ConfidenceChatModel is a chat model: the standard tests, tools, structured output and a LangGraph agent."""

from __future__ import annotations

from typing import Any

import pytest
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, ToolMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from langchain_core.tools import tool
from langchain_openai import ChatOpenAI
from langchain_tests.unit_tests import ChatModelUnitTests
from langgraph.prebuilt import create_react_agent
from pydantic import BaseModel

from elicit.chains import ConfidenceChatModel, with_confidence


class Arithmetic(BaseChatModel):
    """A model that calls its first tool with (6, 7) when it has tools and no result yet, and else answers 42."""

    @property
    def _llm_type(self) -> str:
        return "arithmetic"

    def _generate(self, messages: list[BaseMessage], stop: Any = None, run_manager: Any = None, **kwargs: Any
                  ) -> ChatResult:  # fmt: skip
        if kwargs.get("tools") and not isinstance(messages[-1], ToolMessage):
            name = kwargs["tools"][0]["function"]["name"]
            call = {"name": name, "args": {"a": 6, "b": 7}, "id": "call-1", "type": "tool_call"}
            reply = AIMessage(content="", tool_calls=[call])
        else:
            reply = AIMessage(content="Answer: 42\nConfidence: 90%")
        return ChatResult(generations=[ChatGeneration(message=reply)])


@tool
def multiply(a: int, b: int) -> int:
    """Multiply two integers."""
    return a * b


class TestStandard(ChatModelUnitTests):
    """The standard unit tests of langchain-tests that apply to a model without an API of its own."""

    @property
    def chat_model_class(self) -> type[ConfidenceChatModel]:
        return ConfidenceChatModel

    @property
    def chat_model_params(self) -> dict[str, Any]:
        return {"llm": ChatOpenAI(base_url="http://127.0.0.1:9/v1", api_key="EMPTY", model="m"), "n_samples": 3}

    @property
    def standard_chat_model_params(self) -> dict[str, Any]:
        """None apply: the wrapper has no API, key, timeout or reply settings of its own (the wrapped
        model's are used), and its keyword arguments are the confidence scorer's."""
        return {}


def test_a_reply_carries_its_confidence_and_the_model_is_left_alone() -> None:
    inner = Arithmetic()
    model = with_confidence(inner, n_samples=3, p_true=False)
    reply = model.invoke("What is 6 times 7?")
    assert reply.content == "Answer: 42\nConfidence: 90%"
    confidence = reply.response_metadata["confidence"]
    assert confidence["answer"] == "42" and confidence["value"] is not None and confidence["n_samples"] == 3
    streamed = list(model.stream("What is 6 times 7?"))
    assert "".join(str(c.content) for c in streamed) == reply.content
    assert streamed[-1].response_metadata["confidence"]["answer"] == "42"
    assert [r.content for r in model.batch(["What is 6 times 7?"] * 2)] == [reply.content] * 2
    assert inner.model_dump() == Arithmetic().model_dump()


def test_a_tool_call_passes_through_with_no_confidence_and_an_agent_uses_the_tool() -> None:
    model = with_confidence(Arithmetic(), n_samples=2, p_true=False)
    call = model.bind_tools([multiply]).invoke("What is 6 times 7?")
    assert call.tool_calls[0]["name"] == "multiply"
    assert call.response_metadata["confidence"]["value"] is None
    agent = create_react_agent(model, [multiply])
    state = agent.invoke({"messages": [("human", "What is 6 times 7?")]})
    assert any(isinstance(m, ToolMessage) and m.content == "42" for m in state["messages"])
    assert state["messages"][-1].response_metadata["confidence"]["answer"] == "42"


def test_structured_output_goes_through_the_wrapped_model() -> None:
    class Product(BaseModel):
        a: int
        b: int

    structured = with_confidence(Arithmetic(), n_samples=2, p_true=False).with_structured_output(Product)
    result = structured.invoke("Which two numbers make 42?")
    assert isinstance(result, Product) and (result.a, result.b) == (6, 7)


def test_settings_are_checked_when_the_model_is_made() -> None:
    with pytest.raises(ValueError, match="n_samples must be an integer >= 2"):
        ConfidenceChatModel(Arithmetic(), n_samples=1)
