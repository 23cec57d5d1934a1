"""``ConversationScorer``: how much to trust the last reply of a conversation.

A chat reply is free-form ("The capital of France is Paris, a city of ..."), while elicit's
signals are defined on short answers. So the reply itself is generated exactly as the user
asked (their model, their settings, their input), and the confidence comes from a second,
independent look at the same conversation:

1. ``n_samples`` short answers are drawn in ONE request, concurrently with the main reply,
   from the conversation with elicit's vanilla instruction in front: the instruction (after
   the conversation's own system text) as the system turn, elicit's few-shot turns, then the
   conversation's turns unchanged. The few-shot turns come first because a small model only
   keeps the ``Answer:/Confidence:`` format when it has just seen it; the conversation stays
   whole so that follow-ups ("when was he born?") are answered about the right subject. The
   last user turn is the question; earlier turns are its context.
2. The claim the reply states is read from the reply itself
   (:func:`~elicit.elicitation.claims.reply_claim`), and every sample is compared with it by
   the one notion of "same answer" (question-aware). A reply that states no claim (garbled,
   evasive, negated) gets ``value: null`` with the reason, never the confidence of an answer
   it does not give.
3. P(True) is asked about the whole reply, after the conversation that led to it: it is the
   reply the user reads, not a sampled paraphrase, that is being trusted.

The value is the fusion head's prediction when one is given, else
:func:`~elicit.chains.confidence.default_confidence`; ``low_trust`` is ``value < threshold``
(and True when there is no value). ``with_confidence`` and the proxy both score with this class.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import BaseMessage, HumanMessage, SystemMessage, convert_to_messages
from langchain_core.prompt_values import PromptValue
from pydantic import BaseModel, ConfigDict, Field

from elicit import defaults
from elicit.chains.confidence import run_setup, score_samples
from elicit.elicitation.claims import reply_claim
from elicit.elicitation.parsing import parse_sample
from elicit.elicitation.prompts import PromptSet
from elicit.elicitation.sampling import agenerate, ap_true, check_sampling, request_seed
from elicit.elicitation.strategies import strategy as get_strategy
from elicit.model.catalogue import few_shot_for
from elicit.model.loop import discard
from elicit.signals.groups import group_answers
from elicit.types import Sample, Signals

if TYPE_CHECKING:  # scikit-learn loads only when a fitted head is actually used
    from elicit.calibration.certificate import Certificate
    from elicit.calibration.head import FusionHead

T = TypeVar("T")
ChatInput = str | PromptValue | Sequence[Any]
"""What a chat model accepts: a string, a PromptValue, or a message list (messages, tuples, dicts)."""

STRATEGY = "vanilla"


class ConversationConfidence(BaseModel):
    """How much to trust one reply in a conversation (what ``response_metadata["confidence"]`` holds).

    ``answer`` is the claim that was scored, read from the reply, and ``statement`` the
    sentence it was read from; with no claim both are None, ``value`` is None and ``reason``
    says why. ``question`` is the user turn the reply answers. With a certificate, ``certified``
    says whether the value reaches its threshold, ``certificate`` holds its threshold, risk α
    and δ, and ``low_trust`` means "not certified"; without one, it means ``value < threshold``.
    """

    model_config = ConfigDict(extra="forbid")

    value: float | None = Field(ge=0.0, le=1.0)
    source: str
    low_trust: bool
    threshold: float = Field(ge=0.0, le=1.0)
    question: str
    answer: str | None
    statement: str | None = None
    reason: str | None = None
    n_samples: int
    signals: Signals
    samples: list[str] = Field(default_factory=list)
    certified: bool | None = None
    certificate: dict[str, Any] | None = None

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


def sample_budget(max_tokens: int | None) -> int:
    """Tokens per confidence sample: as given, else the budget of the strategy the samples use."""
    return get_strategy(STRATEGY).max_tokens if max_tokens is None else max_tokens


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
    ``seed`` seeds the samples of each conversation (derived per conversation with
    :func:`~elicit.elicitation.sampling.request_seed`), so the same conversation gets the
    same samples; None leaves them unseeded.
    """

    def __init__(
        self,
        llm: BaseChatModel,
        *,
        n_samples: int = defaults.N_SAMPLES,
        temperature: float = defaults.TEMPERATURE,
        max_tokens: int | None = None,
        p_true: bool = True,
        fusion: FusionHead | None = None,
        threshold: float = defaults.LOW_TRUST,
        prompts: PromptSet | None = None,
        seed: int | None = defaults.SEED,
        certificate: Certificate | None = None,
    ) -> None:
        if not isinstance(llm, BaseChatModel):
            raise ValueError(f"chat_model must be a LangChain BaseChatModel, got {type(llm).__name__}")
        max_tokens = sample_budget(max_tokens)
        check_settings(n_samples, temperature, max_tokens, threshold)
        self.llm = llm
        self.n_samples = n_samples
        self.temperature = temperature
        self.max_tokens = max_tokens
        self.p_true = p_true
        self.fusion = fusion
        self.threshold = threshold
        self.prompts = prompts or PromptSet(n_examples=few_shot_for(getattr(llm, "model_name", None)))
        self.seed = seed
        self.certificate = certificate
        setup = run_setup(
            llm, self.prompts, STRATEGY, n_samples=n_samples, temperature=temperature, max_tokens=max_tokens,
            p_true=p_true, seed=seed,
        )  # fmt: skip
        if fusion is not None:
            fusion.check_setup(setup)
        if certificate is not None:
            certificate.check(setup, fusion)

    def sample_messages(self, messages: Sequence[BaseMessage]) -> list[BaseMessage]:
        """Instruction system turn, few-shot turns, then the conversation's other turns unchanged."""
        system = [m.text for m in messages if isinstance(m, SystemMessage) and m.text.strip()]
        instruction = SystemMessage(content="\n\n".join([*system, self.prompts.instruction(STRATEGY)]))
        return [
            instruction,
            *self.prompts.example_turns(STRATEGY),
            *(m for m in messages if not isinstance(m, SystemMessage)),
        ]

    async def asample(self, messages: Sequence[BaseMessage]) -> list[Sample]:
        """``n_samples`` short answers to the conversation's last question, in one request."""
        turns = [(type(m).__name__, m.text) for m in messages]
        generations = await agenerate(
            self.llm, self.sample_messages(messages), n=self.n_samples, temperature=self.temperature,
            max_tokens=self.max_tokens, seed=request_seed(self.seed, "conversation", turns),
        )  # fmt: skip
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
        question = messages[last_question(messages)].text
        claim = reply_claim(reply, question, [group.answer for group in group_answers(samples, question)])
        p_true, p_true_reason = await self._p_true(messages, reply) if claim.answer else (None, "")
        signals, value, source = score_samples(
            samples, claim.answer, p_true=p_true, p_true_reason=p_true_reason or claim.reason, fusion=self.fusion,
            question=question,
        )  # fmt: skip
        if claim.answer is None:
            value, source = None, "no claim"
        certified = None if self.certificate is None else self.certificate.certifies(value)
        return ConversationConfidence(
            value=value,
            source=source,
            low_trust=value is None or value < self.threshold if certified is None else not certified,
            certified=certified,
            certificate=None if self.certificate is None else self.certificate.summary(),
            threshold=self.threshold,
            question=question,
            answer=claim.answer,
            statement=claim.sentence,
            reason=claim.reason,
            n_samples=len(samples),
            signals=signals,
            samples=[sample.answer or "" for sample in samples],
        )

    def start_sampling(self, messages: Sequence[BaseMessage]) -> asyncio.Future[list[Sample]]:
        """Start drawing the samples of a conversation, so they are drawn while its reply is written."""
        return asyncio.ensure_future(self.asample(messages))

    async def assess(
        self, messages: Sequence[BaseMessage], main: Awaitable[T], replies: Callable[[T], list[str]]
    ) -> tuple[T, list[ConversationConfidence]]:
        """Run ``main`` (the reply request) while the samples are drawn, then score each of its replies.

        The samples do not depend on the reply, so drawing them alongside it hides their latency;
        several replies (choices) share them and differ only in the claim scored and P(True).
        """
        sampling = self.start_sampling(messages)
        try:
            result = await main
        except BaseException:
            discard(sampling)
            raise
        samples = await sampling
        scores = await asyncio.gather(*(self.ascore(messages, reply, samples) for reply in replies(result)))
        return result, list(scores)
