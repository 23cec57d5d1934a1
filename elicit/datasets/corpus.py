"""The retrieval corpus for the built-in geography sets.

One passage per entity, rendered by the same entity record that the questions come from,
so each question's gold answer is stated in the passage its ``metadata["passage_id"]``
names and retrieval recall can be measured exactly.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import lru_cache

from elicit.datasets.geography import Entity, cities, countries, us_states
from elicit.datasets.items import Passage

_ENTITIES: dict[str, Callable[[], Sequence[Entity]]] = {
    "capitals": countries,
    "currencies": countries,
    "continents": countries,
    "cities": cities,
    "us_capitals": us_states,
}

CORPUS_DATASETS: tuple[str, ...] = tuple(_ENTITIES)
"""Built-in sets that have passages (arithmetic needs no retrieval; fanout has no corpus of its own)."""


@lru_cache(maxsize=len(_ENTITIES))
def _passages(name: str) -> tuple[Passage, ...]:
    return tuple(entity.passage() for entity in _ENTITIES[name]())


def build_corpus(names: Sequence[str] = CORPUS_DATASETS) -> list[Passage]:
    """Passages for the entities of the named sets; sets sharing entities (capitals,
    currencies and continents all ask about countries) share one passage per entity."""
    if isinstance(names, str):
        raise ValueError(f"names must be a sequence of dataset names, got the string {names!r}")
    for name in names:
        if name not in _ENTITIES:
            raise ValueError(f"dataset {name!r} has no retrieval passages; valid names: {', '.join(CORPUS_DATASETS)}")
    corpus: dict[str, Passage] = {}
    for name in names:
        for passage in _passages(name):
            corpus.setdefault(passage.id, passage)
    return list(corpus.values())
