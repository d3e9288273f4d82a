"""The Krylov engine: matrix-free Lanczos blocks over the window (large N).

One march of equal blocks covers [0, t_end]; every block keeps its tridiagonal T_b and the
projection G_b of H0 on its basis, so <H0> at any time is an m x m computation
(`propagate.krylov.KrylovBlocks`). Gradients use the reversible adjoint of the march, so
their memory does not grow with the number of blocks.
"""

from __future__ import annotations

import dataclasses

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array

from .. import _checks
from .. import memory as _memory
from .. import precision as _precision
from ..kernels.ground_state import ground_state_energy
from ..kernels.krylov import (
    DEFAULT_KRYLOV_DIM,
    GRAM_BATCH,
    KrylovBlocks,
    KrylovConfig,
    breakdown_threshold,
    budget_dims,
    check_krylov_fits,
    check_options,
    krylov_memory_bytes,
    march_blocks,
    plan_march,
)
from ..models.chain import as_battery
from ..operators import sharding
from ..operators.matfree import matfree
from ..operators.terms import PauliSum
from ..precision import vdot
from .base import AbstractEngine, Curve, in_caller_precision

# Default budget of a Krylov march at least this many states: a basis of 16, Gram batches of
# 2 and the work vectors (`krylov_vectors`), not the 16 states the Chebyshev engine needs.
DEFAULT_MIN_VECTORS = 32
# Blocks kept for <H0>_t (each (m, m) complex matrices): 2^16 blocks of m = 40 hold ~5 GiB.
MAX_BLOCKS = 2**16
# reverse mode holds this many times the forward march's states (`gradient_memory_bytes`)
GRAD_FORWARD_MARCHES = 10
# Rounding allowance added to the error estimate in single precision, per block, in units of
# eps * m * ||psi0|| (the residual estimate sees truncation only; in complex64 the rounding of
# the m Lanczos steps and of the block's exponential dominates it).
SINGLE_ROUNDING = 8.0


class KrylovCurve(Curve):
    blocks: KrylovBlocks
    energy_h: PauliSum
    e0: Array
    err: Array

    def energy(self, times):
        return self.blocks.energy(times)

    def initial_energy(self):
        return self.e0

    def ground_energy(self):
        return ground_state_energy(self.energy_h)

    def error_estimate(self):
        return self.err

    def speed_limit(self, t):
        return self.blocks.initial_overlap(jnp.asarray(t)), self.blocks.spread()


