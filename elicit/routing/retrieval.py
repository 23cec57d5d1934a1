"""Retrievers over the passage corpus, behind LangChain's ``BaseRetriever`` interface.

Questions that Thrust flags as outside the model's knowledge are answered with passages
from one of these retrievers. BM25 (sparse, exact term match) is the default: entity
questions ("What is the capital of Peru?") hinge on a name that BM25 matches exactly and
that indexes in seconds. The dense retriever catches paraphrases BM25 misses, at the cost
of embedding the corpus once (hence the precomputed-vector and cache options).

Every returned ``Document`` carries ``metadata = {"id", "title", "score"}``; the score
is the retriever's own (BM25 score or cosine similarity), higher is more relevant.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, Protocol

import bm25s
import faiss
import numpy as np
from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from pydantic import Field

from elicit.model.embeddings import MiniLMEmbeddings, TextEncoder, cached_encode
from elicit.text import strip_accents


class PassageLike(Protocol):
    """What a passage must offer; ``elicit.datasets.Passage`` is one."""

    id: str
    title: str
    text: str


PassageInput = PassageLike | tuple[str, str, str]


class QuestionWithGold(Protocol):
    """A QA item whose ``metadata["passage_id"]`` names the passage holding its answer."""

    question: str
    metadata: dict[str, Any]


class _PassageRetriever(BaseRetriever):
    """Passage storage and Document construction shared by the concrete retrievers."""

    ids: list[str]
    titles: list[str]
    texts: list[str]
    k: int = Field(default=5, ge=1)

    def _documents(self, indices: Iterable[int], scores: Iterable[float]) -> list[Document]:
        return [
            Document(
                page_content=self.texts[i],
                metadata={"id": self.ids[i], "title": self.titles[i], "score": float(s)},
            )
            for i, s in zip(indices, scores, strict=True)
        ]


class BM25PassageRetriever(_PassageRetriever):
    """Okapi BM25 (bm25s) over title + text, English stopwords removed, accents folded.

    Passages sharing no term with the query (score 0) are not returned, so fewer than
    ``k`` documents come back for queries with little overlap.
    """

    index: Any = Field(repr=False)

    @classmethod
    def from_passages(cls, passages: Sequence[PassageInput], k: int = 5) -> BM25PassageRetriever:
        ids, titles, texts = _unpack(passages)
        index = bm25s.BM25()
        index.index(
            _tokenize([_content(t, x) for t, x in zip(titles, texts, strict=True)]),
            show_progress=False,
        )
        return cls(ids=ids, titles=titles, texts=texts, k=k, index=index)

    def _get_relevant_documents(self, query: str, *, run_manager: CallbackManagerForRetrieverRun) -> list[Document]:
        found, scores = self.index.retrieve(_tokenize([query]), k=min(self.k, len(self.ids)), show_progress=False)
        keep = scores[0] > 0
        return self._documents(found[0][keep], scores[0][keep])


class DenseRetriever(_PassageRetriever):
    """Exact cosine-similarity search (FAISS inner product over unit MiniLM vectors)."""

    index: Any = Field(repr=False)
    embeddings: Any = Field(repr=False)

    @classmethod
    def from_passages(
        cls,
        passages: Sequence[PassageInput],
        k: int = 5,
        embeddings: TextEncoder | None = None,
        vectors: np.ndarray | None = None,
        cache_dir: str | Path | None = None,
    ) -> DenseRetriever:
        """Index passages, embedding them unless ``vectors`` (one unit row per passage,
        in order) are given; with ``cache_dir`` the embeddings are reused across runs.
        Embedding a corpus of tens of thousands of passages takes minutes on a CPU."""
        ids, titles, texts = _unpack(passages)
        embeddings = embeddings if embeddings is not None else MiniLMEmbeddings()
        if vectors is None:
            contents = [_content(t, x) for t, x in zip(titles, texts, strict=True)]
            vectors = (
                embeddings.encode(contents) if cache_dir is None else cached_encode(embeddings, contents, cache_dir)
            )
        matrix = np.ascontiguousarray(vectors, dtype=np.float32)
        if matrix.ndim != 2 or matrix.shape[0] != len(ids):
            raise ValueError(f"vectors must have shape ({len(ids)}, dim), one row per passage; got {matrix.shape}")
        index = faiss.IndexFlatIP(matrix.shape[1])
        index.add(matrix)
        return cls(ids=ids, titles=titles, texts=texts, k=k, index=index, embeddings=embeddings)

    def _get_relevant_documents(self, query: str, *, run_manager: CallbackManagerForRetrieverRun) -> list[Document]:
        query_vector = np.ascontiguousarray(self.embeddings.encode([query]), dtype=np.float32)
        if query_vector.shape[1] != self.index.d:
            raise ValueError(f"query embedding has dimension {query_vector.shape[1]}, the index has {self.index.d}")
        scores, found = self.index.search(query_vector, min(self.k, len(self.ids)))
        return self._documents(found[0], scores[0])


def recall_at_k(retriever: BaseRetriever, items: Sequence[QuestionWithGold]) -> float:
    """Fraction of items whose gold ``metadata["passage_id"]`` is among the retrieved
    documents (the retriever's own k sets the cut-off)."""
    if not items:
        raise ValueError("items must not be empty")
    hits = 0
    for item in items:
        gold = item.metadata.get("passage_id")
        if gold is None:
            raise ValueError(f"item {item.question!r} has no metadata['passage_id']")
        hits += any(doc.metadata["id"] == gold for doc in retriever.invoke(item.question))
    return hits / len(items)


def _unpack(passages: Sequence[PassageInput]) -> tuple[list[str], list[str], list[str]]:
    if not passages:
        raise ValueError("passages must not be empty")
    records = [p if isinstance(p, tuple) else (p.id, p.title, p.text) for p in passages]
    if any(len(record) != 3 for record in records):
        raise ValueError("passages given as tuples must be (id, title, text)")
    ids, titles, texts = (list(column) for column in zip(*records, strict=True))
    if len(set(ids)) != len(ids):
        raise ValueError("passages must have unique ids")
    return ids, titles, texts


def _content(title: str, text: str) -> str:
    """What gets indexed: the title names the entity, so it is searched as well."""
    return f"{title}\n{text}"


def _tokenize(texts: list[str]) -> list[list[str]]:
    """Lowercased word tokens without English stopwords; accents are folded so that
    "Bogota" in a question matches "Bogotá" in a passage."""
    folded = [strip_accents(t) for t in texts]
    return bm25s.tokenize(folded, stopwords="en", return_ids=False, show_progress=False)
