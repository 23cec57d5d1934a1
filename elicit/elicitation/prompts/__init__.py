"""Prompt templates (files beside this module) and the loader that turns them into chat messages.

Each strategy is a system instruction plus few-shot turns rendered in that strategy's output
format: a 135M model never follows an ``Answer: / Confidence:`` format zero-shot, but does
with two examples (a model that follows instructions is asked with none, ``n_examples=0``).
A multiple-choice question lists its options under letters (``choices.txt``) and is shown
multiple-choice examples (``choice_examples.json``), whose replies name a letter. Users
override any template by giving a folder holding files of the same names (``vanilla.txt``,
``cot.txt``, ``topk.txt``, ``multistep.txt``, ``self_eval.txt``, ``context.txt``,
``choices.txt``, ``hints.json``, ``examples.json``, ``choice_examples.json``).
"""

from __future__ import annotations

import hashlib
import json
import random
from collections.abc import Sequence
from pathlib import Path

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage

from elicit.elicitation.choices import option_lines
from elicit.elicitation.formats import Example
from elicit.elicitation.matching import normalize_answer
from elicit.elicitation.strategies import STRATEGIES
from elicit.elicitation.strategies import strategy as get_strategy

PROMPT_DIR = Path(__file__).parent


def topk_format(k: int) -> str:
    """The G1/P1 ... Gk/Pk skeleton shown to the model in the top-k instruction."""
    return "\n".join(f"G{i}: <guess {i}>\nP{i}: <probability>" for i in range(1, k + 1))


