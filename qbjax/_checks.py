"""Input validation shared by the Python API and the CLI.

Every error is an `ArgumentError` (a `ValueError`) that names the offending
argument, so the CLI can translate it into a one-line message about the flag.
Checks run in plain Python on concrete values; traced values (inside `jit`,
`grad`, `vmap`) are passed through unchecked because they have no value yet.
"""

from __future__ import annotations

import os
from collections.abc import Iterable

import jax
import jax.numpy as jnp
import numpy as np


class ArgumentError(ValueError):
    """A bad argument value. `argument` is the parameter name (snake_case)."""

    def __init__(self, argument: str, reason: str):
        super().__init__(f"{argument}: {reason}")
        self.argument = argument
        self.reason = reason


def is_traced(value) -> bool:
    """True when `value` (or any leaf of it) is a JAX tracer without a concrete value."""
    return any(isinstance(leaf, jax.core.Tracer) for leaf in jax.tree_util.tree_leaves(value))


def array_module(*values):
    """NumPy for concrete values, jax.numpy for traced ones.

    Building a model from concrete numbers with NumPy costs no compilation: each eager
    jax.numpy operation is a small XLA program, compiled on first use in every process.
    """
    return jnp if is_traced(values) else np


def precision(tol, dtype, default_double: float, default_single: float) -> tuple[float, np.dtype]:
    """(tol, dtype) of a state-vector method: complex128 (default under x64) or complex64, and
    a tolerance (default per dtype) no finer than 10 machine epsilons of that dtype."""
    dtype = np.dtype(dtype if dtype is not None else jnp.result_type(complex))
    if dtype not in (np.complex128, np.complex64):
        raise ArgumentError("dtype", f"must be complex128 or complex64, got {dtype}")
    if tol is None:
        tol = default_double if dtype == np.complex128 else default_single
    positive("tol", tol)
    floor = 10 * float(np.finfo(dtype).eps)
    if not is_traced(tol) and float(tol) < floor:
        raise ArgumentError("tol", f"must be >= {floor:.1e} in {dtype.name}, got {tol}")
    return float(tol), dtype


def shown(value) -> str:
    """A value as a user would write it: 1.0, [0.0, 1.0], 'text'; never a NumPy or JAX repr
    such as array(1.)."""
    if isinstance(value, str) or is_traced(value):
        return repr(value)
    try:
        array = np.asarray(value)
    except (TypeError, ValueError):
        return repr(value)
    if array.dtype.kind not in "biufc":
        return repr(value)
    if array.ndim == 0:
        return repr(array.item())
    return repr(array.tolist()) if array.size <= 8 else f"an array of shape {array.shape}"


def is_concrete_zero(value) -> bool:
    """True for an exact zero known now: a number, or an array outside any transformation."""
    return not is_traced(value) and not np.any(np.asarray(value))


def finite(name: str, value):
    """Reject NaN or infinite numbers (scalars or arrays); tracers pass through."""
    if is_traced(value):
        return value
    array = np.asarray(value)
    if not np.issubdtype(array.dtype, np.number):
        raise ArgumentError(name, f"must be a number, got {shown(value)}")
    if not np.all(np.isfinite(array)):
        raise ArgumentError(name, f"must be finite, got {shown(value)}")
    return value


MAX_MAGNITUDE = 1e12  # couplings and fields, in units of B: sums and squares stay far from overflow
MIN_PHASE, MAX_PHASE = 1e-6, 1e8  # t sum_k |c_k|: W(t) resolvable in float64; degree and grid bounded


def magnitude(name: str, value, limit: float = MAX_MAGNITUDE):
    """Finite with |value| <= limit (arrays elementwise); tracers pass through."""
    finite(name, value)
    if not is_traced(value) and np.any(np.abs(np.asarray(value)) > limit):
        raise ArgumentError(name, f"must be within +-{limit:g} (units of B), got {shown(value)}")
    return value


def charging_phase(name: str, t: float, norm: float) -> None:
    """Refuse a window whose phase t ||H|| (with ||H|| <= norm = sum_k |c_k|) lies outside
    [MIN_PHASE, MAX_PHASE]: shorter, W(t) ~ (t ||H||)^2 is below float64's resolution and P
    = W/t meaningless; longer, the propagation degree and the maxima grid grow without bound."""
    if norm <= 0 or MIN_PHASE <= t * norm <= MAX_PHASE:
        return
    raise ArgumentError(
        name,
        f"must lie in [{MIN_PHASE / norm:.3g}, {MAX_PHASE / norm:.3g}] for this battery "
        f"(t sum|c_k| within [{MIN_PHASE:g}, {MAX_PHASE:g}]), got {t:g}",
    )


def positive(name: str, value):
    """Finite and > 0."""
    finite(name, value)
    if not is_traced(value) and not np.all(np.asarray(value) > 0):
        raise ArgumentError(name, f"must be > 0, got {shown(value)}")
    return value


def nonnegative(name: str, value):
    """Finite and >= 0."""
    finite(name, value)
    if not is_traced(value) and not np.all(np.asarray(value) >= 0):
        raise ArgumentError(name, f"must be >= 0, got {shown(value)}")
    return value


