"""Manifest, catalogue and model-resolution logic of the known models, without building them."""

from __future__ import annotations

import json

import pytest

from elicit.model import materialize as models
from elicit.model.catalogue import QWEN, SMOLLM2, GGUFSource, KnownModel, few_shot_for, known, known_model


def test_cache_dir_is_overridable(monkeypatch, tmp_path):
    monkeypatch.setenv("ELICIT_CACHE_DIR", str(tmp_path / "c"))
    assert models.model_dir() == tmp_path / "c" / "models" / "smollm2-135m-instruct"


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
    path = models.gguf_file()
    assert path.name == "SmolLM2-135M-Instruct.Q4_1.gguf" and path.stat().st_size == SMOLLM2.source.size


def test_known_models_are_found_by_key_or_alias_and_unknown_ones_are_named():
    assert known("qwen") is QWEN and known("qwen2.5-coder-0.5b-instruct") is QWEN and known(None) is SMOLLM2
    assert known("/some/folder") is None
    with pytest.raises(models.ModelError, match="known models: smollm2-135m-instruct, qwen2.5-coder-0.5b-instruct"):
        known_model("llama-70b")
    assert few_shot_for("qwen2.5-coder-0.5b-instruct") == 0 and few_shot_for("my-own-model") == 2


def test_a_model_whose_packages_are_missing_names_the_install_command(monkeypatch):
    monkeypatch.setattr(models.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(models.ModelError, match=r"pip install 'elicit\[qwen\]'"):
        models.gguf_file(QWEN)


def test_joined_parts_with_the_wrong_digest_are_refused_and_not_kept(monkeypatch, tmp_path):
    monkeypatch.setenv("ELICIT_CACHE_DIR", str(tmp_path))
    parts = []
    for i in range(2):
        (tmp_path / f"pkg{i}").mkdir()
        (tmp_path / f"pkg{i}" / "part.bin").write_bytes(b"ab"[i : i + 1] * 10)
        parts.append((f"pkg{i}", "part.bin"))
    fake = KnownModel("fake", (), "Fake", "MIT", GGUFSource(tuple(parts), "0" * 64, 20, "pip install fake"), 0)
    monkeypatch.setattr(models, "_package_file", lambda package, relative, model: tmp_path / package / relative)
    with pytest.raises(models.ModelError, match="must have 0000"):
        models.gguf_file(fake)
    assert not (tmp_path / "gguf" / "fake.gguf").exists() and list((tmp_path / "gguf").iterdir()) == []


def test_materialize_reuses_a_verified_folder(monkeypatch, tmp_path):
    monkeypatch.setenv("ELICIT_CACHE_DIR", str(tmp_path))
    target = models.model_dir()
    target.mkdir(parents=True)
    sha = "f" * 64
    monkeypatch.setattr(models, "files_sha256", lambda paths: sha)
    manifest = {"version": models.MANIFEST_VERSION, "source_sha256": sha, "verified": True}
    (target / models.MANIFEST_NAME).write_text(json.dumps(manifest))
    monkeypatch.setattr(models, "_build", lambda *a: pytest.fail("a verified folder must not be rebuilt"))
    assert models.materialize() == target


def test_failed_build_leaves_no_folder_behind(monkeypatch, tmp_path):
    monkeypatch.setenv("ELICIT_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(models, "files_sha256", lambda paths: SMOLLM2.source.sha256)

    def broken_build(target, source):
        (target / "partial.bin").write_bytes(b"x")
        raise models.ModelError("logits disagree")

    monkeypatch.setattr(models, "_build", broken_build)
    with pytest.raises(models.ModelError, match="logits disagree"):
        models.materialize()
    assert not models.model_dir().exists()
    assert list(models.model_dir().parent.iterdir()) == []


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
