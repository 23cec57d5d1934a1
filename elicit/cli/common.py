"""What every ``elicit`` command shares: the app, the console, the common options, server handling."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.markup import escape

from elicit.model import materialize as models
from elicit.model.serving import BASE_URL_ENV, ServerHandle, ServingError, serve

if TYPE_CHECKING:
    from elicit.calibration.certificate import Certificate
    from elicit.calibration.head import FusionHead

console = Console(width=None if sys.stdout.isatty() else 160)
"""Wide when writing to a file or pipe, so tables in logs keep one line per row."""


ModelOption = Annotated[
    str | None,
    typer.Option(
        help="A known model (smollm2-135m-instruct, the default; qwen2.5-coder-0.5b-instruct), a local Hugging "
        "Face model folder, or a model id in the local Hugging Face cache."
    ),
]
SamplesOption = Annotated[int, typer.Option(help="Samples per question (drawn in one request).")]
TemperatureOption = Annotated[float, typer.Option(help="Temperature of the confidence samples.")]
MaxTokensOption = Annotated[int | None, typer.Option(help="Tokens per sample (default: the strategy's budget).")]
SeedOption = Annotated[int, typer.Option(help="Seed of the questions, every sampling request, folds and intervals.")]
ConcurrencyOption = Annotated[int, typer.Option(help="Questions in flight at once.")]
BaseUrlOption = Annotated[
    str | None,
    typer.Option(envvar=BASE_URL_ENV, help="Use a running OpenAI-compatible server instead of starting vLLM."),
]


def fail(exc: Exception) -> typer.Exit:
    """Show an expected error as one red line (no traceback) and exit with status 2.

    The message is escaped: rich would read a bracketed name in it ("[city:1]") as a style.
    """
    console.print(f"[red]error:[/red] {escape(str(exc))}")
    return typer.Exit(2)


def fusion_head(path: Path | None) -> FusionHead | None:
    """The fitted head saved at ``path``, if any (scikit-learn loads only when there is one)."""
    if path is None:
        return None
    from elicit.calibration.head import FusionHead

    return FusionHead.load(path)


def certificate_file(path: Path | None) -> Certificate | None:
    """The certificate saved at ``path``, if any."""
    if path is None:
        return None
    from elicit.calibration.certificate import Certificate

    return Certificate.read(path)


CertificateOption = Annotated[
    Path | None, typer.Option(help="A certificate (elicit certify): mark answers below its threshold not certified.")
]


def pct(value: float | None) -> str:
    """A probability as a percentage, '-' when missing."""
    return "-" if value is None else f"{100 * value:.1f}%"


@contextmanager
def server_for(model: str | None, base_url: str | None) -> Iterator[ServerHandle]:
    """A server for one command, with errors shown as one clear line instead of a traceback."""
    try:
        if base_url is None:
            console.print("[dim]starting a local vLLM server (about a minute on CPU)...[/dim]")
        with serve(model, base_url=base_url) as handle:
            yield handle
    except (ServingError, models.ModelError) as exc:
        raise fail(exc) from exc
