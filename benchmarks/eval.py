"""Evaluation throughput against raw vLLM generation for the same prompts: the toolkit's overhead.

The raw run sends exactly the requests elicit sends (the vanilla prompt with n samples, then
the P(True) prompt about the first sample's answer) straight to the server with the openai
SDK and the same concurrency, and does nothing with the results. The runs go raw, elicit,
elicit, raw (ABBA), so warm caches and drifting load favour neither side; generated tokens
are counted on both sides because sampled answers vary in length.
Run from the repository root: .venv/bin/python -m benchmarks.eval [QUESTIONS] [--json PATH]

With --ray, the in-process evaluation is compared with the Ray path on the same server and
questions instead (ABBA again: in-process, Ray, Ray, in-process): a local Ray cluster is
started once, untimed like the server; each Ray run includes starting its actor pool. Both
sides keep 8 questions in flight per endpoint (Ray: 2 actors x 4). --base-url URL (repeatable)
gives the Ray side those endpoints; the in-process side always uses the benchmark's server.
"""

from __future__ import annotations

import asyncio
import tempfile
from functools import partial
from pathlib import Path

from openai import AsyncOpenAI
from pydantic import BaseModel

from benchmarks.common import (
    BenchmarkResult,
    Setting,
    Timer,
    arguments,
    benchmark_server,
    items,
    reused_server,
    server_settings,
)
from elicit import defaults
from elicit.chains import ConfidenceChain, served_chain
from elicit.datasets import QAItem
from elicit.elicitation.parsing import parse_sample
from elicit.elicitation.prompts import PromptSet
from elicit.evaluation.batch import aevaluate
from elicit.model.loop import run_sync
from elicit.model.serving import ServerHandle, connect

N_SAMPLES = 5
MAX_TOKENS = 32
CONCURRENCY = 8
RAY_ACTORS = 2
RUNS = 2
"""Timed runs per side (ABBA)."""
QUESTION_SEED = 1


class Side(BaseModel):
    """One side's timed runs together: wall time, generated tokens, and the rates they give."""

    seconds: float
    tokens: int
    questions_per_second: float
    tokens_per_second: float


def side(seconds: float, tokens: int, questions: int) -> Side:
    """A side's figures from its RUNS timed runs over ``questions`` questions."""
    return Side(seconds=seconds, tokens=tokens, questions_per_second=RUNS * questions / seconds,
                tokens_per_second=tokens / seconds)  # fmt: skip


class EvalResult(BenchmarkResult):
    """elicit's evaluation against the same requests sent raw: what the toolkit costs."""

    name: str = "eval"
    elicit: Side
    raw: Side
    questions_ratio: float
    """elicit's questions per second over raw's."""
    tokens_ratio: float
    """elicit's generated tokens per second over raw's."""


class RayEvalResult(BenchmarkResult):
    """The evaluation on Ray actors against the in-process one, on the same questions."""

    name: str = "eval-ray"
    in_process: Side
    ray: Side
    ray_ratio: float
    """Ray's questions per second over the in-process evaluation's."""


def _openai_messages(messages) -> list[dict[str, str]]:
    roles = {"system": "system", "human": "user", "ai": "assistant"}
    return [{"role": roles[m.type], "content": m.content} for m in messages]


async def raw(handle: ServerHandle, asked: list[str]) -> int:
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


def evaluate(chain: ConfidenceChain, asked: list[QAItem]) -> int:
    """Run elicit's evaluation; return the number of generated tokens (samples + P(True))."""
    with tempfile.TemporaryDirectory() as folder:
        records = run_sync(
            aevaluate(chain, asked, Path(folder) / "eval.jsonl", concurrency=CONCURRENCY, keep_tokens=True,
                      progress=False)
        )  # fmt: skip
    return generated_tokens(records)


def evaluate_ray(endpoints: list[ServerHandle], asked: list[QAItem]) -> int:
    """The same evaluation on Ray actors (2 per endpoint, 8 questions in flight per endpoint)."""
    from elicit.evaluation.ray_batch import evaluate_on_ray

    with tempfile.TemporaryDirectory() as folder:
        records = evaluate_on_ray(
            bench_chain, asked, Path(folder) / "eval.jsonl", endpoints=endpoints, actors=RAY_ACTORS * len(endpoints),
            concurrency=CONCURRENCY // RAY_ACTORS, keep_tokens=True, progress=False,
        )  # fmt: skip
    return generated_tokens(records)


def settings(handle: ServerHandle, asked: list[QAItem], reused: bool) -> dict[str, Setting]:
    """What both comparisons were run with."""
    return {"questions": len(asked), "runs_per_side": RUNS, "samples": N_SAMPLES, "max_tokens": MAX_TOKENS,
            "concurrency": CONCURRENCY, "seed": defaults.SEED, "question_seed": QUESTION_SEED,
            **server_settings(handle, reused)}  # fmt: skip


