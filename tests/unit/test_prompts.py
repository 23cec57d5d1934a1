"""Prompt loading, few-shot rendering in each format, hints and user templates."""

from __future__ import annotations

import random

import pytest
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage

from elicit.elicitation.formats import Example
from elicit.elicitation.parsing import parse_sample
from elicit.elicitation.prompts import PromptSet
from elicit.elicitation.strategies import STRATEGIES
from elicit.elicitation.strategies import strategy as get_strategy


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_messages_have_instruction_examples_and_question(strategy):
    messages = PromptSet(n_examples=2).messages(strategy, "What is the capital of Peru?")
    assert isinstance(messages[0], SystemMessage)
    assert [type(m) for m in messages[1:5]] == [HumanMessage, AIMessage, HumanMessage, AIMessage]
    assert messages[-1].content == "What is the capital of Peru?"


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_rendered_examples_parse_back_in_their_own_format(strategy):
    example = PromptSet(n_examples=1).examples[0]
    sample = parse_sample(get_strategy(strategy).format.render(example, 3), strategy)
    assert sample.parsed and sample.parse_error is None
    assert sample.answer == example.answer
    if strategy == "multistep":
        assert sample.step_confidences == [conf / 100 for _, conf in example.steps]
    elif strategy == "topk":
        assert sample.confidence == pytest.approx(example.guesses[0][1])
    else:
        assert sample.confidence == pytest.approx(example.confidence / 100)


def test_topk_instruction_shows_k_slots():
    instruction = PromptSet(k=4).instruction("topk")
    assert "4 best guesses" in instruction and "G4:" in instruction and "G5:" not in instruction


def test_hints_suggest_a_distractor_deterministically():
    prompts = PromptSet()
    first = prompts.hint_sentences(["Lyon", "Nice"], 3, random.Random(1))
    assert first == prompts.hint_sentences(["Lyon", "Nice"], 3, random.Random(1))
    assert all(("Lyon" in h) or ("Nice" in h) for h in first)
    with pytest.raises(ValueError, match="distractors"):
        prompts.hint_sentences([], 1, random.Random(0))


def test_hint_is_appended_to_the_question():
    messages = PromptSet().messages("hint", "What is 2 + 2?", "Hint: the answer is probably 5.")
    assert messages[-1].content == "What is 2 + 2? Hint: the answer is probably 5."


def test_user_templates_override_builtin_ones(tmp_path):
    (tmp_path / "vanilla.txt").write_text("Reply as Answer: X / Confidence: N%.")
    prompts = PromptSet(tmp_path)
    assert prompts.instruction("vanilla") == "Reply as Answer: X / Confidence: N%."
    assert "Explanation" in prompts.instruction("cot")  # not overridden


def test_bad_settings_are_named(tmp_path):
    with pytest.raises(ValueError, match="unknown strategy 'nope'"):
        PromptSet().messages("nope", "q")
    with pytest.raises(ValueError, match="n_examples"):
        PromptSet(n_examples=99)
    with pytest.raises(ValueError, match="k \\(top-k"):
        PromptSet(k=1)
    with pytest.raises(ValueError, match="template_dir"):
        PromptSet(tmp_path / "missing")
    (tmp_path / "hints.json").write_text('["no placeholder here"]')
    with pytest.raises(ValueError, match="hints.json"):
        PromptSet(tmp_path)


def test_example_dataclass_is_plain():
    example = Example("q", "a", 50, "because")
    assert get_strategy("vanilla").format.render(example, 3) == "Answer: a\nConfidence: 50%"


def test_few_shot_p_true_shows_a_true_and_a_false_self_evaluation():
    zero, shots = PromptSet(), PromptSet(p_true_shots=2)
    assert len(zero.self_eval_messages("What is 2 + 2?", "4")) == 1
    turns = shots.self_eval_messages("What is 2 + 2?", "4")
    assert [type(t) for t in turns] == [HumanMessage, AIMessage, HumanMessage, AIMessage, HumanMessage]
    assert [t.content for t in turns[1::2][:2]] == ["True", "False"]
    assert "Herman Melville" in turns[0].content and "Iridium" in turns[2].content  # the runner-up guess
    assert "What is 2 + 2?" in turns[-1].content
    assert shots.version("vanilla") != zero.version("vanilla")
    assert PromptSet(n_examples=0, p_true_shots=1).shows("Who wrote the novel Moby-Dick?")
    with pytest.raises(ValueError, match="p_true_shots=9"):
        PromptSet(p_true_shots=9)
