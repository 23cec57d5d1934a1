"""``elicit route-eval`` end to end on the real server, at toy size: every split answered both
ways, the designation on dev, the policy file a router reads, resuming without asking again,
and a folder of other settings refused."""

from __future__ import annotations

import math
from pathlib import Path

from typer.testing import CliRunner

from elicit.cli import app
from elicit.routing.comparison import DESIGNATION_BUDGET
from elicit.routing.policies import PolicySet
from elicit.routing.run import MINILM_THRUST, RouteEvalResult

SIZES = {"train": 24, "dev": 16, "eval": 12}


def _command(out: Path, base_url: str, seed: int) -> list[str]:
    return [
        "route-eval", "--dataset", "capitals=2", "--dataset", "cities=1", "--train-size", str(SIZES["train"]),
        "--dev-size", str(SIZES["dev"]), "--eval-size", str(SIZES["eval"]), "--concurrency", "8",
        "--out", str(out), "--base-url", base_url, "--seed", str(seed),
    ]  # fmt: skip


def test_route_eval_designates_on_dev_resumes_and_refuses_other_settings(server, tmp_path):
    out = tmp_path / "route-eval"
    runner = CliRunner()
    first = runner.invoke(app, _command(out, server.base_url, 0))
    assert first.exit_code == 0, first.output
    for split, size in SIZES.items():
        for name in (f"{split}.jsonl", f"{split}-retrieval-k2.jsonl"):
            assert len((out / name).read_text().splitlines()) == size, name

    result = RouteEvalResult.model_validate_json((out / "route-eval.json").read_text())
    candidates = {name: value for name, value in result.dev_accuracy_at_budget.items() if name != MINILM_THRUST}
    assert result.designated == max(candidates, key=candidates.__getitem__)
    assert MINILM_THRUST in result.dev_accuracy_at_budget  # reported, never designated
    assert set(result.budgets) == {"0.1", "0.2", "0.3", "0.5"}
    assert all(len(rows) == len(result.curves) for rows in result.budgets.values())
    assert (out / "route-eval.png").read_bytes().startswith(b"\x89PNG")
    assert f"designated (*): {result.designated}" in first.output

    policy_set = PolicySet.load(out / "policies.json")
    details = policy_set.details
    assert details.designated == result.designated and details.budget == DESIGNATION_BUDGET
    assert details.designated in policy_set.scorers and details.threshold is not None
    assert math.isfinite(details.threshold)

    answered = {path.name: path.read_text() for path in out.glob("*.jsonl")}
    again = runner.invoke(app, _command(out, server.base_url, 0))
    assert again.exit_code == 0, again.output
    assert {path.name: path.read_text() for path in out.glob("*.jsonl")} == answered  # nothing asked again

    reseeded = runner.invoke(app, _command(out, server.base_url, 1))
    assert reseeded.exit_code == 2
    assert "other settings" in reseeded.output and "seed: 0 -> 1" in reseeded.output