def integer_at_least(name: str, value, minimum: int) -> int:
    """A Python integer >= minimum."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise ArgumentError(name, f"must be an integer >= {minimum}, got {shown(value)}")
    if value < minimum:
        raise ArgumentError(name, f"must be an integer >= {minimum}, got {value}")
    return int(value)


def integer_in(name: str, value, minimum: int, maximum: int, why: str = "") -> int:
    """A Python integer in [minimum, maximum]; `why` says what the upper limit protects."""
    value = integer_at_least(name, value, minimum)
    if value > maximum:
        reason = f" ({why})" if why else ""
        raise ArgumentError(name, f"must be an integer in {minimum}..{maximum}{reason}, got {value}")
    return value


def one_of(name: str, value: str, allowed: Iterable[str]) -> str:
    allowed = tuple(allowed)
    if value not in allowed:
        raise ArgumentError(name, f"must be one of {', '.join(allowed)}; got {value!r}")
    return value


MAX_TIMES = 2**20  # times of one curve: its states are computed in bounded blocks, its results kept


def time_grid(name: str, times):
    """A 1-D array of at most MAX_TIMES finite, non-negative, non-decreasing times."""
    if is_traced(times):
        return times
    array = np.asarray(times)
    if array.ndim != 1 or array.size == 0:
        raise ArgumentError(name, f"must be a non-empty 1-D list of times, got shape {array.shape}")
    if array.size > MAX_TIMES:
        raise ArgumentError(name, f"at most {MAX_TIMES} times, got {array.size}")
    finite(name, array)
    if np.any(array < 0):
        raise ArgumentError(name, f"must be >= 0, got {float(array.min())!r}")
    if np.any(np.diff(array) < 0):
        raise ArgumentError(name, "must be sorted in increasing order")
    return times


def available_memory_bytes() -> int:
    """Memory the process may still allocate: MemAvailable on Linux, else physical memory."""
    try:
        with open("/proc/meminfo") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


def fits_in_memory(n_sites: int, bytes_for, method: str, detail: str = "") -> None:
    """Refuse, before allocating, a chain whose `bytes_for(n)` exceeds the available memory.

    The error names `n`, the estimate and the largest N that fits (bytes_for increasing in n).
    """
    integer_at_least("n", n_sites, 1)
    available = available_memory_bytes()
    needed = bytes_for(n_sites)
    if needed > available:
        n_max = 1
        while bytes_for(n_max + 1) <= available:
            n_max += 1
        raise ArgumentError(
            "n",
            f"n = {n_sites} needs about {format_bytes(needed)} for the {method} method{detail} but "
            f"{format_bytes(available)} is available; allowed range here is 1 <= n <= {n_max}",
        )


def output_folder(name: str, path) -> str:
    """`path` as a folder this process can write into (created now, before any work), or
    ArgumentError(name): an empty name, a file in the way, no permission, a read-only disk."""
    if not str(path).strip():
        raise ArgumentError(name, "must name a folder, got ''")
    try:
        os.makedirs(path, exist_ok=True)
        _probe_write(os.path.join(path, f".qbjax-write-probe-{os.getpid()}"))
    except OSError as error:
        raise ArgumentError(name, f"cannot write into folder {path!r}: {error.strerror}") from None
    return str(path)


def output_file(name: str, path, suffix: str = ".png") -> str:
    """`path` with `suffix` added when it has none (as the file will be written, so a report
    names the file that exists), checked writable before any work, or ArgumentError(name)."""
    if not str(path).strip():
        raise ArgumentError(name, "must name a file, got ''")
    path = str(path) if os.path.splitext(str(path))[1] else f"{path}{suffix}"
    if os.path.isdir(path):
        raise ArgumentError(name, f"{path!r} is a folder; give a file name")
    folder = os.path.dirname(path) or "."
    try:
        if not os.path.isdir(folder):
            raise FileNotFoundError(2, "No such folder")
        _probe_write(os.path.join(folder, f".qbjax-write-probe-{os.getpid()}"))
    except OSError as error:
        raise ArgumentError(name, f"cannot write {path!r}: {error.strerror}") from None
    return path


def _probe_write(path: str) -> None:
    """Create and remove an empty file: permissions alone miss a read-only disk or root."""
    with open(path, "w"):
        pass
    os.remove(path)


MAX_STARTS = 4096  # parallel starting points of optimize and control
MAX_SEED = 2**63 - 1


def fits(name: str, needed: int, what: str) -> None:
    """Refuse, before allocating, `what` needing `needed` bytes beyond the available memory."""
    available = available_memory_bytes()
    if needed > available:
        raise ArgumentError(
            name, f"{what} needs about {format_bytes(needed)}, {format_bytes(available)} is available"
        )


def format_bytes(n_bytes: float) -> str:
    """'12 MiB', '3.5 GiB', or '10^298 GiB' for sizes no float holds (charge --n 1000)."""
    if n_bytes < 2**30:
        return f"{n_bytes / 2**20:.0f} MiB"
    gib = int(n_bytes) // 2**30
    if gib < 10**9:
        return f"{n_bytes / 2**30:.1f} GiB"
    return f"10^{len(str(gib)) - 1} GiB"
