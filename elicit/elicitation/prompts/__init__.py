"""Prompt templates (files beside this module) and the loader that turns them into chat messages.

Each strategy is a system instruction plus few-shot turns rendered in that strategy's output
format: a 135M model never follows an ``Answer: / Confidence:`` format zero-shot, but does
with two examples. Users override any template by giving a folder holding files of the same
names (``vanilla.txt``, ``cot.txt``, ``topk.txt``, ``multistep.txt``, ``self_eval.txt``,
``context.txt``, ``hints.json``, ``examples.json``).
"""

from __future__ import annotations

import hashlib
import json
import random
from collections.abc import Sequence
from pathlib import Path

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage

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
        examples = [Example(**{**raw, "guesses": [tuple(g) for g in raw.get("guesses", [])],
                               "steps": [tuple(s) for s in raw.get("steps", [])]})
                    for raw in json.loads(self._read("examples.json"))]  # fmt: skip
        for name, count in (("n_examples", n_examples), ("p_true_shots", p_true_shots)):
            if count > len(examples):
                raise ValueError(f"{name}={count} but only {len(examples)} examples are available")
        self.examples = examples[:n_examples]
        self.p_true_examples = examples[:p_true_shots]
        self.hints: list[str] = json.loads(self._read("hints.json"))
        if not self.hints or any("{hint}" not in hint for hint in self.hints):
            raise ValueError("hints.json must be a non-empty list of templates that each contain {hint}")
        self._templates = {name: self._read(name) for name in dict.fromkeys(s.template for s in STRATEGIES.values())}
        self._self_eval = self._read("self_eval.txt")
        self._context = self._read("context.txt")

    def version(self, strategy: str) -> str:
        """A short digest of everything ``strategy``'s prompts show the model.

        Instruction, few-shot turns, hint templates and the self-evaluation prompt all
        change the answers and therefore what a fitted head has learnt from them.
        """
        parts = [m.content for m in self.messages(strategy, "{question}")]
        parts += [m.content for m in self.self_eval_messages("{question}", "{answer}")]
        parts += [*self.hints, self._context]
        return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()[:12]

    def shows(self, question: str) -> bool:
        """Whether ``question`` is one of the few-shot examples (its answer is in every prompt).

        Compared in the normalized form answers are matched in, so case, spacing and
        punctuation do not hide a shown question.
        """
        key = normalize_answer(question)
        return any(normalize_answer(example.question) == key for example in [*self.examples, *self.p_true_examples])

    def _read(self, name: str) -> str:
        """A template file: the user's folder first, then the built-in one."""
        if self.template_dir is not None and (self.template_dir / name).is_file():
            return (self.template_dir / name).read_text()
        return (PROMPT_DIR / name).read_text()

    def instruction(self, strategy: str) -> str:
        """The system instruction of ``strategy``."""
        template = self._templates[get_strategy(strategy).template]
        return template.format(k=self.k, format=topk_format(self.k)).strip()

    def example_turns(self, strategy: str, *, with_passages: bool = False) -> list[BaseMessage]:
        """The few-shot turns: each example's question, then its ideal reply in ``strategy``'s format.

        ``with_passages`` shows each example's own passage before its question, as a
        retrieval prompt does for the real question.
        """
        render = get_strategy(strategy).format.render
        turns: list[BaseMessage] = []
        for example in self.examples:
            shown = [example.passage] if with_passages and example.passage else ()
            turns += [
                HumanMessage(content=self._ask(example.question, shown)),
                AIMessage(content=render(example, self.k)),
            ]
        return turns

    def messages(
        self, strategy: str, question: str, hint: str | None = None, context: Sequence[str] = ()
    ) -> list[BaseMessage]:
        """System instruction, few-shot turns, then the question.

        A misleading ``hint`` sentence is appended to the question; retrieved ``context``
        passages are put before it, numbered. With context, each few-shot example shows its
        own passage too: without that, a small model copies the examples' answers instead of
        reading the passages.
        """
        messages: list[BaseMessage] = [SystemMessage(content=self.instruction(strategy))]
        messages += self.example_turns(strategy, with_passages=bool(context))
        messages.append(HumanMessage(content=self._ask(f"{question} {hint}" if hint else question, context)))
        return messages

    def _ask(self, question: str, context: Sequence[str]) -> str:
        """A user turn: the question alone, or numbered passages then the question."""
        if not context:
            return question
        passages = "\n".join(f"[{i}] {passage}" for i, passage in enumerate(context, start=1))
        return self._context.format(passages=passages, question=question).strip()

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
