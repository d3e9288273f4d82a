"""Passive states and what they bound: ergotropy, passive energy, battery capacity.

For a state rho with eigenvalues r (descending) and a Hamiltonian with energies e:
    passive energy   = sum_k r_k e_k (e ascending)       minimum of Tr(U rho U^+ H) over U
    ergotropy        = Tr(rho H) - passive energy         (Allahverdyan, Balian, Nieuwenhuizen 2004)
    capacity         = sum_k e_k (r_k - r_{d-1-k})         (e descending; Yang et al. PRL 131, 030402)
                     = max minus min energy over the unitary orbit of rho.
A state vector psi is treated as the pure state |psi><psi| without forming it.
"""

from __future__ import annotations

import jax.numpy as jnp
from jaxtyping import Array, Float

from . import _checks
from .terms import PauliSum, complex_dtype, dense


def _matrix(h) -> Array:
    return dense(h) if isinstance(h, PauliSum) else jnp.asarray(h)


def _populations_and_energy(state, h) -> tuple[Float[Array, " d"], Float[Array, " d"], Float[Array, ""]]:
    """(r descending, e ascending, Tr(rho H)) for a state vector or density matrix."""
    h = _matrix(h)
    state = jnp.asarray(state)
    d = h.shape[-1]
    if h.ndim != 2 or h.shape[0] != d:
        raise _checks.ArgumentError("h", f"must be a square matrix, got shape {h.shape}")
    if state.shape not in ((d,), (d, d)):
        raise _checks.ArgumentError("state", f"must have shape ({d},) or ({d}, {d}), got {state.shape}")
    energies = jnp.linalg.eigvalsh(h)
    if state.ndim == 1:
        dtype = complex_dtype(state.dtype, h.dtype)
        h_psi = h.astype(dtype) @ state.astype(dtype)
        mean = jnp.real(jnp.vdot(state.astype(dtype), h_psi))
        norm = jnp.real(jnp.vdot(state, state))
        populations = jnp.zeros(d, energies.dtype).at[0].set(norm)
        return populations, energies, mean
    dtype = complex_dtype(state.dtype, h.dtype)
    mean = jnp.real(jnp.trace(state.astype(dtype) @ h.astype(dtype)))
    populations = jnp.linalg.eigvalsh(state)[::-1]
    return populations, energies, mean


def passive_energy(state, h) -> Float[Array, ""]:
    """Energy of the passive state of `state` (vector or density matrix) under `h`."""
    populations, energies, _ = _populations_and_energy(state, h)
    return jnp.sum(populations * energies)


def ergotropy(state, h) -> Float[Array, ""]:
    """Maximum work extractable from `state` by a unitary: Tr(rho H) - passive energy."""
    populations, energies, mean = _populations_and_energy(state, h)
    return mean - jnp.sum(populations * energies)


def capacity(state, h) -> Float[Array, ""]:
    """Battery capacity: highest minus lowest energy over the unitary orbit of `state`."""
    populations, energies, _ = _populations_and_energy(state, h)
    return jnp.sum(energies[::-1] * (populations - populations[::-1]))
