"""Batch QA evaluation: every question through a ConfidenceChain, one JSONL line per finished question.

The JSONL file is the source of truth. Each record is appended (and flushed to disk) the
moment its question finishes, so Ctrl-C, a crash or a dead server loses nothing already
written, and a rerun with the same file skips every id it already holds.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Protocol

import pandas as pd
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from elicit.datasets import QAItem
from elicit.elicitation.matching import exact_match, match_any, token_f1
from elicit.types import SIGNAL_NAMES, Elicitation, EvalRecord, RunSetup


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
    """Wrong answers a misleading hint may suggest for each item: other answers of the same dataset.

    Drawing from the same dataset (``metadata["dataset"]``; items without one form one group)
    keeps the hint plausible, a capital for a capital question, which is what makes it
    misleading rather than absurd.
    """
    by_dataset: dict[str, set[str]] = {}
    for item in items:
        by_dataset.setdefault(str(item.metadata.get("dataset")), set()).add(item.answer)
    return {item.id: sorted(by_dataset[str(item.metadata.get("dataset"))] - set(item.golds())) for item in items}


def _check_compatible(existing: Sequence[EvalRecord], chain: AnswerChain, path: Path) -> None:
    """Refuse to mix records of another strategy or sample count into one file."""
    for record in existing:
        if record.strategy != chain.strategy or record.n_samples != chain.n_samples:
            raise RecordsFileError(
                f"{path} holds records with strategy={record.strategy!r}, n_samples={record.n_samples}, "
                f"but this run uses strategy={chain.strategy!r}, n_samples={chain.n_samples}: "
                "use another output file"
            )


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
    everything else has finished and been saved. A chain with a ``setup`` and ``prompts``
    (a ``ConfidenceChain``) has its setup stored in every record, and a question its
    prompt shows as a few-shot example is marked ``few_shot`` so metrics leave it out.
    """
    if concurrency < 1:
        raise ValueError(f"concurrency must be >= 1, got {concurrency}")
    ids = [item.id for item in items]
    if len(set(ids)) != len(ids):
        raise ValueError("items contain duplicate ids; every question needs its own id")
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    _drop_torn_tail(out_path)
    existing = load_records(out_path)
    _check_compatible(existing, chain, out_path)
    done = {record.id: record for record in existing}
    todo = [item for item in items if item.id not in done]
    pools = distractor_pools(items) if chain.strategy == "hint" else {}
    setup: RunSetup | None = getattr(chain, "setup", None)
    prompts = getattr(chain, "prompts", None)
    semaphore = asyncio.Semaphore(concurrency)
    errors: list[BaseException] = []

    with (
        out_path.open("a", encoding="utf-8") as sink,
        Progress(
            TextColumn("[bold]eval[/bold]"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
            disable=not progress,
        ) as bar,
    ):
        task = bar.add_task("eval", total=len(items), completed=len(items) - len(todo))

        async def one(item: QAItem) -> None:
            async with semaphore:
                try:
                    request: dict[str, Any] = {"question": item.question}
                    if item.id in pools:
                        request["hint_pool"] = pools[item.id]
                    result = await chain.ainvoke(request)
                except Exception as exc:  # noqa: BLE001 - kept and re-raised after the others finish
                    errors.append(exc)
                    return
            shown = prompts is not None and prompts.shows(item.question)
            record = to_record(item, result, matcher=matcher, keep_tokens=keep_tokens, setup=setup, few_shot=shown)
            sink.write(record.model_dump_json() + "\n")
            sink.flush()
            os.fsync(sink.fileno())
            done[item.id] = record
            bar.advance(task)

        await asyncio.gather(*(one(item) for item in todo))
    if errors:
        failed = len(errors)
        raise RuntimeError(f"{failed} question(s) failed and were not written (rerun to retry): {errors[0]!r}")
    return [done[item.id] for item in items]


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
    for name in SIGNAL_NAMES:
        if name in frame:
            frame[name] = frame[name].astype(float)
    return frame
