"""Evaluation throughput against raw vLLM generation for the same prompts: the toolkit's overhead.

The raw run sends exactly the requests elicit sends (the vanilla prompt with n samples, then
the P(True) prompt about the first sample's answer) straight to the server with the openai
SDK and the same concurrency, and does nothing with the results. The runs go raw, elicit,
elicit, raw (ABBA), so warm caches and drifting load favour neither side; generated tokens
are counted on both sides because sampled answers vary in length.
Run from the repository root: .venv/bin/python -m benchmarks.eval [QUESTIONS]

With --ray, the in-process evaluation is compared with the Ray path on the same server and
questions instead (ABBA again: in-process, Ray, Ray, in-process): a local Ray cluster is
started once, untimed like the server; each Ray run includes starting its actor pool. Both
sides keep 8 questions in flight per endpoint (Ray: 2 actors x 4). --base-url URL (repeatable)
gives the Ray side those endpoints; the in-process side always uses the benchmark's server.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
from functools import partial
from pathlib import Path

from openai import AsyncOpenAI

from benchmarks.common import Timer, benchmark_server
from elicit.chains import ConfidenceChain, served_chain
from elicit.datasets import load_mix
from elicit.elicitation.parsing import parse_sample
from elicit.elicitation.prompts import PromptSet
from elicit.evaluation.batch import aevaluate
from elicit.model.loop import run_sync
from elicit.model.serving import connect

N_SAMPLES = 5
MAX_TOKENS = 32
CONCURRENCY = 8
RAY_ACTORS = 2


def _openai_messages(messages) -> list[dict[str, str]]:
    roles = {"system": "system", "human": "user", "ai": "assistant"}
    return [{"role": roles[m.type], "content": m.content} for m in messages]


async def raw(handle, asked: list[str]) -> int:
    """Send elicit's requests straight to the server; return the number of generated tokens."""
    client = AsyncOpenAI(base_url=handle.api_url, api_key="EMPTY")
    prompts = PromptSet()
    semaphore = asyncio.Semaphore(CONCURRENCY)

    async def one(question: str) -> int:
        async with semaphore:
            response = await client.chat.completions.create(
                model=handle.model_name, messages=_openai_messages(prompts.messages("vanilla", question)),
                n=N_SAMPLES, temperature=0.7, max_tokens=MAX_TOKENS, logprobs=True, top_logprobs=5,
            )  # fmt: skip
            answer = parse_sample(response.choices[0].message.content or "", "vanilla").answer or "unknown"
            check = await client.chat.completions.create(
                model=handle.model_name, messages=_openai_messages(prompts.self_eval_messages(question, answer)),
                max_tokens=1, temperature=0.0, logprobs=True, top_logprobs=5,
            )  # fmt: skip
            return response.usage.completion_tokens + check.usage.completion_tokens

    return sum(await asyncio.gather(*(one(q) for q in asked)))


bench_chain = partial(served_chain, n_samples=N_SAMPLES, max_tokens=MAX_TOKENS, max_concurrency=CONCURRENCY)


def generated_tokens(records) -> int:
    return sum(len(s.tokens or []) for r in records for s in r.samples) + len(records)


def evaluate(chain: ConfidenceChain, items) -> int:
    """Run elicit's evaluation; return the number of generated tokens (samples + P(True))."""
    with tempfile.TemporaryDirectory() as folder:
        records = run_sync(
            aevaluate(chain, items, Path(folder) / "eval.jsonl", concurrency=CONCURRENCY, keep_tokens=True,
                      progress=False)
        )  # fmt: skip
    return generated_tokens(records)


def evaluate_ray(endpoints, items) -> int:
    """The same evaluation on Ray actors (2 per endpoint, 8 questions in flight per endpoint)."""
    from elicit.evaluation.ray_batch import evaluate_on_ray

    with tempfile.TemporaryDirectory() as folder:
        records = evaluate_on_ray(
            bench_chain, items, Path(folder) / "eval.jsonl", endpoints=endpoints, actors=RAY_ACTORS * len(endpoints),
            concurrency=CONCURRENCY // RAY_ACTORS, keep_tokens=True, progress=False,
        )  # fmt: skip
    return generated_tokens(records)


def compare_ray(handle, items, urls: list[str]) -> None:
    """In-process evaluation against the Ray path, ABBA, on the same server(s) and questions."""
    from elicit.evaluation.ray_batch import ray_cluster

    endpoints = [connect(url) for url in urls] or [handle]
    chain = bench_chain(handle)
    with ray_cluster():
        evaluate_ray(endpoints, items[:2])  # warm-up: the first logprobs request is slow; Ray's first start too
        seconds = {"in-process": 0.0, "ray": 0.0}
        for side in ("in-process", "ray", "ray", "in-process"):
            with Timer() as timer:
                evaluate(chain, items) if side == "in-process" else evaluate_ray(endpoints, items)
            seconds[side] += timer.seconds
    runs = 2 * len(items)
    print(f"{len(items)} questions x 2 runs per side, n={N_SAMPLES} + P(True), max_tokens={MAX_TOKENS}, seed 0")
    print(f"in-process, 1 endpoint, {CONCURRENCY} in flight: {runs / seconds['in-process']:.3f} questions/s")
    actors = RAY_ACTORS * len(endpoints)
    print(
        f"Ray, {len(endpoints)} endpoint(s), {actors} actors x {CONCURRENCY // RAY_ACTORS} in flight: "
        f"{runs / seconds['ray']:.3f} questions/s"
    )
    print(f"Ray / in-process throughput (questions/s): {seconds['in-process'] / seconds['ray']:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("questions", type=int, nargs="?", default=48)
    parser.add_argument("--ray", action="store_true", help="compare the Ray path with the in-process one")
    parser.add_argument("--base-url", action="append", default=[], help="with --ray: an endpoint (repeatable)")
    args = parser.parse_args()
    count = args.questions
    sets = ("capitals", "cities", "us_capitals", "arithmetic")
    items = load_mix(sets, per_set=-(-count // len(sets)), seed=1)[:count]
    with benchmark_server() as handle:
        if args.ray:
            compare_ray(handle, items, args.base_url)
            return
        chain = bench_chain(handle)
        questions = [item.question for item in items]
        run_sync(raw(handle, questions[:2]))  # warm-up: the first logprobs request is slow
        seconds = {"raw": 0.0, "elicit": 0.0}
        tokens = {"raw": 0, "elicit": 0}
        for side in ("raw", "elicit", "elicit", "raw"):
            with Timer() as timer:
                tokens[side] += run_sync(raw(handle, questions)) if side == "raw" else evaluate(chain, items)
            seconds[side] += timer.seconds
    runs = 2 * count
    print(f"{count} questions x 2 runs per side, n={N_SAMPLES} + P(True), max_tokens={MAX_TOKENS}")
    for side, label in (("elicit", "elicit eval:           "), ("raw", "raw vLLM, same prompts:")):
        print(f"{label} {runs / seconds[side]:.3f} questions/s, {tokens[side] / seconds[side]:.1f} generated tok/s")
    print(f"elicit / raw throughput (questions/s): {seconds['raw'] / seconds['elicit']:.2f}")
    per_token = (tokens["elicit"] / seconds["elicit"]) / (tokens["raw"] / seconds["raw"])
    print(f"elicit / raw throughput (generated tokens/s): {per_token:.2f}")


if __name__ == "__main__":
    main()
