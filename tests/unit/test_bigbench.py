"""The BIG-bench tasks: read from their verified task files, with stable ids, options and licence."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from elicit.datasets import DatasetError, bigbench, load_builtin

TASK_ROWS = {"strategyqa": 2289, "date_understanding": 369, "sports_understanding": 986, "object_counting": 1000}


@pytest.mark.parametrize(("name", "count"), TASK_ROWS.items())
def test_each_task_loads_every_distinct_question_with_its_licence(name: str, count: int) -> None:
    items = load_builtin(name)
    assert len(items) == count
    assert all(item.metadata["licence"] == "Apache-2.0" and item.id.startswith(f"{name}:") for item in items)
    assert sorted(load_builtin(name, "train") + load_builtin(name, "dev") + load_builtin(name, "test"), key=str) == (
        sorted(items, key=str)
    )


def test_two_option_tasks_and_multiple_choice_dates_and_short_answer_counts() -> None:
    strategy = load_builtin("strategyqa")[0]
    assert strategy.options == ["Yes", "No"] and strategy.answer == "Yes" and strategy.kind == "choice"
    sports = load_builtin("sports_understanding")[0]
    assert sports.options == ["plausible", "implausible"] and sports.question.startswith("Is the following sentence")
    dates = load_builtin("date_understanding")
    assert all(5 <= len(item.options) <= 6 and item.answer in item.options for item in dates)
    # The file lists the right date first nearly every time; the options are shuffled, the same way every time.
    assert sum(item.options[0] == item.answer for item in dates) < len(dates) / 2
    assert [item.options for item in dates] == [item.options for item in bigbench.read_task(
        "date_understanding", bigbench.task_file("date_understanding"))]  # fmt: skip
    counting = load_builtin("object_counting")[0]
    assert counting.kind == "short" and counting.answer == "3" and counting.aliases == ["three"]


def test_a_malformed_example_is_refused_naming_its_file_and_index(tmp_path: Path) -> None:
    path = tmp_path / "task.json"
    examples = [
        {"input": "Fine?", "target_scores": {"Yes": 1, "No": 0}},
        {"input": "Two right?", "target_scores": {"Yes": 1, "No": 1}},
    ]
    path.write_text(json.dumps({"examples": examples}))
    with pytest.raises(DatasetError, match=r"task.json, example 1: has 2 options scoring 1"):
        bigbench.read_task("strategyqa", path)
    path.write_text("[]")
    with pytest.raises(DatasetError, match="not a BIG-bench task file"):
        bigbench.read_task("strategyqa", path)


def test_offline_without_the_files_the_error_names_the_command(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.setenv("ELICIT_CACHE_DIR", str(tmp_path))

    def offline() -> list[Path]:
        raise DatasetError("no network")

    monkeypatch.setattr(bigbench, "fetch", offline)
    with pytest.raises(DatasetError, match="run `elicit datasets fetch bigbench`"):
        bigbench.task_file("strategyqa")


def test_a_cached_file_with_another_digest_is_not_trusted(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.setenv("ELICIT_CACHE_DIR", str(tmp_path))
    bigbench.task_dir().mkdir(parents=True)
    (bigbench.task_dir() / "strategyqa.json").write_text('{"examples": []}')
    assert bigbench._cached(bigbench.TASKS["strategyqa"]) is None
