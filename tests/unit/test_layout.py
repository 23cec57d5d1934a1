"""The package layout reads as the flow a question passes through: no import runs upward."""

import ast
from pathlib import Path

import elicit

PACKAGE = Path(elicit.__file__).parent

STAGES = [
    "defaults",
    "text",
    "files",
    "types",
    "datasets",
    "model",
    "elicitation",
    "signals",
    "calibration",
    "evaluation",
    "chains",
    "routing",
    "decisions",
    "results",
    "apps",
    "cli",
]
"""From the bottom up: a module may import only from its own stage or a lower one."""


def _stage(module: str) -> str | None:
    parts = module.split(".")
    if parts[0] != "elicit" or len(parts) < 2:
        return None
    return parts[1]


def _imports(path: Path) -> list[str]:
    names = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.append(node.module)
            names += [f"{node.module}.{alias.name}" for alias in node.names if node.module == "elicit"]
        elif isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
    return names


def test_every_module_belongs_to_a_stage():
    top = {p.stem for p in PACKAGE.iterdir() if p.suffix == ".py" or (p.is_dir() and (p / "__init__.py").exists())}
    assert top - {"__init__"} <= set(STAGES)


def test_no_import_runs_from_a_lower_stage_to_a_higher_one():
    upward = []
    for path in PACKAGE.rglob("*.py"):
        relative = path.relative_to(PACKAGE.parent).with_suffix("")
        own = _stage(".".join(relative.parts))
        if own not in STAGES:  # elicit/__init__.py re-exports the public names of every stage
            continue
        for module in _imports(path):
            target = _stage(module)
            if target is not None and target in STAGES and STAGES.index(target) > STAGES.index(own):
                upward.append(f"{relative} imports {module}")
    assert not upward, "\n".join(upward)


def test_top_level_holds_at_most_five_modules():
    modules = [p.name for p in PACKAGE.glob("*.py")]
    assert len(modules) <= 5, modules
