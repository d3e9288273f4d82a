"""Charging engines: one interface (`base`), one module per way of computing <H0>_t, one
table of them all (`registry`), and the choice behind `method="auto"` (`auto`).

The mean-field and Lindblad engines need diffrax and load on first use.
"""

import importlib

from .auto import choose as choose
from .auto import engine_for as engine_for
from .base import AbstractEngine as AbstractEngine
from .base import Curve as Curve
from .chebyshev import Chebyshev as Chebyshev
from .dense import Dense as Dense
from .krylov import Krylov as Krylov
from .registry import CLASSES
from .registry import METHODS as METHODS
from .registry import engine_class as engine_class
from .symmetric import Symmetric as Symmetric


def __getattr__(name: str):
    if name not in CLASSES:
        raise AttributeError(f"module 'qbjax.engines' has no attribute {name!r}")
    return getattr(importlib.import_module(f".{CLASSES[name]}", __name__), name)
