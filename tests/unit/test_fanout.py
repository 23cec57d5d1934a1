"""Tests for the ``fanout`` built-in set: human-written FanOutQA sub-questions read from the
JSON that ``fanoutqa`` 1.1.1 bundles (installed with ``pip install --no-deps``)."""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from elicit.datasets import SPLITS, DatasetError, QAItem, fanout, load_builtin


@pytest.fixture(autouse=True)
def _fresh_cache() -> Iterator[None]:
    """The set is cached per process; a monkeypatched locator must not leak into other tests."""
    fanout.fanout_items.cache_clear()
    yield
    fanout.fanout_items.cache_clear()


def _raw_sub_questions() -> list[tuple[str, dict[str, Any]]]:
    """(top-level question id, sub-question) for every sub-question in file order, nested ones included."""
    found: list[tuple[str, dict[str, Any]]] = []

    def walk(top: str, node: dict[str, Any]) -> None:
        for child in node["decomposition"]:
            found.append((top, child))
            walk(top, child)

    for question in json.loads(fanout.data_file().read_text(encoding="utf-8")):
        walk(question["id"], question)
    return found


def _items() -> dict[str, QAItem]:
    return {item.id: item for item in fanout.fanout_items()}


def test_item_count_is_the_scalar_single_hop_share_of_the_dev_set() -> None:
    items = fanout.fanout_items()
    assert len(items) == 1767  # fanoutqa 1.1.1: 1807 scalar single-hop, less long answers and repeats
    assert len({item.id for item in items}) == len(items)
    assert len({" ".join(item.question.casefold().split()) for item in items}) == len(items)
    assert all(len(item.answer.split()) <= fanout.MAX_ANSWER_WORDS for item in items)
    assert all(item.id.startswith("fanout:") for item in items)


def test_only_single_hop_scalar_answers_are_kept() -> None:
    raw = {sub["id"]: sub for _, sub in _raw_sub_questions()}
    for item in fanout.fanout_items():
        sub = raw[item.id.removeprefix("fanout:")]
        assert sub["decomposition"] == []
        assert not isinstance(sub["answer"], dict)
        assert not (isinstance(sub["answer"], list) and len(sub["answer"]) != 1)
        assert not item.answer.startswith(("[", "{"))
    # A one-element list stands for its element.
    assert _items()["fanout:c9246c6d6d2f64f7"].answer == "King Philippe"


def test_a_shared_sub_question_is_kept_once_under_its_first_parent() -> None:
    parents = [top for top, sub in _raw_sub_questions() if sub["id"] == "4d2790acd29aecf9"]
    assert len(parents) == 5
    matches = [item for item in fanout.fanout_items() if item.id == "fanout:4d2790acd29aecf9"]
    assert [(item.answer, item.metadata["parent_id"]) for item in matches] == [("Beijing", parents[0])]


def test_bool_answers_read_true_false_and_accept_yes_no() -> None:
    bools = [item for item in fanout.fanout_items() if item.metadata["answer_type"] == "bool"]
    assert 80 <= len(bools) <= 95  # 86 with fanoutqa 1.1.1
    for item in bools:
        assert item.golds() in (["True", "yes"], ["False", "no"])
    assert {item.answer for item in bools} == {"True", "False"}


def test_numbers_are_plain_digit_strings() -> None:
    numbers = [item for item in fanout.fanout_items() if item.metadata["answer_type"] == "number"]
    assert len(numbers) > 400
    for item in numbers:
        assert re.fullmatch(r"-?[0-9]+(\.[0-9]*[1-9])?", item.answer), item.answer
    assert _items()["fanout:09655b1a7c3a584e"].answer == "6"  # stored as 6.0


def test_every_item_carries_the_metadata_fields() -> None:
    top_ids = {top for top, _ in _raw_sub_questions()}
    for item in fanout.fanout_items():
        meta = item.metadata
        assert meta["dataset"] == "fanout"
        assert meta["source"] == "fanoutqa"
        assert meta["licence"] == "CC BY-SA 4.0"
        assert meta["parent_id"] in top_ids
        assert meta["answer_type"] in {"bool", "number", "text"}
        assert "popularity" not in meta
        assert "  " not in item.question


def test_loading_does_not_import_the_package() -> None:
    """Importing fanoutqa needs dependencies ``--no-deps`` leaves out and creates a cache folder."""
    fanout.fanout_items()
    assert "fanoutqa" not in sys.modules


@pytest.mark.parametrize("located", [None, Path("/nonexistent/fanoutqa")])
def test_missing_data_file_names_the_package_and_the_install_command(
    monkeypatch: pytest.MonkeyPatch, located: Path | None
) -> None:
    monkeypatch.setattr(fanout, "_package_dir", lambda: located)
    with pytest.raises(DatasetError) as caught:
        load_builtin("fanout")
    assert "fanoutqa" in str(caught.value)
    assert "pip install --no-deps fanoutqa==1.1.1" in str(caught.value)


def test_test_split_loads_a_fifth_of_the_set() -> None:
    every = {item.id for item in load_builtin("fanout")}
    test = load_builtin("fanout", split="test")
    assert {item.id for item in test} <= every
    assert len(test) / len(every) == pytest.approx(0.2, abs=0.03)
    parts = [{item.id for item in load_builtin("fanout", split)} for split in SPLITS]
    assert set().union(*parts) == every and sum(map(len, parts)) == len(every)
