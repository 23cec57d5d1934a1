"""``RetrievalRouter``: retrieve passages only for the questions the model is unsure about.

Retrieval costs a second, longer prompt and can distract a model from an answer it already
knew; skipping it for questions the model knows saves both. Two routing signals decide:

* **Thrust** (Zhao et al. 2023) scores the question's embedding against clusters of known
  questions. It needs no generation, so a question Thrust trusts is answered in ONE pass
  and an untrusted one goes straight to the retrieval-augmented pass.
* **Confidence** is the chain's own confidence in a first, retrieval-free answer; a low one
  triggers a second pass with passages. It sees the actual answer, but always pays a pass.

"both" retrieves when either signal is below its threshold (Thrust is checked first, so a
question Thrust already sends to retrieval skips the first pass too).
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Mapping, Sequence
from typing import Any, Literal, Protocol

import numpy as np
from langchain_core.retrievers import BaseRetriever
from langchain_core.runnables import RunnableConfig
from pydantic import BaseModel, ConfigDict, Field

from elicit.chains.base import AsyncRunnable
from elicit.chains.confidence import ConfidenceChain, QuestionInput, question_text
from elicit.routing.thrust import ThrustScorer, threshold_for_budget
from elicit.types import Elicitation

RoutingSignal = Literal["thrust", "confidence", "both"]
ROUTING_SIGNALS: tuple[str, ...] = ("thrust", "confidence", "both")

MISSING_CONFIDENCE = -1.0
"""Rank value of a missing confidence (no answer could be parsed): below every real
confidence, so such a question is the first to be retrieved for."""


class QueryEmbeddings(Protocol):
    """The part of LangChain's ``Embeddings`` the router uses (``MiniLMEmbeddings`` is one)."""

    def embed_documents(self, texts: list[str]) -> list[list[float]]: ...


class RetrievedPassage(BaseModel):
    """One passage given to the model, with the retriever's id and relevance score."""

    model_config = ConfigDict(extra="forbid")

    id: str | None
    title: str | None = None
    text: str
    score: float | None = None


class RoutedAnswer(BaseModel):
    """The routed answer to one question, and why it was (not) retrieved for.

    ``final`` is the answer to trust (with its own confidence, computed with the passages
    when ``retrieved``). ``no_retrieval`` is the retrieval-free answer whenever one was made
    (always for confidence routing; never for a question Thrust sent straight to retrieval).
    ``passages`` are in prompt order: the most relevant one is LAST.
    """

    model_config = ConfigDict(extra="forbid")

    question: str
    final: Elicitation
    retrieved: bool
    signal: RoutingSignal
    thrust_score: float | None = None
    thrust_threshold: float | None = None
    confidence: float | None = None
    confidence_threshold: float | None = None
    passages: list[RetrievedPassage] = Field(default_factory=list)
    no_retrieval: Elicitation | None = None
    timings: dict[str, float] = Field(default_factory=dict)

    @property
    def answer(self) -> str | None:
        return self.final.answer

    def to_dict(self) -> dict[str, Any]:
        return self.model_dump(mode="json")


async def aretrieve_passages(retriever: BaseRetriever, question: str, k: int) -> list[RetrievedPassage]:
    """The top ``k`` passages for ``question``, most relevant LAST.

    Small models tend to copy from the passage they read last, so the best match goes
    nearest the question. Retrievers return best-first; the order is reversed here.
    """
    documents = (await retriever.ainvoke(question))[:k]
    return [
        RetrievedPassage(
            id=doc.id or doc.metadata.get("id"),
            title=doc.metadata.get("title"),
            text=doc.page_content,
            score=doc.metadata.get("score"),
        )
        for doc in reversed(documents)
    ]


async def aanswer_with_passages(
    chain: ConfidenceChain, retriever: BaseRetriever, input: QuestionInput, k: int
) -> tuple[list[RetrievedPassage], Elicitation]:
    """Retrieve the top ``k`` passages for the question and answer it from them (one chain pass)."""
    base = dict(input) if isinstance(input, Mapping) else {"question": question_text(input)}
    passages = await aretrieve_passages(retriever, question_text(input), k)
    return passages, await chain.ainvoke({**base, "context": [p.text for p in passages]})


