"""What the answer probe costs: its hidden-state read per question against one answer generation, and its memory.

The probe is fitted on labelled records (their questions, the model's answers and grades),
then other questions of the same file are asked in this one process on the same server:
one greedy answer each (the baseline), the probe's read of each question and answer, and
``ConfidenceChain.abatch`` without and with the probe. Every read goes to a fresh cache, so
each is a forward pass of the local weights in transformers; the probe's logistic map on top
is a dot product. Memory is the growth of this process's peak resident set from loading
those weights and fitting, which is what a chain with a probe holds beyond one without.

    ELICIT_BASE_URL=http://127.0.0.1:PORT python -m benchmarks.probe_cost RECORDS [--train 200] [--questions 24]
"""

from __future__ import annotations

import resource
import tempfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from benchmarks.common import BenchmarkResult, Timer, arguments, benchmark_server, reused_server, server_settings
from elicit.calibration.white_box import AnswerProbe, ProbeReader, probe_text
from elicit.chains import ConfidenceChain
from elicit.elicitation.prompts import PromptSet
from elicit.elicitation.sampling import agenerate
from elicit.evaluation.batch import load_records
from elicit.model.client import chat_model
from elicit.model.hidden_states import HiddenStateEmbeddings
from elicit.model.loop import run_sync
from elicit.model.serving import ServerHandle
from elicit.types import EvalRecord

MAX_TOKENS = 32
"""Tokens of the baseline answer: the vanilla strategy's short answer."""


class ProbeCostResult(BenchmarkResult):
    """The probe's time per question as a ratio to one answer generation, the chain's slow-down, and memory."""

    name: str = "probe_cost"
    layer: int
    pooling: str
    fit_seconds: float
    """Reading every candidate layer of the training rows and fitting the probe."""
    answer_seconds: float
    """Mean wall time of one greedy answer (one request, sequential)."""
    probe_seconds: float
    """Mean wall time of the probe's read of one question and answer (sequential, uncached)."""
    probe_ratio: float
    """``probe_seconds`` over ``answer_seconds``."""
    chain_seconds: float
    chain_probe_seconds: float
    chain_ratio: float
    """The chain's batch with the probe over the same batch without it."""
    memory_mib: float
    """Growth of the process's peak resident set from loading the weights and fitting."""


def _peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # KiB on Linux


def split(records: Sequence[EvalRecord], train: int, asked: int, seed: int) -> tuple[list[EvalRecord], list[str]]:
    """Seeded disjoint rows: ``train`` answered records to fit on, and ``asked`` other questions to time."""
    usable = [record for record in records if record.answer]
    if len(usable) < train + asked:
        raise SystemExit(f"need {train + asked} answered records, the file has {len(usable)}")
    order = np.random.default_rng(seed).permutation(len(usable))
    return [usable[i] for i in order[:train]], [usable[i].question for i in order[train : train + asked]]


async def measure(
    handle: ServerHandle, fit_on: Sequence[EvalRecord], asked: Sequence[str], *, reused: bool = True, seed: int = 0
) -> ProbeCostResult:
    """Fit the probe on ``fit_on``, then time answers, probe reads and the chain on ``asked`` at ``handle``."""
    llm = chat_model(handle)
    prompts = PromptSet()
    chain = ConfidenceChain(llm, seed=seed)
    await chain.abatch(list(asked[:2]))  # warm-up: the first logprobs request is slow
    before = _peak_mib()
    with tempfile.TemporaryDirectory() as folder, Timer() as fitting:
        encoder = HiddenStateEmbeddings(handle.model_name, cache_path=Path(folder) / "fit.sqlite")
        texts = [probe_text(record.question, record.answer) for record in fit_on]
        probe = AnswerProbe.fit(encoder, texts, [record.correct for record in fit_on], seed=seed)
    memory = _peak_mib() - before
    answers = []
    with Timer() as answering:
        for question in asked:
            [generation] = await agenerate(
                llm, prompts.messages("vanilla", question), n=1, temperature=0.0, max_tokens=MAX_TOKENS
            )
            answers.append(generation.text)
    with tempfile.TemporaryDirectory() as folder:
        reader = ProbeReader(probe, HiddenStateEmbeddings(handle.model_name, cache_path=Path(folder) / "read.sqlite"))
        with Timer() as reading:
            for question, answer in zip(asked, answers, strict=True):
                reader.value(question, answer)
    # With the probe first: whatever the server caches of these prompts then speeds the plain
    # batch, so the ratio errs towards overstating the probe's cost.
    with tempfile.TemporaryDirectory() as folder:
        reader = ProbeReader(probe, HiddenStateEmbeddings(handle.model_name, cache_path=Path(folder) / "chain.sqlite"))
        with Timer() as probed:
            await ConfidenceChain(llm, seed=seed, probe=reader).abatch(list(asked))
    with Timer() as plain:
        await chain.abatch(list(asked))
    count = len(asked)
    return ProbeCostResult(
        settings={
            "train": len(fit_on),
            "questions": count,
            "max_tokens": MAX_TOKENS,
            "seed": seed,
            **server_settings(handle, reused),
        },  # fmt: skip
        layer=probe.layer,
        pooling=probe.pooling,
        fit_seconds=fitting.seconds,
        answer_seconds=answering.seconds / count,
        probe_seconds=reading.seconds / count,
        probe_ratio=reading.seconds / answering.seconds,
        chain_seconds=plain.seconds,
        chain_probe_seconds=probed.seconds,
        chain_ratio=probed.seconds / plain.seconds,
        memory_mib=memory,
    )


def show(result: ProbeCostResult) -> None:
    settings = result.settings
    print(f"probe fitted on {settings['train']} records in {result.fit_seconds:.1f} s "
          f"(layer {result.layer}, {result.pooling} pooling)")  # fmt: skip
    print(f"{settings['questions']} other questions timed")
    print(f"one greedy answer: {result.answer_seconds:.3f} s; the probe's read: {result.probe_seconds:.3f} s "
          f"({result.probe_ratio:.2f}x an answer)")  # fmt: skip
    print(f"ConfidenceChain.abatch with the probe / without: {result.chain_ratio:.2f}x "
          f"({result.chain_probe_seconds:.1f} s / {result.chain_seconds:.1f} s)")  # fmt: skip
    print(f"peak memory growth from the probe's weights and fit: {result.memory_mib:.0f} MiB")


def main() -> None:
    parser = arguments(__doc__)
    parser.add_argument("records", type=Path, help="labelled records of the served model (an elicit eval file)")
    parser.add_argument("--train", type=int, default=200)
    parser.add_argument("--questions", type=int, default=24)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    fit_on, asked = split(load_records(args.records), args.train, args.questions, args.seed)
    with benchmark_server() as handle:
        result = run_sync(measure(handle, fit_on, asked, reused=reused_server(), seed=args.seed))
    show(result)
    if args.json:
        result.write(args.json)


if __name__ == "__main__":
    main()
