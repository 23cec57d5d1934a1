"""One question's samples with the statistics every signal reads, each computed once.

Signals are estimators over shared statistics: agreement, margin, Avg-Conf and the logit
signals all need to know which samples gave the scored answer; entropy, margin and the
semantic signals all need the answer groups; the semantic signals share the embeddings
and the meaning clusters. Computing those per signal would match every pair of answers
again for each of them, so a :class:`SampleSet` computes each statistic on first use and
keeps it for the others (LM-Polygraph splits its shared statistics from its estimators the
same way).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np
from numpy.typing import NDArray

from elicit.elicitation.matching import same_answer
from elicit.model.embeddings import TextEncoder
from elicit.signals.groups import AnswerGroup, group_answers
from elicit.signals.meanings import Meanings, meaning_clusters, sample_similarity, sequence_weights
from elicit.signals.spans import locate_answer_span, mean_token_entropy_confidence, span_logprob_features
from elicit.signals.spec import Missing, Value
from elicit.types import Sample


@dataclass(frozen=True)
class SpanReading:
    """The scored answer's tokens in one sample: their probabilities, and 1 - mean top-k entropy."""

    probabilities: dict[str, float]
    entropy_confidence: float | None


class SampleSet:
    """The samples drawn for one question, the answer being scored, and their shared statistics.

    ``answer`` is usually the majority answer, but any answer can be scored (a reply's
    claim, a greedy reference). ``question`` makes matching question-aware ("The capital is
    Canberra" and "Canberra" are one answer to "What is the capital of Australia?").
    ``encoder`` embeds answer forms for the semantic signals (None: meanings come from
    matching alone). ``evidence`` holds values gathered beside the samples, by signal name,
    each a value or the reason it is missing (P(True) comes from its own request).
    """

    def __init__(
        self,
        samples: Sequence[Sample],
        answer: str | None,
        *,
        question: str | None = None,
        encoder: TextEncoder | None = None,
        evidence: Mapping[str, Value] | None = None,
    ) -> None:
        self.samples = list(samples)
        self.answer = answer
        self.question = question
        self.encoder = encoder
        self.evidence = dict(evidence or {})

    @property
    def n(self) -> int:
        return len(self.samples)

    @cached_property
    def groups(self) -> list[AnswerGroup]:
        """Groups of equivalent sample answers, largest first."""
        return group_answers(self.samples, self.question)

    @cached_property
    def matching(self) -> list[Sample]:
        """The samples whose answer names the same thing as the scored answer (never those without one)."""
        if self.answer is None:
            return []
        return [s for s in self.samples if s.answer is not None and same_answer(s.answer, self.answer, self.question)]

    @cached_property
    def stated_confidences(self) -> list[float]:
        """Every verbal confidence a sample stated, answer or not."""
        return [s.confidence for s in self.samples if s.confidence is not None]

    @cached_property
    def answer_spans(self) -> list[SpanReading] | Missing:
        """The scored answer located in the tokens of each sample that gave it.

        Only those samples count: a sample with another answer says how sure the model was of
        something else. Each sample's own spelling is searched (the option letter it wrote, when
        its answer was resolved to an option), since that is the text it generated.
        """
        if self.answer is None:
            return Missing("no answer to score")
        if all(s.tokens is None for s in self.samples):
            return Missing("logprobs were not requested")
        candidates = [(s.tokens, s.written_answer or s.answer) for s in self.matching if s.tokens and s.answer]
        if not candidates:
            return Missing("no sample with logprobs gave the answer")
        readings = []
        for tokens, own_answer in candidates:
            span = locate_answer_span(tokens, own_answer)
            if span is not None:
                readings.append(
                    SpanReading(span_logprob_features(tokens, span), mean_token_entropy_confidence(tokens, span))
                )
        return readings or Missing("answer not found in generated tokens")

    @cached_property
    def token_logprobs(self) -> list[NDArray[np.float64]]:
        """The log-probabilities of every sample that carries tokens, one array per sample."""
        return [np.array([token.logprob for token in s.tokens]) for s in self.samples if s.tokens]

    @cached_property
    def answers(self) -> list[str | None]:
        """Each sample's answer, stripped; None for a sample without one."""
        return [s.answer.strip() if s.answer and s.answer.strip() else None for s in self.samples]

    @cached_property
    def scored(self) -> str | None:
        """The scored answer, stripped; None when there is none."""
        return self.answer.strip() if self.answer and self.answer.strip() else None

    @cached_property
    def meanings(self) -> Meanings:
        """Every answer form (the samples' and the scored one) with their pairwise cosine."""
        forms = {a for a in self.answers if a is not None} | ({self.scored} if self.scored is not None else set())
        return Meanings(sorted(forms), self.encoder, self.question)

    @cached_property
    def clusters(self) -> list[list[int]]:
        """Sample indices per meaning; each unanswered sample is a meaning of its own."""
        return meaning_clusters(self.groups, self.n, self.meanings)

    @cached_property
    def weights(self) -> NDArray[np.float64]:
        """Each sample's weight in semantic entropy: its length-normalized probability, if all have tokens."""
        return sequence_weights(self.samples)

    @cached_property
    def similarity(self) -> NDArray[np.float64] | None:
        """Cosine of every pair of samples' answers; None without embeddings."""
        return sample_similarity(self.answers, self.meanings)

    def no_embeddings(self) -> Missing:
        """Why the embedding-based signals are missing."""
        return Missing("no embedding model given" if self.encoder is None else "no sample gave an answer")
