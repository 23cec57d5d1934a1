"""``elicit ask``: one answer with its confidence and every signal."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from elicit import defaults
from elicit.chains import ConfidenceChain
from elicit.cli.common import (
    BaseUrlOption,
    CertificateOption,
    MaxTokensOption,
    ModelOption,
    SamplesOption,
    TemperatureOption,
    certificate_file,
    console,
    fail,
    fusion_head,
    pct,
    server_for,
)
from elicit.cli.group import app
from elicit.elicitation.strategies import STRATEGIES
from elicit.model.client import chat_model
from elicit.types import Elicitation


def _signal_table(elicitation: Elicitation) -> Table:
    verdict = {None: "", True: "   certified", False: "   NOT certified"}[elicitation.certified]
    table = Table(title=f"answer: {escape(repr(elicitation.answer))}   confidence: {pct(elicitation.confidence)} "
                  f"({elicitation.confidence_source}){verdict}")  # fmt: skip
    table.add_column("signal")
    table.add_column("value", justify="right")
    table.add_column("why missing", style="dim")
    for name, value in elicitation.signals.values().items():
        table.add_row(name, pct(value), escape(elicitation.signals.missing.get(name, "")))  # may quote a token
    return table


def _sample_table(elicitation: Elicitation) -> Table:
    table = Table(title="samples")
    for column in ("#", "answer", "verbal", "parsed", "raw text"):
        table.add_column(column)
    for i, sample in enumerate(elicitation.samples, start=1):
        flag = "yes" if sample.parsed and not sample.parse_error else (sample.parse_error or "no")
        text = sample.text.replace("\n", " | ")[:70]
        table.add_row(str(i), escape(sample.answer or "-"), pct(sample.confidence), escape(flag), escape(text))
    return table


@app.command("ask")
def ask(
    question: Annotated[str, typer.Argument(help="The question to answer.")],
    strategy: Annotated[str, typer.Option(help=f"Prompt strategy: {', '.join(STRATEGIES)}.")] = "vanilla",
    samples: SamplesOption = defaults.N_SAMPLES,
    temperature: TemperatureOption = defaults.TEMPERATURE,
    max_tokens: MaxTokensOption = None,
    hint: Annotated[
        list[str] | None, typer.Option(help="Wrong answers for misleading hints (strategy 'hint').")
    ] = None,
    fusion: Annotated[Path | None, typer.Option(help="A fitted fusion head (JSON) for the confidence.")] = None,
    certificate: CertificateOption = None,
    show_samples: Annotated[bool, typer.Option(help="Print every sample.")] = True,
    as_json: Annotated[bool, typer.Option("--json", help="Print the full result as JSON.")] = False,
    model: ModelOption = None,
    base_url: BaseUrlOption = None,
) -> None:
    """Answer a question with its confidence and every signal."""
    try:
        head = fusion_head(fusion)
        certified = certificate_file(certificate)
        with server_for(model, base_url) as handle:
            chain = ConfidenceChain(
                chat_model(handle), strategy=strategy, n_samples=samples, temperature=temperature,
                max_tokens=max_tokens, hint_pool=hint or (), fusion=head, certificate=certified,
            )  # fmt: skip
            result = chain.invoke(question)
    except ValueError as exc:
        raise fail(exc) from exc
    if as_json:
        console.print_json(json.dumps(result.to_dict()))
        return
    console.print(_signal_table(result))
    if show_samples:
        console.print(_sample_table(result))
    console.print(f"[dim]{result.timings['total_s']:.1f} s[/dim]")
