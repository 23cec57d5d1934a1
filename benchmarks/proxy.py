"""Proxy benchmark: throughput, latency and overhead of ``elicit proxy`` against calling vLLM directly.

Run from the repository root: .venv/bin/python -m benchmarks.proxy   (ELICIT_BASE_URL reuses a
running server; otherwise one is started). The proxy runs in a subprocess on 127.0.0.1; this
process sends it REQUESTS chat requests, CONCURRENCY at a time. The baseline does the same work
without the proxy: the same main request and the same confidence requests (samples, P(True))
sent straight to vLLM by the same scoring code, at the same concurrency. Phases run direct,
proxy, proxy, direct (half the requests each) so that load drifting on a shared machine affects
both sides alike.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import numpy as np

from elicit.chains.wrapper import ConversationScorer, conversation
from elicit.model.client import chat_model
from elicit.model.loop import run_sync
from elicit.model.serving import DEFAULT_HOST, ServerHandle, free_port, serve

REQUESTS = 24
CONCURRENCY = 4
SAMPLES = 3
SAMPLE_TOKENS = 16
REPLY_TOKENS = 24
REQUEST_TIMEOUT = 120.0
PHASE_TIMEOUT = 900.0
STARTUP_TIMEOUT = 60.0
REPO = Path(__file__).resolve().parents[1]
QUESTIONS = [
    "What is the capital of France?",
    "Who wrote Romeo and Juliet?",
    "What is the largest planet in the solar system?",
    "How many legs does a spider have?",
    "What is the chemical symbol for gold?",
    "Which ocean is the largest?",
    "What is 7 times 8?",
    "In which country is the city of Kyoto?",
]


def request_body(i: int, model: str) -> dict[str, Any]:
    question = QUESTIONS[i % len(QUESTIONS)]
    return {"model": model, "messages": [{"role": "user", "content": question}], "max_tokens": REPLY_TOKENS,
            "temperature": 0.0}  # fmt: skip


def start_proxy(upstream: str, port: int) -> subprocess.Popen[bytes]:
    """``elicit proxy`` in its own process (run from the repository so it imports this tree)."""
    command = [
        sys.executable, "-c", "from elicit.cli import app; app()", "proxy",
        "--upstream", upstream, "--host", DEFAULT_HOST, "--port", str(port),
        "--samples", str(SAMPLES), "--max-tokens", str(SAMPLE_TOKENS),
    ]  # fmt: skip
    env = {k: v for k, v in os.environ.items() if k != "ELICIT_PROXY_API_KEY"}
    return subprocess.Popen(command, cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def wait_ready(process: subprocess.Popen[bytes], url: str) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            stderr = process.stderr.read().decode(errors="replace") if process.stderr else ""
            raise RuntimeError(f"the proxy exited with code {process.returncode}:\n{stderr}")
        try:
            if httpx.get(f"{url}/health", timeout=2.0).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"the proxy did not answer at {url} within {STARTUP_TIMEOUT:.0f} s")


def stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)


async def load(indices: range, send: Callable[[int], Awaitable[None]]) -> tuple[float, list[float], int]:
    """Send requests ``indices``, CONCURRENCY at a time: wall time, per-request latencies, errors."""
    semaphore = asyncio.Semaphore(CONCURRENCY)
    latencies: list[float] = []
    errors = 0

    async def one(i: int) -> None:
        nonlocal errors
        async with semaphore:
            started = time.perf_counter()
            try:
                await asyncio.wait_for(send(i), REQUEST_TIMEOUT)
            except Exception as exc:  # counted and shown: the benchmark reports errors, it does not hide them
                errors += 1
                print(f"  request {i} failed: {type(exc).__name__}: {exc}")
            latencies.append(time.perf_counter() - started)

    started = time.perf_counter()
    await asyncio.wait_for(asyncio.gather(*(one(i) for i in indices)), PHASE_TIMEOUT)
    return time.perf_counter() - started, latencies, errors


def choice_texts(completion: dict[str, Any]) -> list[str]:
    return [choice["message"]["content"] or "" for choice in completion["choices"]]


async def measure(handle: ServerHandle, proxy_url: str) -> None:
    async with httpx.AsyncClient(timeout=REQUEST_TIMEOUT) as http:
        scorer = ConversationScorer(
            chat_model(handle, http_async_client=http), n_samples=SAMPLES, max_tokens=SAMPLE_TOKENS
        )

        async def upstream_reply(body: dict[str, Any]) -> dict[str, Any]:
            response = await http.post(f"{handle.api_url}/chat/completions", json=body)
            response.raise_for_status()
            return response.json()

        async def direct(i: int) -> None:
            body = request_body(i, handle.model_name)
            messages = conversation(body["messages"])
            _, [score] = await scorer.assess(messages, upstream_reply(body), choice_texts)
            assert 0.0 <= (score.value or 0.0) <= 1.0

        async def proxied(i: int) -> None:
            response = await http.post(f"{proxy_url}/v1/chat/completions", json=request_body(i, handle.model_name))
            response.raise_for_status()
            assert "confidence" in response.json(), "no confidence in the proxy's response"

        for send in (direct, proxied):  # warm both paths (first logprob requests are slow)
            await load(range(2), send)
        half = REQUESTS // 2
        totals: dict[str, list[Any]] = {"direct": [0.0, [], 0], "proxy": [0.0, [], 0]}
        for name, indices in (("direct", range(half)), ("proxy", range(half)), ("proxy", range(half, REQUESTS)),
                              ("direct", range(half, REQUESTS))):  # fmt: skip
            wall, latencies, errors = await load(indices, direct if name == "direct" else proxied)
            totals[name][0] += wall
            totals[name][1] += latencies
            totals[name][2] += errors

    print(f"{REQUESTS} requests per path, concurrency {CONCURRENCY}, {SAMPLES} confidence samples each, "
          f"reply <= {REPLY_TOKENS} tokens, samples <= {SAMPLE_TOKENS} tokens")  # fmt: skip
    for name, (wall, latencies, errors) in totals.items():
        p50, p90, p99 = np.percentile(latencies, [50, 90, 99])
        print(f"{name:>6}: {REQUESTS / wall:.2f} req/s  wall {wall:.1f} s  latency p50 {p50:.2f} s  "
              f"p90 {p90:.2f} s  p99 {p99:.2f} s  errors {errors}")  # fmt: skip
    print(f"proxy overhead (proxy wall / direct wall): {totals['proxy'][0] / totals['direct'][0]:.3f}x")


def main() -> None:
    with serve() as handle:
        port = free_port()
        proxy_url = f"http://{DEFAULT_HOST}:{port}"
        process = start_proxy(handle.base_url, port)
        try:
            wait_ready(process, proxy_url)
            print(f"proxy at {proxy_url} (pid {process.pid}) in front of {handle.base_url}")
            run_sync(measure(handle, proxy_url))
        finally:
            stop(process)


if __name__ == "__main__":
    main()
