"""The dense engine: one eigendecomposition of the 2^N x 2^N charging Hamiltonian.

    psi(t) = V exp(-i E t) V^dagger psi0,      <H0>_t = psi(t)^dagger H0 psi(t)

Exact to rounding; parameter derivatives use the divided-difference rule of
`propagate.dense.spectral_states`, so they are exact at degenerate spectra too.
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, Complex, Float

from ..models import as_battery
from ..propagate.dense import (
    Spectrum,
    check_dense_fits,
    chunk_size,
    dense_memory_bytes,
    ground_energy,
    rotation,
    spectral_states,
    spectrum,
)
from ..terms import PauliSum, complex_dtype, dense
from .base import AbstractEngine, Curve


def block_energies(h0_matrix, states_at, times: Float[Array, " T"]) -> Float[Array, " T"]:
    """<H0> on the states `states_at(block of times)`, a block per matrix product, memory bounded."""
    n, d = times.shape[0], h0_matrix.shape[0]
    size = chunk_size(n, 16 * d * 3)
    blocks = -(-n // size)
    padded = jnp.concatenate([times, jnp.broadcast_to(times[-1:], (blocks * size - n,))])

    def block(ts):
        states = states_at(ts)
        return jnp.real(jnp.sum(states.conj() * (states @ h0_matrix.T), axis=-1))

    return jax.lax.map(block, padded.reshape(blocks, size)).reshape(-1)[:n]


class _SearchCurve(eqx.Module):
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
            return (phases * self.amplitudes[None, :]) @ self.evecs.T

        return block_energies(self.h0_matrix, states, times)


class DenseCurve(Curve):
    """A battery with its charging Hamiltonian diagonalised."""

    energy_h: PauliSum
    h_matrix: Array
    eig: Spectrum
    psi0: Complex[Array, " d"]
    h0_matrix: Array  # H0 as a complex matrix: <H0> of many states is one product

    def energy(self, times):
        def states(ts):
            return spectral_states(self.h_matrix, self.psi0, ts, self.eig.evals, self.eig.evecs)

        return block_energies(self.h0_matrix, states, times)

    def initial_energy(self):
        return jnp.real(jnp.vdot(self.psi0, self.h0_matrix @ self.psi0))

    def ground_energy(self):
        return ground_energy(self.energy_h)

    def search_curve(self):
        c = jax.lax.stop_gradient(self)
        return _SearchCurve(c.h0_matrix, c.eig.evals, c.eig.evecs, c.eig.evecs.conj().T @ c.psi0)


class Dense(AbstractEngine):
    """Exact diagonalisation; N up to about 12 (memory: seven 2^N x 2^N complex matrices)."""

    name = "dense"

    def check(self, model) -> None:
        check_dense_fits(model.n_sites)

    def prepare(self, model, t_end) -> DenseCurve:
        del t_end  # the decomposition serves every time
        battery = as_battery(model)
        h_matrix = dense(battery.charging)
        eig = spectrum(h_matrix)
        dtype = complex_dtype(eig.evecs.dtype)
        psi0 = battery.initial_state().astype(dtype)
        return DenseCurve(battery.energy, h_matrix, eig, psi0, dense(battery.energy).astype(dtype))

    def memory_bytes(self, model) -> int:
        return dense_memory_bytes(model.n_sites)
