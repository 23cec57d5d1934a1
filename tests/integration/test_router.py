"""RetrievalRouter on the real server, real MiniLM embeddings and BM25 over the built-in corpus."""

from __future__ import annotations

import numpy as np
import pytest

from elicit.chains import ConfidenceChain
from elicit.datasets import build_corpus
from elicit.model.embeddings import MiniLMEmbeddings
from elicit.routing.retrieval import BM25PassageRetriever
from elicit.routing.router import RetrievalRouter
from elicit.routing.thrust import ThrustScorer

KNOWN = "What is the capital of France?"
UNKNOWN = "In which country is the city of Pawni?"
TRAIN = [KNOWN, "What is the capital of Germany?", "What is the capital of Italy?", "What is the capital of Spain?"]


@pytest.fixture(scope="module")
def retriever() -> BM25PassageRetriever:
    return BM25PassageRetriever.from_passages(build_corpus(), k=2)


@pytest.fixture(scope="module")
def chain(llm) -> ConfidenceChain:
    return ConfidenceChain(llm, n_samples=2, max_tokens=24)


def test_thrust_router_retrieves_only_for_the_question_far_from_what_it_knows(chain, retriever):
    embeddings = MiniLMEmbeddings()
    # KNOWN is one of the training questions, so it sits on a centroid's doorstep and
    # outscores UNKNOWN whatever the clustering; a 50% budget on the pair splits them.
    scorer = ThrustScorer(embeddings.model_name).fit(np.asarray(embeddings.encode(TRAIN)), n_clusters=2)
    router = RetrievalRouter(chain, retriever, signal="thrust", scorer=scorer, embeddings=embeddings)
    router.fit_threshold([KNOWN, UNKNOWN], budget=0.5)

    known, unknown = router.batch([KNOWN, UNKNOWN])
    assert known.thrust_score >= router.thrust_threshold > unknown.thrust_score
    assert not known.retrieved and known.passages == [] and known.final.context == []
    assert unknown.retrieved and unknown.no_retrieval is None
    assert len(unknown.passages) == 2 and unknown.passages[-1].id == "city:1260022"  # Pawni's own, last
    assert unknown.final.context == [p.text for p in unknown.passages]
    assert "India" in unknown.final.context[-1]
    for result in (known, unknown):
        assert len(result.final.samples) == 2
        assert result.final.confidence is None or 0.0 <= result.final.confidence <= 1.0


def test_confidence_router_keeps_the_first_answer_and_retrieves_with_passages(chain, retriever):
    router = RetrievalRouter(chain, retriever, signal="confidence", confidence_threshold=1.01)  # always unsure
    result = router.invoke(UNKNOWN)
    assert result.retrieved and result.no_retrieval is not None
    assert result.no_retrieval.context == [] and result.confidence == result.no_retrieval.confidence
    assert [p.id for p in result.passages][-1] == "city:1260022"
    assert result.final.context == [p.text for p in result.passages]
    assert result.final.signals.p_true is not None or result.final.signals.missing["p_true"]
