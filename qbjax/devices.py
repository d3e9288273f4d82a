"""Which JAX backend and devices run a computation, by name ("cpu", "gpu", "tpu").

A sweep shards its chunks over every local device of one backend; `qbjax bench` measures
each backend asked for. A backend that is not visible (no GPU, no CUDA-enabled jaxlib) is
refused before anything runs, with the backends that are visible.

JAX's CPU backend is one device however many cores there are, and one XLA program uses
the others only inside large operations. `use_cpu_cores` makes it one device per core, so
a sweep's chunks split over all of them (`qbjax sweep` does this itself), except programs
that call LAPACK (`shard_devices`: they would deadlock there).
"""

from __future__ import annotations

import functools
import os
from collections.abc import Sequence

import jax

from . import _checks

KNOWN_BACKENDS = ("cpu", "gpu", "tpu")


@functools.cache
def visible_backends() -> tuple[str, ...]:
    """The backends of KNOWN_BACKENDS with at least one device in this process."""
    found = []
    for name in KNOWN_BACKENDS:
        try:
            if jax.devices(name):
                found.append(name)
        except RuntimeError:  # not compiled in, or no device / driver
            continue
    return tuple(found)


def check_backend(name: str, argument: str = "devices") -> str:
    """`name` when that backend is visible, else ArgumentError(argument) naming the visible ones."""
    _checks.one_of(argument, name, KNOWN_BACKENDS)
    if name not in visible_backends():
        raise _checks.ArgumentError(
            argument, f"no {name} backend is visible to JAX here (visible: {', '.join(visible_backends())})"
        )
    return name


def local_devices(backend: str | None = None) -> list:
    """This process's devices of `backend` (None: JAX's default backend)."""
    if backend is None:
        return jax.local_devices()
    return jax.local_devices(backend=check_backend(backend))


def shard_devices(devices: Sequence, host_kernels: bool) -> list:
    """The devices one program may be split over: all of `devices`, or the first alone when
    the program calls LAPACK kernels (`host_kernels`) and the devices are CPU devices.

    Why: every CPU device of a process runs its program on one shared pool of threads, one
    per core. jaxlib's batched LAPACK kernels (`eigh` under `vmap`: the dense and Krylov
    engines) cut their batch into pieces, schedule the pieces on that pool, and block the
    pool thread they run on until the pieces are done. With one device per core, as many
    of those calls can run at once as the pool has threads; then every thread waits and no
    thread is left to run a piece: the process hangs at 0% CPU (`qbjax sweep --n 4` on 2
    cores, issue 26). On one device the kernel already spreads its batch over every core.
    Programs of pure XLA never block a pool thread, and do gain from one device per core.
    """
    devices = list(devices)
    if host_kernels and devices and devices[0].platform == "cpu":
        return devices[:1]
    return devices


def describe(devices: Sequence) -> str:
    """'gpu: 2 x NVIDIA H200' (the platform, then the count and kind of each distinct kind)."""
    kinds: dict[str, int] = {}
    for device in devices:
        kinds[device.device_kind] = kinds.get(device.device_kind, 0) + 1
    platform = devices[0].platform if devices else "none"
    return f"{platform}: " + ", ".join(f"{count} x {kind}" for kind, count in kinds.items())


def cpu_cores() -> int:
    """Cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def use_cpu_cores(count: int | None = None) -> int:
    """One JAX CPU device per core (`count`, default all this process may use), so that a
    sweep shards its chunks over every core: 1.3x the points per second on 2 cores (N = 8).

    Call it right after `import jax`, before any JAX operation: JAX fixes its devices when
    it first uses a backend. An XLA_FLAGS that already forces a CPU device count wins.

    Returns:
        The number of CPU devices JAX will create.

    Raises:
        ArgumentError("count") for a count below 1, or when JAX's backends are already
        initialised (with the order to call it in).
    """
    count = cpu_cores() if count is None else _checks.integer_at_least("count", count, 1)
    if "xla_force_host_platform_device_count" in os.environ.get("XLA_FLAGS", ""):
        return int(os.environ["XLA_FLAGS"].split("xla_force_host_platform_device_count=")[1].split()[0])
    try:
        jax.config.update("jax_num_cpu_devices", count)
    except RuntimeError as error:
        raise _checks.ArgumentError(
            "count",
            "JAX has already used its backends in this process; call qbjax.use_cpu_cores() right "
            f"after `import jax`, before any computation ({error})",
        ) from None
    return count
