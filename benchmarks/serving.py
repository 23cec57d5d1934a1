"""Serving benchmark: cold start, single-stream decode speed, and n=5 in one request vs 5 requests.

Run from the repository root: .venv/bin/python -m benchmarks.serving [--json PATH]
(starts its own server; ELICIT_BASE_URL reuses one,
in which case the cold start is not measured).
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Awaitable
from typing import TypeVar

from langchain_core.messages import HumanMessage
from pydantic import BaseModel

from benchmarks.common import BenchmarkResult, arguments, server_settings
from elicit.elicitation.sampling import Generation, agenerate
from elicit.model.client import chat_model
from elicit.model.loop import run_sync
from elicit.model.serving import BASE_URL_ENV, ServerHandle, VLLMServer, connect

PROMPT = [HumanMessage(content="Write a short paragraph about the history of Paris.")]
MAX_TOKENS = 48
SAMPLES = 5

T = TypeVar("T")


class Requests(BaseModel):
    """One way of asking for the same samples: how long it took and how many tokens came back."""

    seconds: float
    tokens: int


class ServingResult(BenchmarkResult):
    """How fast the server decodes one stream, and what asking for n samples at once saves."""

    name: str = "serving"
    cold_start_seconds: float | None
    """Start to ready, when this run started the server (None when it reused one)."""
    decode_tokens: int
    decode_seconds: float
    decode_tokens_per_second: float
    one_request: Requests
    sequential: Requests
    concurrent: Requests
    sequential_ratio: float
    """The sequential requests' wall time over the one request asking for every sample."""
    concurrent_ratio: float
    """The concurrent requests' wall time over the one request asking for every sample."""


async def timed(coroutine: Awaitable[T]) -> tuple[float, T]:
    started = time.perf_counter()
    result = await coroutine
    return time.perf_counter() - started, result


def tokens(generations: list[Generation]) -> int:
    return sum(len(g.tokens or []) for g in generations)


async def measure(handle: ServerHandle, *, cold_start_seconds: float | None = None) -> ServingResult:
    """Measure the server at ``handle``; ``cold_start_seconds`` is how long it took to start, if this run started it."""
    llm = chat_model(handle)
    await agenerate(llm, PROMPT, n=1, temperature=0.0, max_tokens=4)  # the first logprobs request is slow
    seconds, [single] = await timed(agenerate(llm, PROMPT, n=1, temperature=0.0, max_tokens=MAX_TOKENS))
    decoded = len(single.tokens or [])

    one_request, batch = await timed(agenerate(llm, PROMPT, n=SAMPLES, temperature=1.0, max_tokens=MAX_TOKENS))
    sequential, runs = 0.0, []
    for _ in range(SAMPLES):
        elapsed, result = await timed(agenerate(llm, PROMPT, n=1, temperature=1.0, max_tokens=MAX_TOKENS))
        sequential += elapsed
        runs += result
    concurrent, together = await timed(
        asyncio.gather(*(agenerate(llm, PROMPT, n=1, temperature=1.0, max_tokens=MAX_TOKENS) for _ in range(SAMPLES)))
    )
    return ServingResult(
        settings={"max_tokens": MAX_TOKENS, "samples": SAMPLES, **server_settings(handle, cold_start_seconds is None)},
        cold_start_seconds=cold_start_seconds,
        decode_tokens=decoded,
        decode_seconds=seconds,
        decode_tokens_per_second=decoded / seconds,
        one_request=Requests(seconds=one_request, tokens=tokens(batch)),
        sequential=Requests(seconds=sequential, tokens=tokens(runs)),
        concurrent=Requests(seconds=concurrent, tokens=tokens([g for r in together for g in r])),
        sequential_ratio=sequential / one_request,
        concurrent_ratio=concurrent / one_request,
    )


def show(result: ServingResult) -> None:
    if result.cold_start_seconds is None:
        print(f"reusing {result.settings['base_url']}: cold start not measured")
    else:
        print(f"cold start (model already materialized): {result.cold_start_seconds:.1f} s")
    print(
        f"single-stream decode: {result.decode_tokens_per_second:.1f} tok/s "
        f"({result.decode_tokens} tokens in {result.decode_seconds:.2f} s)"
    )
    print(f"n={SAMPLES} in one request:       {result.one_request.seconds:.2f} s ({result.one_request.tokens} tokens)")
    print(f"{SAMPLES} sequential requests:    {result.sequential.seconds:.2f} s ({result.sequential.tokens} tokens)")
    print(f"{SAMPLES} concurrent requests:    {result.concurrent.seconds:.2f} s ({result.concurrent.tokens} tokens)")
    print(f"ratio sequential / one request: {result.sequential_ratio:.2f}x")
    print(f"ratio concurrent / one request: {result.concurrent_ratio:.2f}x")


def main() -> None:
    args = arguments(__doc__).parse_args()
    base_url = os.environ.get(BASE_URL_ENV)
    if base_url:
        result = run_sync(measure(connect(base_url)))
    else:
        server = VLLMServer()
        handle = server.start()
        try:
            result = run_sync(measure(handle, cold_start_seconds=server.startup_seconds))
        finally:
            server.stop()
    show(result)
    if args.json:
        result.write(args.json)


if __name__ == "__main__":
    main()
