"""``RetrievalRouter``: retrieve passages only for the questions the model is unsure about.

Retrieval costs a second, longer prompt and can distract a model from an answer it already
knew; skipping it for questions the model knows saves both. The router takes any routing
policy, by name or as an object:

* ``never`` / ``always``: the two endpoints;
* a pre-generation policy (``random``, Thrust and its labelled variants, the P(IK) probe, the
  retrieval-gain probe, the learned combination; see ``elicit.routing.policies``) scores the
  question before any generation, so each question is answered in ONE pass, with or without
  passages;
* ``confidence`` is the chain's own confidence in a first, retrieval-free answer; a low one
  triggers a second pass with passages. It sees the actual answer, but always pays a pass.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
from langchain_core.retrievers import BaseRetriever
from langchain_core.runnables import RunnableConfig
from pydantic import BaseModel, ConfigDict, Field

from elicit.chains.base import AsyncRunnable
from elicit.chains.confidence import ConfidenceChain, QuestionInput, question_text
from elicit.routing.builtin import BUILT_IN, THRESHOLD_FREE, BuiltInPolicy, RandomPolicy
from elicit.routing.policies import QuestionPolicy
from elicit.routing.thrust import threshold_for_budget
from elicit.types import Elicitation

if TYPE_CHECKING:  # scikit-learn loads only when a certificate is actually used
    from elicit.calibration.certificate import Certificate

MISSING_CONFIDENCE = -1.0
"""Rank value of a missing confidence (no answer could be parsed): below every real
confidence, so such a question is the first to be retrieved for."""


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
    when ``retrieved``). ``score`` is the policy's value for the question (the first
    answer's confidence for ``confidence`` routing, None for ``never``/``always``);
    ``no_retrieval`` is the retrieval-free answer whenever one was made.
    ``passages`` are in prompt order: the most relevant one is LAST.
    """

    model_config = ConfigDict(extra="forbid")

    question: str
    final: Elicitation
    retrieved: bool
    policy: str
    score: float | None = None
    threshold: float | None = None
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


