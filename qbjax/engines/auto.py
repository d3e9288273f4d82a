"""Engines by name, and the choice behind `method="auto"`."""

from __future__ import annotations

import importlib

from .. import _checks
from ..models import SpinChain
from ..propagate.symmetric import symmetric_applies
from .base import AbstractEngine
from .dense import Dense
from .krylov import Krylov
from .symmetric import Symmetric

# method name -> (module in qbjax.engines, class); imported when named (mean-field needs diffrax)
ENGINES = {
    "dense": ("dense", "Dense"),
    "krylov": ("krylov", "Krylov"),
    "chebyshev": ("chebyshev", "Chebyshev"),
    "symmetric": ("symmetric", "Symmetric"),
    "meanfield": ("meanfield", "MeanField"),
}
METHODS = ("auto", *ENGINES)


def engine_class(name: str) -> type[AbstractEngine]:
    """The engine class behind a method name."""
    _checks.one_of("method", name, tuple(ENGINES))
    module, cls = ENGINES[name]
    return getattr(importlib.import_module(f"{__package__}.{module}"), cls)


# Above this size a dense diagonalisation (O(8^N) time) loses to Krylov blocks (O(2^N) per product).
DENSE_MAX_N = 12


def choose(model) -> AbstractEngine:
    """The engine of `method="auto"`: dense when N <= DENSE_MAX_N and its matrices fit in
    memory; else the exact symmetric subspace when the model is permutation-symmetric
    (uniform all-to-all coupling, D = 0); else the matrix-free Krylov engine."""
    dense = Dense()
    if model.n_sites <= DENSE_MAX_N and dense.memory_bytes(model) <= _checks.available_memory_bytes():
        return dense
    if isinstance(model, SpinChain) and symmetric_applies(model):
        return Symmetric()
    return Krylov()


def engine_for(method, model) -> AbstractEngine:
    """An engine from a method name (or an engine, returned as is), checked against `model`."""
    if isinstance(method, AbstractEngine):
        engine = method
    else:
        _checks.one_of("method", method, METHODS)
        engine = choose(model) if method == "auto" else engine_class(method)()
    engine.check(model)
    return engine
