"""The results command writes what a seeded run of the same code prints, and the README's example runs."""

from __future__ import annotations

import re
from pathlib import Path

from typer.testing import CliRunner

from benchmarks import results
from elicit.cli import app
from elicit.model.serving import ServerHandle

README = Path(__file__).resolve().parents[2] / "README.md"


NUMBER = re.compile(r"-?\d+(?:\.\d+)?%?")


def _row_numbers(text: str, method: str) -> list[str]:
    """Every number on the first table row of ``method`` (a Markdown or a terminal table), in column order."""
    for line in text.splitlines():
        cells = [cell.strip().strip("*") for cell in line.strip().strip("|").split("|")]
        terminal = re.match(rf"{re.escape(method)}\s+\d", line.strip())
        if cells[0] == method or terminal:
            return NUMBER.findall(line)
    raise AssertionError(f"no row {method!r} in:\n{text}")


def test_the_demo_document_quotes_what_the_demo_prints(server: ServerHandle, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("ELICIT_BASE_URL", server.base_url)
    limit = results.Sizes.of(quick=True).demo
    # The demo's folder is the one the results command reads, so the document is written from these very records.
    folder = tmp_path / "runs" / server.model_name / "demo"
    printed = CliRunner().invoke(app, ["demo", "--limit", str(limit), "--out", str(folder), "--seed", "0"])
    assert printed.exit_code == 0, printed.output
    asked = (folder / "records.jsonl").stat().st_mtime
    results.main(["--quick", "--only", "demo", "--runs", str(tmp_path / "runs"), "--docs", str(tmp_path / "docs"),
                  "--url", f"{server.model_name}={server.base_url}"])  # fmt: skip
    assert (folder / "records.jsonl").stat().st_mtime == asked  # nothing asked again
    document = (tmp_path / "docs" / "demo.md").read_text()
    assert "Written by `python -m benchmarks.results --quick --only demo" in document and "seed 0" in document
    for method in ("head", "best single"):  # n, accuracy, ECE, Brier and AUROC with their intervals, PRR
        assert _row_numbers(document, method) == _row_numbers(printed.output, method)


def test_the_readme_example_runs_as_written(server: ServerHandle, monkeypatch, capsys) -> None:
    monkeypatch.setenv("ELICIT_BASE_URL", server.base_url)
    example = re.search(r"```python\n(.*?)```", README.read_text(), re.DOTALL)
    assert example is not None
    exec(compile(example.group(1), str(README), "exec"), {})  # noqa: S102 - the README's own example
    answer_line = capsys.readouterr().out.splitlines()[0]
    assert answer_line.split()[-1].replace(".", "", 1).isdigit()  # "<answer> <confidence>"
