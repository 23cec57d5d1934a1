"""``ConfidenceChatModel``: a real chat model whose replies carry how much to trust them.

It is a LangChain ``BaseChatModel`` that delegates every call to the model it wraps (so
``invoke``, ``stream``, ``batch``, ``bind_tools``, ``with_structured_output`` and LangGraph's
prebuilt agents all work as with that model) and adds ``response_metadata["confidence"]``:
the score of :class:`~elicit.chains.conversation.ConversationScorer`, from samples drawn
alongside the reply and compared with the claim the reply states, the scorer the proxy uses.
The wrapped model is never changed: every setting goes to the call, never to the model.
"""

from __future__ import annotations

import json
from collections.abc import AsyncGenerator, AsyncIterator, Iterator, Sequence
from typing import Any, cast

from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel, LanguageModelInput
from langchain_core.language_models.base import LangSmithParams
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage, message_chunk_to_message
from langchain_core.messages.tool import tool_call_chunk
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from langchain_core.runnables import Runnable
from langchain_core.utils.function_calling import convert_to_openai_tool
from pydantic import ConfigDict, Field, PrivateAttr

from elicit.chains.conversation import ConversationConfidence, ConversationScorer
from elicit.model.loop import discard, run_sync

TOOL_CALL = "the reply is a tool call: it states no answer to score"


def _scored(message: BaseMessage, confidence: ConversationConfidence | None) -> dict[str, Any]:
    """The reply's response metadata with its confidence added (a tool call's says why there is none)."""
    added = confidence.to_dict() if confidence is not None else {"value": None, "reason": TOOL_CALL}
    return {**message.response_metadata, "confidence": added}


