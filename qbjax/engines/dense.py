"""The dense engine: one eigendecomposition of the 2^N x 2^N charging Hamiltonian.

    psi(t) = V exp(-i E t) V^dagger psi0,      <H0>_t = psi(t)^dagger H0 psi(t)

Exact to rounding; parameter derivatives use the divided-difference rule of
`propagate.dense.spectral_states`, so they are exact at degenerate spectra too. In single
precision (`Dense(dtype=jnp.complex64)`) the matrices are float32/complex64 and `eigh` runs
in single; the rounding is then estimated (`rounding_estimate`) and reported as the error.
"""

from __future__ import annotations

import dataclasses

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Complex, Float

from .. import _checks
from .. import precision as _precision
from ..kernels.dense import (
    Spectrum,
    chunk_size,
    dense_memory_bytes,
    rotation,
    spectral_states,
    spectrum,
)
from ..kernels.ground_state import ground_energy
from ..models.chain import as_battery
from ..operators.terms import PauliSum, complex_dtype, dense, norm_bound
from ..precision import matmul, vdot
from .base import AbstractEngine, Curve, SearchCurve, in_caller_precision, spectral_speed_limit

# Rounding of a single-precision dense run, in units of eps * ||H|| (backward error of eigh
# and of each product with V): the state error is about eps (ROUNDING_PER_NORM ||H|| t +
# ROUNDING_PER_DIM sqrt(d)). Measured errors stay below a tenth of this (tests/test_precision.py).
ROUNDING_PER_NORM = 8.0
ROUNDING_PER_DIM = 8.0


def block_energies(h0_matrix, states_at, times: Float[Array, " T"]) -> Float[Array, " T"]:
    """<H0> on the states `states_at(block of times)`, a block per matrix product, memory bounded."""
    n, d = times.shape[0], h0_matrix.shape[0]
    size = chunk_size(n, 16 * d * 3)
    blocks = -(-n // size)
    padded = jnp.concatenate([times, jnp.broadcast_to(times[-1:], (blocks * size - n,))])

    def block(ts):
        states = states_at(ts)
        return jnp.real(jnp.sum(states.conj() * matmul(states, h0_matrix.T), axis=-1))

    return jax.lax.map(block, padded.reshape(blocks, size)).reshape(-1)[:n]


class _SearchCurve(SearchCurve):
    """<H0>_t from a frozen decomposition, for locating maxima (time derivatives only).

    psi(t) = V (exp(-i E t) * a) with a = V^dagger psi0 computed once: each time costs one
    product with V, and plain autodiff gives d/dt.
    """

    h0_matrix: Array
    evals: Array
    evecs: Array
    amplitudes: Array

    def energy(self, times: Float[Array, " T"]) -> Float[Array, " T"]:
        def states(ts):
            phases = rotation(ts[:, None] * self.evals[None, :]).astype(self.evecs.dtype)
            return matmul(phases * self.amplitudes[None, :], self.evecs.T)

        return block_energies(self.h0_matrix, states, times)


class DenseCurve(Curve):
    """A battery with its charging Hamiltonian diagonalised."""

    energy_h: PauliSum
    h_matrix: Array
    eig: Spectrum
    psi0: Complex[Array, " d"]
    h0_matrix: Array  # H0 as a complex matrix: <H0> of many states is one product
    rounding: Array | None = None  # state error estimate in single precision (None: double)

    def energy(self, times):
        def states(ts):
            return spectral_states(self.h_matrix, self.psi0, ts, self.eig.evals, self.eig.evecs)

        return block_energies(self.h0_matrix, states, times)

    def initial_energy(self):
        return jnp.real(vdot(self.psi0, matmul(self.h0_matrix, self.psi0)))

    def ground_energy(self):
        return ground_energy(self.energy_h)

    def error_estimate(self):
        return self.rounding

    def search_curve(self):
        c = jax.lax.stop_gradient(self)
        return _SearchCurve(c.h0_matrix, c.eig.evals, c.eig.evecs, matmul(c.eig.evecs.conj().T, c.psi0))

    def speed_limit(self, t):
        amplitudes = matmul(self.eig.evecs.conj().T, self.psi0)
        weights = jnp.real(amplitudes) ** 2 + jnp.imag(amplitudes) ** 2
        return spectral_speed_limit(self.eig.evals, weights, t)


def rounding_estimate(h: PauliSum, t_end, precision: str) -> Array:
    """Estimated state error (norm) of a dense run over [0, t_end] from rounding alone:
    eps (ROUNDING_PER_NORM ||H|| t_end + ROUNDING_PER_DIM sqrt(2^N)), ||H|| <= sum |c_k|."""
    eps = _precision.epsilon(precision)
    norm = norm_bound(h).astype(_precision.real_dtype("double"))
    t_end = jnp.asarray(t_end).astype(norm.dtype)
    return jax.lax.stop_gradient(
        eps * (ROUNDING_PER_NORM * norm * t_end + ROUNDING_PER_DIM * float(np.sqrt(h.dimension)))
    )


class Dense(AbstractEngine):
    """Exact diagonalisation; N up to about 12 (memory: seven 2^N x 2^N complex matrices).

    Attributes:
        dtype: complex128 (default under x64) or complex64 (single precision: the matrices
            and `eigh` in float32/complex64, half the memory; error estimated from rounding).
    """

    name = "dense"
    precisions = ("double", "single")
    host_kernels = True  # LAPACK's eigh
    dtype: object = eqx.field(static=True, default=None)

    def _set_dtype(self, dtype) -> Dense:
        return dataclasses.replace(self, dtype=dtype)

    def _itemsize(self) -> int:
        return _checks.precision(None, self.dtype, 1.0, 1.0)[1].itemsize  # validates dtype

    def check(self, model) -> None:
        itemsize = self._itemsize()
        _checks.fits_in_memory(
            model.n_sites,
            lambda n: dense_memory_bytes(n) * itemsize // 16,
            "dense",
            " in single precision" if self.precision == "single" else "",
        )

    def prepare(self, model, t_end) -> Curve:
        battery = as_battery(model)
        single = self.precision == "single"
        if single:
            battery = battery.in_precision("single")
        h_matrix = dense(battery.charging)
        eig = spectrum(h_matrix)
        dtype = complex_dtype(eig.evecs.dtype)
        psi0 = battery.initial_state().astype(dtype)
        rounding = rounding_estimate(battery.charging, t_end, "single") if single else None
        curve = DenseCurve(battery.energy, h_matrix, eig, psi0, dense(battery.energy).astype(dtype), rounding)
        return in_caller_precision(curve, self.precision)

    def memory_bytes(self, model) -> int:
        return dense_memory_bytes(model.n_sites) * self._itemsize() // 16
