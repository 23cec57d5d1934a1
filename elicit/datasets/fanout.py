"""Human-written single-hop questions from FanOutQA's dev set (PyPI package ``fanoutqa``).

Every other built-in set is generated from templates over tables, and the prompts,
parsing and answer matching grew up on those questions. FanOutQA's questions were written
by people for a different benchmark, about topics and in phrasings this project was never
tuned on, so they show whether a confidence signal still holds outside its home ground.

``fanoutqa`` 1.1.1 ships ``data/fanout-final-dev.json``: 310 multi-hop questions, each
decomposed into sub-questions answered from one Wikipedia page. A sub-question without a
decomposition of its own is single-hop; those with a scalar answer (text, number or
True/False; a one-element list counts as its element) become items. List and dict answers
would need a set-valued grader, and sub-questions with their own decomposition are
multi-hop, so both are skipped, as are empty answers and prose answers longer than
``MAX_ANSWER_WORDS`` words (a short-form grader cannot judge a paragraph). A sub-question
shared by several parent questions (same id) is kept once, under the first parent in the
file; so is a question asked again under another id (same text, case and spacing
aside), so that one question can never sit in both the train and the test split.
The package's test file ships no answers, so it is not used.

There is no ``popularity``: the file records only the Wikipedia page and revision ids of
each sub-question's evidence, nothing about how well known its subject is, so this set
takes no part in popularity analyses.

The data are licensed CC BY-SA 4.0 (the package's code is MIT); every item names the
licence in its metadata so files derived from it keep the attribution.
"""

from __future__ import annotations

import importlib.util
import json
from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path
from typing import Any

from elicit.datasets.items import DatasetError, QAItem

PACKAGE = "fanoutqa"
INSTALL_COMMAND = "pip install --no-deps fanoutqa==1.1.1"
"""``--no-deps``: only the bundled JSON is read; the package's own dependencies (spacy,
httpx, ...) serve its retrieval code, which this project never runs."""
DATA_FILE = "fanout-final-dev.json"
LICENCE = "CC BY-SA 4.0"
MAX_ANSWER_WORDS = 8

Scalar = str | int | float | bool


def _package_dir() -> Path | None:
    """Folder of the installed ``fanoutqa`` package, or None if it is not installed.

    Found through its import spec without importing it: the import needs the dependencies
    ``--no-deps`` leaves out, and it creates a cache folder as a side effect.
    """
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def data_file() -> Path:
    """Path of the bundled dev-set JSON; a DatasetError with the install command if absent."""
    folder = _package_dir()
    path = folder / "data" / DATA_FILE if folder is not None else None
    if path is None or not path.is_file():
        raise DatasetError(
            f"the 'fanout' dataset reads {DATA_FILE} from the {PACKAGE!r} package, "
            f"which is not installed (or lacks the file); install it with: {INSTALL_COMMAND}"
        )
    return path


def _sub_questions(node: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Every sub-question below ``node``, depth first (decompositions nest up to three deep)."""
    for child in node["decomposition"]:
        yield child
        yield from _sub_questions(child)


def _scalar(answer: Any) -> Scalar | None:
    """The answer as one scalar, or None for list, dict and empty answers."""
    if isinstance(answer, list) and len(answer) == 1:
        answer = answer[0]
    if isinstance(answer, str):
        return " ".join(answer.split()) or None
    if isinstance(answer, int | float):
        return answer
    return None


def _gold(answer: Scalar) -> tuple[str, list[str], str]:
    """Canonical answer, aliases and ``answer_type``.

    Booleans read "True"/"False" with "yes"/"no" accepted, since the sub-questions ask
    "Is ...?" or "Was ...?"; whole floats lose their ".0" so 6.0 reads as 6.
    """
    if isinstance(answer, bool):
        return str(answer), ["yes" if answer else "no"], "bool"
    if isinstance(answer, int | float):
        whole = isinstance(answer, float) and answer.is_integer()
        return str(int(answer) if whole else answer), [], "number"
    return answer, [], "text"


@lru_cache(maxsize=1)
def fanout_items() -> tuple[QAItem, ...]:
    """The single-hop, scalar-answer sub-questions of the FanOutQA dev set, in file order."""
    with data_file().open(encoding="utf-8") as handle:
        questions: list[dict[str, Any]] = json.load(handle)
    items: dict[str, QAItem] = {}
    seen: set[str] = set()
    for parent in questions:
        for sub in _sub_questions(parent):
            answer = _scalar(sub["answer"])
            text = " ".join(sub["question"].casefold().split())
            if sub["decomposition"] or answer is None or f"fanout:{sub['id']}" in items or text in seen:
                continue
            if isinstance(answer, str) and len(answer.split()) > MAX_ANSWER_WORDS:
                continue
            seen.add(text)
            canonical, aliases, answer_type = _gold(answer)
            item = QAItem(
                id=f"fanout:{sub['id']}",
                question=" ".join(sub["question"].split()),
                answer=canonical,
                aliases=aliases,
                metadata={
                    "dataset": "fanout",
                    "source": PACKAGE,
                    "licence": LICENCE,
                    "parent_id": parent["id"],
                    "answer_type": answer_type,
                },
            )
            items[item.id] = item
    return tuple(items.values())
