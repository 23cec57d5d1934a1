"""ConfidenceChain.abatch vs a naive loop that sends one request per sample, sequentially.

Both produce the same outputs per question: 5 samples of the vanilla prompt and one P(True)
self-evaluation. Run from the repository root: .venv/bin/python -m benchmarks.elicit [QUESTIONS]
"""

from __future__ import annotations

import sys

from benchmarks.common import Timer, benchmark_server, questions
from elicit.chains import ConfidenceChain
from elicit.elicitation.prompts import PromptSet
from elicit.elicitation.sampling import agenerate, ap_true
from elicit.model.client import chat_model
from elicit.model.loop import run_sync

N_SAMPLES = 5
MAX_TOKENS = 32


async def naive(llm, asked: list[str]) -> None:
    prompts = PromptSet()
    for question in asked:
        answers = []
        for _ in range(N_SAMPLES):
            [generation] = await agenerate(
                llm, prompts.messages("vanilla", question), n=1, temperature=0.7, max_tokens=MAX_TOKENS
            )
            answers.append(generation.text)
        await ap_true(llm, prompts.self_eval_messages(question, answers[0]))


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 32
    asked = questions(count)
    with benchmark_server() as handle:
        llm = chat_model(handle)
        chain = ConfidenceChain(llm, n_samples=N_SAMPLES, max_tokens=MAX_TOKENS, max_concurrency=8)
        run_sync(chain.abatch(asked[:2]))  # warm-up: the first logprobs request is slow
        with Timer() as batched:
            run_sync(chain.abatch(asked))
        with Timer() as sequential:
            run_sync(naive(llm, asked))
    print(f"{count} questions, {N_SAMPLES} samples + P(True) each, max_tokens={MAX_TOKENS}")
    print(f"ConfidenceChain.abatch (n in one request, 8 in flight): {count / batched.seconds:.3f} questions/s")
    print(f"naive loop (one request per sample, sequential):        {count / sequential.seconds:.3f} questions/s")
    print(f"speed-up: {sequential.seconds / batched.seconds:.2f}x")


if __name__ == "__main__":
    main()
