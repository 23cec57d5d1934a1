"""Server command, environment and error paths that need no running vLLM."""

from __future__ import annotations

import os
import socket

import pytest

from elicit.model import serving
from elicit.model.materialize import ModelRef


def test_cpu_command_uses_float32_eager_and_logprobs(tmp_path):
    command = serving.server_command(ModelRef(tmp_path, "m"), 8123, flavour="cpu")
    assert command[1:3] == ["-m", "vllm.entrypoints.openai.api_server"]
    joined = " ".join(command)
    for flag in ("--dtype float32", "--enforce-eager", "--max-logprobs 20", "--port 8123", "--host 127.0.0.1",
                 "--no-enable-chunked-prefill"):  # fmt: skip
        assert flag in joined
    gpu = " ".join(serving.server_command(ModelRef(tmp_path, "m"), 8123, flavour="gpu"))
    assert "--enforce-eager" not in gpu and "--dtype float32" not in gpu


def test_cpu_environment_binds_all_cores_and_stays_offline():
    env = serving.cpu_environment({"PATH": "/bin"})
    assert env["VLLM_CPU_KVCACHE_SPACE"] == "1"
    assert env["VLLM_CPU_OMP_THREADS_BIND"].startswith("0-") or env["VLLM_CPU_OMP_THREADS_BIND"] == "0-0"
    assert env["HF_HUB_OFFLINE"] == "1"
    assert serving.cpu_environment({"VLLM_CPU_KVCACHE_SPACE": "4"})["VLLM_CPU_KVCACHE_SPACE"] == "4"


def test_missing_vllm_names_the_extra(monkeypatch):
    monkeypatch.setattr(serving, "vllm_flavour", lambda: None)
    with pytest.raises(serving.ServingError, match=r"elicit\[cpu\]"):
        serving.VLLMServer().start()


def test_port_in_use_is_reported(monkeypatch):
    monkeypatch.setattr(serving, "vllm_flavour", lambda: "cpu")
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        assert serving.port_in_use(port)
        with pytest.raises(serving.ServingError, match=f"port {port} .* already in use"):
            serving.VLLMServer(port=port).start()


def test_unreachable_server_names_the_url():
    port = serving.free_port()
    with pytest.raises(serving.ServerUnreachable, match=f"127.0.0.1:{port}/v1/models"):
        serving.connect(f"http://127.0.0.1:{port}")


def test_stop_without_start_is_harmless():
    server = serving.VLLMServer()
    server.stop()
    assert server.process is None


def test_interrupted_start_stops_the_process(monkeypatch, tmp_path):
    """Ctrl-C while waiting for readiness must not leave the server running."""
    monkeypatch.setattr(serving, "vllm_flavour", lambda: "gpu")
    monkeypatch.setattr(serving, "resolve_model", lambda spec: ModelRef(tmp_path, "m"))
    monkeypatch.setattr(serving, "server_command", lambda *args, **kwargs: ["sleep", "60"])
    started: list[int] = []

    def interrupted(self, base_url, served_name):
        started.append(self.process.pid)
        raise KeyboardInterrupt

    monkeypatch.setattr(serving.VLLMServer, "_wait_ready", interrupted)
    server = serving.VLLMServer(log_path=tmp_path / "log")
    with pytest.raises(KeyboardInterrupt):
        server.start()
    assert server.process is None
    with pytest.raises(ProcessLookupError):
        os.killpg(started[0], 0)


def test_gpu_command_passes_vllm_parallelism_through(tmp_path):
    extra = serving.parallel_args(tensor_parallel_size=4, data_parallel_size=2, gpu_memory_utilization=0.85)
    command = serving.server_command(ModelRef(tmp_path, "m"), 8000, host="0.0.0.0", flavour="gpu", extra_args=extra)
    joined = " ".join(command)
    for flag in (
        "--tensor-parallel-size 4",
        "--data-parallel-size 2",
        "--gpu-memory-utilization 0.85",
        "--host 0.0.0.0",
    ):
        assert flag in joined
    assert serving.parallel_args() == []


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"tensor_parallel_size": 0}, "--tensor-parallel-size must be >= 1, got 0"),
        ({"data_parallel_size": -1}, "--data-parallel-size must be >= 1, got -1"),
        ({"gpu_memory_utilization": 1.5}, r"--gpu-memory-utilization must be in \(0, 1\], got 1.5"),
    ],
)
def test_bad_parallelism_is_named(kwargs, message):
    with pytest.raises(ValueError, match=message):
        serving.parallel_args(**kwargs)


def test_serve_refuses_bad_parallelism_before_starting():
    from typer.testing import CliRunner

    from elicit.cli import app

    result = CliRunner().invoke(app, ["serve", "--tensor-parallel-size", "0"])
    assert result.exit_code == 2
    assert "--tensor-parallel-size must be >= 1" in result.output
