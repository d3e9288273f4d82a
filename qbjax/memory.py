"""Memory budgets: how many bytes one run may hold at once, and sizes as users write them.

The matrix-free engines plan their work to fit a budget (the Chebyshev engine keeps fewer
of a segment's vectors at once, the Krylov engine uses a smaller basis), so a large chain
needs a few state vectors, not a hundred. The default budget is the larger of
DEFAULT_STATES state vectors and DEFAULT_FLOOR bytes (small chains keep their fastest plans),
and never more than FREE_SHARE of what the device has free.
"""

from __future__ import annotations

import re

from . import _checks

DEFAULT_STATES = 16
DEFAULT_FLOOR = 256 * 2**20
FREE_SHARE = 0.9
GRAD_MEMORY = 3  # reverse mode through the dense engine: at most 2.4 times its forward memory (N = 6, 8)

_UNITS = {"": 1, "b": 1, "k": 2**10, "kib": 2**10, "kb": 10**3, "m": 2**20, "mib": 2**20, "mb": 10**6}
_UNITS |= {"g": 2**30, "gib": 2**30, "gb": 10**9, "t": 2**40, "tib": 2**40, "tb": 10**12}


def free_bytes(device=None) -> int:
    """Memory still free on `device` (default: JAX's default device): the allocator's limit
    minus what it holds on an accelerator, MemAvailable on the CPU."""
    import jax

    device = device if device is not None else jax.devices()[0]
    if device.platform != "cpu":
        stats = device.memory_stats() or {}
        if "bytes_limit" in stats:
            return int(stats["bytes_limit"]) - int(stats.get("bytes_in_use", 0))
    return _checks.available_memory_bytes()


def budget_bytes(state_bytes: int, memory: int | None = None, device=None) -> int:
    """Bytes a run may hold at once: `memory` when given, else the larger of DEFAULT_STATES
    states of `state_bytes` and DEFAULT_FLOOR; either way at most FREE_SHARE of the free
    memory (XLA keeps some of the rest for itself: on an H200 at 95% of the card, an N = 30
    plan for all 132 GiB JAX reported free met a limit of 126 GiB)."""
    wanted = max(DEFAULT_STATES * state_bytes, DEFAULT_FLOOR) if memory is None else memory
    return min(int(wanted), int(FREE_SHARE * free_bytes(device)))


def check_budget(memory) -> int | None:
    """A budget in bytes (None: the default), refused naming `memory` unless a positive integer."""
    if memory is None:
        return None
    return _checks.integer_at_least("memory", memory, 1)


def parse_size(text: str) -> int:
    """Bytes from '512MiB', '8GiB', '2G', '1.5e9' (binary units for K, M, G, T and KiB..TiB;
    decimal for kB, MB, GB, TB); ValueError otherwise."""
    match = re.fullmatch(r"\s*([0-9]*\.?[0-9]+(?:[eE][+-]?[0-9]+)?)\s*([A-Za-z]*)\s*", text)
    if match is None or match.group(2).lower() not in _UNITS:
        raise ValueError(f"expected a size such as 512MiB, 8GiB or 2e9, got {text!r}")
    size = float(match.group(1)) * _UNITS[match.group(2).lower()]
    if not size >= 1:
        raise ValueError(f"expected a size of at least 1 byte, got {text!r}")
    return int(size)
