"""Passive states and what they bound: ergotropy, passive energy, battery capacity.

For a state rho with eigenvalues r (descending) and a Hamiltonian with energies e:
    passive energy   = sum_k r_k e_k (e ascending)       minimum of Tr(U rho U^+ H) over U
    ergotropy        = Tr(rho H) - passive energy         (Allahverdyan, Balian, Nieuwenhuizen 2004)
    capacity         = sum_k e_k (r_k - r_{d-1-k})         (e descending; Yang et al. PRL 131, 030402)
                     = max minus min energy over the unitary orbit of rho.
    incoherent ergotropy E_i = ergotropy of the state dephased in H's eigenbasis
    coherent ergotropy   E_c = E - E_i                  (Francica et al., PRL 125, 180603, 2020)
    residual capacity    C(rho_AB, H) - C(rho_A, H_A) - C(rho_B, H_B)
A state vector psi is treated as the pure state |psi><psi| without forming it.

Gradients: all of these use eigenvalues of rho and H only and are finite at degenerate
spectra, except the dephasing in `incoherent_ergotropy`, which needs H's eigenvectors: its
gradient with respect to H (not rho) requires a non-degenerate H.
"""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float

from .. import _checks
from ..operators.terms import PauliSum, complex_dtype, dense
from .resources import ATOL, check_state, ptrace

# Energies closer than this (relative to the spread of H's spectrum) form one eigenspace when
# dephasing; a degenerate eigenspace keeps its internal coherences (it is invariant in time).
DEGENERACY_RTOL = 1e-9


def _matrix(h) -> Array:
    return dense(h) if isinstance(h, PauliSum) else jnp.asarray(h)


def _validated(state, h) -> tuple[Array, Array]:
    """(state, H as a matrix), after checking shapes and, for concrete input, physicality."""
    h = _matrix(h)
    state = jnp.asarray(state)
    d = h.shape[-1]
    if h.ndim != 2 or h.shape[0] != d:
        raise _checks.ArgumentError("h", f"must be a square matrix, got shape {h.shape}")
    if state.shape not in ((d,), (d, d)):
        raise _checks.ArgumentError("state", f"must have shape ({d},) or ({d}, {d}), got {state.shape}")
    _check_physical(state, h)
    return state, h


def _populations_and_energy(state, h) -> tuple[Float[Array, " d"], Float[Array, " d"], Float[Array, ""]]:
    """(r descending, e ascending, Tr(rho H)) for a state vector or density matrix."""
    state, h = _validated(state, h)
    energies = jnp.linalg.eigvalsh(h)
    if state.ndim == 1:
        dtype = complex_dtype(state.dtype, h.dtype)
        h_psi = h.astype(dtype) @ state.astype(dtype)
        mean = jnp.real(jnp.vdot(state.astype(dtype), h_psi))
        norm = jnp.real(jnp.vdot(state, state))
        populations = jnp.zeros(h.shape[-1], energies.dtype).at[0].set(norm)
        return populations, energies, mean
    dtype = complex_dtype(state.dtype, h.dtype)
    mean = jnp.real(jnp.trace(state.astype(dtype) @ h.astype(dtype)))
    populations = jnp.linalg.eigvalsh(state)[::-1]
    return populations, energies, mean


def _check_physical(state, h) -> None:
    """Concrete inputs only: H Hermitian, a matrix state Hermitian with unit trace, a vector normalised."""
    if not _checks.is_traced(h):
        array = np.asarray(h)
        deviation = float(np.max(np.abs(array - array.conj().T))) if array.size else 0.0
        if deviation > ATOL * max(1.0, float(np.max(np.abs(array)))):
            raise _checks.ArgumentError("h", f"must be Hermitian, max |H - H^+| = {deviation:.3g}")
    check_state("state", state)


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


def dephase(state, h) -> Array:
    """The state with its coherences between different energies of `h` removed.

    Delta(rho) = sum_k P_k rho P_k over the eigenspaces P_k of H: the time average of
    exp(-iHt) rho exp(iHt). Coherences inside a degenerate eigenspace are kept (energies
    within DEGENERACY_RTOL of the spectral width count as equal). Returns a density matrix.
    """
    state, h = _validated(state, h)
    dtype = complex_dtype(state.dtype, h.dtype)
    state = state.astype(dtype)
    rho = jnp.outer(state, state.conj()) if state.ndim == 1 else state
    energies, vectors = jnp.linalg.eigh(h.astype(dtype))
    width = energies[-1] - energies[0]
    same = jnp.abs(energies[:, None] - energies[None, :]) <= DEGENERACY_RTOL * jnp.maximum(width, 1.0)
    in_eigenbasis = vectors.conj().T @ rho @ vectors
    return vectors @ jnp.where(same, in_eigenbasis, 0.0) @ vectors.conj().T


def incoherent_ergotropy(state, h) -> Float[Array, ""]:
    """E_i: ergotropy of the dephased state `dephase(state, h)` (work extractable without coherence)."""
    return ergotropy(dephase(state, h), h)


def coherent_ergotropy(state, h) -> Float[Array, ""]:
    """E_c = E - E_i: the part of the ergotropy that needs the coherences in H's eigenbasis."""
    return ergotropy(state, h) - incoherent_ergotropy(state, h)


def residual_capacity(state, h_a, h_b, h=None) -> Float[Array, ""]:
    """C(rho_AB, H) - C(rho_A, H_A) - C(rho_B, H_B) for a bipartite state on A (x) B.

    Args:
        state: state vector or density matrix of dimension d_A d_B (A the leading factor).
        h_a, h_b: local Hamiltonians (matrices or PauliSums), shapes (d_A, d_A) and (d_B, d_B).
        h: the Hamiltonian of the whole; default H_A (x) 1 + 1 (x) H_B.
    """
    h_a, h_b = _matrix(h_a), _matrix(h_b)
    for name, m in (("h_a", h_a), ("h_b", h_b)):
        if m.ndim != 2 or m.shape[0] != m.shape[1]:
            raise _checks.ArgumentError(name, f"must be a square matrix, got shape {m.shape}")
    d_a, d_b = h_a.shape[0], h_b.shape[0]
    if h is None:
        dtype = jnp.result_type(h_a.dtype, h_b.dtype)
        h = jnp.kron(h_a, jnp.eye(d_b, dtype=dtype)) + jnp.kron(jnp.eye(d_a, dtype=dtype), h_b)
    total = capacity(state, h)  # validates state against h's dimension
    dims = (d_a, d_b)
    return total - capacity(ptrace(state, 0, dims), h_a) - capacity(ptrace(state, 1, dims), h_b)
