"""Batch evaluation on a Ray cluster: Ray Data spreads the questions over a pool of actors.

The optional ``elicit[ray]`` extra; only ``elicit eval --ray`` (or a direct import) loads
this module, so the single-process path never pays Ray's import time. The flow: the
questions not yet in the output file become a Ray dataset, ``map_batches`` runs them
through a pool of actors that each hold one chain against one of the model endpoints
(``concurrency`` questions in flight per actor), and the records stream back to this
process, the single writer of the JSONL file, under the same append-and-fsync rule as
:func:`aevaluate`.

Faults are Ray's to handle: Ray Data restarts a dead actor and retries the questions it
held. None of them was written, and the writer skips an id it already holds, so the file
ends with every question exactly once; a rerun resumes like the in-process path.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import ray
import ray.data
from ray.data import ActorPoolStrategy, DataContext

from elicit.datasets import QAItem
from elicit.elicitation.matching import match_any
from elicit.elicitation.strategies import strategy as get_strategy
from elicit.evaluation.batch import (
    AnswerChain,
    ItemEvaluator,
    Matcher,
    distractor_pools,
    failed_error,
    record_writer,
    resume,
)
from elicit.model.loop import run_sync
from elicit.model.serving import ServerHandle
from elicit.types import EvalRecord

ChainFactory = Callable[[ServerHandle], AnswerChain]
"""Builds the chain an actor asks, for the endpoint it was given. It must be picklable (a
module-level function or a ``functools.partial`` of one): chat clients hold open
connections and are built where they are used, not shipped."""


@contextmanager
def ray_cluster(address: str | None = None) -> Iterator[None]:
    """Be connected to a Ray cluster for the block.

    ``address`` None starts a local cluster on this machine (stopped afterwards); ``"auto"``
    joins the cluster this node belongs to and ``"ray://host:10001"`` a remote one (every
    node needs elicit installed). A connection the caller already made is used as it is.
    """
    if ray.is_initialized():
        yield
        return
    try:
        ray.init(address=address, include_dashboard=False, log_to_driver=False)
    except ConnectionError as exc:
        raise ValueError(f"no Ray cluster answered at {address!r}: {exc}") from exc
    try:
        yield
    finally:
        ray.shutdown()


@ray.remote(num_cpus=0)
class EndpointRoster:
    """Hands endpoint numbers to actors in turn, so the actors spread evenly over the endpoints."""

    def __init__(self) -> None:
        self.given = 0

    def take(self) -> int:
        self.given += 1
        return self.given - 1


class ChainActor:
    """One Ray Data actor: a chain against one endpoint.

    Ray calls it with one question at a time from up to ``concurrency`` threads at once
    (one question per call keeps every slot busy: a batch of several would wait for its
    slowest question before the next batch starts). Returns, per question, either its
    record (as JSON) or the error that stopped it: a failed question is reported, not
    raised, so the run ends like the in-process one (the others saved, the failure named,
    a rerun retries it).
    """

    def __init__(
        self,
        make_chain: ChainFactory,
        endpoints: Sequence[ServerHandle],
        roster: Any,
        *,
        matcher: Matcher,
        keep_tokens: bool,
    ) -> None:
        self.endpoint = endpoints[ray.get(roster.take.remote()) % len(endpoints)]
        self.evaluator = ItemEvaluator(make_chain(self.endpoint), matcher=matcher, keep_tokens=keep_tokens)

    def __call__(self, batch: dict[str, Any]) -> dict[str, list[str]]:
        return run_sync(self._abatch(batch))

    async def _abatch(self, batch: dict[str, Any]) -> dict[str, list[str]]:
        outcomes = await asyncio.gather(
            *(self._one(str(item), str(pool)) for item, pool in zip(batch["item"], batch["hint_pool"], strict=True))
        )
        return {"record": [record for record, _ in outcomes], "error": [error for _, error in outcomes]}

    async def _one(self, item_json: str, pool_json: str) -> tuple[str, str]:
        item = QAItem.model_validate_json(item_json)
        try:
            record = await self.evaluator.arecord(item, json.loads(pool_json))
        except Exception as exc:  # noqa: BLE001 - reported to the writer, which raises after the run
            return "", f"{item.id}: {exc!r}"
        return record.model_dump_json(), ""


def evaluate_on_ray(
    make_chain: ChainFactory,
    items: Sequence[QAItem],
    out_path: Path | str,
    *,
    endpoints: Sequence[ServerHandle],
    actors: int,
    concurrency: int = 4,
    matcher: Matcher = match_any,
    keep_tokens: bool = False,
    progress: bool = True,
) -> list[EvalRecord]:
    """Evaluate ``items`` into ``out_path`` on the connected Ray cluster; return every record, old and new.

    ``actors`` actors are spread over ``endpoints`` in turn, each with at most
    ``concurrency`` questions in flight. The file, its resume rule and the records are those
    of :func:`aevaluate`: with a seeded chain both paths write the same records.
    """
    if not endpoints:
        raise ValueError("evaluate_on_ray needs at least one model endpoint")
    if actors < 1:
        raise ValueError(f"actors must be >= 1, got {actors}")
    if concurrency < 1:
        raise ValueError(f"concurrency must be >= 1, got {concurrency}")
    if not ray.is_initialized():
        raise RuntimeError("not connected to a Ray cluster: run inside `with ray_cluster(...)` or after ray.init()")
    chain = make_chain(endpoints[0])  # the driver's copy only checks the file against the chain's setup
    state = resume(chain, items, out_path)
    pools = distractor_pools(items) if get_strategy(chain.strategy).hinted else {}
    errors: list[str] = []
    with record_writer(state, len(items), progress=progress) as write:
        if state.todo:
            rows = [
                {"item": item.model_dump_json(), "hint_pool": json.dumps(pools.get(item.id))} for item in state.todo
            ]
            DataContext.get_current().enable_progress_bars = False  # the writer's bar is the one to watch
            questions = ray.data.from_items(rows, override_num_blocks=len(rows))  # one task per question
            answered = questions.map_batches(
                ChainActor,
                batch_size=1,
                fn_constructor_args=(make_chain, list(endpoints), EndpointRoster.remote()),  # type: ignore[attr-defined]
                fn_constructor_kwargs={"matcher": matcher, "keep_tokens": keep_tokens},
                compute=ActorPoolStrategy(
                    size=actors, max_concurrent_calls_per_actor=concurrency, enable_true_multi_threading=True
                ),
                num_cpus=0,  # actors wait on HTTP; the model servers hold the CPUs and GPUs
            )
            for row in answered.iter_rows():
                if row["error"]:
                    errors.append(row["error"])
                else:
                    write(EvalRecord.model_validate_json(row["record"]))
    if errors:
        raise failed_error(errors)
    return [state.done[item.id] for item in items]
