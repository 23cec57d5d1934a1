"""A benchmark's result is data: ``--json`` writes it and the same figures read back, even a missing one."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks import peers
from benchmarks.common import arguments
from benchmarks.eval import EvalResult, side
from benchmarks.probe_cost import ProbeCostResult, split
from benchmarks.proxy import PathResult, ProxyResult, show
from elicit.model.loop import run_sync
from elicit.model.serving import ServerHandle
from elicit.types import EvalRecord

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


def _record(i: int, answer: str | None) -> EvalRecord:
    return EvalRecord(id=f"q{i}", question=f"question {i}?", golds=["a"], answer=answer, correct=answer == "a",
                      strategy="vanilla", n_samples=5)  # fmt: skip


def test_the_probe_is_timed_on_questions_it_was_not_fitted_on_and_a_short_file_is_named():
    records = [_record(i, None if i % 4 == 0 else "a" if i % 3 else "b") for i in range(40)]
    fit_on, asked = split(records, 20, 8, seed=0)
    assert len(fit_on) == 20 and len(asked) == 8 and all(record.answer for record in fit_on)
    assert not {record.question for record in fit_on} & set(asked)
    assert split(records, 20, 8, seed=0) == (fit_on, asked)
    with pytest.raises(SystemExit, match="need 40 answered records, the file has 30"):
        split(records, 32, 8, seed=0)


def test_the_probe_cost_reads_back_equal(tmp_path):
    result = ProbeCostResult(
        settings={"train": 20, "questions": 8, "model": "m", "reused_server": True}, layer=15, pooling="mean",
        fit_seconds=3.0, answer_seconds=0.5, probe_seconds=0.05, probe_ratio=0.1, chain_seconds=10.0,
        chain_probe_seconds=11.0, chain_ratio=1.1, memory_mib=600.0,
    )  # fmt: skip
    assert ProbeCostResult.model_validate_json(result.write(tmp_path / "probe.json").read_text()) == result


def test_the_peer_comparison_names_the_missing_environment_and_its_result_reads_back(tmp_path, monkeypatch):
    monkeypatch.setattr(peers, "PEERS_PYTHON", tmp_path / "absent" / "python")
    with pytest.raises(FileNotFoundError, match="run `make peers` first"):
        run_sync(peers.measure(ServerHandle("http://127.0.0.1:9", "m"), ["q?"]))
    result = peers.PeerResult(
        settings={"questions": 8, "model": "m", "reused_server": True}, elicit_seconds=2.0, uqlm_seconds=8.0,
        elicit_questions_per_second=4.0, uqlm_questions_per_second=1.0, ratio=4.0,
        elicit_signals=["agreement", "p_true"], uqlm_scorers=["exact_match"],
    )  # fmt: skip
    assert peers.PeerResult.model_validate_json(result.write(tmp_path / "peers.json").read_text()) == result
