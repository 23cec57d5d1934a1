"""The ``elicit`` Typer app, whose commands' modules are imported only when a command runs.

The command modules import the whole LLM stack (LangChain, scikit-learn, pandas, the OpenAI
client, ...), several seconds of imports that ``elicit --help`` or a mistyped option never
need. The group lists each command from its module's source (``@app.command`` functions
and ``app.add_typer`` groups, read with :mod:`ast`, so names and help texts live in one
place, the command's own definition) and imports the module on first use.
"""

from __future__ import annotations

import ast
import importlib
from functools import cache
from pathlib import Path
from typing import Any

import typer
from typer.core import TyperCommand, TyperGroup

COMMAND_MODULES = ("ask", "evaluate", "decide", "datasets", "proxy", "route", "serve")
"""The modules under ``elicit.cli`` that register commands, in the order they are listed."""


def _typer_help(tree: ast.Module, variable: str) -> str | None:
    """The ``help=`` of ``variable = typer.Typer(help=...)`` in a module."""
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == variable for t in node.targets):
            if isinstance(node.value, ast.Call):
                for keyword in node.value.keywords:
                    if keyword.arg == "help" and isinstance(keyword.value, ast.Constant):
                        return str(keyword.value.value)
    return None


def _app_call(node: ast.AST, method: str) -> ast.Call | None:
    """``node`` if it is a call ``app.<method>(...)``."""
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == method:
        if isinstance(node.func.value, ast.Name) and node.func.value.id == "app":
            return node
    return None


def declared(module: str) -> dict[str, str | None]:
    """Command name -> help text of the commands ``elicit.cli.<module>`` registers on ``app``."""
    tree = ast.parse((Path(__file__).parent / f"{module}.py").read_text(encoding="utf-8"))
    commands: dict[str, str | None] = {}
    for node in tree.body:
        if isinstance(node, ast.FunctionDef):
            for decorator in node.decorator_list:
                if call := _app_call(decorator, "command"):
                    name = call.args[0].value if call.args and isinstance(call.args[0], ast.Constant) else None
                    commands[str(name or node.name.replace("_", "-"))] = ast.get_docstring(node)
        elif isinstance(node, ast.Expr) and (call := _app_call(node.value, "add_typer")):
            name = next(k.value.value for k in call.keywords if k.arg == "name" and isinstance(k.value, ast.Constant))
            source = call.args[0]
            commands[str(name)] = _typer_help(tree, source.id) if isinstance(source, ast.Name) else None
    return commands


@cache
def command_modules() -> dict[str, str]:
    """Every command name -> the module that defines it."""
    return {name: module for module in COMMAND_MODULES for name in declared(module)}


def load(name: str) -> Any:
    """The real click command ``name``, after importing the module that registers it."""
    importlib.import_module(f"elicit.cli.{command_modules()[name]}")
    return typer.main.get_command(app).commands[name]  # type: ignore[attr-defined]


class LazyCommand(TyperCommand):
    """A listed command that becomes the real one when it is run (or asked for its own help)."""

    def make_context(self, info_name: str | None, args: list[str], parent: Any = None, **extra: Any) -> Any:
        return load(self.name or "").make_context(info_name, args, parent=parent, **extra)


class LazyGroup(TyperGroup):
    """The ``elicit`` group: commands registered so far, plus every declared one as a ``LazyCommand``."""

    def list_commands(self, ctx: Any) -> list[str]:
        return [*command_modules(), *(name for name in self.commands if name not in command_modules())]

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        if cmd_name in self.commands:
            return self.commands[cmd_name]
        if cmd_name not in command_modules():
            return None
        help_text = declared(command_modules()[cmd_name])[cmd_name]
        return LazyCommand(name=cmd_name, callback=None, help=help_text)


app = typer.Typer(help="How much to trust an LLM's answer.", no_args_is_help=True, add_completion=False, cls=LazyGroup)
"""The ``elicit`` command; every command module registers its commands on it."""


@app.callback()
def main() -> None:
    """How much to trust an LLM's answer."""
