"""Known models materialized into folders vLLM can serve, and the resolution of what a user named.

vLLM cannot serve a GGUF-quantized checkpoint on CPU, and ``save_pretrained`` refuses a
GGUF-quantized model. So a known model (:mod:`elicit.model.catalogue`) is *materialized*
once: its GGUF file (assembled from its packages' parts and checked against the expected
sha256) is dequantized by transformers, copied into a plain fp32 model of the same
architecture and saved as safetensors in a cache folder. A manifest records what was built
and the logits check that proves the copy is faithful; later runs reuse the verified folder.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from elicit.defaults import cache_dir
from elicit.model.catalogue import CATALOGUE, DEFAULT, KnownModel, known, known_model
from elicit.model.digest import BLOCK, files_sha256
from elicit.model.errors import ModelError

MANIFEST_NAME = "elicit-manifest.json"
MANIFEST_VERSION = 1
LOGITS_TOLERANCE = 1e-3
_SANITY_PROMPT = "The capital of France is"


@dataclass(frozen=True)
class ModelRef:
    """A model folder vLLM can serve, and the name the server should expose it under."""

    path: Path
    served_name: str


def model_dir(model: KnownModel = DEFAULT) -> Path:
    """Where a known model's materialized folder lives."""
    return cache_dir() / "models" / model.key


def _package_file(package: str, relative: str, model: KnownModel) -> Path:
    """A file inside an installed package, found without importing it (an ``__init__`` may
    import what elicit does not install)."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise ModelError(f"{model.title} needs the package {package!r}: {model.source.install}")
    path = Path(next(iter(spec.submodule_search_locations))) / relative
    if not path.is_file():
        raise ModelError(f"{package} is installed but {path} is missing: reinstall with {model.source.install}")
    return path


def gguf_file(model: KnownModel = DEFAULT) -> Path:
    """The model's GGUF file: the packaged file itself, or its parts joined once into the cache.

    Joined parts are written to a temporary file and renamed into place only once their
    size and sha256 are the expected ones, so a broken download is never trusted.
    """
    parts = [_package_file(package, relative, model) for package, relative in model.source.parts]
    if len(parts) == 1:
        return parts[0]
    joined = cache_dir() / "gguf" / f"{model.key}.gguf"
    if joined.is_file() and joined.stat().st_size == model.source.size:
        return joined
    joined.parent.mkdir(parents=True, exist_ok=True)
    staging = joined.with_name(f".{joined.name}.{os.getpid()}.partial")
    try:
        with staging.open("wb") as sink:
            for part in parts:
                with part.open("rb") as source:
                    shutil.copyfileobj(source, sink, BLOCK)
        _check_digest(model, staging)
        staging.replace(joined)
    finally:
        staging.unlink(missing_ok=True)
    return joined


def _check_digest(model: KnownModel, path: Path) -> str:
    """The file's sha256, after checking it is the one the catalogue expects."""
    digest = files_sha256([path])
    if digest != model.source.sha256:
        raise ModelError(
            f"{path} has sha256 {digest}, but {model.title} must have {model.source.sha256}: "
            f"the packages hold other bytes ({model.source.install})"
        )
    return digest


def read_manifest(folder: Path) -> dict[str, Any] | None:
    """The manifest of a materialized folder, or None if absent or unreadable."""
    try:
        return json.loads((folder / MANIFEST_NAME).read_text())
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
    """Dequantize ``source`` into a plain safetensors folder at ``target`` and verify it.

    The plain model is of the GGUF model's own architecture (Llama, Qwen2, ...): its config,
    minus the quantization, builds it, and the dequantized weights are loaded into it.
    """
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    started = time.perf_counter()
    tokenizer = AutoTokenizer.from_pretrained(source.parent, gguf_file=source.name)
    gguf_model = AutoModelForCausalLM.from_pretrained(source.parent, gguf_file=source.name, dtype=torch.float32)
    gguf_model.eval()
    config = type(gguf_model.config).from_dict(plain_config_dict(gguf_model.config.to_dict()))
    plain = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
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
        "architecture": config.architectures[0] if config.architectures else type(reloaded).__name__,
        "max_logit_diff": diff,
        "vocab_size": config.vocab_size,
        "build_seconds": round(time.perf_counter() - started, 1),
    }


def materialize(name: str | KnownModel | None = None, force: bool = False) -> Path:
    """Build a known model's folder once and return it; later calls reuse the verified folder.

    ``name`` is a key or alias of the catalogue (None: the embedded default). The folder is
    built in a temporary sibling and renamed into place, so an interrupted build never
    leaves a half-written model that a later call would trust.
    """
    model = name if isinstance(name, KnownModel) else known_model(name) if name else DEFAULT
    source = gguf_file(model)
    target = model_dir(model)
    source_sha = files_sha256([source])
    if not force and manifest_is_current(read_manifest(target), source_sha):
        return target
    if source_sha != model.source.sha256:
        _check_digest(model, source)
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{model.key}-", dir=target.parent))
    try:
        details = _build(staging, source)
        manifest = {
            "version": MANIFEST_VERSION,
            "model": model.key,
            "served_name": model.key,
            "source": str(source),
            "source_sha256": source_sha,
            "licence": model.licence,
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

    ``None`` is the embedded model; a known model's key or alias is materialized on first
    use and served under its key; an existing path must be a Hugging Face model folder;
    anything else is looked up as a model id in the local Hugging Face cache, never downloaded.
    """
    model = known(spec)
    if model is not None:
        return ModelRef(materialize(model), model.key)
    assert spec is not None
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
    raise ModelError(f"model path {path} does not exist (known models: {', '.join(CATALOGUE)})")