def measure(handle: ServerHandle, asked: list[QAItem], *, reused: bool = True) -> EvalResult:
    """elicit's evaluation against raw requests, ABBA, on ``asked`` at ``handle`` (``reused``: not started here)."""
    chain = bench_chain(handle)
    questions = [item.question for item in asked]
    run_sync(raw(handle, questions[:2]))  # warm-up: the first logprobs request is slow
    seconds = {"raw": 0.0, "elicit": 0.0}
    tokens = {"raw": 0, "elicit": 0}
    for name in ("raw", "elicit", "elicit", "raw"):
        with Timer() as timer:
            tokens[name] += run_sync(raw(handle, questions)) if name == "raw" else evaluate(chain, asked)
        seconds[name] += timer.seconds
    sides = {name: side(seconds[name], tokens[name], len(asked)) for name in seconds}
    return EvalResult(
        settings=settings(handle, asked, reused), elicit=sides["elicit"], raw=sides["raw"],
        questions_ratio=seconds["raw"] / seconds["elicit"],
        tokens_ratio=sides["elicit"].tokens_per_second / sides["raw"].tokens_per_second,
    )  # fmt: skip


def measure_ray(
    handle: ServerHandle, asked: list[QAItem], endpoints: list[ServerHandle] | None = None, *, reused: bool = True
) -> RayEvalResult:
    """In-process evaluation against the Ray path, ABBA, on the same questions; Ray uses ``endpoints``
    (default: ``handle``), the in-process side always ``handle``."""
    from elicit.evaluation.ray_batch import ray_cluster

    endpoints = endpoints or [handle]
    chain = bench_chain(handle)
    with ray_cluster():
        evaluate_ray(endpoints, asked[:2])  # warm-up: the first logprobs request is slow; Ray's first start too
        seconds = {"in-process": 0.0, "ray": 0.0}
        tokens = {"in-process": 0, "ray": 0}
        for name in ("in-process", "ray", "ray", "in-process"):
            with Timer() as timer:
                tokens[name] += evaluate(chain, asked) if name == "in-process" else evaluate_ray(endpoints, asked)
            seconds[name] += timer.seconds
    return RayEvalResult(
        settings={**settings(handle, asked, reused), "endpoints": len(endpoints),
                  "actors": RAY_ACTORS * len(endpoints), "actor_concurrency": CONCURRENCY // RAY_ACTORS},
        in_process=side(seconds["in-process"], tokens["in-process"], len(asked)),
        ray=side(seconds["ray"], tokens["ray"], len(asked)),
        ray_ratio=seconds["in-process"] / seconds["ray"],
    )  # fmt: skip


def show(result: EvalResult) -> None:
    s = result.settings
    print(f"{s['questions']} questions x {s['runs_per_side']} runs per side, n={s['samples']} + P(True), "
          f"max_tokens={s['max_tokens']}")  # fmt: skip
    for figures, label in ((result.elicit, "elicit eval:           "), (result.raw, "raw vLLM, same prompts:")):
        rates = f"{figures.questions_per_second:.3f} questions/s, {figures.tokens_per_second:.1f} generated tok/s"
        print(f"{label} {rates}")
    print(f"elicit / raw throughput (questions/s): {result.questions_ratio:.2f}")
    print(f"elicit / raw throughput (generated tokens/s): {result.tokens_ratio:.2f}")


def show_ray(result: RayEvalResult) -> None:
    s = result.settings
    print(f"{s['questions']} questions x {s['runs_per_side']} runs per side, n={s['samples']} + P(True), "
          f"max_tokens={s['max_tokens']}, seed {s['seed']}")  # fmt: skip
    in_process = result.in_process.questions_per_second
    print(f"in-process, 1 endpoint, {s['concurrency']} in flight: {in_process:.3f} questions/s")
    print(
        f"Ray, {s['endpoints']} endpoint(s), {s['actors']} actors x {s['actor_concurrency']} in flight: "
        f"{result.ray.questions_per_second:.3f} questions/s"
    )
    print(f"Ray / in-process throughput (questions/s): {result.ray_ratio:.2f}")


def main() -> None:
    parser = arguments(__doc__)
    parser.add_argument("questions", type=int, nargs="?", default=48)
    parser.add_argument("--ray", action="store_true", help="compare the Ray path with the in-process one")
    parser.add_argument("--base-url", action="append", default=[], help="with --ray: an endpoint (repeatable)")
    args = parser.parse_args()
    asked = items(args.questions, seed=QUESTION_SEED)
    result: EvalResult | RayEvalResult
    with benchmark_server() as handle:
        if args.ray:
            result = measure_ray(handle, asked, [connect(url) for url in args.base_url], reused=reused_server())
        else:
            result = measure(handle, asked, reused=reused_server())
    if isinstance(result, RayEvalResult):
        show_ray(result)
    else:
        show(result)
    if args.json:
        result.write(args.json)


if __name__ == "__main__":
    main()
