"""RetrievalRouter on the real server: policies fitted on the embedded model's own answers and hidden
states, then asked to decide on questions that are NOT in their training set."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from transformers import AutoModelForCausalLM, AutoTokenizer
from typer.testing import CliRunner

from elicit.chains import ConfidenceChain
from elicit.cli import app
from elicit.datasets import build_corpus, load_builtin
from elicit.elicitation.matching import match_any
from elicit.model.hidden_states import HiddenStateEmbeddings
from elicit.routing.policies import GAIN_PROBE, PRE_GENERATION, PolicyDetails, PolicySet, fit_scorers
from elicit.routing.retrieval import BM25PassageRetriever
from elicit.routing.router import RetrievalRouter

UNKNOWN = "In which country is the city of Pawni?"


@pytest.fixture(scope="module")
def retriever() -> BM25PassageRetriever:
    return BM25PassageRetriever.from_passages(build_corpus(), k=2)


@pytest.fixture(scope="module")
def chain(llm) -> ConfidenceChain:
    return ConfidenceChain(llm, n_samples=1, max_tokens=16, p_true=False)


@pytest.fixture(scope="module")
def hidden_states(server, tmp_path_factory) -> HiddenStateEmbeddings:
    return HiddenStateEmbeddings(cache_path=tmp_path_factory.mktemp("hidden") / "cache.sqlite")


def test_hidden_states_match_a_direct_transformers_pass_and_come_back_from_the_cache(hidden_states):
    texts = ["What is the capital of Peru?", "What is 17 * 23?"]
    vectors = hidden_states.encode_many(texts, [0, 15, 30], ["first", "last", "mean"])
    tokenizer = AutoTokenizer.from_pretrained(hidden_states.model_dir)
    model = AutoModelForCausalLM.from_pretrained(hidden_states.model_dir, dtype=torch.float32)
    for i, text in enumerate(texts):  # one text at a time: no padding in the oracle
        with torch.no_grad():
            states = model(**tokenizer(text, return_tensors="pt"), output_hidden_states=True).hidden_states
        for layer in (0, 15, 30):
            expected = {"first": states[layer][0, 0], "last": states[layer][0, -1], "mean": states[layer][0].mean(0)}
            for pooling, vector in expected.items():
                # Padded batches and a pass stopped early differ only by float rounding.
                scale = float(vector.abs().max())
                np.testing.assert_allclose(vectors[(layer, pooling)][i], vector.numpy(), rtol=0, atol=1e-4 * scale)
    cached = HiddenStateEmbeddings(layer=-1, pooling="last", cache_path=hidden_states.cache.path)
    assert cached.layer == 30 and cached.embed_query(texts[1]) == pytest.approx(vectors[(30, "last")][1].tolist())
    with pytest.raises(ValueError, match="layer must be in"):
        HiddenStateEmbeddings(layer=31, cache_path=hidden_states.cache.path)
    with pytest.raises(ValueError, match="pooling must be one of first, last, mean"):
        HiddenStateEmbeddings(pooling="max", cache_path=hidden_states.cache.path)
    with pytest.raises(ValueError, match="non-empty strings"):
        hidden_states.encode(["  "])
    with pytest.raises(ValueError, match="not one string"):
        hidden_states.encode(texts[0])


def test_policies_fitted_on_real_answers_route_new_questions(server, chain, retriever, hidden_states, tmp_path):
    # Train: capitals and long-tail cities the model has answered, without and with passages;
    # the routed questions are others.
    train = load_builtin("capitals", "train", limit=16) + load_builtin("cities", "train", limit=16)
    questions = [item.question for item in train]

    def right(answers: list) -> np.ndarray:
        return np.array([match_any(a, item.golds(), item.question) for item, a in zip(train, answers, strict=True)])

    correct = right([a.answer for a in chain.batch(questions)])
    helped = right([r.answer for r in RetrievalRouter(chain, retriever, "always").batch(questions)])
    fixed = helped & ~correct
    assert 0 < correct.sum() < len(correct), "the fixture needs right and wrong answers"
    assert 2 <= fixed.sum() <= len(fixed) - 2, "the fixture needs answers passages fixed and others"
    vectors = hidden_states.encode(questions)
    path = tmp_path / "policies.json"
    PolicySet(hidden_states.model_name, fit_scorers(vectors, correct, fixed=fixed)).save(path)
    policies = PolicySet.load(path).policies(hidden_states)
    assert list(policies) == [*PRE_GENERATION, GAIN_PROBE]

    new = [item.question for item in load_builtin("capitals", "test", limit=3)] + [UNKNOWN]
    assert not set(new) & set(questions)
    for name in policies:
        router = RetrievalRouter(chain, retriever, name, policies=policies)
        scores = router.scores(new)
        assert np.isfinite(scores).all() and scores.shape == (len(new),)
    router = RetrievalRouter(chain, retriever, "nearest_correct", policies=policies)
    router.fit_threshold(new, budget=0.25)  # exactly one of the four new questions
    results = router.batch(new)
    assert sum(r.retrieved for r in results) <= 1
    for result in results:
        assert result.no_retrieval is None  # decided before any generation
        assert result.retrieved == (result.score < router.threshold)
        assert (len(result.passages) == 2) == result.retrieved
        assert len(result.final.samples) == 1
    # Passages fixed city answers far more often than capital answers: the gain probe sends
    # the unseen city question, and only it, to retrieval.
    gain = RetrievalRouter(chain, retriever, GAIN_PROBE, policies=policies)
    gain.fit_threshold(new, budget=0.25)
    assert [r.retrieved for r in gain.batch(new)] == [False, False, False, True]

    # The command line routes with the file's designated policy and threshold, as route-eval writes them.
    details = PolicyDetails(layer=hidden_states.layer, pooling=hidden_states.pooling, designated=GAIN_PROBE,
                            threshold=gain.threshold)  # fmt: skip
    PolicySet(hidden_states.model_name, PolicySet.load(path).scorers, details).save(path)
    command = ["route", UNKNOWN, "--policies", str(path), "--base-url", server.base_url, "--samples", "1"]
    shown = CliRunner().invoke(app, command)
    assert shown.exit_code == 0, shown.output
    assert f"{GAIN_PROBE}: score" in shown.output and "retrieved" in shown.output and "city:1260022" in shown.output


def test_confidence_router_keeps_the_first_answer_and_retrieves_with_passages(chain, retriever):
    router = RetrievalRouter(chain, retriever, "confidence", threshold=1.01)  # always unsure
    result = router.invoke(UNKNOWN)
    assert result.retrieved and result.no_retrieval is not None
    assert result.no_retrieval.context == [] and result.score is not None
    assert [p.id for p in result.passages][-1] == "city:1260022"
    assert result.final.context == [p.text for p in result.passages]
    assert "India" in result.final.context[-1]
