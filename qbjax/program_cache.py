"""Charging programs kept across processes: a repeated command skips tracing and lowering.

JAX's persistent compilation cache skips XLA compilation, but every process still traces
the Python code and lowers it to StableHLO (about 0.7 s for a Chebyshev charge at N = 12,
more than the computation). Here the two stages of `charge` (the engine's preparation,
then the maxima) are compiled once and their executables stored under
`<cache dir>/programs/` (`jax.experimental.serialize_executable`), keyed by everything
that shapes them: versions, precision, backend, the planned engine, the model, the
window's end, the grid and the shape of the times. A later process with the same key
loads and calls them: no tracing, no lowering, no compilation. (A `jax.export` module is
still lowered and looked up in the compilation cache: 0.4 s of a 1.1 s command.)

Stored programs are always compiled afresh, never taken from JAX's compilation cache: an
executable loaded from that cache and serialized again lost kernels on this CPU backend
("Function wrapped_broadcast not found" when a later process called it; found after an
edit changed the key but not the program). A stored program that fails when called
anyway is deleted and compiled again.

Programs that call external kernels (LAPACK's eigh in the dense and Krylov engines: a
`custom_call` in the lowered module) are not stored: a fresh process registers those
kernels only when it lowers such a call, and a loaded executable that calls an
unregistered kernel crashes. Chebyshev programs are pure XLA. The others keep the
persistent compilation cache.

Only the `qbjax` command turns this on (`enable`); the Python API always traces.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import os
import pickle
import platform
from pathlib import Path

import jax
import jax.numpy as jnp
from jax.experimental import serialize_executable

_directory: Path | None = None


def enable(path: str | os.PathLike) -> None:
    """Keep programs under `path`/programs (created when the first program is stored)."""
    global _directory
    _directory = Path(path) / "programs"


def enabled() -> bool:
    return _directory is not None


@functools.cache
def _build() -> str:
    """What makes an executable valid here: qbjax's own source (a stale program after an
    edit would be wrong), JAX, the backend, and this host's CPU (executables use its ISA)."""
    digest = hashlib.sha256()
    for source in sorted(Path(__file__).parent.rglob("*.py")):
        digest.update(source.read_bytes())
    try:
        cpu = Path("/proc/cpuinfo").read_text().split("flags", 1)[1].split("\n", 1)[0]
    except (OSError, IndexError):
        cpu = ""
    host = (platform.node(), platform.machine(), cpu)
    return repr((digest.hexdigest(), jax.__version__, jax.default_backend(), host))


def _key(parts) -> str | None:
    try:
        blob = pickle.dumps((_build(), jax.config.jax_enable_x64, parts))
    except (pickle.PicklingError, TypeError, AttributeError):
        return None
    return hashlib.sha256(blob).hexdigest()


def _store(path: Path, compiled) -> None:
    """Write atomically: a concurrent reader sees the whole file or none. A cache that
    cannot be written (read-only, full disk) only costs the next process its tracing."""
    try:
        blob = pickle.dumps(serialize_executable.serialize(compiled))
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(f".{os.getpid()}.tmp")
        partial.write_bytes(blob)
        os.replace(partial, path)
    except (OSError, pickle.PicklingError, TypeError, ValueError):
        pass


def _load(path: Path):
    """The stored executable, or None (missing, unreadable or from another build: recompiled)."""
    try:
        return serialize_executable.deserialize_and_load(*pickle.loads(path.read_bytes()))
    except Exception:
        return None


def two_stage(key_parts, prepare, figures, arguments: dict):
    """figures(*prepare(), **arguments): both stages compiled, stored and reused.

    Args:
        key_parts: picklable values that, with the versions, determine both programs.
        prepare: () -> tuple of arrays (closes over its static inputs).
        figures: (*prepare's arrays, **arguments) -> dict of arrays.
        arguments: the second stage's array inputs (they may change between calls).

    Returns:
        figures' dict, or None when the key cannot be formed (the caller then traces).
    """
    key = _key(key_parts)
    if key is None or _directory is None:
        return None
    values = [jnp.asarray(arguments[name]) for name in sorted(arguments)]
    paths = (_directory / f"{key}.prepare", _directory / f"{key}.figures")
    stages = tuple(_load(path) for path in paths)
    if None not in stages:
        try:
            return jax.block_until_ready(stages[1](*stages[0](), *values))
        except jax.errors.JaxRuntimeError:  # a damaged program: compile it again
            for path in paths:
                path.unlink(missing_ok=True)
    lowered = _lower(prepare, figures, sorted(arguments), values)
    storable = not any("custom_call" in stage.as_text() for stage in lowered)
    stages = _compile(lowered, fresh=storable)
    if storable:
        for path, stage in zip(paths, stages, strict=True):
            _store(path, stage)
    return stages[1](*stages[0](), *values)


def _lower(prepare, figures, names, values):
    """Both stages lowered: figures takes prepare's outputs, then the named arguments."""
    stage1 = jax.jit(prepare).lower()
    specs = list(stage1.out_info) + [jax.ShapeDtypeStruct(v.shape, v.dtype) for v in values]
    count = len(stage1.out_info)

    def flat_figures(*flat):
        return figures(*flat[:count], **dict(zip(names, flat[count:], strict=True)))

    return stage1, jax.jit(flat_figures).lower(*specs)


def _compile(lowered, *, fresh: bool):
    """The stages compiled; `fresh`: by XLA itself, JAX's compilation cache off (see the
    module docstring: only fresh executables are stored)."""
    with compilation_cache_off(fresh):
        return tuple(stage.compile() for stage in lowered)


@contextlib.contextmanager
def compilation_cache_off(off: bool = True):
    """JAX's persistent compilation cache switched off inside (when `off`), restored after:
    XLA compiles every program itself."""
    cached = jax.config.jax_enable_compilation_cache
    jax.config.update("jax_enable_compilation_cache", cached and not off)
    try:
        yield
    finally:
        jax.config.update("jax_enable_compilation_cache", cached)
