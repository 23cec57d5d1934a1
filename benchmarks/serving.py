"""Serving benchmark: cold start, single-stream decode speed, and n=5 in one request vs 5 requests.

Run from the repository root: .venv/bin/python -m benchmarks.serving
(starts its own server; ELICIT_BASE_URL reuses one,
in which case the cold start is not measured).
"""

from __future__ import annotations

import asyncio
import os
import time

from langchain_core.messages import HumanMessage

from elicit.elicitation.sampling import agenerate
from elicit.model.client import chat_model
from elicit.model.loop import run_sync
from elicit.model.serving import BASE_URL_ENV, VLLMServer, connect

PROMPT = [HumanMessage(content="Write a short paragraph about the history of Paris.")]
MAX_TOKENS = 48


async def timed(coroutine) -> tuple[float, object]:
    started = time.perf_counter()
    result = await coroutine
    return time.perf_counter() - started, result


async def measure(llm) -> None:
    await agenerate(llm, PROMPT, n=1, temperature=0.0, max_tokens=4)  # the first logprobs request is slow
    seconds, [single] = await timed(agenerate(llm, PROMPT, n=1, temperature=0.0, max_tokens=MAX_TOKENS))
    tokens = len(single.tokens or [])
    print(f"single-stream decode: {tokens / seconds:.1f} tok/s ({tokens} tokens in {seconds:.2f} s)")

    one_request, batch = await timed(agenerate(llm, PROMPT, n=5, temperature=1.0, max_tokens=MAX_TOKENS))
    sequential, runs = 0.0, []
    for _ in range(5):
        seconds, result = await timed(agenerate(llm, PROMPT, n=1, temperature=1.0, max_tokens=MAX_TOKENS))
        sequential += seconds
        runs += result
    concurrent, together = await timed(
        asyncio.gather(*(agenerate(llm, PROMPT, n=1, temperature=1.0, max_tokens=MAX_TOKENS) for _ in range(5)))
    )
    count = lambda generations: sum(len(g.tokens or []) for g in generations)  # noqa: E731
    print(f"n=5 in one request:       {one_request:.2f} s ({count(batch)} tokens)")
    print(f"5 sequential requests:    {sequential:.2f} s ({count(runs)} tokens)")
    print(f"5 concurrent requests:    {concurrent:.2f} s ({count([g for r in together for g in r])} tokens)")
    print(f"ratio sequential / one request: {sequential / one_request:.2f}x")
    print(f"ratio concurrent / one request: {concurrent / one_request:.2f}x")


def main() -> None:
    base_url = os.environ.get(BASE_URL_ENV)
    if base_url:
        print(f"reusing {base_url}: cold start not measured")
        run_sync(measure(chat_model(connect(base_url))))
        return
    server = VLLMServer()
    handle = server.start()
    try:
        print(f"cold start (model already materialized): {server.startup_seconds:.1f} s")
        run_sync(measure(chat_model(handle)))
    finally:
        server.stop()


if __name__ == "__main__":
    main()
