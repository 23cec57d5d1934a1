"""The served model's own hidden states of a question, as LangChain embeddings.

Thrust and the P(IK) probe ask what the *generating* model makes of a question, which a
separate sentence encoder (MiniLM) cannot tell: it measures topic, not knowledge. vLLM
cannot provide these vectors: its pooling runner (``--runner pooling --convert embed``)
returns only the last layer, and it needs a second engine beside the generating one; there
is no way to get hidden states out of generation. So transformers runs the same local
weights vLLM serves with ``output_hidden_states=True`` (cheap for a 135M model on CPU),
loaded lazily on first use. One forward pass yields every layer and pooling, so all that
were asked for are computed together and cached on disk, keyed by (model digest, layer,
pooling, text): a layer sweep or a rerun never runs the model twice for the same question.
"""

from __future__ import annotations

import functools
import hashlib
import json
import sqlite3
import threading
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, get_args

import numpy as np

from elicit.defaults import cache_dir
from elicit.model.digest import files_sha256
from elicit.model.embeddings import SMALL_BATCH, EncoderEmbeddings, torch_threads
from elicit.model.materialize import MANIFEST_NAME, resolve_model

if TYPE_CHECKING:
    from numpy.typing import NDArray

Pooling = Literal["first", "last", "mean"]
POOLINGS: tuple[str, ...] = get_args(Pooling)

DEFAULT_LAYER = 6
"""Layer of the embedded model (SmolLM2-135M, 30 blocks) used when none is given: the best
P(IK)-probe AUROC of the layer sweep on the dev split (``elicit.routing.sweep``; layers 0, 3,
..., 30 x first/last/mean pooling; probe fitted on 200 train questions of the default routing
mix, scored on 100 dev questions, seed 0): layer 6, last token, dev AUROC 0.836 (next: layer 30
mean 0.828, layer 21 mean 0.813). ``elicit route-eval`` reruns the sweep and records its choice
in the policies file it writes."""

DEFAULT_POOLING: Pooling = "last"
"""Pooling used when none is given, chosen by the same sweep."""


def model_digest(model_dir: Path) -> str:
    """A short digest naming the weights: the GGUF source of a materialized folder (verified to
    match it), else the sha256 of every weight file, so cached vectors never outlive a model."""
    manifest = model_dir / MANIFEST_NAME
    if manifest.is_file():
        source = json.loads(manifest.read_text()).get("source_sha256")
        if source:
            return str(source)[:16]
    weights = sorted(model_dir.glob("*.safetensors")) + sorted(model_dir.glob("*.bin"))
    if not weights:
        raise ValueError(f"model folder {model_dir} holds no *.safetensors or *.bin weights")
    return files_sha256(weights)[:16]


@functools.cache
def _load(model_dir: Path) -> tuple[Any, Any]:
    """Tokenizer and model, once per process (about 1 s and 550 MB for the embedded model)."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    tokenizer.padding_side = "right"  # the last real token is then found from the mask
    model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32)
    model.eval()
    return tokenizer, model


class _Enough(Exception):
    """Raised by a forward hook once every layer asked for has been computed."""


_FORWARD = threading.Lock()
"""One forward pass at a time per process: a pass that stops early registers hooks on the shared
model's blocks, which would also see (and cut short) a pass another thread runs meanwhile, and
the torch thread count it sets is process-wide. A chain reads its answers' hidden states from
worker threads, so concurrent reads do happen; torch already spreads one pass over the cores."""


def _hidden_states(base: Any, batch: Any, top: int, n_layers: int) -> list[Any]:
    """``hidden_states`` of the base model (no LM head) up to layer ``top``.

    The full output (layer ``n_layers`` has the final norm applied) comes from one ordinary
    pass; an earlier layer is the output of block ``top - 1``, so the pass stops there: a
    router asking for layer 6 of 30 pays for 6 blocks, not 30.
    """
    if top == n_layers:
        return list(base(**batch, output_hidden_states=True).hidden_states)
    states: list[Any] = []

    def keep(_module: Any, _args: Any, output: Any) -> None:
        states.append(output[0] if isinstance(output, tuple) else output)
        if len(states) > top:
            raise _Enough

    hooks = [base.embed_tokens.register_forward_hook(keep)]
    hooks += [block.register_forward_hook(keep) for block in base.layers[:top]]
    try:
        base(**batch)
    except _Enough:
        pass
    finally:
        for hook in hooks:
            hook.remove()
    return states


class _Cache:
    """One SQLite file of vectors keyed by (digest, layer, pooling, text hash)."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        with self._connect() as db:
            db.execute(
                "CREATE TABLE IF NOT EXISTS vectors (digest TEXT, layer INTEGER, pooling TEXT, text TEXT,"
                " vector BLOB, PRIMARY KEY (digest, layer, pooling, text))"
            )

    def _connect(self) -> sqlite3.Connection:
        return sqlite3.connect(self.path, timeout=60)

    def get(self, digest: str, layer: int, pooling: str, keys: Sequence[str]) -> dict[str, NDArray[np.float32]]:
        found: dict[str, NDArray[np.float32]] = {}
        with self._connect() as db:
            for start in range(0, len(keys), 500):
                chunk = list(keys[start : start + 500])
                rows = db.execute(
                    f"SELECT text, vector FROM vectors WHERE digest=? AND layer=? AND pooling=? "
                    f"AND text IN ({','.join('?' * len(chunk))})",
                    (digest, layer, pooling, *chunk),
                )
                found |= {key: np.frombuffer(blob, dtype=np.float32) for key, blob in rows}
        return found

    def put(self, rows: Iterable[tuple[str, int, str, str, bytes]]) -> None:
        with self._connect() as db:
            db.executemany("INSERT OR REPLACE INTO vectors VALUES (?, ?, ?, ?, ?)", rows)


