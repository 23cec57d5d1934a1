"""The claim a chat reply states, read from the reply: recorded real replies and the traps around them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from langchain_core.language_models import FakeListChatModel

from elicit.chains.conversation import ConversationScorer, conversation
from elicit.elicitation.claims import reply_claim
from elicit.elicitation.parsing import parse_sample
from elicit.model.loop import run_sync
from elicit.signals.groups import group_answers

RECORDED = json.loads((Path(__file__).parents[1] / "fixtures" / "smollm2_chat.json").read_text())["conversations"]
CASES = [(c["question"], c["samples"], r["text"], r["claim"]) for c in RECORDED for r in c["replies"]]


def sampled(texts: list[str]) -> list:
    return [parse_sample(text, "vanilla") for text in texts]


@pytest.mark.parametrize(("question", "samples", "reply", "claim"), CASES, ids=[f"{i}" for i in range(len(CASES))])
def test_recorded_replies_of_the_embedded_model_state_the_reviewed_claim(question, samples, reply, claim):
    answers = [group.answer for group in group_answers(sampled(samples), question)]
    found = reply_claim(reply, question, answers)
    assert found.answer == claim
    assert (found.reason is None) == (claim is not None)


@pytest.mark.parametrize(
    ("reply", "answers", "claim"),
    [
        ("Paris is the capital and largest city of France.", [], "Paris"),
        ("Sure! The capital of France is Paris.", [], "Paris"),
        ("Paris.", [], "Paris"),
        ("The answer is Trinidad and Tobago.", ["Trinidad and Tobago"], "Trinidad and Tobago"),
        ("Lyon is nice, but the capital of France is Paris.", ["Paris"], "Paris"),
        ("It is not Paris.", ["Paris"], None),
        ("I don't know.", ["Paris"], None),
        ("Paris or Lyon.", ["Paris"], None),
        ("Un péter de royared: Paris is the stómoktíkí", ["Paris"], None),
        ("", ["Paris"], None),
    ],
)
def test_claims_and_non_claims(reply, answers, claim):
    """Replies to "What is the capital of France?"."""
    found = reply_claim(reply, "What is the capital of France?", answers)
    assert found.answer == claim
    if claim is None:
        assert found.reason


def test_a_multi_word_sampled_answer_is_kept_whole():
    question = "What is the capital of the United States?"
    reply = "The capital of the United States is Washington, D.C."
    assert reply_claim(reply, question, ["Washington, D.C."]).answer == "Washington, D.C."
    assert reply_claim(reply, question, []).answer == "Washington"  # without samples, cut at the comma


def conversation_case(question: str, start: str) -> tuple[list, str]:
    [case] = [c for c in RECORDED if c["question"] == question]
    reply = next(r["text"] for r in case["replies"] if r["text"].startswith(start))
    return sampled(case["samples"]), reply


def score(question: str, reply: str, samples: list):
    scorer = ConversationScorer(FakeListChatModel(responses=["x"]), n_samples=5, p_true=False)
    return run_sync(scorer.ascore(conversation(question), reply, samples))


def test_a_reply_is_scored_about_what_it_says_not_about_what_the_samples_say():
    question = "What is the capital of Australia?"
    samples, reply = conversation_case(question, "The capital of Australia is Canberra.")
    assert {s.answer for s in samples} == {"Sydney"}  # asked again, the model says Sydney every time
    canberra = score(question, reply, samples)
    assert canberra.answer == "Canberra" and canberra.statement == reply
    assert canberra.signals.agreement == 0.0
    assert canberra.low_trust
    samples, reply = conversation_case(question, "The capital of Australia is Sydney.")
    sydney = score(question, reply, samples)
    assert sydney.answer == "Sydney" and sydney.signals.agreement == 1.0
    assert sydney.value is not None and sydney.value > canberra.value


def test_a_garbled_reply_gets_no_value_and_a_reason_even_when_it_mentions_the_sampled_answer():
    question = "What is the capital of France?"
    samples, reply = conversation_case(question, "Enchanté de la France, las galáticas en Paris")
    assert {s.answer for s in samples} == {"Paris"}
    result = score(question, reply, samples)
    assert result.value is None and result.answer is None
    assert result.low_trust and result.source == "no claim"
    assert "states no short answer" in (result.reason or "")
    assert result.signals.agreement is None and result.signals.missing["agreement"]
    assert result.question == question and result.samples == ["Paris"] * 5


def test_the_last_user_turn_is_the_question():
    history = [("human", "What is the capital of Peru?"), ("ai", "Lima."), ("human", "What is the capital of France?")]
    scorer = ConversationScorer(FakeListChatModel(responses=["x"]), n_samples=2, p_true=False)
    result = run_sync(
        scorer.ascore(conversation(history), "The capital of France is Paris.", sampled(["Answer: Paris"] * 2))
    )
    assert result.question == "What is the capital of France?"
    assert result.answer == "Paris" and result.signals.agreement == 1.0
