"""``with_confidence``: any chat model's normal reply, plus how much to trust it.

A chat reply is free-form ("The capital of France is Paris, a city of ..."), while elicit's
signals are defined on short answers. So the reply itself is generated exactly as the user
asked (their model, their settings, their input), and the confidence comes from a second,
independent look at the same conversation:

1. ``n_samples`` short answers are drawn in ONE request, concurrently with the main reply,
   from the conversation with elicit's vanilla instruction in front: the instruction (after
   the conversation's own system text) as the system turn, elicit's few-shot turns, then the
   conversation's turns unchanged. The few-shot turns come first because a small model only
   keeps the ``Answer:/Confidence:`` format when it has just seen it; the conversation stays
   whole so that follow-ups ("when was he born?") are answered about the right subject.
2. The reply is tied to the samples by the short answer it states: the sampled answer whose
   normalized words occur in the reply (the earliest one if it names several). A reply that
   names none of them is scored as itself (its short form if it is short enough to have one),
   so its agreement with the samples is 0: asked again, the model never gave that answer.
   Every signal is then computed about that answer.
3. P(True) is asked about the whole reply, after the conversation that led to it: it is the
   reply the user reads, not a sampled paraphrase, that is being trusted.

The value is the fusion head's prediction when one is given, else
:func:`~elicit.chains.confidence.default_confidence`; ``low_trust`` is ``value < threshold``
(and True when no signal could be computed at all). The proxy (:mod:`elicit.apps.proxy`) scores
conversations with the same :class:`ConversationScorer`.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Awaitable, Callable, Iterator, Sequence
from typing import Any, TypeVar

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import (
    AIMessage,
    AIMessageChunk,
    BaseMessage,
    HumanMessage,
    SystemMessage,
    convert_to_messages,
)
from langchain_core.prompt_values import PromptValue
from langchain_core.runnables import RunnableConfig
from pydantic import BaseModel, ConfigDict, Field

from elicit.calibration.head import FusionHead
from elicit.chains.base import AsyncRunnable
from elicit.chains.confidence import run_setup, score_samples
from elicit.elicitation.matching import normalize_answer
from elicit.elicitation.parsing import parse_sample
from elicit.elicitation.prompts import PromptSet, render_answer
from elicit.elicitation.sampling import agenerate, ap_true, check_sampling
from elicit.model.loop import run_sync
from elicit.signals.consistency import group_answers
from elicit.types import Sample, Signals

T = TypeVar("T")
ChatInput = str | PromptValue | Sequence[Any]
"""What a chat model accepts: a string, a PromptValue, or a message list (messages, tuples, dicts)."""

STRATEGY = "vanilla"


class ConversationConfidence(BaseModel):
    """How much to trust one reply in a conversation (what ``response_metadata["confidence"]`` holds)."""

    model_config = ConfigDict(extra="forbid")

    value: float | None = Field(ge=0.0, le=1.0)
    source: str
    low_trust: bool
    threshold: float = Field(ge=0.0, le=1.0)
    answer: str | None
    n_samples: int
    signals: Signals

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON, signals included (``Signals.to_dict``)."""
        return self.model_dump(mode="json")


def conversation(value: ChatInput) -> list[BaseMessage]:
    """The messages of a chat-model input, validated for scoring (it needs a user turn)."""
    if isinstance(value, str):
        messages: list[BaseMessage] = [HumanMessage(content=value)]
    elif isinstance(value, PromptValue):
        messages = value.to_messages()
    elif isinstance(value, Sequence):
        messages = convert_to_messages(value)
    else:
        raise ValueError(f"input must be a string, a PromptValue or a message list, got {type(value).__name__}")
    if not any(isinstance(m, HumanMessage) for m in messages):
        raise ValueError("input has no user message: there is no question whose answer could be scored")
    return messages


def last_question(messages: Sequence[BaseMessage]) -> int:
    """Index of the conversation's last user turn: the question a reply answers."""
    return max(i for i, m in enumerate(messages) if isinstance(m, HumanMessage))


def stated_answer(reply: str, samples: Sequence[Sample]) -> str | None:
    """The sampled answer a free-form reply states, else the reply's own short form.

    Matching is on whole normalized words, with no length limit: a chat reply is a
    paragraph, and "Paris" is stated by "The capital is Paris, which ...". When the reply
    names several sampled answers, the one it names first is its answer.
    """
    words = f" {normalize_answer(reply)} "
    named = [
        (words.find(f" {group.key} "), -len(group.key), group.answer)
        for group in group_answers(samples)
        if f" {group.key} " in words
    ]
    if named:
        return min(named)[2]  # the first named; at one position, the longest ("New York City" over "New York")
    return parse_sample(reply, STRATEGY).answer


def check_settings(n_samples: int, temperature: float, max_tokens: int, threshold: float) -> None:
    """Reject scorer settings before any request is made, naming the argument.

    At least two samples are needed: the reply is judged by how many samples agree with it,
    and a single sample's own verbal confidence says nothing about a reply that differs from it.
    """
    if not isinstance(n_samples, int) or n_samples < 2:
        raise ValueError(f"n_samples must be an integer >= 2, got {n_samples!r}")
    check_sampling(n_samples, temperature, max_tokens)
    if not 0.0 <= threshold <= 1.0:
        raise ValueError(f"threshold must be in [0, 1], got {threshold}")