class ConfidenceChatModel(BaseChatModel):
    """The wrapped ``llm``'s replies, each with ``response_metadata["confidence"]``.

    ``settings`` are :class:`~elicit.chains.conversation.ConversationScorer`'s (``n_samples``,
    ``temperature``, ``max_tokens``, ``p_true``, ``fusion``, ``threshold``, ``prompts``, ``seed``,
    ``certificate``). ``stop`` sequences go to every reply's call, and ``streaming`` makes
    ``invoke`` stream from the wrapped model; every other reply setting is the wrapped model's
    own. A reply that calls a tool has no answer to score: it passes through with a confidence
    of None and the reason.
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)

    llm: BaseChatModel
    settings: dict[str, Any] = Field(default_factory=dict)
    stop: list[str] | None = None
    streaming: bool = False
    _scorer: ConversationScorer = PrivateAttr()

    def __init__(
        self, llm: BaseChatModel, *, stop: list[str] | None = None, streaming: bool | None = None, **settings: Any
    ) -> None:
        # Only a ``streaming`` the caller set is passed on: LangChain reads an explicit False as
        # "never stream", which would turn ``stream()`` into one whole message.
        chosen: dict[str, Any] = {} if streaming is None else {"streaming": streaming}
        super().__init__(llm=llm, settings=settings, stop=stop, **chosen)  # type: ignore[call-arg]

    def model_post_init(self, context: Any) -> None:
        self._scorer = ConversationScorer(self.llm, **self.settings)

    @property
    def scorer(self) -> ConversationScorer:
        """What scores each reply (it draws its samples from the wrapped model)."""
        return self._scorer

    @property
    def _llm_type(self) -> str:
        return "elicit-confidence"

    def _get_ls_params(self, stop: list[str] | None = None, **kwargs: Any) -> LangSmithParams:
        params = self.llm._get_ls_params(stop=stop, **kwargs)
        params["ls_provider"] = f"elicit+{params.get('ls_provider', 'unknown')}"
        return params

    async def _agenerate(
        self, messages: list[BaseMessage], stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None, **kwargs: Any,
    ) -> ChatResult:  # fmt: skip
        if self.streaming:
            reply_chunks = [chunk async for chunk in self._astream(messages, stop, None, **kwargs)]
            return ChatResult(generations=[_joined(reply_chunks)])
        main = self.llm.ainvoke(messages, stop=stop or self.stop, **kwargs)
        reply, scores = await self._scorer.assess(messages, main, lambda r: [] if r.tool_calls else [r.text])
        scored = reply.model_copy(update={"response_metadata": _scored(reply, scores[0] if scores else None)})
        return ChatResult(generations=[ChatGeneration(message=scored)])

    def _generate(
        self, messages: list[BaseMessage], stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None, **kwargs: Any,
    ) -> ChatResult:  # fmt: skip
        return run_sync(self._agenerate(messages, stop, None, **kwargs))

    async def _astream(
        self, messages: list[BaseMessage], stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None, **kwargs: Any,
    ) -> AsyncIterator[ChatGenerationChunk]:  # fmt: skip
        """The wrapped model's chunks as they arrive, then one empty chunk carrying the confidence."""
        sampling = self._scorer.start_sampling(messages)
        reply: AIMessageChunk | None = None
        try:
            async for chunk in self.llm.astream(messages, stop=stop or self.stop, **kwargs):
                piece = _as_chunk(chunk)
                reply = piece if reply is None else reply + piece
                yield ChatGenerationChunk(message=piece)
            samples = await sampling
        finally:
            discard(sampling)
        confidence = None
        if reply is None or not reply.tool_call_chunks:
            confidence = await self._scorer.ascore(messages, reply.text if reply is not None else "", samples)
        # Marked as the last chunk, so LangChain adds no empty one after the confidence.
        final = AIMessageChunk(content="", id=reply.id if reply is not None else None, chunk_position="last")
        yield ChatGenerationChunk(message=final.model_copy(update={"response_metadata": _scored(final, confidence)}))

    def _stream(
        self, messages: list[BaseMessage], stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None, **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:  # fmt: skip
        """Synchronous twin of :meth:`_astream`: each chunk is pulled on elicit's background loop."""
        chunks = cast(AsyncGenerator[ChatGenerationChunk, None], self._astream(messages, stop, None, **kwargs))

        async def pull() -> ChatGenerationChunk:
            return await anext(chunks)

        try:
            while True:
                try:
                    yield run_sync(pull())
                except StopAsyncIteration:
                    return
        finally:
            run_sync(chunks.aclose())

    def bind_tools(
        self, tools: Sequence[Any], *, tool_choice: str | dict[str, Any] | None = None, **kwargs: Any
    ) -> Runnable[LanguageModelInput, AIMessage]:
        """Tools in OpenAI's format, passed to the wrapped model with every call."""
        formatted = [convert_to_openai_tool(tool) for tool in tools]
        if tool_choice is not None:
            kwargs["tool_choice"] = tool_choice
        return self.bind(tools=formatted, **kwargs)


def _as_chunk(message: BaseMessage) -> AIMessageChunk:
    """A streamed piece as a chunk (a model without streaming of its own yields its whole message)."""
    if isinstance(message, AIMessageChunk):
        return message
    calls = getattr(message, "tool_calls", [])
    return AIMessageChunk(
        content=message.content, id=message.id, response_metadata=message.response_metadata,
        additional_kwargs=message.additional_kwargs,
        tool_call_chunks=[
            tool_call_chunk(name=call["name"], args=json.dumps(call["args"]), id=call.get("id"), index=index)
            for index, call in enumerate(calls)
        ],
    )  # fmt: skip


def _joined(chunks: Sequence[ChatGenerationChunk]) -> ChatGeneration:
    """A streamed reply's chunks joined into one generation (the last one carries the confidence)."""
    total = chunks[0]
    for chunk in chunks[1:]:
        total += chunk
    return ChatGeneration(message=message_chunk_to_message(total.message))


def with_confidence(chat_model: BaseChatModel, **settings: Any) -> ConfidenceChatModel:
    """``chat_model`` wrapped so that every reply carries ``response_metadata["confidence"]``.

    ``settings`` are :class:`~elicit.chains.conversation.ConversationScorer`'s: ``n_samples``,
    ``temperature`` and ``max_tokens`` of the confidence samples (the reply keeps the model's
    own settings), ``p_true``, ``fusion``, ``threshold`` (``low_trust`` below it), ``prompts``,
    ``seed`` and ``certificate``. The result is a chat model: use it wherever one is expected,
    e.g. ``ChatPromptTemplate.from_messages([...]) | with_confidence(llm)``.
    """
    return ConfidenceChatModel(chat_model, **settings)
