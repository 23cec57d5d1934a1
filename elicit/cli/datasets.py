"""``elicit datasets ...``: the built-in question sets, and fetching the ones kept outside the package."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape

from elicit.cli.common import console, fail
from elicit.cli.group import app
from elicit.datasets import BUILTIN_DATASETS, DatasetError, bigbench

datasets_app = typer.Typer(help="The built-in question sets.")
app.add_typer(datasets_app, name="datasets")

FETCHABLE = {"bigbench": bigbench.fetch}
"""Sources whose files are copied into the cache rather than shipped with a package."""


@datasets_app.command("list")
def datasets_list() -> None:
    """List the built-in sets and what each one asks."""
    for name, summary in BUILTIN_DATASETS.items():
        console.print(f"[bold]{name}[/bold]  {escape(summary)}")


@datasets_app.command("fetch")
def datasets_fetch(
    source: Annotated[str, typer.Argument(help=f"What to fetch: {', '.join(FETCHABLE)}.")] = "bigbench",
) -> None:
    """Copy a source's task files into the cache once (checked against their sha256)."""
    if source not in FETCHABLE:
        raise fail(ValueError(f"unknown source {source!r}; choose one of {', '.join(FETCHABLE)}"))
    try:
        paths = FETCHABLE[source]()
    except DatasetError as exc:
        raise fail(exc) from exc
    for path in paths:
        console.print(str(path))
