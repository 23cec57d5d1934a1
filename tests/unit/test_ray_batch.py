"""The Ray path's guards: Ray stays out of the default path, and its options fail fast and clearly."""

from __future__ import annotations

import subprocess
import sys

import pytest
from typer.testing import CliRunner

from elicit.cli import app
from elicit.model.serving import BASE_URL_ENV, ServerHandle


def test_the_cli_and_in_process_evaluation_do_not_import_ray():
    code = "import sys, elicit.cli, elicit.evaluation.batch; print('ray' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--actors", "2"], "need --ray"),
        (["--base-url", "http://a:1", "--base-url", "http://b:1"], "need --ray"),
        (["--ray-address", "auto"], "need --ray"),
        (["--ray", "--replicas", "2", "--base-url", "http://a:1"], "either --base-url or --replicas"),
        (["--ray", "--ray-address", "auto"], "URLs every node can reach"),
    ],
)
def test_ray_options_are_checked_before_anything_starts(args, message, monkeypatch):
    monkeypatch.delenv(BASE_URL_ENV, raising=False)
    result = CliRunner().invoke(app, ["eval", "--limit", "2", *args])
    assert result.exit_code == 2, result.output
    assert message in result.output


def test_evaluate_on_ray_names_bad_arguments(tmp_path):
    from elicit.evaluation.ray_batch import evaluate_on_ray

    endpoint = ServerHandle("http://127.0.0.1:1", "m")
    with pytest.raises(ValueError, match="at least one model endpoint"):
        evaluate_on_ray(lambda handle: None, [], tmp_path / "x.jsonl", endpoints=[], actors=1)  # type: ignore[arg-type,return-value]
    with pytest.raises(ValueError, match="actors must be >= 1, got 0"):
        evaluate_on_ray(lambda handle: None, [], tmp_path / "x.jsonl", endpoints=[endpoint], actors=0)  # type: ignore[arg-type,return-value]