class Krylov(AbstractEngine):
    """Matrix-free Krylov propagation.

    Attributes:
        krylov_dim: Krylov dimension m of every block.
        tol: target for the summed state error over the march (sets the block length);
            default 1e-11 in complex128, 1e-5 in complex64.
        dtype: complex128 (default under x64) or complex64 (GPU speed; error ~1e-6).
        spectral_width: E_max - E_min of the charging Hamiltonian or an upper estimate;
            required when the battery's coefficients are traced (jit, grad, vmap), since
            the number of blocks is fixed before tracing. Default: a short Lanczos probe.
        memory: bytes a march may hold at once (`qbjax.memory.budget_bytes`): a smaller
            budget plans a smaller Krylov dimension (shorter, more blocks).
        shards: devices the state is split over (`operators.sharding`; 1: one device).
        blocks, gram_batch: number of blocks and basis vectors projected together (`plan`).
    """

    name = "krylov"
    traced_window = False  # the window's end fixes the number of blocks
    precisions = ("double", "single")
    host_kernels = True  # LAPACK's eigh of each block's tridiagonal matrix
    batch_memory_factor = 3.0  # 2.39-2.47 measured (N = 12, 14)
    krylov_dim: int = eqx.field(static=True, default=DEFAULT_KRYLOV_DIM)
    tol: float | None = eqx.field(static=True, default=None)
    dtype: object = eqx.field(static=True, default=None)
    spectral_width: float | None = eqx.field(static=True, default=None)
    blocks: int | None = eqx.field(static=True, default=None)
    breakdown: float | None = eqx.field(static=True, default=None)
    memory: int | None = eqx.field(static=True, default=None)
    gram_batch: int = eqx.field(static=True, default=GRAM_BATCH)
    shards: int = eqx.field(static=True, default=1)

    def _options(self):
        return check_options(self.krylov_dim, self.tol, self.dtype)

    def _set_dtype(self, dtype) -> Krylov:
        return dataclasses.replace(self, dtype=dtype, blocks=None, breakdown=None)

    def check(self, model) -> None:
        _, _, dtype = self._options()
        _memory.check_budget(self.memory)
        sharding.shard_count(self.shards, model.n_sites)  # a power of two that fits the state
        check_krylov_fits(model.n_sites, dtype=dtype)
        self._dims(model.n_sites)

    def _dims(self, n_sites: int) -> tuple[int, int]:
        """(Krylov dimension, Gram batch) within the memory budget."""
        krylov_dim, _, dtype = self._options()
        state = dtype.itemsize * 2**n_sites // self.shards  # each device's block
        budget = _memory.budget_bytes(state, self.memory)
        if self.memory is None:  # the general default (16 states) holds no useful basis
            budget = _memory.budget_bytes(state, max(budget, DEFAULT_MIN_VECTORS * state))
        dims = budget_dims(budget // state, krylov_dim)
        if dims is None:
            least = _checks.format_bytes(krylov_memory_bytes(n_sites, 4, dtype, 1))
            raise _checks.ArgumentError(
                "memory",
                f"n = {n_sites} needs at least {least} for the krylov method, "
                f"the budget is {_checks.format_bytes(budget)}",
            )
        return dims

    def plan(self, model, t_end: float, *, spectrum: tuple[float, float] | None = None) -> Krylov:
        _, tol, dtype = self._options()
        krylov_dim, gram_batch = self._dims(model.n_sites)
        width = self.spectral_width if spectrum is None else spectrum[1] - spectrum[0]
        width, blocks = plan_march(as_battery(model).charging, float(t_end), krylov_dim, tol, width)
        if blocks > MAX_BLOCKS:
            raise _checks.ArgumentError(
                "t_max",
                f"a window of {float(t_end):.6g} needs {blocks} Krylov blocks, at most {MAX_BLOCKS} are "
                "kept in memory: shorten the window",
            )
        breakdown = breakdown_threshold(width, dtype)
        # a product on a split state holds about D blocks: D times fewer vectors at once
        gram_batch = max(gram_batch // self.shards, 1)
        planned = {"blocks": blocks, "breakdown": breakdown, "gram_batch": gram_batch}
        return dataclasses.replace(self, krylov_dim=krylov_dim, tol=tol, dtype=dtype, **planned)

    def prepare(self, model, t_end) -> Curve:
        if self.blocks is None:
            raise _checks.ArgumentError(
                "method", "a Krylov engine must be planned (engine.plan) before prepare"
            )
        battery = as_battery(model)
        if self.precision == "single":
            battery = battery.in_precision("single")
        leading = int(np.log2(self.shards))
        h, h0 = matfree(battery.charging, leading=leading), matfree(battery.energy, leading=leading)
        psi0 = sharding.constrain(battery.initial_state().astype(self.dtype), self.shards)
        e0 = jnp.real(vdot(psi0, h0(psi0)))
        config = KrylovConfig(self.krylov_dim, self.breakdown, True, self.gram_batch)
        data, err = march_blocks(h, h0, psi0, t_end, self.blocks, config)
        if self.precision == "single":
            norm = jnp.linalg.norm(psi0).astype(err.dtype)
            err = err + SINGLE_ROUNDING * _precision.epsilon("single") * self.krylov_dim * self.blocks * norm
        curve = KrylovCurve(data, battery.energy, e0, jax.lax.stop_gradient(err))
        return in_caller_precision(curve, self.precision)

    def memory_bytes(self, model) -> int:
        krylov_dim, gram_batch = (
            (self.krylov_dim, self.gram_batch) if self.blocks else self._dims(model.n_sites)
        )
        return krylov_memory_bytes(model.n_sites, krylov_dim, self._options()[2], gram_batch)

    def gradient_memory_bytes(self, model) -> int:
        # the adjoint march reruns the blocks backwards: 5.4-9.3 times the forward march
        # (XLA's memory analysis at N = 10-14, tests/test_memory_estimates.py)
        return GRAD_FORWARD_MARCHES * self.memory_bytes(model)
