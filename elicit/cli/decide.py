"""``elicit certify`` and ``elicit agent``: confidence turned into decisions with a stated error rate."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from elicit.cli.common import console, fail, fusion_head
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
