"""The records every dataset yields: questions with their accepted answers, and passages.

Items are frozen because the built-in sets are cached and shared between callers; a
caller that edits one item would otherwise silently change every later load.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator


def dataset_name(item_id: str, metadata: Mapping[str, Any]) -> str:
    """The dataset an item or record belongs to: ``metadata["dataset"]``, else its id's
    prefix before ":" (the file stem for JSONL items), else "data" for bare ids."""
    named = metadata.get("dataset")
    if named:
        return str(named)
    prefix, colon, _ = item_id.partition(":")
    return prefix if colon else "data"


OPTION_LETTERS = "ABCDEFGHIJ"
"""The letters options are listed under, in order."""


class DatasetError(ValueError):
    """A dataset file is unusable; the message names the file, the line and what is wrong."""


class _Record(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-compatible dict (one JSONL line)."""
        return self.model_dump(mode="json")


def _non_empty(value: str, info: ValidationInfo) -> str:
    stripped = value.strip()
    if not stripped:
        raise ValueError(f"{info.field_name} must be a non-empty string")
    return stripped


class QAItem(_Record):
    """One short-form or multiple-choice question and every answer that counts as correct.

    ``answer`` is the canonical gold; ``aliases`` are the other accepted spellings
    (duplicates and copies of ``answer`` are dropped, so graders never double count).
    ``options``, when given, make the question multiple choice: the prompt lists them with
    letters, a reply names one by its letter or its text, and ``answer`` must be one of
    them (yes/no and plausible/implausible questions are two-option questions).
    ``metadata`` carries what analyses slice on: ``source``, ``popularity`` or
    ``difficulty``, ``entity`` and, for questions with a retrieval corpus, ``passage_id``.
    """

    id: str
    question: str
    answer: str
    aliases: list[str] = Field(default_factory=list)
    options: list[str] = Field(default_factory=list)
    metadata: dict[str, Any] = Field(default_factory=dict)

    _check_text = field_validator("id", "question", "answer")(_non_empty)

    @field_validator("aliases")
    @classmethod
    def _distinct_aliases(cls, aliases: list[str], info: ValidationInfo) -> list[str]:
        cleaned: list[str] = []
        for position, alias in enumerate(aliases):
            stripped = alias.strip()
            if not stripped:
                raise ValueError(f"aliases[{position}] must be a non-empty string")
            if stripped != info.data.get("answer") and stripped not in cleaned:
                cleaned.append(stripped)
        return cleaned

    @field_validator("options")
    @classmethod
    def _choosable(cls, options: list[str], info: ValidationInfo) -> list[str]:
        if not options:
            return options
        cleaned = [option.strip() for option in options]
        if len(cleaned) < 2:
            raise ValueError(f"options must hold at least 2 choices, got {len(cleaned)}")
        if len(cleaned) > len(OPTION_LETTERS):
            raise ValueError(f"options may hold at most {len(OPTION_LETTERS)} choices, got {len(cleaned)}")
        for position, option in enumerate(cleaned):
            if not option:
                raise ValueError(f"options[{position}] must be a non-empty string")
            if option in cleaned[:position]:
                raise ValueError(f"options[{position}] repeats {option!r}")
        answer = info.data.get("answer")
        if answer is not None and answer not in cleaned:
            raise ValueError(f"answer {answer!r} is not one of the options {cleaned}")
        return cleaned

    @property
    def kind(self) -> str:
        """``choice`` for a multiple-choice question, ``short`` for a short-answer one."""
        return "choice" if self.options else "short"

    def golds(self) -> list[str]:
        """Every accepted answer, canonical first."""
        return [self.answer, *self.aliases]


class Passage(_Record):
    """One retrievable text about one entity; ``id`` is what ``QAItem.metadata["passage_id"]`` names."""

    id: str
    title: str
    text: str
    metadata: dict[str, Any] = Field(default_factory=dict)

    _check_text = field_validator("id", "title", "text")(_non_empty)
