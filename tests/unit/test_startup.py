"""``import elicit`` and the command line load no heavy module until a command or name needs it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import elicit
from elicit.cli import group as lazy

HEAVY = ("langchain_core", "langchain_openai", "sklearn", "pandas", "openai", "transformers", "vllm", "torch", "scipy")
REPO = Path(__file__).resolve().parents[2]


def loaded_after(code: str) -> list[str]:
    """The heavy top-level modules a fresh interpreter has loaded after running ``code``."""
    probe = f"{code}\nimport sys, json\nprint(json.dumps(sorted({{m.split('.')[0] for m in sys.modules}})))"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=env, cwd=REPO,
                            timeout=120, check=True)  # fmt: skip
    return [name for name in json.loads(result.stdout.splitlines()[-1]) if name in HEAVY]


def test_import_elicit_loads_no_heavy_module():
    assert loaded_after("import elicit") == []


def test_the_command_line_and_its_help_load_no_heavy_module():
    help_run = "from elicit.cli import app\ntry:\n    app(['--help'])\nexcept SystemExit:\n    pass"
    assert loaded_after(help_run) == []


def test_a_public_name_loads_its_module_on_first_use():
    assert "langchain_core" in loaded_after("from elicit import ConfidenceChain")
    assert set(dir(elicit)) >= set(elicit.__all__)
    for name in elicit.__all__:
        assert getattr(elicit, name) is not None


def test_every_command_a_module_registers_is_listed_without_importing_it():
    declared = lazy.command_modules()
    from elicit.cli import ask, datasets, decide, evaluate, proxy, route, serve  # noqa: F401  (registers every command)
    from elicit.cli.group import app

    registered = {info.name for info in app.registered_commands} | {group.name for group in app.registered_groups}
    assert set(declared) == registered
