"""User QA data in JSON Lines, in the shapes common QA datasets already use.

Accepted lines (``id``, ``aliases``, ``options`` and ``metadata`` optional, other keys
ignored so exported TriviaQA records load as they are)::

    {"question": "...", "answer": "..."}
    {"question": "...", "answers": ["...", "..."]}
    {"question": "...", "answer": {"value": "...", "aliases": ["..."]}}
    {"question": "...", "options": ["...", "...", "..."], "answer": "B"}

With ``options`` the question is multiple choice; its answer is one of the options, given
by its text or its letter (A for the first).

A bad line stops the load with a ``DatasetError`` naming the file and line, because a
silently skipped question would change every accuracy and calibration number.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from elicit.datasets.items import OPTION_LETTERS, DatasetError, QAItem


class _LineError(Exception):
    """What is wrong with one line; ``load_jsonl`` adds the file and line number."""


def _string_list(value: Any, field: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise _LineError(f'"{field}" must be a list of strings')
    return value


def _answers(record: dict[str, Any]) -> list[str]:
    """[answer, *aliases] from whichever answer shape the line uses."""
    if "answer" in record and "answers" in record:
        raise _LineError('give either "answer" or "answers", not both')
    extra = _string_list(record.get("aliases", []), "aliases")
    if "answers" in record:
        answers = _string_list(record["answers"], "answers")
        if not answers:
            raise _LineError('"answers" must not be empty')
        return [*answers, *extra]
    if "answer" not in record:
        raise _LineError('missing answer: give "answer" or "answers"')
    answer = record["answer"]
    if isinstance(answer, str):
        return [answer, *extra]
    if isinstance(answer, dict):
        if not isinstance(answer.get("value"), str):
            raise _LineError('"answer" object must have a string "value"')
        return [answer["value"], *_string_list(answer.get("aliases", []), "answer.aliases"), *extra]
    raise _LineError(f'"answer" must be a string or an object with "value", got {type(answer).__name__}')


def _item(record: Any, default_id: str) -> QAItem:
    if not isinstance(record, dict):
        raise _LineError(f"expected a JSON object, got {type(record).__name__}")
    if "question" not in record:
        raise _LineError('missing "question"')
    if not isinstance(record["question"], str):
        raise _LineError(f'"question" must be a string, got {type(record["question"]).__name__}')
    item_id = record.get("id", default_id)
    if isinstance(item_id, bool) or not isinstance(item_id, str | int):
        raise _LineError(f'"id" must be a string or an integer, got {type(item_id).__name__}')
    metadata = record.get("metadata", {})
    if not isinstance(metadata, dict):
        raise _LineError(f'"metadata" must be an object, got {type(metadata).__name__}')
    answer, *aliases = _answers(record)
    options = _string_list(record.get("options", []), "options")
    if options and answer not in options and len(answer) == 1 and answer.upper() in OPTION_LETTERS[: len(options)]:
        answer = options[OPTION_LETTERS.index(answer.upper())]
    try:
        return QAItem(
            id=str(item_id), question=record["question"], answer=answer, aliases=aliases, options=options,
            metadata=metadata,
        )  # fmt: skip
    except ValidationError as error:
        raise _LineError("; ".join(detail["msg"].removeprefix("Value error, ") for detail in error.errors())) from error


def load_jsonl(path: str | Path) -> list[QAItem]:
    """Every item in the file, in file order; blank lines are skipped. A line without an
    ``id`` gets ``"<file stem>:<line number>"``, so ids stay unique across files."""
    path = Path(path)
    items: list[QAItem] = []
    first_line_of: dict[str, int] = {}
    with path.open(encoding="utf-8") as lines:
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                try:
                    record = json.loads(line)
                except json.JSONDecodeError as error:
                    raise _LineError(f"invalid JSON ({error.msg} at column {error.colno})") from error
                item = _item(record, default_id=f"{path.stem}:{number}")
                if item.id in first_line_of:
                    raise _LineError(f"duplicate id {item.id!r} (first used on line {first_line_of[item.id]})")
            except _LineError as error:
                raise DatasetError(f"{path}, line {number}: {error}") from error
            first_line_of[item.id] = number
            items.append(item)
    return items


def save_jsonl(items: Iterable[QAItem], path: str | Path) -> None:
    """One item per line, in the shape ``load_jsonl`` reads back unchanged."""
    with Path(path).open("w", encoding="utf-8") as out:
        for item in items:
            out.write(json.dumps(item.to_dict(), ensure_ascii=False) + "\n")
