"""The bundled MiniLM sentence model, for real: unit vectors with meaning, and dense retrieval by paraphrase."""

import numpy as np
import pytest

from elicit.model.embeddings import EMBEDDING_DIM, MiniLMEmbeddings
from elicit.routing.retrieval import DenseRetriever

PASSAGES = [
    ("fr", "France", "France is a country in Europe. Its capital is Paris."),
    ("pe", "Peru", "Peru is a country in South America. Its capital is Lima."),
    ("tx", "Texas", "Texas is a state of the United States. Its capital is Austin."),
    ("lyon", "Lyon", "Lyon is a city in France known for its cuisine."),
]


@pytest.fixture(scope="module")
def minilm() -> MiniLMEmbeddings:
    return MiniLMEmbeddings()


def test_minilm_vectors_are_unit_length_and_semantic(minilm: MiniLMEmbeddings) -> None:
    vectors = minilm.encode(
        [
            "What is the capital city of France?",
            "Which city is France's seat of government?",
            "How long should sourdough bread proof?",
        ]
    )
    assert vectors.shape == (3, EMBEDDING_DIM)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert vectors[0] @ vectors[1] > vectors[0] @ vectors[2] + 0.3
    np.testing.assert_allclose(minilm.embed_query("Paris"), minilm.encode(["Paris"])[0], atol=1e-6)


def test_dense_retriever_matches_paraphrases(minilm: MiniLMEmbeddings) -> None:
    retriever = DenseRetriever.from_passages(PASSAGES, k=2, embeddings=minilm)
    documents = retriever.invoke("Which Texas city is the seat of the state government?")
    assert documents[0].metadata["id"] == "tx"
    assert 0.0 < documents[0].metadata["score"] <= 1.0 + 1e-6
