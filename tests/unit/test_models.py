"""Manifest and model-resolution logic of the embedded model, without building it."""

from __future__ import annotations

import json

import pytest

from elicit.model import embedded as models


def test_cache_dir_is_overridable(monkeypatch, tmp_path):
    monkeypatch.setenv("ELICIT_CACHE_DIR", str(tmp_path / "c"))
    assert models.default_model_dir() == tmp_path / "c" / "models" / models.DEFAULT_MODEL_KEY


def test_plain_config_drops_quantization_and_forces_fp32():
    config = {"model_type": "llama", "quantization_config": {"quant_method": "gguf"}, "torch_dtype": "bfloat16"}
    clean = models.plain_config_dict(config)
    assert "quantization_config" not in clean
    assert clean["torch_dtype"] == "float32" and clean["model_type"] == "llama"
    assert "quantization_config" in config  # the input is left alone


@pytest.mark.parametrize(
    ("manifest", "current"),
    [
        ({"version": models.MANIFEST_VERSION, "source_sha256": "abc", "verified": True}, True),
        ({"version": models.MANIFEST_VERSION, "source_sha256": "other", "verified": True}, False),
        ({"version": models.MANIFEST_VERSION + 1, "source_sha256": "abc", "verified": True}, False),
        ({"version": models.MANIFEST_VERSION, "source_sha256": "abc", "verified": False}, False),
        (None, False),
    ],
)
def test_manifest_is_current_only_for_the_same_verified_source(manifest, current):
    assert models.manifest_is_current(manifest, "abc") is current


def test_read_manifest_tolerates_missing_and_corrupt_files(tmp_path):
    assert models.read_manifest(tmp_path) is None
    (tmp_path / models.MANIFEST_NAME).write_text("{not json")
    assert models.read_manifest(tmp_path) is None
    (tmp_path / models.MANIFEST_NAME).write_text(json.dumps({"version": 1}))
    assert models.read_manifest(tmp_path) == {"version": 1}


def test_gguf_file_is_found_without_importing_its_package():
    path = models.gguf_path()
    assert path.name == models.GGUF_FILENAME and path.stat().st_size > 50_000_000


def test_materialize_reuses_a_verified_folder(monkeypatch, tmp_path):
    monkeypatch.setenv("ELICIT_CACHE_DIR", str(tmp_path))
    target = models.default_model_dir()
    target.mkdir(parents=True)
    sha = "f" * 64
    monkeypatch.setattr(models, "files_sha256", lambda paths: sha)
    manifest = {"version": models.MANIFEST_VERSION, "source_sha256": sha, "verified": True}
    (target / models.MANIFEST_NAME).write_text(json.dumps(manifest))
    monkeypatch.setattr(models, "_build", lambda *a: pytest.fail("a verified folder must not be rebuilt"))
    assert models.materialize_default() == target


def test_failed_build_leaves_no_folder_behind(monkeypatch, tmp_path):
    monkeypatch.setenv("ELICIT_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(models, "files_sha256", lambda paths: "0" * 64)

    def broken_build(target, source):
        (target / "partial.bin").write_bytes(b"x")
        raise models.ModelError("logits disagree")

    monkeypatch.setattr(models, "_build", broken_build)
    with pytest.raises(models.ModelError, match="logits disagree"):
        models.materialize_default()
    assert not models.default_model_dir().exists()
    assert list(models.default_model_dir().parent.iterdir()) == []


def test_resolve_model_errors_name_the_path(tmp_path):
    with pytest.raises(models.ModelError, match="does not exist"):
        models.resolve_model(str(tmp_path / "missing"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(models.ModelError, match="no config.json"):
        models.resolve_model(str(tmp_path / "empty"))
    with pytest.raises(models.ModelError, match="not in the local Hugging Face cache"):
        models.resolve_model("nobody/no-such-model-anywhere")


def test_resolve_model_accepts_a_local_folder(tmp_path):
    folder = tmp_path / "my-model"
    folder.mkdir()
    (folder / "config.json").write_text("{}")
    ref = models.resolve_model(str(folder))
    assert ref.path == folder.resolve() and ref.served_name == "my-model"
