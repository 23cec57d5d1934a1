"""A benchmark's result is data: ``--json`` writes it and the same figures read back, even a missing one."""

from __future__ import annotations

from pathlib import Path

from benchmarks.common import arguments
from benchmarks.eval import EvalResult, side
from benchmarks.proxy import PathResult, ProxyResult, show

SETTINGS = {"requests": 2, "concurrency": 2, "reply_tokens": 16, "samples": 3, "sample_tokens": 16, "seed": 0,
            "model": "m", "base_url": "http://127.0.0.1:1", "reused_server": True}  # fmt: skip


def test_every_benchmark_takes_a_json_path():
    assert arguments("A benchmark.\n\nMore.").parse_args(["--json", "out/r.json"]).json == Path("out/r.json")
    assert arguments(None).parse_args([]).json is None


def test_a_result_written_as_json_reads_back_equal(tmp_path):
    result = EvalResult(
        settings={"questions": 4, "max_tokens": 32, "model": "m", "reused_server": False},
        elicit=side(10.0, 400, 4), raw=side(8.0, 420, 4), questions_ratio=0.8, tokens_ratio=0.76,
    )  # fmt: skip
    path = result.write(tmp_path / "results" / "eval.json")
    back = EvalResult.model_validate_json(path.read_text())
    assert back == result
    assert back.settings["reused_server"] is False and back.settings["questions"] == 4
    assert back.elicit.questions_per_second == 2 * 4 / 10.0


def test_a_path_without_a_successful_stream_reads_back_and_prints_nan(tmp_path, capsys):
    failed = PathResult(wall_seconds=1.0, requests_per_second=2.0, first_token_p50=None, first_token_p90=None,
                        stream_p50=None, stream_p90=None, errors=2)  # fmt: skip
    result = ProxyResult(settings=SETTINGS, direct=failed, proxy=failed, first_token_ratio=None, wall_ratio=1.0)
    assert ProxyResult.model_validate_json(result.write(tmp_path / "proxy.json").read_text()) == result
    show(result)
    lines = capsys.readouterr().out.splitlines()
    assert "first token p50 nan s  p90 nan s" in lines[1]
    assert lines[3].endswith("(p50): nanx")