class ConversationScorer:
    """Confidence for the last reply of a conversation (see the module docstring for the method).

    ``llm`` is only called with per-call settings, never changed. Signals that need token
    logprobs (and P(True)) come back None, with a reason, from a model that returns none.
    """

    def __init__(
        self,
        llm: BaseChatModel,
        *,
        n_samples: int = 5,
        temperature: float = 0.7,
        max_tokens: int = 48,
        p_true: bool = True,
        fusion: FusionHead | None = None,
        threshold: float = 0.5,
        prompts: PromptSet | None = None,
    ) -> None:
        if not isinstance(llm, BaseChatModel):
            raise ValueError(f"chat_model must be a LangChain BaseChatModel, got {type(llm).__name__}")
        check_settings(n_samples, temperature, max_tokens, threshold)
        self.llm = llm
        self.n_samples = n_samples
        self.temperature = temperature
        self.max_tokens = max_tokens
        self.p_true = p_true
        self.fusion = fusion
        self.threshold = threshold
        self.prompts = prompts or PromptSet()
        if fusion is not None:
            fusion.check_setup(
                run_setup(
                    llm,
                    self.prompts,
                    STRATEGY,
                    n_samples=n_samples,
                    temperature=temperature,
                    max_tokens=max_tokens,
                    p_true=p_true,
                )  # fmt: skip
            )

    def sample_messages(self, messages: Sequence[BaseMessage]) -> list[BaseMessage]:
        """Instruction system turn, few-shot turns, then the conversation's other turns unchanged."""
        system = [m.text for m in messages if isinstance(m, SystemMessage) and m.text.strip()]
        turns: list[BaseMessage] = [SystemMessage(content="\n\n".join([*system, self.prompts.instruction(STRATEGY)]))]
        for example in self.prompts.examples:
            turns += [
                HumanMessage(content=example.question),
                AIMessage(content=render_answer(STRATEGY, example, self.prompts.k)),
            ]
        return turns + [m for m in messages if not isinstance(m, SystemMessage)]

    async def asample(self, messages: Sequence[BaseMessage]) -> list[Sample]:
        """``n_samples`` short answers to the conversation's last question, in one request."""
        generations = await agenerate(
            self.llm,
            self.sample_messages(messages),
            n=self.n_samples,
            temperature=self.temperature,
            max_tokens=self.max_tokens,
        )
        return [parse_sample(g.text, STRATEGY, tokens=g.tokens, finish_reason=g.finish_reason) for g in generations]

    async def _p_true(self, messages: Sequence[BaseMessage], reply: str) -> tuple[float | None, str]:
        if not self.p_true:
            return None, "P(True) not computed"
        if not reply.strip():
            return None, "the reply is empty"
        last = last_question(messages)
        prompt = [*messages[:last], *self.prompts.self_eval_messages(messages[last].text, reply.strip())]
        value, reason = await ap_true(self.llm, prompt)
        return value, reason or ""

    async def ascore(
        self, messages: Sequence[BaseMessage], reply: str, samples: list[Sample]
    ) -> ConversationConfidence:
        """Score ``reply`` (the answer to the conversation ``messages``) against ``samples``."""
        answer = stated_answer(reply, samples)
        scored = answer if answer is not None else (reply.strip() or None)
        p_true, reason = await self._p_true(messages, reply)
        question = messages[last_question(messages)].text
        signals, value, source = score_samples(
            samples, scored, p_true=p_true, p_true_reason=reason, fusion=self.fusion, question=question
        )
        return ConversationConfidence(
            value=value,
            source=source,
            low_trust=value is None or value < self.threshold,
            threshold=self.threshold,
            answer=answer,
            n_samples=len(samples),
            signals=signals,
        )

    async def assess(
        self, messages: Sequence[BaseMessage], main: Awaitable[T], replies: Callable[[T], list[str]]
    ) -> tuple[T, list[ConversationConfidence]]:
        """Run ``main`` (the reply request) while the samples are drawn, then score each of its replies.

        The samples do not depend on the reply, so drawing them alongside it hides their latency;
        several replies (choices) share them and differ only in the answer scored and P(True).
        """
        sampling = asyncio.ensure_future(self.asample(messages))
        try:
            result = await main
        except BaseException:
            sampling.cancel()
            raise
        samples = await sampling
        scores = await asyncio.gather(*(self.ascore(messages, reply, samples) for reply in replies(result)))
        return result, list(scores)


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
            sampling.cancel()
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


def with_confidence(
    chat_model: BaseChatModel,
    *,
    n_samples: int = 5,
    temperature: float = 0.7,
    max_tokens: int = 48,
    p_true: bool = True,
    fusion: FusionHead | None = None,
    threshold: float = 0.5,
    prompts: PromptSet | None = None,
    max_concurrency: int = 8,
) -> ConfidenceWrapper:
    """Wrap ``chat_model`` so every reply carries ``response_metadata["confidence"]``.

    ``n_samples``, ``temperature`` and ``max_tokens`` apply to the confidence samples only;
    the reply itself uses the model's own settings. ``low_trust`` flags replies whose
    confidence is below ``threshold``. Works anywhere a chat model does, e.g.
    ``ChatPromptTemplate.from_messages([...]) | with_confidence(llm)``.
    """
    scorer = ConversationScorer(
        chat_model,
        n_samples=n_samples,
        temperature=temperature,
        max_tokens=max_tokens,
        p_true=p_true,
        fusion=fusion,
        threshold=threshold,
        prompts=prompts,
    )
    return ConfidenceWrapper(scorer, max_concurrency=max_concurrency)
