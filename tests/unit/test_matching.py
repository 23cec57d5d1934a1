"""The answer-matching notion: normalization, a table of traps, SQuAD-style EM / F1, properties."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from elicit.elicitation.matching import (
    answers_match,
    exact_match,
    match_any,
    normalize_answer,
    same_answer,
    token_f1,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Paris", "paris"),
        ("  The   Eiffel Tower. ", "eiffel tower"),
        ("An apple a day", "apple day"),
        ("Twenty-one", "21"),
        ("twenty one", "21"),
        ("zero", "0"),
        ("ninety nine", "99"),
        ("one hundred", "100"),
        ("one hundred and five", "105"),
        ("a thousand", "1000"),
        ("two thousand five hundred", "2500"),
        ("nineteen hundred", "1900"),
        ("one two three", "1 2 3"),
        ("1,000", "1000"),
        ("12.0", "12"),
        ("-3.50", "-3.5"),
        ("007", "7"),
        ("$5", "5"),
        ("1990-2000", "1990 2000"),
        ("U.S.A.", "usa"),
        ("O'Neill", "oneill"),
        ("São Paulo", "sao paulo"),
        ("Rock & Roll!", "rock roll"),
        ("Apollo 11", "apollo 11"),
        ("", ""),
    ],
)
def test_normalize_answer(text: str, expected: str) -> None:
    assert normalize_answer(text) == expected


CAPITAL_AU = "What is the capital of Australia?"
CITY = "In which country is the city of {}?"

# (answer, gold or golds, question, expected, why)
TRAPS = [
    # framing is forgiven, with or without the question
    ("Canberra", "Canberra", CAPITAL_AU, True, "equal"),
    ("The capital of Australia is Canberra", "Canberra", CAPITAL_AU, True, "framing from the question"),
    ("It is Canberra.", "Canberra", None, True, "stop words only"),
    ("I think the answer is Canberra", "Canberra", None, True, "answer phrasing"),
    ("Probably Canberra", "Canberra", None, True, "a hedge adverb qualifies confidence, not the claim"),
    ("The capital is Canberra", "Canberra", None, False, "'capital' frames only when the question says it"),
    # an extra word that changes the entity
    ("South Sudan", "Sudan", CITY.format("Juba"), False, "a different country"),
    ("Democratic Republic of the Congo", "Republic of the Congo", CITY.format("Kinshasa"), False, "DRC vs RoC"),
    ("Republic of the Congo", "Democratic Republic of the Congo", CITY.format("Brazzaville"), False, "RoC vs DRC"),
    ("Papua New Guinea", "Guinea", CITY.format("Lae"), False, "PNG is not Guinea"),
    ("Equatorial Guinea", "Guinea", CITY.format("Bata"), False, "Equatorial Guinea is not Guinea"),
    ("Guinea-Bissau", "Guinea", CITY.format("Bafata"), False, "hyphenated compound"),
    ("West Virginia", "Virginia", "Which US state has Richmond as its capital?", False, "a different state"),
    ("Kansas City", "Kansas", "Which US state has Topeka as its capital?", False, "a city, not the state"),
    ("Niger", "Nigeria", CITY.format("Kano"), False, "prefix of a word is not the word"),
    ("Dominican Republic", "Dominica", CITY.format("Roseau"), False, "different island states"),
    ("Isaac Newton", "Newton", None, False, "strict: a fuller name is an alias's job"),
    ("Newton", "Isaac Newton", None, False, "a part does not state the whole"),
    ("Parish", "Paris", None, False, "whole tokens only"),
    # numbers and units
    ("twenty-one", "21", "What is 7 * 3?", True, "number words"),
    ("21.0", "twenty one", None, True, "numeric spelling"),
    ("1,000", "1000", None, True, "thousands separator"),
    ("-3.50", "-3.5", None, True, "trailing zeros"),
    ("3.5", "-3.5", None, False, "the sign matters"),
    ("120", "12", None, False, "a different number"),
    ("7 * 3 = 21", "21", "What is 7 * 3?", True, "the question's own numbers are framing"),
    ("7 * 3 = 22", "21", "What is 7 * 3?", False, "wrong result beside the question's numbers"),
    ("12 apples", "12", "How many apples are in a dozen?", True, "a unit named by the question"),
    ("12 km", "12", "How long is the bridge in miles?", False, "a unit the question did not ask for"),
    ("12 or 13", "12", None, False, "two numbers offered"),
    ("100 m", "100 km", None, False, "different units"),
    # negations
    ("Not Paris", "Paris", None, False, "negation"),
    ("It is definitely not Paris", "Paris", None, False, "negation inside framing"),
    ("Paris is not the capital of France", "Paris", "What is the capital of France?", False, "negated claim"),
    # hedges and lists
    ("Paris or Lyon", "Paris", "What is the capital of France?", False, "two answers offered"),
    ("Either Paris or Lyon", "Paris", None, False, "either/or"),
    ("Paris and Lyon", "Paris", None, False, "a list"),
    ("Paris, maybe Lyon", "Paris", None, False, "an alternative named"),
    (
        "Is it Paris or Lyon? Paris",
        "Paris",
        "Is the capital Paris or Lyon?",
        False,
        "'or' blocks even from the question",
    ),
    # accents and case
    ("Sao Paulo", "São Paulo", None, True, "accents"),
    ("SÃO PAULO", "sao paulo", None, True, "case and accents"),
    ("Zürich", "Zurich", None, True, "umlaut"),
    ("U.S.A.", "USA", None, True, "abbreviation dots"),
    # aliases
    ("USA", ["United States", "USA", "United States of America"], None, True, "an alias"),
    ("The Big Apple", ["New York City", "Big Apple"], None, True, "an alias with an article"),
    ("Boston", ["New York City", "Big Apple"], None, False, "no alias"),
    ("America", ["United States", "USA"], None, False, "not a listed alias"),
    # degenerate
    ("", "Paris", None, False, "empty answer"),
    ("the", "The", None, False, "nothing left after normalization"),
]


@pytest.mark.parametrize(("answer", "gold", "question", "expected", "why"), TRAPS, ids=[t[4] for t in TRAPS])
def test_trap_table(answer: str, gold: str | list[str], question: str | None, expected: bool, why: str) -> None:
    golds = [gold] if isinstance(gold, str) else gold
    assert match_any(answer, golds, question) is expected, why


def test_the_trap_table_is_large_enough() -> None:
    assert len(TRAPS) >= 30


def test_match_any_rejects_missing_answers_and_empty_golds() -> None:
    assert not match_any(None, ["Paris"])
    assert not match_any("   ", ["Paris"])
    with pytest.raises(ValueError, match="golds"):
        match_any("Paris", [])


def test_same_answer_is_symmetric_and_question_aware() -> None:
    assert same_answer("Canberra", "The capital of Australia is Canberra", CAPITAL_AU)
    assert same_answer("The capital of Australia is Canberra", "Canberra", CAPITAL_AU)
    assert not same_answer("Sudan", "South Sudan")
    assert not same_answer("South Sudan", "Sudan")


@pytest.mark.parametrize(
    ("answer", "golds", "em", "f1"),
    [
        ("Canberra", ["Canberra"], True, 1.0),
        ("the Canberra", ["canberra"], True, 1.0),
        ("Canberra city", ["Canberra"], False, 2 / 3),
        ("South Sudan", ["Sudan"], False, 2 / 3),
        ("New York", ["New York City", "Big Apple"], False, 0.8),
        ("Boston", ["Paris"], False, 0.0),
        (None, ["Paris"], False, 0.0),
    ],
)
def test_squad_exact_match_and_token_f1(answer: str | None, golds: list[str], em: bool, f1: float) -> None:
    assert exact_match(answer, golds) is em
    assert token_f1(answer, golds) == pytest.approx(f1)


@settings(max_examples=300, deadline=None)
@given(
    text=st.one_of(
        st.text(),
        st.lists(
            st.sampled_from(
                [
                    "one",
                    "twenty",
                    "hundred",
                    "thousand",
                    "and",
                    "a",
                    "the",
                    "-",
                    ",",
                    ".",
                    "1,000",
                    "3.50",
                    "-7",
                    " ",
                    "U.S.",
                    "O'",
                    "é",
                ]
            )
        ).map(" ".join),
    )
)
def test_normalize_answer_is_idempotent(text: str) -> None:
    once = normalize_answer(text)
    assert normalize_answer(once) == once


@settings(max_examples=200, deadline=None)
@given(text=st.text(min_size=1))
def test_answer_matches_itself_unless_it_normalizes_away(text: str) -> None:
    assert answers_match(text, text) is bool(normalize_answer(text))


@settings(max_examples=200, deadline=None)
@given(a=st.text(max_size=30), b=st.text(max_size=30), question=st.one_of(st.none(), st.text(max_size=40)))
def test_same_answer_is_symmetric(a: str, b: str, question: str | None) -> None:
    assert same_answer(a, b, question) is same_answer(b, a, question)
