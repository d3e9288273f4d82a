"""Which JAX backend and devices run a computation, by name ("cpu", "gpu", "tpu").

A sweep shards its chunks over every local device of one backend; `qbjax bench` measures
each backend asked for. A backend that is not visible (no GPU, no CUDA-enabled jaxlib) is
refused before anything runs, with the backends that are visible.
"""

from __future__ import annotations

import functools
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


def describe(devices: Sequence) -> str:
    """'gpu: 2 x NVIDIA H200' (the platform, then the count and kind of each distinct kind)."""
    kinds: dict[str, int] = {}
    for device in devices:
        kinds[device.device_kind] = kinds.get(device.device_kind, 0) + 1
    platform = devices[0].platform if devices else "none"
    return f"{platform}: " + ", ".join(f"{count} x {kind}" for kind, count in kinds.items())
