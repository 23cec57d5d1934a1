"""Evaluation throughput against raw vLLM generation for the same prompts: the toolkit's overhead.

The raw run sends exactly the requests elicit sends (the vanilla prompt with n samples, then
the P(True) prompt about the first sample's answer) straight to the server with the openai
SDK and the same concurrency, and does nothing with the results. The runs go raw, elicit,
elicit, raw (ABBA), so warm caches and drifting load favour neither side; generated tokens
are counted on both sides because sampled answers vary in length.
Run from the repository root: .venv/bin/python -m benchmarks.eval [QUESTIONS]
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
from pathlib import Path

from openai import AsyncOpenAI

from benchmarks.common import Timer, benchmark_server
from elicit.chains import ConfidenceChain
from elicit.datasets import load_mix
from elicit.elicitation.parsing import parse_sample
from elicit.elicitation.prompts import PromptSet
from elicit.evaluation.batch import aevaluate
from elicit.model.client import chat_model
from elicit.model.loop import run_sync

N_SAMPLES = 5
MAX_TOKENS = 32
CONCURRENCY = 8


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


def evaluate(chain: ConfidenceChain, items) -> int:
    """Run elicit's evaluation; return the number of generated tokens (samples + P(True))."""
    with tempfile.TemporaryDirectory() as folder:
        records = run_sync(
            aevaluate(chain, items, Path(folder) / "eval.jsonl", concurrency=CONCURRENCY, keep_tokens=True,
                      progress=False)
        )  # fmt: skip
    return sum(len(s.tokens or []) for r in records for s in r.samples) + len(records)


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 48
    sets = ("capitals", "cities", "us_capitals", "arithmetic")
    items = load_mix(sets, per_set=-(-count // len(sets)), seed=1)[:count]
    with benchmark_server() as handle:
        chain = ConfidenceChain(
            chat_model(handle), n_samples=N_SAMPLES, max_tokens=MAX_TOKENS, max_concurrency=CONCURRENCY
        )
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
