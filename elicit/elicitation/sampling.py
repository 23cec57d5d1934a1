"""Requests to the served model: n samples in one request, misleading-hint requests, P(True).

Self-random sampling asks for all ``n`` samples in ONE request so the server prefills the
prompt once and decodes the samples as one batch; this is the main reason elicit is several
times faster than one request per sample.
"""

from __future__ import annotations

import asyncio
import hashlib
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import BaseMessage
from scipy.special import expit, logsumexp

from elicit.model.client import tokens_from_openai
from elicit.types import TokenLogprob


@dataclass(frozen=True)
class Generation:
    """One generated text with its token logprobs (None when the model returned none)."""

    text: str
    tokens: list[TokenLogprob] | None
    finish_reason: str | None


def check_sampling(n: int, temperature: float, max_tokens: int) -> None:
    """Reject settings that would fail late or silently, naming the argument."""
    if not isinstance(n, int) or n < 1:
        raise ValueError(f"n (samples per question) must be a positive integer, got {n!r}")
    if temperature < 0:
        raise ValueError(f"temperature must be >= 0, got {temperature}")
    if max_tokens < 1:
        raise ValueError(f"max_tokens must be >= 1, got {max_tokens}")


def _generation(chat_generation: Any) -> Generation:
    info = chat_generation.generation_info or {}
    logprobs = info.get("logprobs") or chat_generation.message.response_metadata.get("logprobs")
    content = logprobs.get("content") if isinstance(logprobs, dict) else None
    text = chat_generation.message.content
    return Generation(
        text=text if isinstance(text, str) else str(text),
        tokens=tokens_from_openai(content),
        finish_reason=info.get("finish_reason"),
    )


def request_seed(seed: int | None, *parts: object) -> int | None:
    """A per-request sampling seed derived from a run's seed and what the request is for.

    Each question (and each hint of it) gets its own seed, so a record does not depend on
    which other questions ran beside it or in what order; the digest is stable across
    processes, unlike ``hash``. None keeps sampling unseeded.
    """
    if seed is None:
        return None
    digest = hashlib.sha256("\x1f".join(map(str, (seed, *parts))).encode()).digest()
    return int.from_bytes(digest[:4], "big") & 0x7FFFFFFF


async def agenerate(
    llm: BaseChatModel,
    messages: Sequence[BaseMessage],
    *,
    n: int,
    temperature: float,
    max_tokens: int,
    stop: Sequence[str] | None = None,
    seed: int | None = None,
) -> list[Generation]:
    """``n`` samples of one prompt in a single request (per-call settings; ``llm`` is not changed).

    ``seed`` is passed to the server (vLLM seeds each request's sampler with it), so a
    seeded request returns the same samples every time. Chat models that cannot return
    several choices per request (anything not OpenAI-like) would return one; then the
    remaining samples are requested concurrently instead, each with its own derived seed.
    """
    check_sampling(n, temperature, max_tokens)
    stops = list(stop) if stop else None

    async def ask(count: int | None, request: int | None) -> Any:
        settings: dict[str, Any] = {"temperature": temperature, "max_tokens": max_tokens}
        if count is not None:
            settings["n"] = count
        if request is not None:
            settings["seed"] = request
        return await llm.agenerate([list(messages)], stop=stops, **settings)

    result = await ask(n, seed)
    generations = [_generation(g) for g in result.generations[0]]
    if 0 < len(generations) < n:
        extra = await asyncio.gather(*(ask(None, request_seed(seed, index)) for index in range(len(generations), n)))
        generations += [_generation(r.generations[0][0]) for r in extra]
    return generations


def p_true_from_top_logprobs(top: dict[str, float]) -> float | None:
    """P(True) = p(true) / (p(true) + p(false)) from one position's top logprobs.

    Tokens are compared after strip + lower, and the probabilities of all variants
    (" True", "true", "TRUE", ...) are summed, since tokenizers split these differently.
    When only one word is listed, the other is not absent but below the cut: its
    probability is at most the smallest listed one, so that bound stands in for it and
    P(True) is the most conservative value the list allows (never exactly 0 or 1).
    None when neither appears among the alternatives.
    """
    logprobs: dict[str, list[float]] = {"true": [], "false": []}
    listed: list[float] = []
    for token, logprob in top.items():
        # A zero-probability entry says nothing, so it counts as absent.
        if not math.isfinite(logprob):
            continue
        listed.append(logprob)
        word = token.strip().lower()
        if word in logprobs:
            logprobs[word].append(logprob)
    if not logprobs["true"] and not logprobs["false"]:
        return None
    bound = min(listed)
    true = logsumexp(logprobs["true"]) if logprobs["true"] else bound
    false = logsumexp(logprobs["false"]) if logprobs["false"] else bound
    # In log space so that tiny probabilities of both words do not underflow to 0 / 0.
    return float(expit(true - false))


async def ap_true(llm: BaseChatModel, messages: Sequence[BaseMessage]) -> tuple[float | None, str | None]:
    """P(True) of a self-evaluation prompt from the first generated token's top logprobs.

    Returns (value, reason-if-missing): a model without logprobs, or whose top tokens hold
    neither "True" nor "False", gives no P(True) rather than a made-up one.
    """
    [generation] = await agenerate(llm, messages, n=1, temperature=0.0, max_tokens=1)
    if not generation.tokens:
        return None, "the self-evaluation reply carried no logprobs"
    first = generation.tokens[0]
    top = dict(first.top_logprobs)
    top.setdefault(first.token, first.logprob)
    value = p_true_from_top_logprobs(top)
    if value is None:
        return None, f"neither True nor False among the self-evaluation's top tokens (got {first.token!r})"
    return value, None
