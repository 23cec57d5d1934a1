"""No built-in question or answer is shown to the model as a worked few-shot example."""

import json

import pytest

from elicit.datasets import BUILTIN_DATASETS, load_builtin
from elicit.elicitation.matching import normalize_answer
from elicit.elicitation.prompts import PROMPT_DIR, PromptSet

EXAMPLES = json.loads((PROMPT_DIR / "examples.json").read_text())
CHOICE_EXAMPLES = json.loads((PROMPT_DIR / "choice_examples.json").read_text())
"""Multiple-choice examples answer with a letter; their options ("Yes", "No") are every two-option
question's, so only their questions must be new."""


def _key(text: str) -> str:
    return normalize_answer(text)


@pytest.mark.parametrize("dataset", sorted(BUILTIN_DATASETS))
def test_few_shot_examples_are_disjoint_from_every_built_in_item(dataset: str) -> None:
    example_questions = {_key(example["question"]) for example in [*EXAMPLES, *CHOICE_EXAMPLES]}
    example_answers = {_key(example["answer"]) for example in EXAMPLES}
    seeds = range(5) if dataset == "arithmetic" else [0]  # arithmetic items are generated from the seed
    for seed in seeds:
        for item in load_builtin(dataset, seed=seed):
            assert _key(item.question) not in example_questions, item.id
            leaked = example_answers & {_key(gold) for gold in item.golds()}
            assert not leaked, f"{item.id}: the few-shot examples answer {sorted(leaked)}"


def test_prompt_set_knows_which_questions_it_shows() -> None:
    prompts = PromptSet()
    shown = prompts.examples[0].question
    assert prompts.shows(shown)
    assert prompts.shows(f"  {shown.upper()}  ")
    assert not prompts.shows("What is the capital of Italy?")


def test_prompt_version_changes_with_what_the_model_sees(tmp_path) -> None:
    (tmp_path / "vanilla.txt").write_text("Answer briefly.\nAnswer: <short answer>\nConfidence: <number>%\n")
    default, edited = PromptSet(), PromptSet(tmp_path)
    assert default.version("vanilla") == PromptSet().version("vanilla")
    assert default.version("vanilla") != edited.version("vanilla")
    assert default.version("cot") == edited.version("cot")
    assert default.version("vanilla") != PromptSet(n_examples=1).version("vanilla")
