"""Batch QA evaluation: every question through a ConfidenceChain, one JSONL line per finished question.

The JSONL file is the source of truth. Each record is appended (and flushed to disk) the
moment its question finishes, so Ctrl-C, a crash or a dead server loses nothing already
written, and a rerun with the same file skips every id it already holds.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import pandas as pd
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from elicit.datasets import QAItem
from elicit.elicitation.matching import exact_match, match_any, token_f1
from elicit.elicitation.strategies import strategy as get_strategy
from elicit.signals.registry import names
from elicit.types import Elicitation, EvalRecord, RunSetup


class AnswerChain(Protocol):
    """What evaluation needs of a chain: its settings (to keep one file to one setup) and ``ainvoke``.

    A ``ConfidenceChain`` is one; so is any wrapper that, say, adds retrieved passages.
    """

    strategy: str
    n_samples: int

    async def ainvoke(self, input: dict[str, Any]) -> Elicitation: ...


Matcher = Callable[[str | None, Sequence[str], str], bool]
"""Decides whether an answer to a question is correct given its gold answers (default: the
question-aware match of :mod:`elicit.elicitation.matching`)."""


class RecordsFileError(ValueError):
    """An evaluation JSONL file is corrupt or belongs to a different configuration."""


def load_records(path: Path | str) -> list[EvalRecord]:
    """Records of an evaluation file; a torn LAST line (an interrupted write) is ignored.

    A malformed line anywhere else is corruption, not an interruption, and raises with its
    line number. If an id occurs twice, the later record wins.
    """
    path = Path(path)
    if not path.exists():
        return []
    lines = path.read_text().splitlines()
    records: dict[str, EvalRecord] = {}
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            record = EvalRecord.model_validate_json(line)
        except ValueError as exc:
            if number == len(lines):
                break
            raise RecordsFileError(f"{path}, line {number}: not an evaluation record ({exc})") from exc
        records[record.id] = record
    return list(records.values())


def _drop_torn_tail(path: Path) -> None:
    """Cut an incomplete last line so that appended records start on a line of their own."""
    if not path.exists() or path.stat().st_size == 0:
        return
    data = path.read_bytes()
    if data.endswith(b"\n"):
        return
    last_newline = data.rfind(b"\n")
    tail = data[last_newline + 1 :]
    try:
        EvalRecord.model_validate_json(tail)
    except ValueError:
        with path.open("r+b") as handle:
            handle.truncate(last_newline + 1)
        return
    with path.open("ab") as handle:  # a complete record that only lacks its newline
        handle.write(b"\n")


def to_record(
    item: QAItem,
    result: Elicitation,
    *,
    matcher: Matcher,
    keep_tokens: bool,
    setup: RunSetup | None = None,
    few_shot: bool = False,
) -> EvalRecord:
    """The JSONL record of one answered question."""
    samples = result.samples if keep_tokens else [s.model_copy(update={"tokens": None}) for s in result.samples]
    return EvalRecord(
        id=item.id,
        question=item.question,
        golds=item.golds(),
        options=item.options,
        answer=result.answer,
        correct=matcher(result.answer, item.golds(), item.question),
        exact_match=exact_match(result.answer, item.golds()),
        f1=token_f1(result.answer, item.golds()),
        few_shot=few_shot,
        confidence=result.confidence,
        signals=result.signals,
        strategy=result.strategy,
        n_samples=len(result.samples),
        samples=samples,
        metadata=item.metadata,
        timings=result.timings,
        setup=setup,
    )


def distractor_pools(items: Sequence[QAItem]) -> dict[str, list[str]]:
    """Wrong answers a misleading hint may suggest for each item: its wrong options, else other
    answers of the same dataset.

    A multiple-choice question's own wrong options are the most plausible wrong answers there
    are; for a short-answer question, drawing from the same dataset (``metadata["dataset"]``;
    items without one form one group) keeps the hint plausible, a capital for a capital
    question, which is what makes it misleading rather than absurd.
    """
    by_dataset: dict[str, set[str]] = {}
    for item in items:
        by_dataset.setdefault(str(item.metadata.get("dataset")), set()).add(item.answer)
    pools = {}
    for item in items:
        wrong = item.options or by_dataset[str(item.metadata.get("dataset"))]
        pools[item.id] = sorted(set(wrong) - set(item.golds()))
    return pools


def _check_compatible(existing: Sequence[EvalRecord], chain: AnswerChain, path: Path) -> None:
    """Refuse to mix records of another setup into one file, naming what differs.

    Every setting that shapes the answers counts (model, strategy, samples, temperature,
    token budget, top logprobs, P(True), prompt version, seed): a file resumed under another
    prompt or another seed would hold answers that were never asked the same way.
    """
    setup = getattr(chain, "setup", None)
    for record in existing:
        if record.strategy != chain.strategy or record.n_samples != chain.n_samples:
            raise RecordsFileError(
                f"{path} holds records with strategy={record.strategy!r}, n_samples={record.n_samples}, "
                f"but this run uses strategy={chain.strategy!r}, n_samples={chain.n_samples}: "
                "use another output file"
            )
        if setup is not None and record.setup is not None and record.setup != setup:
            stored, asked = record.setup.model_dump(), setup.model_dump()
            changed = ", ".join(
                f"{key}: {stored[key]!r} -> {asked[key]!r}" for key in stored if stored[key] != asked[key]
            )
            raise RecordsFileError(f"{path} holds records of another setup ({changed}): use another output file")


class ItemEvaluator:
    """One question in, its JSONL record out: what every evaluation path asks of a chain.

    The chain's setup is stored in every record, and a question its prompt shows as a
    few-shot example is marked ``few_shot`` so metrics leave it out. Shared by the
    in-process path and the Ray actors, so both write the same records.
    """

    def __init__(self, chain: AnswerChain, *, matcher: Matcher = match_any, keep_tokens: bool = False) -> None:
        self.chain = chain
        self.matcher = matcher
        self.keep_tokens = keep_tokens
        self.setup: RunSetup | None = getattr(chain, "setup", None)
        self.prompts = getattr(chain, "prompts", None)

    async def arecord(self, item: QAItem, hint_pool: Sequence[str] | None = None) -> EvalRecord:
        """Ask the chain (with the hint strategy's wrong answers, if given) and build the record."""
        request: dict[str, Any] = {"question": item.question}
        if item.options:
            request["options"] = list(item.options)
        if hint_pool is not None:
            request["hint_pool"] = list(hint_pool)
        result = await self.chain.ainvoke(request)
        shown = self.prompts is not None and self.prompts.shows(item.question)
        return to_record(
            item, result, matcher=self.matcher, keep_tokens=self.keep_tokens, setup=self.setup, few_shot=shown
        )


@dataclass
class Resume:
    """Where a run stands: the records already in the file and the items still to ask."""

    path: Path
    done: dict[str, EvalRecord]
    todo: list[QAItem]


def resume(chain: AnswerChain, items: Sequence[QAItem], out_path: Path | str) -> Resume:
    """Check the items, repair a torn last line, and split the items into done and to do.

    A file written under another strategy or sample count is refused rather than mixed, and
    so is a record whose id now names another question: generated ids (``arithmetic:3:67``)
    name different questions under different seeds, and a resumed run must not keep an
    answer to a question it did not ask.
    """
    ids = [item.id for item in items]
    if len(set(ids)) != len(ids):
        raise ValueError("items contain duplicate ids; every question needs its own id")
    path = Path(out_path)
    path.parent.mkdir(parents=True, exist_ok=True)
    _drop_torn_tail(path)
    existing = load_records(path)
    _check_compatible(existing, chain, path)
    done = {record.id: record for record in existing}
    for item in items:
        record = done.get(item.id)
        if record is not None and record.question != item.question:
            raise RecordsFileError(
                f"{path} holds {item.id!r} as {record.question!r}, but it now asks {item.question!r} "
                "(another seed or data set?): use another output file"
            )
    return Resume(path, done, [item for item in items if item.id not in done])


@contextmanager
def record_writer(state: Resume, total: int, *, progress: bool) -> Iterator[Callable[[EvalRecord], None]]:
    """The one writer of a run: appends each record, flushed and fsynced, and advances the progress bar.

    A record whose id the file already holds is skipped, so work repeated after a retry
    (a restarted worker redoing a batch) never writes a question twice.
    """
    with (
        state.path.open("a", encoding="utf-8") as sink,
        Progress(
            TextColumn("[bold]eval[/bold]"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
            disable=not progress,
        ) as bar,
    ):
        task = bar.add_task("eval", total=total, completed=total - len(state.todo))

        def write(record: EvalRecord) -> None:
            if record.id in state.done:
                return
            sink.write(record.model_dump_json() + "\n")
            sink.flush()
            os.fsync(sink.fileno())
            state.done[record.id] = record
            bar.advance(task)

        yield write


def failed_error(errors: Sequence[object]) -> RuntimeError:
    """The error raised after a run in which some questions failed (they were not written)."""
    return RuntimeError(f"{len(errors)} question(s) failed and were not written (rerun to retry): {errors[0]!r}")


async def aevaluate(
    chain: AnswerChain,
    items: Sequence[QAItem],
    out_path: Path | str,
    *,
    concurrency: int = 4,
    matcher: Matcher = match_any,
    keep_tokens: bool = False,
    progress: bool = True,
) -> list[EvalRecord]:
    """Evaluate ``items`` into ``out_path`` and return every record for them, old and new.

    At most ``concurrency`` questions are in flight (each is itself one request with n
    samples plus one P(True) request). A question that fails (e.g. the server went away)
    is not written, so the next run retries it; the first such error is raised after
    everything else has finished and been saved.
    """
    if concurrency < 1:
        raise ValueError(f"concurrency must be >= 1, got {concurrency}")
    state = resume(chain, items, out_path)
    pools = distractor_pools(items) if get_strategy(chain.strategy).hinted else {}
    evaluator = ItemEvaluator(chain, matcher=matcher, keep_tokens=keep_tokens)
    semaphore = asyncio.Semaphore(concurrency)
    errors: list[BaseException] = []

    with record_writer(state, len(items), progress=progress) as write:

        async def one(item: QAItem) -> None:
            async with semaphore:
                try:
                    record = await evaluator.arecord(item, pools.get(item.id))
                except Exception as exc:  # noqa: BLE001 - kept and re-raised after the others finish
                    errors.append(exc)
                    return
            write(record)

        await asyncio.gather(*(one(item) for item in state.todo))
    if errors:
        raise failed_error(errors)
    return [state.done[item.id] for item in items]


def records_frame(records: Sequence[EvalRecord]) -> pd.DataFrame:
    """One row per record with every signal as a column (NaN where missing), for pandas users."""
    rows = []
    for record in records:
        row = {
            "id": record.id,
            "question": record.question,
            "answer": record.answer,
            "correct": record.correct,
            "confidence": record.confidence,
            "strategy": record.strategy,
            "n_samples": record.n_samples,
            "parsed_fraction": sum(s.parsed for s in record.samples) / max(len(record.samples), 1),
            **record.signals.values(),
            **{f"meta.{key}": value for key, value in record.metadata.items()},
        }
        rows.append(row)
    frame = pd.DataFrame(rows)
    for name in names():
        if name in frame:
            frame[name] = frame[name].astype(float)
    return frame
