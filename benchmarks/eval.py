"""Evaluation throughput against raw vLLM generation for the same prompts: the toolkit's overhead.

The raw run sends exactly the requests elicit sends (the vanilla prompt with n samples, then
the P(True) prompt about the first sample's answer) straight to the server with the openai
SDK and the same concurrency, and does nothing with the results.
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
from elicit.client import chat_model
from elicit.datasets import load_mix
from elicit.evaluate import aevaluate
from elicit.loop import run_sync
from elicit.parsing import parse_sample
from elicit.prompts import PromptSet

N_SAMPLES = 5
MAX_TOKENS = 32
CONCURRENCY = 8


def _openai_messages(messages) -> list[dict[str, str]]:
    roles = {"system": "system", "human": "user", "ai": "assistant"}
    return [{"role": roles[m.type], "content": m.content} for m in messages]


async def raw(handle, asked: list[str]) -> None:
    client = AsyncOpenAI(base_url=handle.api_url, api_key="EMPTY")
    prompts = PromptSet()
    semaphore = asyncio.Semaphore(CONCURRENCY)

    async def one(question: str) -> None:
        async with semaphore:
            response = await client.chat.completions.create(
                model=handle.model_name, messages=_openai_messages(prompts.messages("vanilla", question)),
                n=N_SAMPLES, temperature=0.7, max_tokens=MAX_TOKENS, logprobs=True, top_logprobs=5,
            )  # fmt: skip
            answer = parse_sample(response.choices[0].message.content or "", "vanilla").answer or "unknown"
            await client.chat.completions.create(
                model=handle.model_name, messages=_openai_messages(prompts.self_eval_messages(question, answer)),
                max_tokens=1, temperature=0.0, logprobs=True, top_logprobs=5,
            )  # fmt: skip

    await asyncio.gather(*(one(q) for q in asked))


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 48
    sets = ("capitals", "cities", "us_capitals", "arithmetic")
    items = load_mix(sets, per_set=-(-count // len(sets)), seed=1)[:count]
    with benchmark_server() as handle:
        chain = ConfidenceChain(
            chat_model(handle), n_samples=N_SAMPLES, max_tokens=MAX_TOKENS, max_concurrency=CONCURRENCY
        )
        run_sync(raw(handle, [item.question for item in items[:2]]))  # warm-up
        with tempfile.TemporaryDirectory() as folder, Timer() as evaluated:
            run_sync(aevaluate(chain, items, Path(folder) / "eval.jsonl", concurrency=CONCURRENCY, progress=False))
        with Timer() as generated:
            run_sync(raw(handle, [item.question for item in items]))
    print(f"{count} questions, n={N_SAMPLES} + P(True), max_tokens={MAX_TOKENS}, concurrency {CONCURRENCY}")
    print(f"elicit eval:            {count / evaluated.seconds:.3f} questions/s")
    print(f"raw vLLM, same prompts: {count / generated.seconds:.3f} questions/s")
    print(f"elicit / raw throughput: {generated.seconds / evaluated.seconds:.2f}")


if __name__ == "__main__":
    main()
