from collections.abc import Sequence
from types import SimpleNamespace

import numpy as np
import pytest

from elicit.datasets import Passage, build_corpus, load_builtin
from elicit.model.embeddings import cached_encode
from elicit.routing.retrieval import BM25PassageRetriever, DenseRetriever, recall_at_k

PASSAGES = [
    ("fr", "France", "France is a country in Europe. Its capital is Paris."),
    ("pe", "Peru", "Peru is a country in South America. Its capital is Lima."),
    ("co", "Colombia", "Colombia is a country in South America. Its capital is Bogotá."),
    ("jp", "Japan", "Japan is an island country in Asia. Its capital is Tokyo."),
    ("tx", "Texas", "Texas is a state of the United States. Its capital is Austin."),
    ("lyon", "Lyon", "Lyon is a city in France known for its cuisine."),
]


class _CountingEncoder:
    """Deterministic stand-in encoder that records how often it is asked to embed."""

    model_name = "counting/test-encoder"

    def __init__(self) -> None:
        self.calls = 0

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        self.calls += 1
        return np.array([[len(t), t.count("a")] for t in texts], dtype=np.float32)


def _ids(documents) -> list[str]:
    return [doc.metadata["id"] for doc in documents]


def test_bm25_finds_the_passage_naming_the_entity() -> None:
    retriever = BM25PassageRetriever.from_passages(PASSAGES, k=3)
    documents = retriever.invoke("What is the capital of Peru?")
    assert documents[0].metadata["id"] == "pe"
    assert documents[0].metadata["title"] == "Peru"
    assert documents[0].page_content == PASSAGES[1][2]
    scores = [doc.metadata["score"] for doc in documents]
    assert len(documents) <= 3 and scores == sorted(scores, reverse=True)


def test_bm25_accepts_passage_objects_and_folds_accents() -> None:
    passages = [Passage(id=i, title=t, text=x) for i, t, x in PASSAGES]
    retriever = BM25PassageRetriever.from_passages(passages, k=1)
    assert _ids(retriever.invoke("Which country has Bogota as its capital?")) == ["co"]


def test_bm25_returns_nothing_without_shared_terms() -> None:
    retriever = BM25PassageRetriever.from_passages(PASSAGES, k=5)
    assert retriever.invoke("what is the of") == []


def test_passages_need_unique_ids() -> None:
    with pytest.raises(ValueError, match="unique ids"):
        BM25PassageRetriever.from_passages([PASSAGES[0], PASSAGES[0]])


def test_dense_retriever_uses_precomputed_vectors() -> None:
    encoder = _CountingEncoder()
    vectors = np.eye(len(PASSAGES), 2, dtype=np.float32)  # only fr and pe are non-zero
    retriever = DenseRetriever.from_passages(PASSAGES, k=1, embeddings=encoder, vectors=vectors)
    assert encoder.calls == 0
    # The stand-in query vector (len, count of "a") points mostly along the first axis.
    assert _ids(retriever.invoke("zzzz")) == ["fr"]
    with pytest.raises(ValueError, match="one row per passage"):
        DenseRetriever.from_passages(PASSAGES, embeddings=encoder, vectors=vectors[:2])


def test_cached_encode_reuses_vectors_for_the_same_texts(tmp_path) -> None:
    encoder = _CountingEncoder()
    first = cached_encode(encoder, ["banana", "apple"], tmp_path)
    again = cached_encode(encoder, ["banana", "apple"], tmp_path)
    assert encoder.calls == 1
    np.testing.assert_array_equal(first, again)
    cached_encode(encoder, ["bananaapple"], tmp_path)  # same characters, different texts
    cached_encode(encoder, ["apple", "banana"], tmp_path)  # same texts, different order
    assert encoder.calls == 3
    assert len(list(tmp_path.glob("*.npy"))) == 3


def test_recall_at_k_counts_gold_passages_in_the_top_k() -> None:
    retriever = BM25PassageRetriever.from_passages(PASSAGES, k=1)
    items = [
        SimpleNamespace(question="capital of Japan", metadata={"passage_id": "jp"}),
        SimpleNamespace(question="capital of Texas", metadata={"passage_id": "tx"}),
        SimpleNamespace(question="capital of France", metadata={"passage_id": "lyon"}),
    ]
    assert recall_at_k(retriever, items) == pytest.approx(2 / 3)
    with pytest.raises(ValueError, match="passage_id"):
        recall_at_k(retriever, [SimpleNamespace(question="q", metadata={})])


@pytest.fixture(scope="module")
def corpus_retriever() -> BM25PassageRetriever:
    return BM25PassageRetriever.from_passages(build_corpus(), k=5)


# Measured recall@5: capitals 243/244 (the United States loses to the 50 state passages
# that name it), cities 300/300. The bounds leave margin for package-data updates while
# still catching a broken tokenizer or index.
@pytest.mark.parametrize(("name", "minimum"), [("capitals", 0.95), ("cities", 0.95)])
def test_bm25_recall_at_5_on_builtin_sets(corpus_retriever: BM25PassageRetriever, name: str, minimum: float) -> None:
    items = load_builtin(name, seed=0, limit=300)
    assert recall_at_k(corpus_retriever, items) >= minimum
