"""Multiple-choice questions: a reply names an option by letter or text, and signals compare options."""

from __future__ import annotations

import pytest

from elicit.elicitation.choices import choose, option_lines, resolve_option
from elicit.elicitation.parsing import parse_sample
from elicit.elicitation.prompts import PromptSet
from elicit.signals.compute import compute_signals

GASES = ["Oxygen", "Carbon dioxide", "Nitrogen"]


@pytest.mark.parametrize(
    ("reply", "option"),
    [
        ("B", "Carbon dioxide"),
        ("(B)", "Carbon dioxide"),
        ("B) Carbon dioxide", "Carbon dioxide"),
        ("B. Carbon dioxide", "Carbon dioxide"),
        ("b", "Carbon dioxide"),
        ("carbon dioxide", "Carbon dioxide"),
        ("The answer is nitrogen", "Nitrogen"),
        ("D", None),  # no fourth option
        ("A lot", None),  # a word, not a letter
        ("B) Oxygen", None),  # letter and text disagree
        ("Helium", None),
    ],
)
def test_a_reply_names_an_option_by_letter_or_text(reply: str, option: str | None) -> None:
    assert resolve_option(reply, GASES, "Which gas do we breathe out?") == option


def test_two_option_labels_that_contain_each_other_stay_apart() -> None:
    assert resolve_option("implausible", ["plausible", "implausible"]) == "implausible"
    assert resolve_option("Plausible.", ["plausible", "implausible"]) == "plausible"
    assert resolve_option("A) No", ["Yes", "No"]) == "No"  # the text wins when the letter disagrees


def test_an_answer_naming_no_option_is_kept_and_flagged() -> None:
    sample = choose(parse_sample("Answer: E\nConfidence: 95%", "vanilla"), ["Yes", "No"])
    assert sample.answer is None and not sample.parsed and "not one of the options" in (sample.parse_error or "")
    assert sample.text == "Answer: E\nConfidence: 95%" and sample.confidence == 0.95


def test_top_k_guesses_are_ranked_as_options_and_pair_rank_reads_them() -> None:
    replies = ["G1: B\nP1: 0.7\nG2: A\nP2: 0.2", "G1: Carbon dioxide\nP1: 0.6\nG2: C\nP2: 0.3"]
    samples = [choose(parse_sample(r, "topk"), GASES) for r in replies]
    assert [[g.answer for g in s.guesses] for s in samples] == [
        ["Carbon dioxide", "Oxygen"],
        ["Carbon dioxide", "Nitrogen"],
    ]
    signals = compute_signals(samples, "Carbon dioxide")
    assert signals.agreement == 1.0 and signals.pair_rank is not None and signals.pair_rank > 0.5


def test_the_prompt_lists_the_options_and_shows_multiple_choice_examples() -> None:
    messages = PromptSet().messages("vanilla", "Is the Nile in Africa?", options=["Yes", "No"])
    assert (
        messages[-1].content == "Is the Nile in Africa?\nOptions:\nA) Yes\nB) No\nAnswer with the letter of one option."
    )
    assert "Options:" in messages[1].content and messages[2].content.startswith("Answer: ")
    assert option_lines(GASES) == "A) Oxygen\nB) Carbon dioxide\nC) Nitrogen"
    short = PromptSet().messages("vanilla", "What is the capital of Peru?")
    assert "Options:" not in "".join(str(m.content) for m in short)
