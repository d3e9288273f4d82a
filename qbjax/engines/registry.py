"""Every engine, in one table: what `method="auto"`, the package's exports, the CLI's
`--method` and `qbjax bench` read. A new engine is registered here once.

Classes load on first use (the mean-field and Lindblad engines need diffrax).
"""

from __future__ import annotations

import importlib
from typing import NamedTuple

from .. import _checks


class Entry(NamedTuple):
    """One engine: where its class lives and what it evolves."""

    module: str  # in qbjax.engines
    cls: str
    state: str  # "vector" (2^N amplitudes), "dicke" (N + 1), "classical" (N spins), "density"
    by_name: bool = True  # chosen by `method="<name>"` (the Lindblad engine needs its rates)


ENGINES = {
    "dense": Entry("dense", "Dense", "vector"),
    "krylov": Entry("krylov", "Krylov", "vector"),
    "chebyshev": Entry("chebyshev", "Chebyshev", "vector"),
    "symmetric": Entry("symmetric", "Symmetric", "dicke"),
    "meanfield": Entry("meanfield", "MeanField", "classical"),
    "lindblad": Entry("lindblad", "Lindblad", "density", by_name=False),
}
# the names a user may give as `method` (and `--method`)
METHODS = ("auto", *(name for name, entry in ENGINES.items() if entry.by_name))
# class name -> module, for lazy exports (`qbjax.MeanField`, `qbjax.engines.Lindblad`)
CLASSES = {entry.cls: entry.module for entry in ENGINES.values()}


def names(state: str | None = None) -> tuple[str, ...]:
    """The method names of the engines that evolve `state` (None: every one chosen by name)."""
    return tuple(name for name, entry in ENGINES.items() if entry.by_name and state in (None, entry.state))


def engine_class(name: str):
    """The engine class behind a method name."""
    _checks.one_of("method", name, names())
    entry = ENGINES[name]
    return getattr(importlib.import_module(f"{__package__}.{entry.module}"), entry.cls)