def confidence_rank(confidence: float | None) -> float:
    """The value a confidence is compared with thresholds as (see ``MISSING_CONFIDENCE``)."""
    return MISSING_CONFIDENCE if confidence is None else confidence


def _below(value: float | None, threshold: float | None) -> bool:
    """True when ``value`` is strictly below ``threshold``; both must be set by then."""
    if value is None or threshold is None:
        raise ValueError("a routing signal or its threshold is missing")
    return value < threshold


class RetrievalRouter(AsyncRunnable[QuestionInput, RoutedAnswer]):
    """Answer with a ``ConfidenceChain``, adding retrieved passages only when a signal is low.

    A question is retrieved for when its signal is strictly below the threshold (the
    convention of :func:`elicit.routing.thrust.threshold_for_budget`). Thresholds are set directly
    or fitted for a retrieval budget with :meth:`fit_threshold`. The retrieval-augmented
    answer goes through the same chain, so it carries its own confidence.
    """

    def __init__(
        self,
        chain: ConfidenceChain,
        retriever: BaseRetriever,
        *,
        signal: RoutingSignal = "thrust",
        scorer: ThrustScorer | None = None,
        embeddings: QueryEmbeddings | None = None,
        thrust_threshold: float | None = None,
        confidence_threshold: float | None = None,
        k: int = 2,
    ) -> None:
        if signal not in ROUTING_SIGNALS:
            raise ValueError(f"signal must be one of {', '.join(ROUTING_SIGNALS)}; got {signal!r}")
        if signal in ("thrust", "both"):
            if scorer is None:
                raise ValueError(f"signal {signal!r} needs scorer: a fitted ThrustScorer")
            if embeddings is None:
                raise ValueError(f"signal {signal!r} needs embeddings to embed the question for the ThrustScorer")
            if scorer.centroids is None:
                raise ValueError("scorer is not fitted: call ThrustScorer.fit() or ThrustScorer.load() first")
        if k < 1:
            raise ValueError(f"k (passages per retrieved question) must be >= 1, got {k}")
        for name, value in (("thrust_threshold", thrust_threshold), ("confidence_threshold", confidence_threshold)):
            if value is not None and math.isnan(value):
                raise ValueError(f"{name} must be a number, got NaN")
        self.chain = chain
        self.retriever = retriever
        self.signal: RoutingSignal = signal
        self.scorer = scorer
        self.embeddings = embeddings
        self.thrust_threshold = thrust_threshold
        self.confidence_threshold = confidence_threshold
        self.k = k
        self.max_concurrency = chain.max_concurrency

    @property
    def uses_thrust(self) -> bool:
        return self.signal in ("thrust", "both")

    @property
    def uses_confidence(self) -> bool:
        return self.signal in ("confidence", "both")

    # -- signals and thresholds -------------------------------------------------------------

    def thrust_scores(self, questions: Sequence[str]) -> np.ndarray:
        """Thrust score of each question (embedding + a few dot products; no generation)."""
        if self.scorer is None or self.embeddings is None:
            raise ValueError(f"signal {self.signal!r} has no Thrust scorer; build the router with signal 'thrust'")
        return self.scorer.score(np.asarray(self.embeddings.embed_documents(list(questions)), dtype=np.float64))

    def fit_threshold(
        self,
        questions_or_scores: Sequence[str] | Sequence[float | None] | np.ndarray,
        budget: float,
        *,
        signal: Literal["thrust", "confidence"] | None = None,
    ) -> float:
        """Set the threshold so that at most ``budget`` (a fraction in [0, 1]) of these
        calibration questions would be retrieved for, and return it.

        Give questions (their signal is computed: Thrust costs an embedding each, confidence
        costs a full pass of the chain each) or precomputed signal values (a None confidence
        counts as ``MISSING_CONFIDENCE``). Held-out questions give an honest threshold;
        the questions Thrust was fitted on score higher than new ones would. With signal
        "both", name which threshold to fit; the two thresholds together can retrieve for up
        to the sum of their budgets.
        """
        if not 0.0 <= budget <= 1.0:
            raise ValueError(f"budget must be a number in [0, 1], got {budget!r}")
        target = signal or self.signal
        if target == "both" or target not in ROUTING_SIGNALS:
            raise ValueError("signal must be 'thrust' or 'confidence' (which threshold of a 'both' router to fit)")
        if (target == "thrust" and not self.uses_thrust) or (target == "confidence" and not self.uses_confidence):
            raise ValueError(f"signal {target!r} is not used by a router with signal {self.signal!r}")
        values = list(questions_or_scores)
        if not values:
            raise ValueError("questions_or_scores must not be empty")
        if all(isinstance(v, str) for v in values):
            questions = [question_text(v) for v in values]
            if target == "thrust":
                scores = self.thrust_scores(questions)
            else:
                scores = np.array(
                    [confidence_rank(e.confidence) for e in self.chain.batch(list[QuestionInput](questions))]
                )
        elif any(isinstance(v, str) for v in values):
            raise ValueError("questions_or_scores must be all questions or all numbers, not a mix")
        else:
            scores = np.array([confidence_rank(v) if target == "confidence" else v for v in values], dtype=float)
        threshold = threshold_for_budget(scores, budget)
        if target == "thrust":
            self.thrust_threshold = threshold
        else:
            self.confidence_threshold = threshold
        return threshold

    def _check_thresholds(self) -> None:
        if self.uses_thrust and self.thrust_threshold is None:
            raise ValueError("thrust_threshold is not set: pass it or call fit_threshold(..., signal='thrust')")
        if self.uses_confidence and self.confidence_threshold is None:
            raise ValueError("confidence_threshold is not set: pass it or call fit_threshold(..., signal='confidence')")

    # -- routing ----------------------------------------------------------------------------

    async def _route(self, input: QuestionInput, thrust_score: float | None) -> RoutedAnswer:
        question = question_text(input)
        base = dict(input) if isinstance(input, Mapping) else {"question": question}
        started = time.perf_counter()
        retrieve = self.uses_thrust and _below(thrust_score, self.thrust_threshold)
        first: Elicitation | None = None
        if not retrieve and self.uses_confidence:
            first = await self.chain.ainvoke(base)
            retrieve = _below(confidence_rank(first.confidence), self.confidence_threshold)
        passages: list[RetrievedPassage] = []
        if retrieve:
            passages, final = await aanswer_with_passages(self.chain, self.retriever, base, self.k)
        else:
            final = first if first is not None else await self.chain.ainvoke(base)
        return RoutedAnswer(
            question=question,
            final=final,
            retrieved=retrieve,
            signal=self.signal,
            thrust_score=thrust_score,
            thrust_threshold=self.thrust_threshold if self.uses_thrust else None,
            confidence=first.confidence if first is not None else None,
            confidence_threshold=self.confidence_threshold if self.uses_confidence else None,
            passages=passages,
            no_retrieval=first,
            timings={"total_s": time.perf_counter() - started},
        )

    async def ainvoke(self, input: QuestionInput, config: RunnableConfig | None = None, **kwargs: Any) -> RoutedAnswer:
        """Answer one question (a string or a ConfidenceChain input mapping), retrieving if unsure."""
        [result] = await self.abatch([input], config)
        return result

    async def abatch(
        self,
        inputs: list[QuestionInput],
        config: RunnableConfig | list[RunnableConfig] | None = None,
        *,
        return_exceptions: bool = False,
        **kwargs: Any,
    ) -> list[RoutedAnswer]:
        """Route many questions: their Thrust scores come from ONE embedding batch, then at most
        ``max_concurrency`` questions (the config's, else the chain's) are answered at once."""
        self._check_thresholds()
        questions = [question_text(i) for i in inputs]
        scores: list[float | None] = (
            [float(s) for s in self.thrust_scores(questions)] if self.uses_thrust else [None] * len(questions)
        )
        limit = config.get("max_concurrency") if isinstance(config, Mapping) else None
        semaphore = asyncio.Semaphore(limit or self.max_concurrency)

        async def one(input: QuestionInput, score: float | None) -> RoutedAnswer:
            async with semaphore:
                return await self._route(input, score)

        jobs = (one(i, s) for i, s in zip(inputs, scores, strict=True))
        results: list[Any] = await asyncio.gather(*jobs, return_exceptions=return_exceptions)
        return results
