"""``ConfidenceChain``: a LangChain Runnable from a question to an answer with every confidence signal."""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from langchain_core.language_models import BaseChatModel
from langchain_core.runnables import RunnableConfig

from elicit import defaults
from elicit.chains.base import AsyncRunnable
from elicit.elicitation.choices import choose
from elicit.elicitation.parsing import parse_sample
from elicit.elicitation.prompts import PromptSet
from elicit.elicitation.sampling import Generation, agenerate, ap_true, check_sampling, request_seed
from elicit.elicitation.strategies import strategy as get_strategy
from elicit.model.catalogue import few_shot_for
from elicit.model.client import chat_model
from elicit.model.embeddings import TextEncoder, bundled_encoder
from elicit.model.serving import ServerHandle
from elicit.signals.compute import compute_signals
from elicit.signals.groups import majority_answer
from elicit.signals.registry import combination
from elicit.signals.spec import Value
from elicit.signals.white_box import ANSWER_PROBE
from elicit.types import Elicitation, RunSetup, Sample, Signals

if TYPE_CHECKING:  # scikit-learn loads only when a fitted head is actually used
    from elicit.calibration.certificate import Certificate
    from elicit.calibration.head import FusionHead
    from elicit.calibration.white_box import ProbeReader

QuestionInput = str | Mapping[str, Any]


def default_confidence(signals: Signals, n_samples: int) -> float | None:
    """The confidence used until a fitted fusion head is given: the mean of the available core signals.

    The core signals are the registry's default combination (``SignalSpec.default``). With
    several samples: agreement, Avg-Conf, answer-span mean token probability and P(True),
    one per family (consistency, verbal, logit, self-evaluation), equally weighted because
    without labelled data there is no basis for other weights. With one sample, agreement
    and Avg-Conf are trivially 1, so the verbal confidence stands in for them.
    """
    names = combination("several samples" if n_samples > 1 else "one sample")
    values = [v for name in names if (v := signals.get(name)) is not None]
    return sum(values) / len(values) if values else None


def score_samples(
    samples: Sequence[Sample],
    answer: str | None,
    *,
    p_true: float | None,
    p_true_reason: str | None,
    fusion: FusionHead | None,
    question: str | None = None,
    encoder: TextEncoder | None = None,
    evidence: Mapping[str, Value] | None = None,
) -> tuple[Signals, float | None, str]:
    """Every signal about ``answer``, and the confidence with where it came from ("fusion" or "default").

    ``encoder`` embeds answers for the semantic signals; None uses the bundled sentence model.
    ``evidence`` holds values gathered beside the samples (the answer probe's), by signal name.
    """
    signals = compute_signals(
        samples, answer, p_true=p_true, p_true_reason=p_true_reason, question=question,
        encoder=encoder if encoder is not None else bundled_encoder(), evidence=evidence,
    )  # fmt: skip
    if fusion is not None:
        return signals, fusion.predict_one(signals), "fusion"
    return signals, default_confidence(signals, len(samples)), "default"


def run_setup(
    llm: BaseChatModel, prompts: PromptSet, strategy: str, *, n_samples: int, temperature: float, max_tokens: int,
    p_true: bool, seed: int | None = None,
) -> RunSetup:  # fmt: skip
    """The settings that shape answers drawn from ``llm`` with ``prompts`` (what a fusion head must match)."""
    return RunSetup(
        model=getattr(llm, "model_name", None),
        strategy=strategy,
        n_samples=n_samples,
        temperature=temperature,
        max_tokens=max_tokens,
        top_logprobs=getattr(llm, "top_logprobs", None),
        p_true=p_true,
        prompt_version=prompts.version(strategy),
        seed=seed,
    )


@dataclass(frozen=True)
class Asked:
    """What one chain input asks: the question, its options (multiple choice) and passages to answer from."""

    question: str
    options: tuple[str, ...] = ()
    context: tuple[str, ...] = ()

    @classmethod
    def of(cls, value: QuestionInput) -> Asked:
        """The question of a chain input, with the "options" and "context" a mapping may carry."""
        extras = value if isinstance(value, Mapping) else {}
        options = tuple(str(option) for option in extras.get("options", ()))
        if len(options) == 1:
            raise ValueError("options must hold at least 2 choices (or none for a short-answer question)")
        return cls(question_text(value), options, tuple(extras.get("context", ())))


def question_text(value: QuestionInput) -> str:
    """The question of a chain input (a string or a mapping with a "question" key)."""
    if isinstance(value, Mapping):
        if "question" not in value:
            raise ValueError(f"input mapping needs a 'question' key; got keys {sorted(value)}")
        value = value["question"]
    if not isinstance(value, str):
        raise ValueError(f"question must be a string, got {type(value).__name__}")
    if not value.strip():
        raise ValueError("question is empty")
    return value.strip()


