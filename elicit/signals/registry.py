"""The registry of signals: every signal elicit computes, in a fixed order, and the ones users add.

Each family module defines its signals once (a tuple of :class:`~elicit.signals.spec.SignalSpec`);
this module puts them in order. Everything that lists signals derives from here: the values
``compute_signals`` returns, the fusion head's features, the default combination, the
report's raw rows, the command line's tables. :func:`register` adds a signal of your own,
which then appears in all of them.
"""

from __future__ import annotations

from elicit.signals import consistency, logit, self_eval, semantic, verbal, white_box
from elicit.signals.spec import Combination, SignalSpec

BUILT_IN: tuple[SignalSpec, ...] = (
    *verbal.SIGNALS,
    *consistency.SIGNALS,
    *logit.SIGNALS,
    *self_eval.SIGNALS,
    *semantic.SIGNALS,
    *white_box.SIGNALS,
)
"""The signals elicit ships, in the order records and reports list them."""

SIGNAL_NAMES: tuple[str, ...] = tuple(spec.name for spec in BUILT_IN)
"""The names of the built-in signals, in order."""

_REGISTRY: dict[str, SignalSpec] = {spec.name: spec for spec in BUILT_IN}


def specs() -> tuple[SignalSpec, ...]:
    """Every registered signal, built-in ones first, then added ones in the order they were added."""
    return tuple(_REGISTRY.values())


def names() -> tuple[str, ...]:
    """The names of every registered signal, in order."""
    return tuple(_REGISTRY)


def spec(name: str) -> SignalSpec:
    """The signal called ``name``; an unknown name is refused, listing the known ones."""
    if name not in _REGISTRY:
        raise ValueError(f"unknown signal {name!r}; known signals: {', '.join(_REGISTRY)}")
    return _REGISTRY[name]


def register(signal: SignalSpec) -> SignalSpec:
    """Add a signal: it is computed for every question from then on, and a head can read it.

    A name already taken (a built-in one or an earlier addition) is refused rather than
    replaced, so two definitions of one name can never both be in use.
    """
    if signal.name in _REGISTRY or signal.name in {"n_samples", "missing"}:
        raise ValueError(f"a signal named {signal.name!r} is already registered")
    _REGISTRY[signal.name] = signal
    return signal


def unregister(name: str) -> None:
    """Remove a signal added with :func:`register` (built-in signals stay)."""
    if name in SIGNAL_NAMES:
        raise ValueError(f"{name!r} is a built-in signal and cannot be removed")
    spec(name)
    del _REGISTRY[name]


def combination(kind: Combination) -> tuple[str, ...]:
    """The signals averaged by the default confidence for one sample or several (see ``SignalSpec.default``)."""
    return tuple(s.name for s in specs() if kind in s.default)
