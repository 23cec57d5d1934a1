"""The proxy's request validation and error answers, and the conversation scoring it shares with the wrapper.

The upstream is a free loopback port nobody listens on, so every request that passes
validation ends in a 502; the point is that bad requests get the right 4xx first, and
that the app keeps answering after each of them.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from langchain_core.language_models import FakeListChatModel
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage

import elicit.apps.proxy
from elicit.apps.proxy import create_app
from elicit.chains.chat_model import with_confidence
from elicit.chains.conversation import ConversationScorer, conversation
from elicit.elicitation.parsing import parse_sample
from elicit.model.loop import run_sync
from elicit.model.serving import free_port

KEY = "secret-key"
AUTH = {"Authorization": f"Bearer {KEY}"}
MAX_N = 2
MAX_BODY = 4000
VALID = {"model": "m", "messages": [{"role": "user", "content": "What is the capital of France?"}]}


@pytest.fixture(scope="module")
def upstream_url() -> str:
    return f"http://127.0.0.1:{free_port()}"


@pytest.fixture(scope="module")
def client(upstream_url: str) -> Iterator[TestClient]:
    app = create_app(upstream_url, api_key=KEY, n_samples=2, max_body_bytes=MAX_BODY, max_n=MAX_N)
    with TestClient(app) as test_client:
        yield test_client


def post(client: TestClient, body: object, headers: dict[str, str] = AUTH) -> tuple[int, dict]:
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    response = client.post(
        "/v1/chat/completions", content=content, headers={**headers, "content-type": "application/json"}
    )
    return response.status_code, response.json()


def error(payload: dict) -> dict:
    """The OpenAI error object; every error answer must have exactly this shape."""
    assert set(payload) == {"error"}
    assert set(payload["error"]) == {"message", "type", "param", "code"}
    assert payload["error"]["message"]
    return payload["error"]


def assert_still_serving(client: TestClient, upstream_url: str) -> None:
    status, payload = post(client, VALID)
    assert status == 502
    assert upstream_url in error(payload)["message"]


def test_upstream_down_is_502_naming_the_upstream(client, upstream_url):
    status, payload = post(client, VALID)
    assert status == 502
    assert upstream_url in error(payload)["message"]
    assert error(payload)["type"] == "upstream_error"
    for path in ("/v1/models", "/health"):
        response = client.get(path, headers=AUTH)
        assert response.status_code == 502
        assert upstream_url in error(response.json())["message"]


def test_malformed_json_is_400_and_the_app_keeps_serving(client, upstream_url):
    status, payload = post(client, b'{"messages": [')
    assert status == 400
    assert "not valid JSON" in error(payload)["message"]
    assert_still_serving(client, upstream_url)


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"model": "m"}, "messages"),
        ({"model": "m", "messages": []}, "messages"),
        ({"model": "m", "messages": "hello"}, "messages"),
        ({**VALID, "messages": [{"role": "wizard", "content": "hi"}]}, "messages.0.role"),
        ({**VALID, "messages": [{"role": "user", "content": 5}]}, "messages.0.content"),
        ({**VALID, "messages": [{"role": "system", "content": "Be brief."}]}, "messages"),
        ({**VALID, "model": 3}, "model"),
        ({**VALID, "n": "2"}, "n"),
        ({**VALID, "n": 0}, "n"),
        ({**VALID, "temperature": "hot"}, "temperature"),
        ({**VALID, "max_tokens": 1.5}, "max_tokens"),
        ({**VALID, "stream": "yes"}, "stream"),
    ],
)
def test_bad_fields_are_400_naming_the_field(client, upstream_url, body, param):
    status, payload = post(client, body)
    assert status == 400
    assert error(payload)["param"] == param
    assert param in error(payload)["message"]
    assert_still_serving(client, upstream_url)


def test_body_that_is_not_an_object_is_400(client):
    status, payload = post(client, [VALID])
    assert status == 400
    assert "JSON object" in error(payload)["message"]


def test_n_above_the_limit_is_400_naming_the_limit(client, upstream_url):
    status, payload = post(client, {**VALID, "n": MAX_N + 1})
    assert status == 400
    assert error(payload)["param"] == "n"
    assert f"at most {MAX_N}" in error(payload)["message"]
    status, _ = post(client, {**VALID, "n": MAX_N})
    assert status == 502  # at the limit it is forwarded


@pytest.mark.parametrize(
    ("extra", "param"),
    [({"tools": [{"type": "function", "function": {"name": "f"}}]}, "tools")],
)
def test_unsupported_parameters_are_400(client, extra, param):
    status, payload = post(client, {**VALID, **extra})
    assert status == 400
    assert error(payload)["param"] == param
    assert "not supported" in error(payload)["message"]


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer wrong"}, {"Authorization": KEY}, {"Authorization": f"Basic {KEY}"}],
)
def test_missing_or_wrong_key_is_401(client, upstream_url, headers):
    status, payload = post(client, VALID, headers=headers)
    assert status == 401
    assert error(payload)["code"] == "invalid_api_key"
    assert client.get("/v1/models", headers=headers).status_code == 401
    assert_still_serving(client, upstream_url)


def test_health_needs_no_key(client):
    assert client.get("/health").status_code == 502  # reached the (absent) upstream, not refused


def test_oversized_body_is_413(client, upstream_url):
    big = {**VALID, "messages": [{"role": "user", "content": "x" * MAX_BODY}]}
    status, payload = post(client, big)
    assert status == 413
    assert str(MAX_BODY) in error(payload)["message"]
    chunked = client.post("/v1/chat/completions", content=iter([b"{" + b" " * MAX_BODY, b"}"]), headers=AUTH)
    assert chunked.status_code == 413
    assert_still_serving(client, upstream_url)


def test_unknown_route_has_the_openai_error_shape(client):
    response = client.get("/v1/nothing", headers=AUTH)
    assert response.status_code == 404
    error(response.json())


def test_unexpected_exception_is_500_and_the_server_keeps_serving(client, upstream_url, monkeypatch):
    def explode(_: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(elicit.apps.proxy, "conversation", explode)
    status, payload = post(client, VALID)
    assert status == 500
    assert error(payload)["type"] == "server_error"
    assert "boom" in error(payload)["message"]
    monkeypatch.undo()
    assert_still_serving(client, upstream_url)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)
request_bodies = st.fixed_dictionaries(
    {},
    optional={
        "model": json_values,
        "messages": st.lists(
            st.fixed_dictionaries({}, optional={"role": st.sampled_from(["user", "assistant", "x"]) | json_values,
                                                "content": json_values}),
            max_size=3,
        ),
        "n": json_values,
        "temperature": json_values,
        "stream": json_values,
    },
)  # fmt: skip


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=request_bodies | json_values)
def test_no_request_body_makes_the_server_fail(client, body):
    status, payload = post(client, body)
    assert status in (400, 502), payload
    error(payload)


def test_create_app_rejects_bad_settings_naming_them(upstream_url):
    for kwargs, name in [
        ({"max_n": 0}, "max_n"),
        ({"max_body_bytes": 0}, "max_body_bytes"),
        ({"threshold": 1.5}, "threshold"),
        ({"n_samples": 1}, "n_samples"),
        ({"api_key": ""}, "api_key"),
    ]:
        with pytest.raises(ValueError, match=name):
            create_app(upstream_url, **kwargs)
    with pytest.raises(ValueError, match="upstream_url"):
        create_app("127.0.0.1:8000")


# -- the scoring shared by the proxy and with_confidence -------------------------------------


def samples_of(*answers: str) -> list:
    return [parse_sample(f"Answer: {answer}\nConfidence: 80%", "vanilla") for answer in answers]


def test_conversation_accepts_what_a_chat_model_accepts():
    assert conversation("hi") == [HumanMessage(content="hi")]
    turns = conversation(
        [("system", "Be brief."), ("human", "Who wrote Hamlet?"), ("ai", "Shakespeare."), ("human", "When?")]
    )
    assert [type(m) for m in turns] == [SystemMessage, HumanMessage, AIMessage, HumanMessage]
    with pytest.raises(ValueError, match="no user message"):
        conversation([("system", "Be brief.")])
    with pytest.raises(ValueError, match="input"):
        conversation(42)  # type: ignore[arg-type]


def test_sample_prompt_keeps_the_conversation_after_the_instruction_and_examples():
    scorer = ConversationScorer(FakeListChatModel(responses=["x"]), n_samples=2)
    history = [SystemMessage(content="Be brief."), HumanMessage(content="Who wrote Hamlet?"),
               AIMessage(content="Shakespeare."), HumanMessage(content="When was he born?")]  # fmt: skip
    prompt = scorer.sample_messages(history)
    assert isinstance(prompt[0], SystemMessage)
    assert prompt[0].content.startswith("Be brief.") and "Confidence:" in prompt[0].content
    assert sum(isinstance(m, SystemMessage) for m in prompt) == 1
    assert prompt[-3:] == history[1:]
    assert len(prompt) == 1 + 2 * len(scorer.prompts.examples) + 3


def test_a_model_without_logprobs_gets_signals_with_reasons():
    reply = "Answer: Paris\nConfidence: 80%"
    model = FakeListChatModel(responses=[reply])
    wrapped = with_confidence(model, n_samples=3)
    message = wrapped.invoke("What is the capital of France?")
    assert message.content == reply
    confidence = message.response_metadata["confidence"]
    assert confidence["answer"] == "Paris"
    assert confidence["n_samples"] == 3
    signals = confidence["signals"]
    assert signals["agreement"] == 1.0
    assert signals["avg_conf"] == 1.0  # every sample agrees, so all the verbal mass is on Paris
    assert signals["verbal_mean"] == pytest.approx(0.8)
    for name in ("answer_prob", "token_entropy", "p_true"):
        assert signals[name] is None and signals["missing"][name]
    assert confidence["value"] == pytest.approx(1.0)  # mean of agreement and Avg-Conf, the available core signals
    assert confidence["low_trust"] is False


def test_a_reply_no_sample_gave_has_zero_agreement():
    scorer = ConversationScorer(FakeListChatModel(responses=["x"]), n_samples=3, p_true=False, threshold=0.5)
    history = conversation("What is the capital of France?")
    result = run_sync(
        scorer.ascore(history, "I would say it is Berlin, the capital of Germany.", samples_of("Paris", "Paris"))
    )
    assert result.answer == "Berlin"  # the claim the reply states, whatever the samples say
    assert result.signals.agreement == 0.0
    assert result.signals.avg_conf == 0.0
    assert result.value == 0.0
    assert result.low_trust
    assert result.signals.missing["p_true"] == "P(True) not computed"