class ConfidenceChain(AsyncRunnable[QuestionInput, Elicitation]):
    """Ask with a verbalized-confidence prompt, sample, parse, and score every signal.

    One generation set feeds every signal: ``n_samples`` answers come from ONE request
    (or, for the "hint" strategy, one request per misleading hint), then P(True) is asked
    once about the chosen answer. The chosen answer is the majority answer, or the greedy
    answer when ``reference`` is on. ``confidence`` comes from ``fusion`` when a fitted head
    is given, else from :func:`default_confidence`. ``encoder`` embeds answers for the
    semantic signals (default: the bundled sentence model); ``seed`` seeds every sampling
    request from the question, so a run reproduces (None: unseeded). With a ``certificate``
    every answer says whether it is ``certified``: its confidence reaches the threshold whose
    answers are wrong at most the certificate's risk (for this model, strategy, sample count
    and confidence source, which the certificate must match). With a ``probe``
    (:class:`~elicit.calibration.white_box.ProbeReader`) the ``answer_probe`` signal reads the
    model's own hidden states of the question and the chosen answer, for a head fitted with it.
    """

    def __init__(
        self,
        llm: BaseChatModel,
        *,
        strategy: str = "vanilla",
        n_samples: int = defaults.N_SAMPLES,
        temperature: float = defaults.TEMPERATURE,
        max_tokens: int | None = None,
        p_true: bool = True,
        reference: bool = False,
        prompts: PromptSet | None = None,
        fusion: FusionHead | None = None,
        hint_pool: Sequence[str] = (),
        max_concurrency: int = defaults.CONCURRENCY,
        seed: int | None = defaults.SEED,
        encoder: TextEncoder | None = None,
        certificate: Certificate | None = None,
        probe: ProbeReader | None = None,
    ) -> None:
        asked = get_strategy(strategy)
        max_tokens = asked.max_tokens if max_tokens is None else max_tokens
        check_sampling(n_samples, temperature, max_tokens)
        if max_concurrency < 1:
            raise ValueError(f"max_concurrency must be >= 1, got {max_concurrency}")
        self.llm = llm
        self.strategy = strategy
        self.hinted = asked.hinted
        self.n_samples = n_samples
        self.temperature = temperature
        self.max_tokens = max_tokens
        self.p_true = p_true
        self.reference = reference
        self.prompts = prompts or PromptSet(n_examples=few_shot_for(getattr(llm, "model_name", None)))
        self.fusion = fusion
        self.hint_pool = list(hint_pool)
        self.max_concurrency = max_concurrency
        self.seed = seed
        self.encoder = encoder
        self.certificate = certificate
        self.probe = probe
        if fusion is not None:
            fusion.check_setup(self.setup)
        if certificate is not None:
            certificate.check(self.setup, fusion)

    @property
    def setup(self) -> RunSetup:
        """The settings that shape this chain's answers (what a fusion head must match)."""
        return run_setup(
            self.llm, self.prompts, self.strategy, n_samples=self.n_samples, temperature=self.temperature,
            max_tokens=self.max_tokens, p_true=self.p_true, seed=self.seed,
        )  # fmt: skip

    # -- generation ---------------------------------------------------------------------

    async def _hinted(self, asked: Asked, hint_pool: Sequence[str]) -> list[tuple[Generation, str | None]]:
        """One request per misleading hint, each suggesting a random wrong answer."""
        question, context = asked.question, asked.context
        rng = random.Random(f"{self.seed}:{question}")
        hints = self.prompts.hint_sentences(hint_pool, self.n_samples, rng)
        semaphore = asyncio.Semaphore(self.max_concurrency)

        async def one(index: int, hint: str) -> tuple[Generation, str]:
            async with semaphore:
                messages = self.prompts.messages(self.strategy, question, hint, context, asked.options)
                [generation] = await agenerate(
                    self.llm, messages, n=1, temperature=self.temperature, max_tokens=self.max_tokens,
                    seed=request_seed(self.seed, question, list(context), "hint", index),
                )  # fmt: skip
                return generation, hint

        return list(await asyncio.gather(*(one(index, hint) for index, hint in enumerate(hints))))

    def _read(self, generation: Generation, asked: Asked, hint: str | None = None) -> Sample:
        """One generation parsed in this chain's format, its answer resolved to an option if there are any."""
        sample = parse_sample(
            generation.text, self.strategy, hint=hint, tokens=generation.tokens, finish_reason=generation.finish_reason
        )
        return choose(sample, asked.options, asked.question)

    async def _generate(self, asked: Asked, hint_pool: Sequence[str]) -> list[Sample]:
        if self.hinted:
            pairs = await self._hinted(asked, hint_pool)
        else:
            messages = self.prompts.messages(
                self.strategy, asked.question, context=asked.context, options=asked.options
            )
            generations = await agenerate(
                self.llm, messages, n=self.n_samples, temperature=self.temperature, max_tokens=self.max_tokens,
                seed=request_seed(self.seed, asked.question, list(asked.context), "samples"),
            )  # fmt: skip
            pairs = [(generation, None) for generation in generations]
        return [self._read(generation, asked, hint) for generation, hint in pairs]

    async def _reference(self, asked: Asked) -> Sample:
        """The greedy answer to the question as asked, without any hint."""
        messages = self.prompts.messages(self.strategy, asked.question, context=asked.context, options=asked.options)
        [generation] = await agenerate(self.llm, messages, n=1, temperature=0.0, max_tokens=self.max_tokens)
        return self._read(generation, asked)

    # -- scoring --------------------------------------------------------------------------

    def _finish(
        self,
        question: str,
        samples: list[Sample],
        answer: str | None,
        p_true: float | None,
        p_true_reason: str | None,
        reference: Sample | None,
        timings: dict[str, float],
        probed: float | None = None,
    ) -> Elicitation:
        evidence = {} if probed is None else {ANSWER_PROBE: probed}
        signals, confidence, source = score_samples(
            samples, answer, p_true=p_true, p_true_reason=p_true_reason, fusion=self.fusion, question=question,
            encoder=self.encoder, evidence=evidence,
        )  # fmt: skip
        return Elicitation(
            question=question,
            answer=answer,
            confidence=confidence,
            certified=None if self.certificate is None else self.certificate.certifies(confidence),
            confidence_source=source,
            imputed=self.fusion.imputed(signals) if self.fusion is not None else [],
            strategy=self.strategy,
            signals=signals,
            samples=samples,
            reference=reference,
            timings=timings,
        )

    def score(
        self, question: str, samples: Sequence[Sample | str], *, p_true: float | None = None,
        options: Sequence[str] = (),
    ) -> Elicitation:  # fmt: skip
        """Score samples the caller already has, with no model call.

        Raw strings are parsed with this chain's strategy (and resolved to ``options`` for a
        multiple-choice question); the answer is their majority answer; P(True) is used only
        if given.
        """
        question = question_text(question)
        if not samples:
            raise ValueError("samples is empty: nothing to score")
        parsed = [
            s if isinstance(s, Sample) else choose(parse_sample(s, self.strategy), options, question) for s in samples
        ]
        reason = None if p_true is not None else "P(True) not computed"
        answer = majority_answer(parsed, question)
        probed = self.probe.value(question, answer) if self.probe is not None else None
        return self._finish(question, parsed, answer, p_true, reason, None, {}, probed)

    # -- Runnable interface -----------------------------------------------------------------

    async def ainvoke(self, input: QuestionInput, config: RunnableConfig | None = None, **kwargs: Any) -> Elicitation:
        """Answer one question with its confidence.

        A mapping input may also carry "options" (a multiple-choice question's choices),
        "hint_pool" (wrong answers for misleading hints; a multiple-choice question falls back
        to its options) and "context" (passages to answer from, e.g. retrieved ones).
        """
        asked = Asked.of(input)
        question = asked.question
        extras = input if isinstance(input, Mapping) else {}
        hint_pool = extras.get("hint_pool") or self.hint_pool or asked.options
        if self.hinted and not hint_pool:
            raise ValueError(f"strategy {self.strategy!r} needs a hint_pool: wrong answers the hints can suggest")
        started = time.perf_counter()
        if self.reference:
            samples, reference = await asyncio.gather(self._generate(asked, hint_pool), self._reference(asked))
        else:
            samples, reference = await self._generate(asked, hint_pool), None
        generated = time.perf_counter()
        answer = reference.answer if reference is not None and reference.answer else majority_answer(samples, question)
        p_true: float | None = None
        reason: str | None = "P(True) not computed" if not self.p_true else None
        if self.p_true:
            if answer:
                shown = self.prompts.question_text(question, asked.options)
                p_true, reason = await ap_true(self.llm, self.prompts.self_eval_messages(shown, answer))
            else:
                reason = "no answer to evaluate"
        finished = time.perf_counter()
        # The probe's forward pass is CPU-bound torch work: off the event loop, so other questions proceed.
        probed = None if self.probe is None else await asyncio.to_thread(self.probe.value, question, answer)
        probed_at = time.perf_counter()
        timings = {
            "generate_s": generated - started,
            "p_true_s": finished - generated,
            **({"probe_s": probed_at - finished} if self.probe is not None else {}),
            "total_s": probed_at - started,
        }
        result = self._finish(question, samples, answer, p_true, reason, reference, timings, probed)
        result.context = list(asked.context)
        return result


def served_chain(server: ServerHandle, **settings: Any) -> ConfidenceChain:
    """A ``ConfidenceChain`` on a served model (its ``chat_model``), with the given settings.

    Module-level so that ``functools.partial(served_chain, ...)`` pickles by reference: each
    Ray actor builds its own chain for its endpoint rather than receive one holding open
    connections, and loads only the chain's modules, not the command line's.
    """
    return ConfidenceChain(chat_model(server), **settings)