class PromptSet:
    """Templates, few-shot examples and misleading hints, loaded once."""

    def __init__(
        self, template_dir: Path | str | None = None, *, n_examples: int = 2, k: int = 3, p_true_shots: int = 0
    ) -> None:
        if n_examples < 0:
            raise ValueError(f"n_examples must be >= 0, got {n_examples}")
        if p_true_shots < 0:
            raise ValueError(f"p_true_shots must be >= 0, got {p_true_shots}")
        if not 2 <= k <= 10:
            raise ValueError(f"k (top-k guesses) must be between 2 and 10, got {k}")
        self.template_dir = Path(template_dir) if template_dir is not None else None
        if self.template_dir is not None and not self.template_dir.is_dir():
            raise ValueError(f"template_dir {self.template_dir} is not a folder")
        self.k = k
        examples = self._examples("examples.json")
        choice_examples = self._examples("choice_examples.json")
        for name, count, pool in (
            ("n_examples", n_examples, examples), ("n_examples", n_examples, choice_examples),
            ("p_true_shots", p_true_shots, examples),
        ):  # fmt: skip
            if count > len(pool):
                raise ValueError(f"{name}={count} but only {len(pool)} examples are available")
        self.examples = examples[:n_examples]
        self.choice_examples = choice_examples[:n_examples]
        self.p_true_examples = examples[:p_true_shots]
        self.hints: list[str] = json.loads(self._read("hints.json"))
        if not self.hints or any("{hint}" not in hint for hint in self.hints):
            raise ValueError("hints.json must be a non-empty list of templates that each contain {hint}")
        self._templates = {name: self._read(name) for name in dict.fromkeys(s.template for s in STRATEGIES.values())}
        self._self_eval = self._read("self_eval.txt")
        self._context = self._read("context.txt")
        self._choices = self._read("choices.txt")

    def _examples(self, name: str) -> list[Example]:
        """The worked examples of one file."""
        return [
            Example(**{**raw, "guesses": [tuple(g) for g in raw.get("guesses", [])],
                       "steps": [tuple(s) for s in raw.get("steps", [])]})
            for raw in json.loads(self._read(name))
        ]  # fmt: skip

    def version(self, strategy: str) -> str:
        """A short digest of everything ``strategy``'s prompts show the model.

        Instruction, few-shot turns, hint templates and the self-evaluation prompt all
        change the answers and therefore what a fitted head has learnt from them.
        """
        parts = [m.content for m in self.messages(strategy, "{question}")]
        parts += [m.content for m in self.messages(strategy, "{question}", options=("{option}", "{other}"))]
        parts += [m.content for m in self.self_eval_messages("{question}", "{answer}")]
        parts += [*self.hints, self._context]
        return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()[:12]

    def shows(self, question: str) -> bool:
        """Whether ``question`` is one of the few-shot examples (its answer is in every prompt).

        Compared in the normalized form answers are matched in, so case, spacing and
        punctuation do not hide a shown question.
        """
        key = normalize_answer(question)
        shown = [*self.examples, *self.choice_examples, *self.p_true_examples]
        return any(normalize_answer(example.question) == key for example in shown)

    def _read(self, name: str) -> str:
        """A template file: the user's folder first, then the built-in one."""
        if self.template_dir is not None and (self.template_dir / name).is_file():
            return (self.template_dir / name).read_text()
        return (PROMPT_DIR / name).read_text()

    def instruction(self, strategy: str, k: int | None = None) -> str:
        """The system instruction of ``strategy`` (``k`` guesses for top-k; default: this set's)."""
        template = self._templates[get_strategy(strategy).template]
        guesses = self.k if k is None else k
        return template.format(k=guesses, format=topk_format(guesses)).strip()

    def example_turns(
        self, strategy: str, *, with_passages: bool = False, choice: bool = False, k: int | None = None
    ) -> list[BaseMessage]:
        """The few-shot turns: each example's question, then its ideal reply in ``strategy``'s format.

        ``choice`` shows the multiple-choice examples, with their options. ``with_passages``
        shows each example's own passage before its question, as a retrieval prompt does for
        the real question. Top-k replies list ``k`` guesses (default: this set's), fewer when
        an example has fewer options.
        """
        render = get_strategy(strategy).format.render
        guesses = self.k if k is None else k
        turns: list[BaseMessage] = []
        for example in self.choice_examples if choice else self.examples:
            shown = [example.passage] if with_passages and example.passage else ()
            turns += [
                HumanMessage(content=self._ask(example.question, shown, example.options)),
                AIMessage(content=render(example, min(guesses, len(example.options) or guesses))),
            ]
        return turns

    def messages(
        self, strategy: str, question: str, hint: str | None = None, context: Sequence[str] = (),
        options: Sequence[str] = (),
    ) -> list[BaseMessage]:  # fmt: skip
        """System instruction, few-shot turns, then the question.

        A misleading ``hint`` sentence is appended to the question; retrieved ``context``
        passages are put before it, numbered. With context, each few-shot example shows its
        own passage too: without that, a small model copies the examples' answers instead of
        reading the passages. ``options`` make it a multiple-choice question (top-k then asks
        for at most as many guesses as there are options).
        """
        k = min(self.k, len(options)) if options else None
        messages: list[BaseMessage] = [SystemMessage(content=self.instruction(strategy, k))]
        messages += self.example_turns(strategy, with_passages=bool(context), choice=bool(options), k=k)
        asked = f"{question} {hint}" if hint else question
        messages.append(HumanMessage(content=self._ask(asked, context, options)))
        return messages

    def question_text(self, question: str, options: Sequence[str] = ()) -> str:
        """The question as the model reads it: with its options listed, if it has any."""
        if not options:
            return question
        return self._choices.format(question=question, options=option_lines(options)).strip()

    def _ask(self, question: str, context: Sequence[str], options: Sequence[str] = ()) -> str:
        """A user turn: the question (with its options), after numbered passages if any."""
        asked = self.question_text(question, options)
        if not context:
            return asked
        passages = "\n".join(f"[{i}] {passage}" for i, passage in enumerate(context, start=1))
        return self._context.format(passages=passages, question=asked).strip()

    def hint_sentences(self, distractors: Sequence[str], count: int, rng: random.Random) -> list[str]:
        """``count`` misleading sentences, each suggesting a randomly drawn wrong answer."""
        if not distractors:
            raise ValueError("the hint strategy needs distractors: wrong answers to suggest (hint_pool)")
        return [rng.choice(self.hints).format(hint=rng.choice(list(distractors))) for _ in range(count)]

    def self_eval_messages(self, question: str, answer: str) -> list[BaseMessage]:
        """The P(True) prompt: is ``answer`` a correct answer to ``question``?

        With ``p_true_shots``, worked self-evaluations come first, alternating a correct
        proposal (True) with the example's runner-up guess (False), so the model has seen
        both replies before it gives its own (Kadavath et al. 2022 use such shots).
        """
        turns: list[BaseMessage] = []
        for index, example in enumerate(self.p_true_examples):
            wrong = index % 2 == 1 and len(example.guesses) > 1
            proposed = example.guesses[1][0] if wrong else example.answer
            turns += [
                HumanMessage(content=self._self_eval.format(question=example.question, answer=proposed).strip()),
                AIMessage(content="False" if wrong else "True"),
            ]
        return [*turns, HumanMessage(content=self._self_eval.format(question=question, answer=answer).strip())]