def _text_key(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class HiddenStateEmbeddings(EncoderEmbeddings):
    """Hidden states of the served model for each text, at one layer with one pooling.

    ``layer`` counts as in transformers' ``hidden_states`` (0 = token embeddings, L = the
    last block's output; negative values count from the end). ``pooling`` reduces the
    question's tokens to one vector: ``first`` token, ``last`` token (what a causal model
    has read of the whole question) or the ``mean`` over tokens. The raw question is encoded
    without the chat template, so every question is read the same way. Vectors are not
    normalized: Thrust's distances and the probe see the model's own geometry.
    """

    def __init__(
        self,
        model: str | Path | None = None,
        *,
        layer: int = DEFAULT_LAYER,
        pooling: str = DEFAULT_POOLING,
        batch_size: int = 32,
        cache_path: Path | str | None = None,
    ) -> None:
        if pooling not in POOLINGS:
            raise ValueError(f"pooling must be one of {', '.join(POOLINGS)}; got {pooling!r}")
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        self.model_dir = Path(model) if isinstance(model, Path) else resolve_model(model).path
        config = json.loads((self.model_dir / "config.json").read_text())
        self.n_layers = int(config["num_hidden_layers"])
        self.layer = self._layer_index(layer)
        self.pooling: str = pooling
        self.batch_size = batch_size
        self.digest = model_digest(self.model_dir)
        self.model_name = f"hidden-states:{self.model_dir.name}@{self.digest}/layer{self.layer}/{pooling}"
        self.cache = _Cache(Path(cache_path) if cache_path else cache_dir() / "hidden-states.sqlite")

    def _layer_index(self, layer: int) -> int:
        if not -(self.n_layers + 1) <= layer <= self.n_layers:
            raise ValueError(f"layer must be in [{-(self.n_layers + 1)}, {self.n_layers}] for this model, got {layer}")
        return layer % (self.n_layers + 1)

    def encode(self, texts: Sequence[str]) -> NDArray[np.float32]:
        """Vectors of shape (len(texts), hidden size) at this instance's layer and pooling."""
        return self.encode_many(texts, [self.layer], [self.pooling])[(self.layer, self.pooling)]

    def encode_many(
        self, texts: Sequence[str], layers: Sequence[int], poolings: Sequence[str]
    ) -> dict[tuple[int, str], NDArray[np.float32]]:
        """Vectors for every (layer, pooling) pair, from one forward pass per uncached batch."""
        if isinstance(texts, str):
            raise ValueError("texts must be a sequence of strings, not one string (use embed_query for one)")
        texts = list(texts)
        if any(not isinstance(text, str) or not text.strip() for text in texts):
            raise ValueError("texts must be non-empty strings")
        bad = [p for p in poolings if p not in POOLINGS]
        if bad:
            raise ValueError(f"pooling must be one of {', '.join(POOLINGS)}; got {bad[0]!r}")
        pairs = [(self._layer_index(layer), pooling) for layer in layers for pooling in poolings]
        keys = [_text_key(text) for text in texts]
        unique = list(dict.fromkeys(keys))
        found = {pair: self.cache.get(self.digest, *pair, unique) for pair in pairs}
        missing = [key for key in unique if any(key not in found[pair] for pair in pairs)]
        if missing:
            text_of = dict(zip(keys, texts, strict=True))
            computed = self._forward([text_of[key] for key in missing], pairs)
            rows = []
            for pair, vectors in computed.items():
                for key, vector in zip(missing, vectors, strict=True):
                    found[pair][key] = vector
                    rows.append((self.digest, pair[0], pair[1], key, vector.tobytes()))
            self.cache.put(rows)
        return {pair: np.stack([found[pair][key] for key in keys]) if keys else np.zeros((0, 0), np.float32)
                for pair in pairs}  # fmt: skip

    def _forward(self, texts: list[str], pairs: list[tuple[int, str]]) -> dict[tuple[int, str], NDArray[np.float32]]:
        import torch

        out: dict[tuple[int, str], list[NDArray[np.float32]]] = {pair: [] for pair in pairs}
        with _FORWARD, torch_threads(1 if len(texts) <= SMALL_BATCH else None), torch.inference_mode():
            tokenizer, model = _load(self.model_dir)
            for start in range(0, len(texts), self.batch_size):
                batch = tokenizer(texts[start : start + self.batch_size], return_tensors="pt", padding=True)
                states = _hidden_states(model.model, batch, max(layer for layer, _ in pairs), self.n_layers)
                mask = batch["attention_mask"].unsqueeze(-1).float()
                last = batch["attention_mask"].sum(dim=1) - 1
                rows = torch.arange(mask.shape[0])
                for layer, pooling in pairs:
                    hidden = states[layer]
                    if pooling == "first":
                        pooled = hidden[:, 0]
                    elif pooling == "last":
                        pooled = hidden[rows, last]
                    else:
                        pooled = (hidden * mask).sum(dim=1) / mask.sum(dim=1)
                    out[(layer, pooling)].append(pooled.float().numpy())
        return {pair: np.concatenate(chunks).astype(np.float32) for pair, chunks in out.items()}