class RetrievalRouter(AsyncRunnable[QuestionInput, RoutedAnswer]):
    """Answer with a ``ConfidenceChain``, adding retrieved passages only when the policy's score is low.

    ``policy`` is a name (``never``, ``always``, ``random``, ``confidence``, or a key of
    ``policies``, e.g. ``PolicySet.load(path).policies(encoder)``) or a policy object with
    ``name`` and ``scores(questions)``. A question is retrieved for when its score is strictly
    below ``threshold`` (the convention of :func:`elicit.routing.thrust.threshold_for_budget`);
    set it directly or for a retrieval budget with :meth:`fit_threshold`. With a ``certificate``
    (and the ``confidence`` policy) the threshold is the certified one: every answer that is not
    certified is retrieved for (all of them when nothing could be certified).
    """

    def __init__(
        self,
        chain: ConfidenceChain,
        retriever: BaseRetriever,
        policy: str | QuestionPolicy = "confidence",
        *,
        policies: Mapping[str, QuestionPolicy] | None = None,
        threshold: float | None = None,
        k: int = 2,
        seed: int = 0,
        certificate: Certificate | None = None,
    ) -> None:
        if k < 1:
            raise ValueError(f"k (passages per retrieved question) must be >= 1, got {k}")
        if certificate is not None:
            if policy != BuiltInPolicy.CONFIDENCE or threshold is not None:
                raise ValueError(
                    "a certificate judges the first answer: use it with the confidence policy, no threshold"
                )
            certificate.check(chain.setup, chain.fusion)
            threshold = certificate.threshold if certificate.threshold is not None else math.inf
        if threshold is not None and math.isnan(threshold):
            raise ValueError("threshold must be a number, got NaN")
        self.question_policy: QuestionPolicy | None = None
        self.name: str
        self.built_in: BuiltInPolicy | None = None  # None: a policy fitted, or given as an object
        built_in = BuiltInPolicy.named(policy) if isinstance(policy, str) else None
        if not isinstance(policy, str):
            self.question_policy, self.name = policy, policy.name
        elif built_in in BUILT_IN:
            self.built_in, self.name = built_in, policy
            if built_in is BuiltInPolicy.RANDOM:
                self.question_policy = RandomPolicy(seed)
        elif policies is not None and policy in policies:
            self.question_policy, self.name = policies[policy], policy
        else:
            known = [*BUILT_IN, *(policies or {})]
            raise ValueError(f"unknown policy {policy!r}; known: {', '.join(known)} (fitted ones come in policies=)")
        self.chain = chain
        self.retriever = retriever
        self.threshold = threshold
        self.k = k
        self.max_concurrency = chain.max_concurrency

    @property
    def needs_threshold(self) -> bool:
        return self.built_in not in THRESHOLD_FREE

    # -- scores and thresholds --------------------------------------------------------------

    def scores(self, questions: Sequence[str]) -> np.ndarray:
        """The pre-generation policy's score of each question (no generation)."""
        if self.question_policy is None:
            raise ValueError(f"policy {self.name!r} has no pre-generation scores")
        return np.asarray(self.question_policy.scores(list(questions)), dtype=np.float64)

    def fit_threshold(
        self, questions_or_scores: Sequence[str] | Sequence[float | None] | np.ndarray, budget: float
    ) -> float:
        """Set the threshold so that at most ``budget`` (a fraction in [0, 1]) of these
        calibration questions would be retrieved for, and return it.

        Give questions (their score is computed: a pre-generation policy costs no generation,
        confidence costs a full pass of the chain each) or precomputed scores (a None
        confidence counts as ``MISSING_CONFIDENCE``). Held-out questions give an honest
        threshold; the questions a policy was fitted on score higher than new ones would.
        """
        if not 0.0 <= budget <= 1.0:
            raise ValueError(f"budget must be a number in [0, 1], got {budget!r}")
        if not self.needs_threshold:
            raise ValueError(f"policy {self.name!r} has no threshold")
        values = list(questions_or_scores)
        if not values:
            raise ValueError("questions_or_scores must not be empty")
        if all(isinstance(v, str) for v in values):
            questions = [question_text(v) for v in values]
            if self.question_policy is not None:
                scores = self.scores(questions)
            else:
                answers = self.chain.batch(list[QuestionInput](questions))
                scores = np.array([confidence_rank(e.confidence) for e in answers])
        elif any(isinstance(v, str) for v in values):
            raise ValueError("questions_or_scores must be all questions or all numbers, not a mix")
        else:
            scores = np.array([confidence_rank(v) for v in values], dtype=float)
        self.threshold = threshold_for_budget(scores, budget)
        return self.threshold

    # -- routing ----------------------------------------------------------------------------

    async def _route(self, input: QuestionInput, score: float | None) -> RoutedAnswer:
        question = question_text(input)
        base = dict(input) if isinstance(input, Mapping) else {"question": question}
        started = time.perf_counter()
        first: Elicitation | None = None
        if self.built_in is BuiltInPolicy.CONFIDENCE:
            first = await self.chain.ainvoke(base)
            score = confidence_rank(first.confidence)
        retrieve = self.built_in is BuiltInPolicy.ALWAYS or (
            score is not None and score < self.threshold  # type: ignore[operator]
        )
        passages: list[RetrievedPassage] = []
        if retrieve:
            passages, final = await aanswer_with_passages(self.chain, self.retriever, base, self.k)
        else:
            final = first if first is not None else await self.chain.ainvoke(base)
        return RoutedAnswer(
            question=question,
            final=final,
            retrieved=retrieve,
            policy=self.name,
            score=score,
            threshold=self.threshold if self.needs_threshold else None,
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
        """Route many questions: pre-generation scores come from ONE batch, then at most
        ``max_concurrency`` questions (the config's, else the chain's) are answered at once."""
        if self.needs_threshold and self.threshold is None:
            raise ValueError(f"threshold is not set for policy {self.name!r}: pass it or call fit_threshold()")
        questions = [question_text(i) for i in inputs]
        scores: list[float | None] = (
            [float(s) for s in self.scores(questions)] if self.question_policy is not None else [None] * len(questions)
        )
        limit = config.get("max_concurrency") if isinstance(config, Mapping) else None
        semaphore = asyncio.Semaphore(limit or self.max_concurrency)

        async def one(input: QuestionInput, score: float | None) -> RoutedAnswer:
            async with semaphore:
                return await self._route(input, score)

        jobs = (one(i, s) for i, s in zip(inputs, scores, strict=True))
        results: list[Any] = await asyncio.gather(*jobs, return_exceptions=return_exceptions)
        return results
