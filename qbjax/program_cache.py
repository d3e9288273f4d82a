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

Stored programs are compiled by XLA in this process, never taken from JAX's compilation
cache: an executable loaded from that cache and serialized again loses kernels on the CPU
backend, and a later process fails to call it ("Function wrapped_broadcast not found").
JAX decides once per process whether its cache is used, so it cannot be switched off for
one compilation; instead each stored stage is lowered under a name derived from its key
(its own entry in JAX's cache), and when JAX's cache delivers it anyway (the stored file
was deleted) it is compiled again under a random name. A stored program that fails when
called is deleted and compiled again.

Programs that call external kernels (LAPACK's eigh in the dense and Krylov engines: a
`custom_call` in the lowered module) are not stored: a fresh process registers those
kernels only when it lowers such a call, and a loaded executable that calls an
unregistered kernel crashes. Chebyshev programs are pure XLA. The others keep the
persistent compilation cache.

Only the `qbjax` command turns this on (`enable`); the Python API always traces.
"""

from __future__ import annotations

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
    except (OSError, pickle.PicklingError, TypeError, ValueError, jax.errors.JaxRuntimeError):
        pass  # JaxRuntimeError: XLA cannot serialize some programs ("`LessThan` is not serializable")


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
    names = sorted(arguments)
    values = [jnp.asarray(arguments[name]) for name in names]
    paths = (_directory / f"{key}.prepare", _directory / f"{key}.figures")
    stages = tuple(_load(path) for path in paths)
    if None not in stages:
        try:
            return jax.block_until_ready(stages[1](*stages[0](), *values))
        except jax.errors.JaxRuntimeError:  # a damaged program: compile it again
            for path in paths:
                path.unlink(missing_ok=True)
    lowered = _lower(prepare, figures, names, values, key[:16])
    storable = not any("custom_call" in stage.as_text() for stage in lowered)
    stages, from_jax_cache = _compile(lowered)
    if storable and from_jax_cache:  # JAX's cache held these very modules (the files were deleted)
        lowered = _lower(prepare, figures, names, values, os.urandom(8).hex())
        stages, from_jax_cache = _compile(lowered)
    if storable and not from_jax_cache:
        for path, stage in zip(paths, stages, strict=True):
            _store(path, stage)
    return stages[1](*stages[0](), *values)


def _lower(prepare, figures, names, values, tag: str):
    """Both stages lowered: figures takes prepare's outputs, then the named arguments. `tag`
    names the modules, and so their entries in JAX's compilation cache."""
    stage1 = jax.jit(_named(prepare, f"prepare_{tag}")).lower()
    specs = list(stage1.out_info) + [jax.ShapeDtypeStruct(v.shape, v.dtype) for v in values]
    count = len(stage1.out_info)

    def flat_figures(*flat):
        return figures(*flat[:count], **dict(zip(names, flat[count:], strict=True)))

    return stage1, jax.jit(_named(flat_figures, f"figures_{tag}")).lower(*specs)


def _named(function, name: str):
    def named(*args):
        return function(*args)

    named.__name__ = named.__qualname__ = name
    return named


_cache_hits = 0  # executables JAX's compilation cache has delivered in this process


def _count_cache_hits(event: str, **_) -> None:
    global _cache_hits
    if event == "/jax/compilation_cache/cache_hits":
        _cache_hits += 1


jax.monitoring.register_event_listener(_count_cache_hits)


def _compile(lowered):
    """The stages compiled, and whether JAX's compilation cache delivered any of them."""
    before = _cache_hits
    stages = tuple(stage.compile() for stage in lowered)
    return stages, _cache_hits > before
