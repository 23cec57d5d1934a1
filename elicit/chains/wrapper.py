"""``with_confidence``: any chat model's normal reply, plus how much to trust it.

The reply is the model's own, generated as asked; the confidence comes from
:class:`~elicit.chains.conversation.ConversationScorer` (samples drawn alongside the reply,
compared with the claim the reply states), the same scorer the proxy uses.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Iterator
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.runnables import RunnableConfig

from elicit.chains.base import AsyncRunnable
from elicit.chains.conversation import ChatInput, ConversationConfidence, ConversationScorer, conversation
from elicit.model.loop import discard, run_sync


def _reply_text(message: BaseMessage) -> list[str]:
    return [message.text]


def _with_confidence(message: AIMessage, confidence: ConversationConfidence) -> AIMessage:
    """A copy of ``message`` carrying the confidence (the model's own message is left as it was)."""
    metadata = {**message.response_metadata, "confidence": confidence.to_dict()}
    return message.model_copy(update={"response_metadata": metadata})


class ConfidenceWrapper(AsyncRunnable[ChatInput, AIMessage]):
    """A chat model whose replies carry ``response_metadata["confidence"]``.

    Takes what the chat model takes and returns its normal ``AIMessage``; per-call kwargs go
    to the reply's request only. Streaming yields the model's chunks as they come, then one
    empty chunk whose ``response_metadata["confidence"]`` holds the confidence.
    """

    def __init__(self, scorer: ConversationScorer, max_concurrency: int = 8) -> None:
        if max_concurrency < 1:
            raise ValueError(f"max_concurrency must be >= 1, got {max_concurrency}")
        self.scorer = scorer
        self.max_concurrency = max_concurrency

    @property
    def chat_model(self) -> BaseChatModel:
        """The wrapped model: it writes the reply and draws the confidence samples."""
        return self.scorer.llm

    @property
    def InputType(self) -> Any:  # noqa: N802  (LangChain's name)
        return ChatInput

    @property
    def OutputType(self) -> type[AIMessage]:  # noqa: N802
        return AIMessage

    async def ainvoke(self, input: ChatInput, config: RunnableConfig | None = None, **kwargs: Any) -> AIMessage:
        """The model's reply to ``input``, with its confidence in ``response_metadata``."""
        messages = conversation(input)
        main = self.chat_model.ainvoke(input, config, **kwargs)
        reply, [confidence] = await self.scorer.assess(messages, main, _reply_text)
        return _with_confidence(reply, confidence)

    async def astream(
        self, input: ChatInput, config: RunnableConfig | None = None, **kwargs: Any
    ) -> AsyncGenerator[AIMessageChunk, None]:
        """The model's chunks as they arrive, then a final chunk carrying the confidence."""
        messages = conversation(input)
        sampling = asyncio.ensure_future(self.scorer.asample(messages))
        parts: list[str] = []
        chunk_id: str | None = None
        try:
            async for chunk in self.chat_model.astream(input, config, **kwargs):
                parts.append(chunk.text)
                chunk_id = chunk.id or chunk_id
                yield chunk
            samples = await sampling
        finally:
            discard(sampling)
        confidence = await self.scorer.ascore(messages, "".join(parts), samples)
        yield AIMessageChunk(content="", id=chunk_id, response_metadata={"confidence": confidence.to_dict()})

    def stream(self, input: ChatInput, config: RunnableConfig | None = None, **kwargs: Any) -> Iterator[AIMessageChunk]:
        """Synchronous twin of :meth:`astream`: each chunk is pulled on elicit's background loop."""
        chunks = self.astream(input, config, **kwargs)

        async def pull() -> AIMessageChunk:
            return await anext(chunks)

        try:
            while True:
                try:
                    yield run_sync(pull())
                except StopAsyncIteration:
                    return
        finally:
            run_sync(chunks.aclose())


def with_confidence(chat_model: BaseChatModel, *, max_concurrency: int = 8, **settings: Any) -> ConfidenceWrapper:
    """Wrap ``chat_model`` so every reply carries ``response_metadata["confidence"]``.

    ``settings`` are :class:`~elicit.chains.conversation.ConversationScorer`'s: ``n_samples``,
    ``temperature`` and ``max_tokens`` of the confidence samples (the reply keeps the model's
    own settings), ``p_true``, ``fusion``, ``threshold`` (``low_trust`` below it), ``prompts``
    and ``seed``. Works anywhere a chat model does, e.g.
    ``ChatPromptTemplate.from_messages([...]) | with_confidence(llm)``.
    """
    return ConfidenceWrapper(ConversationScorer(chat_model, **settings), max_concurrency=max_concurrency)
