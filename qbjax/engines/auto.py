"""The choice behind `method="auto"`, and `engine_for`: an engine from a method name."""

from __future__ import annotations

import jax

from .. import _checks
from .. import memory as _memory
from .. import precision as precision_names
from ..models.chain import SpinChain
from ..models.symmetric import symmetric_applies
from ..operators import sharding
from .base import AbstractEngine
from .chebyshev import Chebyshev
from .dense import Dense
from .registry import METHODS, engine_class
from .symmetric import Symmetric

# Measured (benchmarks/RESULTS.md, "Method choice"): a repeated `qbjax charge` takes
# 1.0-1.2 s with dense and 1.5 s with Chebyshev up to N = 9; at N = 10 dense takes 2.2 s
# (its O(8^N) eigendecomposition) against 1.5 s, and at N = 12 about a minute. Chebyshev
# beats Krylov at every N measured (N = 12: 49 against 107 ms warm; N = 18: 6.3 against 7.0 s).
DENSE_MAX_N = 9
DENSE_TRACED_MAX_N = 12
# In a batch (a sweep chunk, optimisation starts) compilation is shared and the per-point
# cost decides: dense 0.49 against Chebyshev 1.45 ms at N = 4, 4.3 against 2.2 ms at N = 6,
# 56 against 5.0 ms at N = 8 (warm, 256 points of an (alpha, D) sweep).
DENSE_BATCH_MAX_N = 5


def choose(
    model, *, batch: int = 1, precision: str = "double", also=(), memory: int | None = None
) -> AbstractEngine:
    """The engine of `method="auto"`, the fastest measured for the model: dense when
    N <= DENSE_MAX_N and its matrices fit in memory (exact, and exact gradients at
    degeneracies; up to N = DENSE_TRACED_MAX_N for traced coefficients, which the
    matrix-free engines cannot bound before tracing); else the exact symmetric subspace
    when the model is permutation-symmetric (uniform all-to-all coupling, D = 0); else the
    matrix-free Chebyshev engine. `batch`: how many points will run (dense stops paying
    off earlier in a batch); `also`: further models the engine must serve (a sweep's other
    points: the symmetric subspace only when every one of them is symmetric); `memory`: a
    budget in bytes (dense only within it). In single precision the symmetric subspace
    (double only) gives way to Chebyshev."""
    dense = Dense().with_precision(precision)
    room = _checks.available_memory_bytes() if memory is None else min(memory, _memory.free_bytes())
    fits = dense.memory_bytes(model) <= room
    # traced coefficients (grad, vmap): dense needs no concrete spectral bound to plan
    if _checks.is_traced(model):
        limit = DENSE_TRACED_MAX_N
    else:
        limit = DENSE_BATCH_MAX_N if batch > 1 else DENSE_MAX_N
    small = model.n_sites <= limit
    if small and fits:
        return dense
    models = (model, *also)
    if precision == "double" and all(isinstance(m, SpinChain) and symmetric_applies(m) for m in models):
        return Symmetric()
    return Chebyshev().with_precision(precision)


def engine_for(
    method,
    model,
    *,
    batch: int = 1,
    precision: str | None = None,
    also=(),
    memory: int | None = None,
    shard=False,
) -> AbstractEngine:
    """An engine from a method name (or an engine, returned as is), checked against `model`
    and every model in `also` (the other points it will serve, chosen from all of them);
    `batch` points will run (for "auto"). `precision` ("double" or "single"): the engine
    set to it (an engine that cannot is refused, naming `precision`); None: an engine's own
    (double for a name). `memory`: bytes the run may hold at once (`qbjax.memory`); the
    Chebyshev and Krylov engines plan within it, the others are refused above it. `shard`:
    the state split over devices (`operators.sharding.shard_count`: False, True or a count;
    None: only when it would not fit one accelerator and more are visible)."""
    if precision is not None:
        precision_names.check(precision)
    if isinstance(method, AbstractEngine):
        engine = method
    else:
        _checks.one_of("method", method, METHODS)
        if method == "auto":
            engine = choose(model, batch=batch, precision=precision or "double", also=also, memory=memory)
        else:
            engine = engine_class(method)()
    if precision is not None:
        engine = engine.with_precision(precision)
    if memory is not None:
        engine = engine.with_memory(_memory.check_budget(memory))
    if shard is None:
        engine = _sharded_if_needed(engine, model)
    else:
        engine = engine.with_shards(sharding.shard_count(shard, model.n_sites))
    for each in (model, *also):
        engine.check(each)
    if memory is not None and engine.memory_bytes(model) > memory:
        raise _checks.ArgumentError(
            "memory",
            f"n = {model.n_sites} needs about {_checks.format_bytes(engine.memory_bytes(model))} with the "
            f"{engine.name} method, above the budget of {_checks.format_bytes(memory)}",
        )
    return engine


def _sharded_if_needed(engine: AbstractEngine, model) -> AbstractEngine:
    """`engine`, or over every device when its state does not fit one accelerator's memory
    and more devices are visible (CPU devices share one memory: never there)."""
    devices = jax.devices()
    if len(devices) == 1 or devices[0].platform == "cpu":
        return engine
    try:
        engine.check(model)
        return engine
    except _checks.ArgumentError as alone:
        try:
            return engine.with_shards(sharding.shard_count(True, model.n_sites))
        except _checks.ArgumentError:
            raise alone from None
