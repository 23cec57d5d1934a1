"""The served embedded model, through LangChain and the completions client."""

from __future__ import annotations

import os

import pytest
from langchain_core.messages import HumanMessage

from elicit.elicitation.sampling import agenerate
from elicit.model.client import CompletionClient, chat_model
from elicit.model.loop import run_sync
from elicit.model.serving import BASE_URL_ENV, ServingError, VLLMServer, check_server


def test_server_lists_the_model(server):
    assert server.model_name in check_server(server.base_url)


@pytest.mark.skipif(bool(os.environ.get(BASE_URL_ENV)), reason="the server was not started by this test run")
def test_log_shows_a_real_vllm_start(server, server_log):
    log = server_log.read_text()
    assert "vllm" in log.lower() and "Application startup complete" in log


def test_chat_completion_answers(llm):
    reply = llm.bind(max_tokens=8, temperature=0.0).invoke([HumanMessage(content="What is the capital of France?")])
    assert isinstance(reply.content, str) and reply.content.strip()


def test_logprobs_and_top_logprobs_come_back(llm):
    reply = llm.bind(max_tokens=6, temperature=0.0).invoke([HumanMessage(content="Say hello.")])
    content = reply.response_metadata["logprobs"]["content"]
    assert 1 <= len(content) <= 6
    for entry in content:
        assert entry["logprob"] <= 0.0
        assert len(entry["top_logprobs"]) == 5
    assert "".join(entry["token"] for entry in content) == reply.content


def test_n_samples_in_one_request(llm):
    messages = [HumanMessage(content="Name a colour.")]
    generations = run_sync(agenerate(llm, messages, n=3, temperature=1.0, max_tokens=6))
    assert len(generations) == 3
    for generation in generations:
        assert generation.tokens and all(t.logprob <= 0.0 for t in generation.tokens)


def test_per_call_settings_do_not_mutate_the_model(server):
    model = chat_model(server)
    before = model.model_dump()
    run_sync(agenerate(model, [HumanMessage(content="Hi")], n=2, temperature=0.9, max_tokens=3))
    assert model.model_dump() == before


def test_completion_echo_returns_prompt_logprobs(server):
    prompt = "The capital of France is"
    [completion] = CompletionClient(server).complete(prompt, max_tokens=3, echo=True, logprobs=2)
    assert "".join(t.token for t in completion.prompt_tokens) == prompt
    assert all(t.logprob <= 0.0 for t in completion.prompt_tokens[1:])
    assert len(completion.tokens) == 3
    assert completion.text == "".join(t.token for t in completion.tokens)


def test_server_that_dies_during_start_shows_its_log(tmp_path):
    broken = tmp_path / "broken-model"
    broken.mkdir()
    (broken / "config.json").write_text('{"model_type": "not-a-real-architecture"}')
    with pytest.raises(ServingError, match="exited with code"):
        VLLMServer(str(broken), log_path=tmp_path / "broken.log", startup_timeout=300).start()
