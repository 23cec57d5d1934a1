"""The ``elicit`` command line."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from elicit import models
from elicit.chains import ConfidenceChain
from elicit.client import chat_model
from elicit.fusion import FusionHead
from elicit.prompts import STRATEGIES
from elicit.serving import BASE_URL_ENV, ServerHandle, ServingError, VLLMServer, serve
from elicit.types import Elicitation

app = typer.Typer(help="How much to trust an LLM's answer.", no_args_is_help=True, add_completion=False)
models_app = typer.Typer(help="The embedded default model.", no_args_is_help=True)
app.add_typer(models_app, name="models")
console = Console()

ModelOption = Annotated[
    str | None,
    typer.Option(help="Local HF model folder or cached model id (default: the embedded SmolLM2-135M-Instruct)."),
]
BaseUrlOption = Annotated[
    str | None,
    typer.Option(envvar=BASE_URL_ENV, help="Use a running OpenAI-compatible server instead of starting vLLM."),
]


@contextmanager
def _server(model: str | None, base_url: str | None) -> Iterator[ServerHandle]:
    """A server for one command, with errors shown as one clear line instead of a traceback."""
    try:
        if base_url is None:
            console.print("[dim]starting a local vLLM server (about a minute on CPU)...[/dim]")
        with serve(model, base_url=base_url) as handle:
            yield handle
    except (ServingError, models.ModelError) as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from exc


@models_app.command("materialize")
def models_materialize(
    force: Annotated[bool, typer.Option(help="Rebuild even if a verified copy exists.")] = False,
) -> None:
    """Build the embedded model's safetensors folder (once) and print where it is."""
    started = time.perf_counter()
    try:
        path = models.materialize_default(force=force)
    except models.ModelError as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from exc
    console.print(f"{path}  ({time.perf_counter() - started:.1f} s)")


@models_app.command("info")
def models_info() -> None:
    """Show the embedded model's cache folder and manifest."""
    path = models.default_model_dir()
    manifest = models.read_manifest(path)
    console.print(f"folder: {path}")
    console.print(
        json.dumps(manifest, indent=2) if manifest else "not materialized yet: run `elicit models materialize`"
    )


@app.command("serve")
def serve_command(
    model: ModelOption = None,
    port: Annotated[int | None, typer.Option(help="Port on 127.0.0.1 (default: a free one).")] = None,
    log: Annotated[Path | None, typer.Option(help="Server log file.")] = None,
) -> None:
    """Start a vLLM server for the model and keep it running until Ctrl-C."""
    server = VLLMServer(model, port=port, log_path=log)
    try:
        handle = server.start()
    except (ServingError, models.ModelError) as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from exc
    console.print(f"serving {handle.model_name} at {handle.base_url} (ready in {server.startup_seconds:.0f} s)")
    console.print(f"use it with: export {BASE_URL_ENV}={handle.base_url}   log: {server.log_path}")
    try:
        while server.process is not None and server.process.poll() is None:
            time.sleep(1.0)
        console.print(f"[red]the server stopped; see {server.log_path}[/red]")
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()


def _signal_table(elicitation: Elicitation) -> Table:
    table = Table(title=f"answer: {elicitation.answer!r}   confidence: {_pct(elicitation.confidence)} "
                  f"({elicitation.confidence_source})")  # fmt: skip
    table.add_column("signal")
    table.add_column("value", justify="right")
    table.add_column("why missing", style="dim")
    for name, value in elicitation.signals.values().items():
        table.add_row(name, _pct(value), elicitation.signals.missing.get(name, ""))
    return table


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.1f}%"


def _sample_table(elicitation: Elicitation) -> Table:
    table = Table(title="samples")
    for column in ("#", "answer", "verbal", "parsed", "raw text"):
        table.add_column(column)
    for i, sample in enumerate(elicitation.samples, start=1):
        flag = "yes" if sample.parsed and not sample.parse_error else (sample.parse_error or "no")
        table.add_row(
            str(i), sample.answer or "-", _pct(sample.confidence), flag, sample.text.replace("\n", " | ")[:70]
        )
    return table


@app.command("ask")
def ask(
    question: Annotated[str, typer.Argument(help="The question to answer.")],
    strategy: Annotated[str, typer.Option(help=f"Prompt strategy: {', '.join(STRATEGIES)}.")] = "vanilla",
    samples: Annotated[int, typer.Option(help="Samples per question (one request).")] = 5,
    temperature: Annotated[float, typer.Option(help="Sampling temperature.")] = 0.7,
    max_tokens: Annotated[int, typer.Option(help="Tokens per sample.")] = 64,
    hint: Annotated[
        list[str] | None, typer.Option(help="Wrong answers for misleading hints (strategy 'hint').")
    ] = None,
    fusion: Annotated[Path | None, typer.Option(help="A fitted fusion head (JSON) for the confidence.")] = None,
    show_samples: Annotated[bool, typer.Option(help="Print every sample.")] = True,
    as_json: Annotated[bool, typer.Option("--json", help="Print the full result as JSON.")] = False,
    model: ModelOption = None,
    base_url: BaseUrlOption = None,
) -> None:
    """Answer a question with its confidence and every signal."""
    try:
        head = FusionHead.load(fusion) if fusion else None
        with _server(model, base_url) as handle:
            chain = ConfidenceChain(
                chat_model(handle), strategy=strategy, n_samples=samples, temperature=temperature,
                max_tokens=max_tokens, hint_pool=hint or (), fusion=head,
            )  # fmt: skip
            result = chain.invoke(question)
    except ValueError as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from exc
    if as_json:
        console.print_json(json.dumps(result.to_dict()))
        return
    console.print(_signal_table(result))
    if show_samples:
        console.print(_sample_table(result))
    console.print(f"[dim]{result.timings['total_s']:.1f} s[/dim]")


DEMO_QUESTIONS = ("What is the capital of France?", "In which country is the city of Tampere?", "What is 17 + 25?")


@app.command("demo")
def demo(model: ModelOption = None, base_url: BaseUrlOption = None) -> None:
    """Answer a few questions on the embedded model with every signal."""
    with _server(model, base_url) as handle:
        chain = ConfidenceChain(chat_model(handle), strategy="vanilla", n_samples=5)
        for result in chain.batch(list(DEMO_QUESTIONS)):
            console.print(f"\n[bold]{result.question}[/bold]")
            console.print(_signal_table(result))
