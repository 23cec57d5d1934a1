"""``elicit certify`` and ``elicit agent``: confidence turned into decisions with a stated error rate."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from elicit.cli.common import BaseUrlOption, ModelOption, certificate_file, console, fail, fusion_head, server_for
from elicit.cli.group import app
from elicit.evaluation.batch import RecordsFileError, load_records


@app.command("certify")
def certify_command(
    records: Annotated[Path, typer.Argument(help="Labelled evaluation records (JSONL) to calibrate on.")],
    risk: Annotated[float, typer.Option(help="The largest error rate allowed among answered questions (alpha).")],
    delta: Annotated[float, typer.Option(help="The chance the promise may fail, over the calibration draw.")] = 0.1,
    head: Annotated[Path | None, typer.Option(help="Certify this fusion head's confidence (default: stored).")] = None,
    out: Annotated[Path, typer.Option(help="Where to write the certificate.")] = Path("certificate.json"),
) -> None:
    """Choose a confidence threshold by Learn-then-Test: answers at or above it are wrong at most RISK of the
    time, with probability 1 - DELTA."""
    from elicit.calibration.certificate import CertificateError, certify

    try:
        loaded = load_records(records)
        if not loaded:
            raise ValueError(f"{records} holds no evaluation records")
        certificate = certify(loaded, risk=risk, delta=delta, head=fusion_head(head))
    except (ValueError, RecordsFileError, CertificateError) as exc:
        raise fail(exc) from exc
    certificate.write(out)
    if certificate.threshold is None:
        console.print(
            f"no threshold can be certified on these {certificate.n} records at risk {risk}, delta {delta}: "
            f"every answer will be marked not certified. Certificate: {escape(str(out))}"
        )
        return
    console.print(
        f"answer when confidence >= {certificate.threshold:.2f}: on these {certificate.n} calibration records that "
        f"answers {certificate.answered:.1%} of the questions with error rate {certificate.calibration_risk:.1%}; "
        f"on new questions the error rate of the answers stays <= {risk:.0%} with probability >= {1 - delta:.0%}. "
        f"Certificate: {escape(str(out))}"
    )


@app.command("agent")
def agent_command(
    question: Annotated[str, typer.Argument(help="The question to answer.")],
    certificate: Annotated[Path, typer.Option(help="The certificate the first answer must meet (elicit certify).")],
    context_certificate: Annotated[
        Path | None, typer.Option(help="The certificate an answer from passages must meet (default: the same).")
    ] = None,
    fusion: Annotated[Path | None, typer.Option(help="The fusion head the certificates were made for.")] = None,
    k: Annotated[int, typer.Option(help="Passages retrieved when the first answer is not certified.")] = 2,
    model: ModelOption = None,
    base_url: BaseUrlOption = None,
) -> None:
    """Answer if certified; else retrieve passages (BM25 over the built-in corpus) and answer again; else abstain."""
    from elicit.calibration.certificate import Certificate, CertificateError
    from elicit.chains import ConfidenceChain
    from elicit.datasets import build_corpus
    from elicit.decisions.agent import build_agent
    from elicit.model.client import chat_model
    from elicit.model.loop import run_sync
    from elicit.routing.retrieval import BM25PassageRetriever

    try:
        first, second = Certificate.read(certificate), certificate_file(context_certificate)
        head = fusion_head(fusion)
        retriever = BM25PassageRetriever.from_passages(build_corpus(), k=k)
        with server_for(model, base_url) as handle:
            chain = ConfidenceChain(chat_model(handle), fusion=head)
            graph = build_agent(chain, retriever, first, context_certificate=second, k=k)

            async def run() -> None:
                async for update in graph.astream({"question": question}, stream_mode="updates"):
                    for node, change in update.items():
                        step = change["steps"][-1]
                        shown = "" if step.confidence is None else f" (confidence {step.confidence:.1%})"
                        console.print(f"{node}: {escape(repr(step.answer))}{shown} -> {escape(step.decision)}")
                        for passage in step.passages:
                            console.print(f"  [dim]{escape(f'[{passage.id}] {passage.text}')}[/dim]")

            run_sync(run())
    except (ValueError, CertificateError) as exc:
        raise fail(exc) from exc
