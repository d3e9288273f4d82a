"""One state split over devices: the 2^N amplitudes by their leading log2(D) qubits.

Device j holds the amplitudes whose leading qubits spell j, a contiguous block of 2^N / D.
The Chebyshev and Krylov engines mark their start state with this layout (`constrain`), and
XLA's SPMD partitioner carries it through the march. In H @ psi (`matfree.MatFreeH._sharded`)
each device applies every flip-mask group to its own block; the groups that flip the same
leading qubits (a pattern h) are summed there and moved to device j ^ h by one exchange.
Inner products and Gram matrices are local products summed across the devices (all-reduce).
No state-sized buffer is gathered onto one device. Under `jax.distributed` the devices are
the global ones, so one battery spans hosts.
"""

from __future__ import annotations

import functools

import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec

from .. import _checks
from .terms import PauliSum, pauli_masks

AXIS = "amplitudes"
# Fewest amplitudes a device holds: below this the exchanges cost more than the work.
MIN_BLOCK = 64


def shard_count(shard, n_sites: int) -> int:
    """The number of devices a state of `n_sites` qubits is split over.

    Args:
        shard: False or None (one device), True (every device JAX sees: the global ones
            under `jax.distributed`), or a count D.

    Raises:
        ArgumentError("shard") unless D is a power of two, at most the devices there are,
        and leaves each device at least MIN_BLOCK amplitudes.
    """
    if shard is None or shard is False:
        return 1
    available = len(jax.devices())
    count = available if shard is True else _checks.integer_at_least("shard", shard, 1)
    if count == 1:
        return 1
    if count & (count - 1):
        raise _checks.ArgumentError(
            "shard", f"must be a power of two (the leading qubits split the state), got {count}"
        )
    if count > available:
        raise _checks.ArgumentError("shard", f"asks for {count} devices, {available} are visible")
    if count > 2**n_sites // MIN_BLOCK:
        raise _checks.ArgumentError(
            "shard",
            f"{count} devices leave fewer than {MIN_BLOCK} of the 2^{n_sites} amplitudes on each; "
            f"at most {max(2**n_sites // MIN_BLOCK, 1)} for n = {n_sites}",
        )
    return count


@functools.lru_cache(maxsize=8)
def state_sharding(count: int) -> NamedSharding:
    """The layout of a state over the first `count` devices (blocks in device order)."""
    mesh = Mesh(np.array(jax.devices()[:count]), (AXIS,))
    return NamedSharding(mesh, PartitionSpec(AXIS))


def constrain(psi, count: int):
    """psi laid out over `count` devices (inside a traced program); itself when count is 1."""
    if count <= 1:
        return psi
    return jax.lax.with_sharding_constraint(psi, state_sharding(count))


def leading_patterns(h: PauliSum, count: int) -> set[int]:
    """The nonzero patterns of leading qubits that the terms of `h` flip on a state split
    over `count` devices: H @ psi moves one block per pattern (`matfree.MatFreeH._sharded`)."""
    if count <= 1:
        return set()
    shift = h.n_sites - int(np.log2(count))
    return {int(f) >> shift for f in pauli_masks(h.n_sites, h.terms).flip} - {0}


def exchange_bytes(h: PauliSum, count: int, itemsize: int) -> int:
    """Bytes each device receives in one H @ psi: a block per leading pattern (0 on one device)."""
    return len(leading_patterns(h, count)) * (2**h.n_sites // count) * itemsize
