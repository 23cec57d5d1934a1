"""``elicit proxy``: an OpenAI-compatible endpoint that adds a confidence to every chat completion."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
import uvicorn

from elicit import defaults
from elicit.apps.proxy import DEFAULT_MAX_BODY_BYTES, DEFAULT_MAX_N, create_app
from elicit.cli.common import (
    CertificateOption,
    MaxTokensOption,
    TemperatureOption,
    certificate_file,
    console,
    fail,
    fusion_head,
)
from elicit.cli.group import app
from elicit.model.serving import BASE_URL_ENV, DEFAULT_HOST

API_KEY_ENV = "ELICIT_PROXY_API_KEY"


@app.command("proxy")
def proxy_command(
    upstream: Annotated[
        str | None, typer.Option(envvar=BASE_URL_ENV, help="The OpenAI-compatible server to forward to.")
    ] = None,
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8080,
    host: Annotated[str, typer.Option(help="Address to bind (loopback unless you mean to expose it).")] = DEFAULT_HOST,
    api_key: Annotated[
        str | None, typer.Option(envvar=API_KEY_ENV, help="Require 'Authorization: Bearer <key>' from clients.")
    ] = None,
    model: Annotated[
        str | None, typer.Option(help="Model for requests naming none (default: upstream's first).")
    ] = None,
    samples: Annotated[
        int, typer.Option(help="Confidence samples per request (one upstream request).")
    ] = defaults.N_SAMPLES,
    seed: Annotated[int, typer.Option(help="Seed of the confidence samples (one per conversation).")] = defaults.SEED,
    temperature: TemperatureOption = defaults.TEMPERATURE,
    max_tokens: MaxTokensOption = None,
    threshold: Annotated[float, typer.Option(help="Confidence below this is flagged low_trust.")] = defaults.LOW_TRUST,
    fusion: Annotated[Path | None, typer.Option(help="A fitted fusion head (JSON) for the confidence.")] = None,
    certificate: CertificateOption = None,
    max_n: Annotated[int, typer.Option(help="Largest 'n' (choices) a request may ask for.")] = DEFAULT_MAX_N,
    max_body_bytes: Annotated[int, typer.Option(help="Largest request body accepted.")] = DEFAULT_MAX_BODY_BYTES,
) -> None:
    """Serve /v1/chat/completions in front of UPSTREAM, adding a `confidence` object to each response."""
    if not upstream:
        raise fail(ValueError(f"no upstream: pass --upstream URL or set {BASE_URL_ENV}"))
    try:
        head = fusion_head(fusion)
        certified = certificate_file(certificate)
        proxy_app = create_app(
            upstream, model=model, api_key=api_key, n_samples=samples, temperature=temperature,
            max_tokens=max_tokens, threshold=threshold, fusion=head, seed=seed, max_body_bytes=max_body_bytes,
            max_n=max_n, certificate=certified,
        )  # fmt: skip
    except ValueError as exc:
        raise fail(exc) from exc
    console.print(
        f"confidence proxy for {upstream} at http://{host}:{port}/v1" + ("  (API key required)" if api_key else "")
    )
    uvicorn.run(proxy_app, host=host, port=port, log_level="warning")
