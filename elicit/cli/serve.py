"""``elicit models ...`` and ``elicit serve``."""

from __future__ import annotations

import json
import signal
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from elicit.cli.common import ModelOption, console, fail
from elicit.cli.group import app
from elicit.model import materialize as models
from elicit.model.catalogue import CATALOGUE, DEFAULT, known_model
from elicit.model.serving import BASE_URL_ENV, DEFAULT_HOST, ServingError, VLLMServer, parallel_args

models_app = typer.Typer(help="The models elicit knows by name: the embedded default and a second family.")
app.add_typer(models_app, name="models")

NameArgument = Annotated[
    str, typer.Argument(help=f"A known model: {', '.join(CATALOGUE)} (default: the embedded one).")
]


@models_app.command("list")
def models_list() -> None:
    """List the known models, where their weights come from, and whether they are materialized."""
    for model in CATALOGUE.values():
        built = "materialized" if models.read_manifest(models.model_dir(model)) else "not materialized"
        aliases = ", ".join(model.aliases)
        console.print(
            escape(f"{model.key}  ({model.title}, {model.licence}; also {aliases}): {built}; {model.source.install}")
        )


@models_app.command("materialize")
def models_materialize(
    name: NameArgument = DEFAULT.key,
    force: Annotated[bool, typer.Option(help="Rebuild even if a verified copy exists.")] = False,
) -> None:
    """Check the model's GGUF digest, build its safetensors folder (once) and print where it is."""
    started = time.perf_counter()
    try:
        path = models.materialize(name, force=force)
    except models.ModelError as exc:
        raise fail(exc) from exc
    console.print(f"{path}  ({time.perf_counter() - started:.1f} s)")


@models_app.command("info")
def models_info(name: NameArgument = DEFAULT.key) -> None:
    """Show a known model's cache folder and manifest."""
    try:
        path = models.model_dir(known_model(name))
    except models.ModelError as exc:
        raise fail(exc) from exc
    manifest = models.read_manifest(path)
    console.print(f"folder: {path}")
    console.print(
        json.dumps(manifest, indent=2) if manifest else f"not materialized yet: run `elicit models materialize {name}`"
    )


@app.command("serve")
def serve_command(
    model: ModelOption = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on (default: a free one).")] = None,
    log: Annotated[Path | None, typer.Option(help="Server log file.")] = None,
    host: Annotated[str, typer.Option(help="Address to listen on (0.0.0.0 or the node's IP for other machines).")] = (
        DEFAULT_HOST
    ),
    tensor_parallel_size: Annotated[
        int | None, typer.Option(help="GPUs to shard the model over (vLLM --tensor-parallel-size).")
    ] = None,
    data_parallel_size: Annotated[
        int | None, typer.Option(help="Engine replicas behind this one URL (vLLM --data-parallel-size).")
    ] = None,
    gpu_memory_utilization: Annotated[
        float | None, typer.Option(help="Share of each GPU's memory vLLM may use (vLLM --gpu-memory-utilization).")
    ] = None,
) -> None:
    """Start a vLLM server for the model and keep it running until Ctrl-C (or SIGTERM)."""
    try:
        extra_args = parallel_args(
            tensor_parallel_size=tensor_parallel_size, data_parallel_size=data_parallel_size,
            gpu_memory_utilization=gpu_memory_utilization,
        )  # fmt: skip
    except ValueError as exc:
        raise fail(exc) from exc
    # SIGTERM would otherwise end this process without stopping vLLM, whose own process group
    # outlives it; SIGINT is set explicitly because a shell starting us in the background ignores it.
    for number in (signal.SIGINT, signal.SIGTERM):
        signal.signal(number, signal.default_int_handler)
    server = VLLMServer(model, port=port, host=host, log_path=log, extra_args=extra_args)
    try:
        handle = server.start()
    except (ServingError, models.ModelError) as exc:
        raise fail(exc) from exc
    except KeyboardInterrupt:
        raise typer.Exit(130) from None
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
