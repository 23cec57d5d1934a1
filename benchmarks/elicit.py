"""ConfidenceChain.abatch vs a naive loop that sends one request per sample, sequentially.

Both produce the same outputs per question: 5 samples of the vanilla prompt and one P(True)
self-evaluation. Run from the repository root:
.venv/bin/python -m benchmarks.elicit [QUESTIONS] [--json PATH]
"""

from __future__ import annotations

from langchain_core.language_models import BaseChatModel

from benchmarks.common import (
    BenchmarkResult,
    Timer,
    arguments,
    benchmark_server,
    questions,
    reused_server,
    server_settings,
)
from elicit.chains import ConfidenceChain
from elicit.elicitation.prompts import PromptSet
from elicit.elicitation.sampling import agenerate, ap_true
from elicit.model.client import chat_model
from elicit.model.loop import run_sync
from elicit.model.serving import ServerHandle

N_SAMPLES = 5
MAX_TOKENS = 32
CONCURRENCY = 8


class ChainSpeedResult(BenchmarkResult):
    """Questions per second of the chain's batch against the naive loop, on the same questions."""

    name: str = "elicit"
    batched_seconds: float
    naive_seconds: float
    batched_questions_per_second: float
    naive_questions_per_second: float
    speedup: float
    """The naive loop's wall time over the chain's."""


async def naive(llm: BaseChatModel, asked: list[str]) -> None:
    prompts = PromptSet()
    for question in asked:
        answers = []
        for _ in range(N_SAMPLES):
            [generation] = await agenerate(
                llm, prompts.messages("vanilla", question), n=1, temperature=0.7, max_tokens=MAX_TOKENS
            )
            answers.append(generation.text)
        await ap_true(llm, prompts.self_eval_messages(question, answers[0]))


async def measure(handle: ServerHandle, asked: list[str], *, reused: bool = True) -> ChainSpeedResult:
    """Time the chain's batch, then the naive loop, on ``asked`` at ``handle`` (``reused``: not started here)."""
    llm = chat_model(handle)
    chain = ConfidenceChain(llm, n_samples=N_SAMPLES, max_tokens=MAX_TOKENS, max_concurrency=CONCURRENCY)
    await chain.abatch(asked[:2])  # warm-up: the first logprobs request is slow
    with Timer() as batched:
        await chain.abatch(asked)
    with Timer() as sequential:
        await naive(llm, asked)
    count = len(asked)
    settings = {"questions": count, "samples": N_SAMPLES, "max_tokens": MAX_TOKENS, "concurrency": CONCURRENCY,
                **server_settings(handle, reused)}  # fmt: skip
    return ChainSpeedResult(
        settings=settings,
        batched_seconds=batched.seconds,
        naive_seconds=sequential.seconds,
        batched_questions_per_second=count / batched.seconds,
        naive_questions_per_second=count / sequential.seconds,
        speedup=sequential.seconds / batched.seconds,
    )


def show(result: ChainSpeedResult) -> None:
    settings = result.settings
    print(f"{settings['questions']} questions, {settings['samples']} samples + P(True) each, "
          f"max_tokens={settings['max_tokens']}")  # fmt: skip
    print(
        f"ConfidenceChain.abatch (n in one request, {settings['concurrency']} in flight): "
        f"{result.batched_questions_per_second:.3f} questions/s"
    )
    naive_rate = result.naive_questions_per_second
    print(f"naive loop (one request per sample, sequential):        {naive_rate:.3f} questions/s")
    print(f"speed-up: {result.speedup:.2f}x")


def main() -> None:
    parser = arguments(__doc__)
    parser.add_argument("questions", type=int, nargs="?", default=32)
    args = parser.parse_args()
    asked = questions(args.questions)
    with benchmark_server() as handle:
        result = run_sync(measure(handle, asked, reused=reused_server()))
    show(result)
    if args.json:
        result.write(args.json)


if __name__ == "__main__":
    main()
