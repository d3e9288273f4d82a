"""The symmetric engine: exact charging in the (N+1)-dimensional Dicke subspace.

For uniform all-to-all coupling, D = 0 and uniform fields, |down...down> never leaves the
J = N/2 multiplet, where the charging Hamiltonian is real tridiagonal
(`propagate.symmetric`). N in the thousands runs in seconds.
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array

from .. import _checks
from ..kernels.dense import chunk_size, spectral_states
from ..models.chain import SpinChain
from ..models.symmetric import SymmetricBattery, symmetric_battery
from ..operators.terms import complex_dtype
from .base import AbstractEngine, Curve, spectral_speed_limit

# |phi_n| below this (of a unit vector) is dropped from the expansion of |down...down>:
# such terms change <H0>_t by less than ~1e-15 ||H0|| sqrt(N), below eigh's own error.
OVERLAP_CUTOFF = 1e-15
# Frequencies E_n - E_m whose weight |phi_n phi_m A_nm| in W(t) is below this fraction of the
# largest weight do not set the grid (they cannot move a maximum visibly).
BANDWIDTH_CUTOFF = 1e-12


class SymmetricCurve(Curve):
    """Spectral evolution of |k = 0> under the tridiagonal charging Hamiltonian (all eigenstates).

    Used when the parameters are traced: derivatives come from the divided-difference JVP.
    """

    h_matrix: Array
    energy_diagonal: Array
    psi0: Array
    evals: Array
    evecs: Array
    ground: Array

    def energy(self, times):
        def one_time(t):
            psi = spectral_states(self.h_matrix, self.psi0, t[None], self.evals, self.evecs)[0]
            return jnp.sum(self.energy_diagonal * (jnp.real(psi) ** 2 + jnp.imag(psi) ** 2))

        batch = chunk_size(times.shape[0], 16 * self.psi0.shape[0] * 4)
        return jax.lax.map(one_time, times, batch_size=batch)

    def initial_energy(self):
        return jnp.sum(self.energy_diagonal * jnp.real(self.psi0) ** 2)

    def ground_energy(self):
        return self.ground

    def speed_limit(self, t):
        amplitudes = self.evecs.conj().T @ self.psi0
        return spectral_speed_limit(self.evals, jnp.real(amplitudes) ** 2 + jnp.imag(amplitudes) ** 2, t)


class ReducedSymmetricCurve(Curve):
    """<H0>_t = sum_nm phi_n phi_m A_nm cos((E_n - E_m) t) over the K eigenstates that matter.

    A = V^T H0 V restricted to them; O(K^2) per time. Built from concrete parameters with
    SciPy's tridiagonal eigensolver, so it carries no parameter gradient; only t is
    differentiated.
    """

    evals: Array  # (K,)
    phi: Array  # (K,) overlaps <n|k=0>
    coupling: Array  # (K, K) A_nm
    e0: Array
    ground: Array
    fastest: float = eqx.field(static=True)

    def energy(self, times):
        def one_time(t):
            c = self.phi * jnp.cos(self.evals * t)
            s = self.phi * jnp.sin(self.evals * t)
            return c @ self.coupling @ c + s @ self.coupling @ s

        batch = chunk_size(times.shape[0], 16 * self.phi.shape[0] ** 2)
        return jax.lax.map(one_time, times, batch_size=batch)

    def initial_energy(self):
        return self.e0

    def ground_energy(self):
        return self.ground

    def bandwidth(self):
        return self.fastest

    def speed_limit(self, t):
        return spectral_speed_limit(self.evals, self.phi**2, t)


def _reduced_curve(battery: SymmetricBattery) -> ReducedSymmetricCurve:
    """The eigenstates |k=0> overlaps with, and the fastest frequency W(t) carries."""
    import scipy.linalg  # the only use of SciPy's linear algebra: loaded when needed

    evals, evecs = scipy.linalg.eigh_tridiagonal(
        np.asarray(battery.charging_diagonal), np.asarray(battery.charging_offdiagonal)
    )
    phi = evecs[0]
    keep = np.abs(phi) > OVERLAP_CUTOFF
    evals, evecs, phi = evals[keep], evecs[:, keep], phi[keep]
    h0 = np.asarray(battery.energy_diagonal)
    coupling = evecs.T @ (h0[:, None] * evecs)
    weight = np.abs(phi[:, None] * phi[None, :] * coupling)
    gaps = np.abs(evals[:, None] - evals[None, :])
    fastest = float(np.max(np.where(weight >= BANDWIDTH_CUTOFF * weight.max(), gaps, 0.0)))
    arrays = (evals, phi, coupling, h0[0])
    return ReducedSymmetricCurve(*(jnp.asarray(a) for a in arrays), battery.ground_energy, fastest)


def _spin_chain(model) -> SpinChain:
    if not isinstance(model, SpinChain):
        raise _checks.ArgumentError(
            "method",
            "the symmetric method needs the model's parameters (a qbjax.SpinChain), not a Battery "
            "of Pauli terms",
        )
    return model


class Symmetric(AbstractEngine):
    """The exact J = N/2 Dicke subspace of permutation-symmetric chains."""

    name = "symmetric"
    compiled_prepare = False  # prepared by NumPy/SciPy stages
    # A batch runs point by point on the reduced (SciPy) curve: traced, every point would
    # carry all N + 1 eigenstates and a grid for the full spectral width, ~N^2 times more work.
    batchable = False

    def check(self, model) -> None:
        symmetric_battery(_spin_chain(model))

    def prepare(self, model, t_end) -> SymmetricCurve:
        del t_end
        battery = symmetric_battery(_spin_chain(model))
        h_matrix = battery.charging_matrix()
        evals, evecs = jnp.linalg.eigh(jax.lax.stop_gradient(h_matrix))
        cdtype = complex_dtype(evecs.dtype)
        psi0 = battery.initial_state().astype(cdtype)
        return SymmetricCurve(
            h_matrix, battery.energy_diagonal, psi0, evals, evecs.astype(cdtype), battery.ground_energy
        )

    def prepare_concrete(self, model, t_end, *, ergotropy: bool = True) -> ReducedSymmetricCurve:
        del t_end, ergotropy
        return _reduced_curve(symmetric_battery(_spin_chain(model)))

    def frequency_bound(self, model) -> Array:
        battery = symmetric_battery(_spin_chain(model))
        off = jnp.abs(battery.charging_offdiagonal)
        # Gershgorin: every eigenvalue within max |h_kk| + 2 max |h_k,k+1| of zero
        radius = jnp.max(jnp.abs(battery.charging_diagonal)) + 2.0 * jnp.max(off, initial=0.0)
        return 2.0 * radius

    def memory_bytes(self, model) -> int:
        return 16 * 4 * (model.n_sites + 1) ** 2
