"""Text the command line shows from outside (model output, passage ids, error messages) is
printed as written: rich would otherwise read a bracketed word in it as a style and drop it."""

from __future__ import annotations

import pytest
from rich.console import Console

from elicit.cli.ask import _sample_table, _signal_table
from elicit.cli.common import console, fail
from elicit.types import Elicitation, Sample, Signals


def test_an_error_message_keeps_its_brackets(capsys: pytest.CaptureFixture[str]) -> None:
    exit_ = fail(ValueError("no passage [city:1260022] in [corpus]"))
    assert exit_.exit_code == 2
    console.file.flush()
    assert "no passage [city:1260022] in [corpus]" in capsys.readouterr().out


def test_model_output_is_shown_as_written() -> None:
    sample = Sample(text="Answer: [Paris]\nConfidence: [b]90%", strategy="vanilla", answer="[Paris]", parsed=True)
    result = Elicitation(question="Capital of France?", answer="[Paris]", strategy="vanilla", signals=Signals(),
                         samples=[sample])  # fmt: skip
    screen = Console(width=200, record=True)
    screen.print(_signal_table(result))
    screen.print(_sample_table(result))
    shown = screen.export_text()
    assert "answer: '[Paris]'" in shown
    assert "Answer: [Paris] | Confidence: [b]90%" in shown
