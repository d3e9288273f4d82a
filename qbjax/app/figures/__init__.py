"""Reproductions of published figures: one function per figure, each writing a PNG and its data.

`qbjax reproduce NAME --out DIR` runs them; `experiments/` holds thin runnable wrappers.
"""

from __future__ import annotations

import inspect
import time
from collections.abc import Callable
from pathlib import Path

from ... import _checks
from .dm_chain import dm_chain
from .le2018 import FIGURES as LE2018_FIGURES

FIGURES: dict[str, Callable[..., dict]] = {**LE2018_FIGURES, "dm-chain": dm_chain}


def _options(figure: Callable) -> set[str]:
    """The keyword options a figure function takes (its `**_` aside)."""
    parameters = inspect.signature(figure).parameters.values()
    return {p.name for p in parameters if p.kind is inspect.Parameter.KEYWORD_ONLY}


def reproduce(name: str, out, **options) -> dict:
    """Run one figure (or "all") into folder `out`/<figure>; returns {name: paths and seconds}."""
    _checks.one_of("figure", name, (*FIGURES, "all"))
    names = list(FIGURES) if name == "all" else [name]
    for option in options:  # an option no figure asked for uses would be ignored in silence
        users = [figure for figure in names if option in _options(FIGURES[figure])]
        if not users:
            takes = sorted(_options(FIGURES[name])) if name != "all" else []
            raise _checks.ArgumentError(
                option, f"{name} does not use it" + (f" (it takes {', '.join(takes)})" if takes else "")
            )
    report = {}
    for figure in names:
        start = time.perf_counter()
        paths = FIGURES[figure](Path(out) / figure.replace("-", "_"), **options)
        report[figure] = {**paths, "seconds": round(time.perf_counter() - start, 2)}
    return report
