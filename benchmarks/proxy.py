"""Proxy benchmark: many concurrent streaming clients through ``elicit proxy``, against streaming from vLLM.

Run from the repository root: .venv/bin/python -m benchmarks.proxy [REQUESTS] [CONCURRENCY] [--json PATH]
(ELICIT_BASE_URL reuses a running server; otherwise one is started). Everything stays on
127.0.0.1. The proxy runs in a subprocess; CONCURRENCY clients at a time (a semaphore)
stream REQUESTS chat requests through it, and every stream must end with its confidence
chunk and ``[DONE]``. The baseline does the same work without the proxy: the same streamed
request sent straight to vLLM while the same scoring code draws the same confidence samples
in this process (started, as in the proxy, once the stream is accepted). The figure of
interest is the time to the first token: the proxy's, as a ratio to the baseline's. Phases
run direct, proxy, proxy, direct (half the requests each) so that load drifting on a shared
machine affects both sides alike.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import httpx
import numpy as np
from pydantic import BaseModel

from benchmarks.common import BenchmarkResult, arguments, benchmark_server, reused_server, server_settings
from elicit.chains.conversation import ConversationScorer, conversation
from elicit.model.client import chat_model
from elicit.model.loop import discard, run_sync
from elicit.model.serving import DEFAULT_HOST, ServerHandle, free_port

REQUESTS = 200
CONCURRENCY = 32
SAMPLES = 3
SAMPLE_TOKENS = 16
REPLY_TOKENS = 16
SEED = 0
REQUEST_TIMEOUT = 600.0
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
            "temperature": 0.0, "stream": True}  # fmt: skip


def start_proxy(upstream: str, port: int) -> subprocess.Popen[bytes]:
    """``elicit proxy`` in its own process (run from the repository so it imports this tree)."""
    command = [
        sys.executable, "-c", "from elicit.cli import app; app()", "proxy",
        "--upstream", upstream, "--host", DEFAULT_HOST, "--port", str(port),
        "--samples", str(SAMPLES), "--max-tokens", str(SAMPLE_TOKENS), "--seed", str(SEED),
    ]  # fmt: skip
    env = {k: v for k, v in os.environ.items() if k != "ELICIT_PROXY_API_KEY"}
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), env.get("PYTHONPATH", "")])
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


@contextmanager
def running_proxy(handle: ServerHandle) -> Iterator[tuple[str, int]]:
    """``elicit proxy`` in front of ``handle`` while the block runs: its URL and process id.

    Loopback only: the load this benchmark sends must stay on this machine.
    """
    if urlparse(handle.base_url).hostname not in ("127.0.0.1", "localhost", "::1"):
        raise ValueError(f"this benchmark runs on loopback only; the server is at {handle.base_url}")
    port = free_port()
    url = f"http://{DEFAULT_HOST}:{port}"
    process = start_proxy(handle.base_url, port)
    try:
        wait_ready(process, url)
        yield url, process.pid
    finally:
        stop(process)


@dataclass
class Stream:
    """What one streamed request took: time to the first token, in all, and its events."""

    first_token: float | None = None
    total: float = 0.0
    events: list[dict[str, Any]] = field(default_factory=list)
    done: bool = False


async def read_stream(
    http: httpx.AsyncClient, url: str, body: dict[str, Any], on_open: Callable[[], object] = lambda: None
) -> Stream:
    """Stream one chat request, timing the first content token; ``on_open`` runs once the stream is accepted."""
    result = Stream()
    started = time.perf_counter()
    async with http.stream("POST", url, json=body) as response:
        response.raise_for_status()
        on_open()
        async for line in response.aiter_lines():
            if not line.startswith("data:"):
                continue
            data = line.removeprefix("data:").strip()
            if data == "[DONE]":
                result.done = True
                break
            event = json.loads(data)
            if "error" in event:
                raise RuntimeError(f"error event: {event['error']['message']}")
            if result.first_token is None and any((c.get("delta") or {}).get("content") for c in event["choices"]):
                result.first_token = time.perf_counter() - started
            result.events.append(event)
    result.total = time.perf_counter() - started
    return result


@dataclass
class Phase:
    first_tokens: list[float] = field(default_factory=list)
    totals: list[float] = field(default_factory=list)
    wall: float = 0.0
    errors: int = 0


class PathResult(BaseModel):
    """One path's streams: throughput, seconds to the first token and to the stream's end, errors.

    A percentile is None when no stream on the path succeeded.
    """

    wall_seconds: float
    requests_per_second: float
    first_token_p50: float | None
    first_token_p90: float | None
    stream_p50: float | None
    stream_p90: float | None
    errors: int


class ProxyResult(BenchmarkResult):
    """Streaming through the proxy against streaming straight from vLLM with the same scoring alongside."""

    name: str = "proxy"
    direct: PathResult
    proxy: PathResult
    first_token_ratio: float | None
    """The proxy's median time to the first token over the direct path's."""
    wall_ratio: float
    """The proxy's wall time over the direct path's."""


def percentiles(values: list[float]) -> list[float | None]:
    """The 50th and 90th percentiles, or None for both when there are no values."""
    return [float(v) for v in np.percentile(values, [50, 90])] if values else [None, None]


def path_result(phase: Phase, requests: int) -> PathResult:
    ttft, total = percentiles(phase.first_tokens), percentiles(phase.totals)
    return PathResult(
        wall_seconds=phase.wall, requests_per_second=requests / phase.wall, first_token_p50=ttft[0],
        first_token_p90=ttft[1], stream_p50=total[0], stream_p90=total[1], errors=phase.errors,
    )  # fmt: skip


async def load(indices: range, send: Callable[[int], Awaitable[Stream]], phase: Phase, concurrency: int) -> None:
    """Send requests ``indices``, ``concurrency`` at a time, into ``phase``."""
    semaphore = asyncio.Semaphore(concurrency)

    async def one(i: int) -> None:
        async with semaphore:
            try:
                stream = await asyncio.wait_for(send(i), REQUEST_TIMEOUT)
                if stream.first_token is None:
                    raise RuntimeError("no content token")
                phase.first_tokens.append(stream.first_token)
                phase.totals.append(stream.total)
            except Exception as exc:  # counted and shown: the benchmark reports errors, it does not hide them
                phase.errors += 1
                print(f"  request {i} failed: {type(exc).__name__}: {exc}")

    started = time.perf_counter()
    await asyncio.gather(*(one(i) for i in indices))
    phase.wall += time.perf_counter() - started


async def measure(
    handle: ServerHandle,
    proxy_url: str,
    *,
    requests: int = REQUESTS,
    concurrency: int = CONCURRENCY,
    reused: bool = True,
) -> ProxyResult:
    """Stream ``requests`` chat requests per path, ``concurrency`` at a time, through the proxy at
    ``proxy_url`` and straight from ``handle`` (``reused``: the server was not started here)."""
    limits = httpx.Limits(max_connections=2 * concurrency + 8)
    async with httpx.AsyncClient(timeout=REQUEST_TIMEOUT, limits=limits) as http:
        scorer = ConversationScorer(
            chat_model(handle, http_async_client=http), n_samples=SAMPLES, max_tokens=SAMPLE_TOKENS, seed=SEED
        )

        async def direct(i: int) -> Stream:
            """The baseline: the stream straight from vLLM, with the same samples drawn alongside."""
            body = request_body(i, handle.model_name)
            messages = conversation(body["messages"])
            tasks: list[asyncio.Future[Any]] = []

            def start_sampling() -> None:  # when the stream is accepted, as the proxy does
                tasks.append(asyncio.ensure_future(scorer.asample(messages)))

            try:
                stream = await read_stream(http, f"{handle.api_url}/chat/completions", body, start_sampling)
            except BaseException:
                for task in tasks:
                    discard(task)
                raise
            text = "".join((c.get("delta") or {}).get("content") or "" for e in stream.events for c in e["choices"])
            await scorer.ascore(messages, text, await tasks[0])
            return stream

        async def proxied(i: int) -> Stream:
            stream = await read_stream(http, f"{proxy_url}/v1/chat/completions", request_body(i, handle.model_name))
            last = stream.events[-1] if stream.events else {}
            if not stream.done or last.get("choices") != [] or "confidence" not in last:
                raise RuntimeError("the stream did not end with its confidence chunk and [DONE]")
            return stream

        warm = Phase()
        for send in (direct, proxied):  # the first logprob requests are slow
            await load(range(2), send, warm, concurrency)
        half = requests // 2
        phases = {"direct": Phase(), "proxy": Phase()}
        for name, indices in (("direct", range(half)), ("proxy", range(half)), ("proxy", range(half, requests)),
                              ("direct", range(half, requests))):  # fmt: skip
            await load(indices, direct if name == "direct" else proxied, phases[name], concurrency)

    paths = {name: path_result(phase, requests) for name, phase in phases.items()}
    ttft = paths["proxy"].first_token_p50, paths["direct"].first_token_p50
    settings = {"requests": requests, "concurrency": concurrency, "reply_tokens": REPLY_TOKENS, "samples": SAMPLES,
                "sample_tokens": SAMPLE_TOKENS, "seed": SEED, **server_settings(handle, reused)}  # fmt: skip
    return ProxyResult(
        settings=settings, direct=paths["direct"], proxy=paths["proxy"],
        first_token_ratio=ttft[0] / ttft[1] if ttft[0] is not None and ttft[1] is not None else None,
        wall_ratio=phases["proxy"].wall / phases["direct"].wall,
    )  # fmt: skip


def figure(value: float | None, digits: int) -> str:
    return f"{float('nan') if value is None else value:.{digits}f}"


def show(result: ProxyResult) -> None:
    s = result.settings
    print(f"{s['requests']} streamed requests per path, {s['concurrency']} concurrent clients, "
          f"reply <= {s['reply_tokens']} tokens, {s['samples']} confidence samples <= {s['sample_tokens']} tokens, "
          f"seed {s['seed']}")  # fmt: skip
    for name, path in (("direct", result.direct), ("proxy", result.proxy)):
        print(f"{name:>6}: {path.requests_per_second:.2f} req/s  first token p50 {figure(path.first_token_p50, 2)} s  "
              f"p90 {figure(path.first_token_p90, 2)} s  whole stream p50 {figure(path.stream_p50, 2)} s  "
              f"p90 {figure(path.stream_p90, 2)} s  errors {path.errors}")  # fmt: skip
    print(f"time to first token through the proxy / straight from vLLM (p50): {figure(result.first_token_ratio, 3)}x")
    print(f"wall time through the proxy / direct: {result.wall_ratio:.3f}x")
    print(f"errors: {result.proxy.errors} through the proxy (every stream checked for its confidence chunk), "
          f"{result.direct.errors} direct")  # fmt: skip


def main() -> None:
    parser = arguments(__doc__)
    parser.add_argument("requests", type=int, nargs="?", default=REQUESTS)
    parser.add_argument("concurrency", type=int, nargs="?", default=CONCURRENCY)
    args = parser.parse_args()
    with benchmark_server() as handle, running_proxy(handle) as (proxy_url, pid):
        print(f"proxy at {proxy_url} (pid {pid}) in front of {handle.base_url}")
        result = run_sync(
            measure(handle, proxy_url, requests=args.requests, concurrency=args.concurrency, reused=reused_server())
        )
    show(result)
    if args.json:
        result.write(args.json)


if __name__ == "__main__":
    main()
