"""Pydantic data models shared by every stage of elicit.

Everything a user gets back is one of these models, so results serialize the same way
everywhere (``to_dict`` / JSONL) and can be re-scored later without a model call.
Confidence values are probabilities in [0, 1]; higher means more likely correct.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field, model_validator


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-compatible dict (what JSONL files and the proxy emit)."""
        return self.model_dump(mode="json")


class TokenLogprob(_Model):
    """One generated token with its log-probability and the server's top alternatives."""

    token: str
    logprob: float
    top_logprobs: dict[str, float] = Field(default_factory=dict)


class Guess(_Model):
    """One of the K candidates of a top-k prompt, with the probability the model gave it."""

    answer: str
    probability: float | None = None


class Sample(_Model):
    """One generation and what could be parsed from it.

    The raw ``text`` is always kept: when ``parsed`` is False the sample still counts
    (it is flagged, never dropped), and ``parse_error`` says what was missing.
    """

    text: str
    strategy: str
    answer: str | None = None
    written_answer: str | None = None
    """The answer as the reply wrote it, when it was resolved to another text (an option's
    letter "B" for the option "No"): the token-probability signals must find what was generated."""
    confidence: float | None = Field(default=None, ge=0.0, le=1.0)
    reasoning: str | None = None
    guesses: list[Guess] = Field(default_factory=list)
    step_confidences: list[float] = Field(default_factory=list)
    parsed: bool = False
    parse_error: str | None = None
    hint: str | None = None
    tokens: list[TokenLogprob] | None = None
    finish_reason: str | None = None


class Signals(_Model):
    """Every confidence signal for one question, each in [0, 1] or None, by name.

    The signals themselves are defined once, in :mod:`elicit.signals.registry`; this model
    only holds their values, flat (``{"agreement": 0.8, ..., "n_samples": 5, "missing":
    {...}}``), so a signal added to the registry appears here, in records and in reports
    without a change to this class. Read a value as an attribute (``signals.agreement``)
    or with :meth:`get`, which also answers None for a signal this record predates.

    A None value always has an entry in ``missing`` saying why it could not be computed,
    so a user can tell "the model gave no confidence" from "logprobs were off".
    ``n_samples`` is how many samples the signals were read from: agreement 1.0 out of 2
    is weaker evidence than out of 10, and a fusion head smooths counts with it.
    """

    model_config = ConfigDict(extra="allow", validate_assignment=True)

    n_samples: int | None = Field(default=None, ge=0)
    missing: dict[str, str] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _probabilities(self) -> Signals:
        """Every signal value is a probability or None (a bool or a string is not one)."""
        extra = self.__pydantic_extra__ or {}
        for name, value in extra.items():
            if value is None:
                continue
            if isinstance(value, bool) or not isinstance(value, int | float) or not 0.0 <= value <= 1.0:
                raise ValueError(f"signal {name!r} must be a number in [0, 1] or None, got {value!r}")
            extra[name] = float(value)
        return self

    def get(self, name: str) -> float | None:
        """The value of signal ``name``; None when it is missing or was never computed here."""
        return (self.__pydantic_extra__ or {}).get(name)

    def values(self) -> dict[str, float | None]:
        """Signal name -> value, in the order they were computed (the registry's)."""
        return dict(self.__pydantic_extra__ or {})

    def with_value(self, name: str, value: float) -> Signals:
        """A copy with signal ``name`` set (its missing reason, if any, dropped): how a value
        computed later, such as a fitted probe's, joins the others."""
        return Signals.model_validate(
            {**self.model_dump(), name: value, "missing": {k: v for k, v in self.missing.items() if k != name}}
        )

    def to_dict(self) -> dict[str, Any]:
        """Values and reasons for missing ones, as plain JSON."""
        return self.model_dump(mode="json")

    if TYPE_CHECKING:  # pydantic resolves extra fields as attributes at run time

        def __getattr__(self, name: str) -> float | None: ...


class Elicitation(_Model):
    """The answer to one question with its confidence, every signal, and the samples behind them.

    ``context`` holds the passages the question was answered from, if any (retrieval).
    ``imputed`` names the signals a fusion head filled in by its missing rule. ``certified``
    says whether the confidence reaches a certificate's threshold (None: no certificate given).
    """

    question: str
    answer: str | None
    confidence: float | None = Field(default=None, ge=0.0, le=1.0)
    certified: bool | None = None
    confidence_source: str = "default"
    imputed: list[str] = Field(default_factory=list)
    strategy: str
    signals: Signals
    samples: list[Sample] = Field(default_factory=list)
    reference: Sample | None = None
    context: list[str] = Field(default_factory=list)
    timings: dict[str, float] = Field(default_factory=dict)


class RunSetup(_Model):
    """What produced a set of answers: a fusion head fitted on one setup is only valid for it.

    ``prompt_version`` is a digest of the instruction, few-shot turns and self-evaluation
    prompt, so an edited template is a different setup even under the same strategy name.
    ``seed`` is the sampling seed (None: unseeded); it is recorded, not checked, since a head
    fitted on one seed's samples applies to another's.
    """

    model: str | None = None
    strategy: str
    n_samples: int
    temperature: float
    max_tokens: int
    top_logprobs: int | None = None
    p_true: bool = True
    prompt_version: str | None = None
    seed: int | None = None


class EvalRecord(_Model):
    """One evaluated question, one JSONL line: enough to fit, report and resume without re-asking.

    Token logprobs of the samples are dropped by default: they dominate the file size and
    every signal computed from them is already stored. ``options`` are a multiple-choice
    question's choices (empty for a short-answer one). ``correct`` is the question-aware
    match of :mod:`elicit.elicitation.matching`; ``exact_match`` and ``f1`` are the SQuAD-style
    figures beside it. ``few_shot`` marks a question the prompt itself shows as a worked
    example: its answer leaked, so metrics exclude it.
    """

    id: str
    question: str
    golds: list[str]
    options: list[str] = Field(default_factory=list)
    answer: str | None = None
    correct: bool
    exact_match: bool | None = None
    f1: float | None = None
    few_shot: bool = False
    confidence: float | None = Field(default=None, ge=0.0, le=1.0)
    signals: Signals = Field(default_factory=Signals)
    strategy: str
    n_samples: int
    samples: list[Sample] = Field(default_factory=list)
    metadata: dict[str, Any] = Field(default_factory=dict)
    timings: dict[str, float] = Field(default_factory=dict)
    setup: RunSetup | None = None
