"""Model servers as Ray actors: each replica starts its own vLLM server where Ray places it.

Part of the optional ``elicit[ray]`` extra, loaded only by ``elicit eval --ray --replicas``.
For throughput on a GPU cluster: every replica holds its GPU(s) as a Ray resource, so Ray
puts each on a node with a free GPU (spread over nodes when it can), serves the model
there on the node's own address, and stops it when the run ends.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import ray

from elicit.model.serving import ServerHandle, VLLMServer, free_port


class ServerReplica:
    """A vLLM server owned by one actor, listening on the IP of the node Ray put it on."""

    def __init__(self, model: str | None, extra_args: Sequence[str]) -> None:
        host = ray.util.get_node_ip_address()
        self.server = VLLMServer(model, host=host, port=free_port(host), extra_args=extra_args)

    def start(self) -> ServerHandle:
        return self.server.start()

    def stop(self) -> None:
        self.server.stop()


@contextmanager
def ray_replicas(
    count: int, *, model: str | None = None, gpus: float = 0.0, extra_args: Sequence[str] = ()
) -> Iterator[list[ServerHandle]]:
    """Start ``count`` server replicas as Ray actors, each with ``gpus`` GPUs; stop them all afterwards.

    Replicas start in parallel (a model load takes about a minute); if one fails, those that
    started are stopped before the error is raised. A replica killed from outside (its
    actor's process gone) cannot stop its server: stop such leftovers by their process group.
    """
    if count < 1:
        raise ValueError(f"replicas must be >= 1, got {count}")
    if gpus < 0:
        raise ValueError(f"GPUs per replica must be >= 0, got {gpus}")
    actor = ray.remote(ServerReplica).options(num_cpus=0, num_gpus=gpus, scheduling_strategy="SPREAD")
    replicas: list[Any] = [actor.remote(model, list(extra_args)) for _ in range(count)]
    try:
        yield ray.get([replica.start.remote() for replica in replicas])
    finally:
        ray.get([replica.stop.remote() for replica in replicas])
        for replica in replicas:
            ray.kill(replica)
