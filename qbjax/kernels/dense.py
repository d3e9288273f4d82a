"""Dense propagation for small systems (N up to about 12 spins).

Two paths share one call signature, `(H, psi0, times) -> states`:

- `evolve`: spectral. H = V diag(E) V^dagger once, then psi(t) = V exp(-iEt) V^dagger psi0
  on any number of times at O(d^2) each. Its derivative is a custom JVP by divided
  differences (Daleckii-Krein), which stays finite and exact at degenerate spectra
  where autodiff through `eigh` eigenvectors gives NaN (XXX chains, D = 0).
- `evolve_expm`: one matrix exponential per time, differentiated by JAX's own rule
  for `expm` (a Frechet derivative, also fine at degeneracies). Useful as a
  cross-check and when only a few times are needed.
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
from jax.custom_derivatives import SymbolicZero
from jaxtyping import Array, Complex, Float

from .. import _checks
from ..operators.terms import PauliSum, complex_dtype, dense
from ..precision import matmul

# d x d complex matrices alive at the peak of a dense run: H, its eigenvectors,
# LAPACK's workspace (about two more), the energy H0 (for <H0> of many states at
# once), and V^dagger dH V plus a divided-difference block when differentiating.
_MATRICES_AT_PEAK = 7
# Working memory for one chunk of per-time work (states, matrix-free products).
CHUNK_BYTES = 2**26


def dense_memory_bytes(n_sites: int) -> int:
    """Estimated peak memory of the dense method on N sites (complex128)."""
    return _MATRICES_AT_PEAK * 16 * 4**n_sites


def check_dense_fits(n_sites: int) -> None:
    """Refuse, before allocating, a system whose dense matrices exceed available memory."""
    _checks.fits_in_memory(n_sites, dense_memory_bytes, "dense")


class Spectrum(eqx.Module):
    """Eigendecomposition H = V diag(E) V^dagger, held without gradient (the JVP rule supplies it)."""

    evals: Float[Array, " d"]
    evecs: Complex[Array, "d d"]


def spectrum(h_matrix: Array) -> Spectrum:
    """Eigendecomposition of a dense Hermitian matrix; real matrices use the (much faster) real eigh."""
    evals, evecs = jnp.linalg.eigh(jax.lax.stop_gradient(h_matrix))
    return Spectrum(evals, evecs.astype(complex_dtype(evals.dtype)))


def chunk_size(n_items: int, bytes_per_item: int) -> int:
    """How many items of a per-time computation fit in one working chunk."""
    return int(max(1, min(n_items, CHUNK_BYTES // max(bytes_per_item, 1))))


def rotation(angle):
    """exp(-i angle), elementwise, without mixing real and complex dtypes."""
    return jax.lax.complex(jnp.cos(angle), -jnp.sin(angle))


@jax.custom_jvp
def spectral_states(h_matrix, psi0, times, evals, evecs):
    """psi(t) = V exp(-i E t) V^dagger psi0 for each t, from a precomputed decomposition.

    (evals, evecs) must be `spectrum(h_matrix)`; derivatives flow through h_matrix, psi0
    and times by the divided-difference rule below, never through the decomposition.
    """
    del h_matrix  # enters only through the JVP rule
    phi = matmul(evecs.conj().T, psi0)
    phases = rotation(times[:, None] * evals[None, :]).astype(evecs.dtype)
    return matmul(phases * phi[None, :], evecs.T)


def _divided_difference(t, evals):
    """K_ij(t) = (f(E_i) - f(E_j)) / (E_i - E_j) for f(E) = exp(-iEt), with K_ii = f'(E_i).

    Written as -i t exp(-i t (E_i + E_j)/2) sinc(t (E_i - E_j)/2): no division, so
    it is exact and finite for degenerate and nearly degenerate pairs alike.
    """
    mean = 0.5 * (evals[:, None] + evals[None, :])
    half_gap = 0.5 * (evals[:, None] - evals[None, :])
    # -i t exp(-i t mean) = t exp(-i (t mean + pi/2))
    return rotation(t * mean + 0.5 * jnp.pi) * (t * jnp.sinc(t * half_gap / jnp.pi)).astype(
        complex_dtype(evals.dtype)
    )


def _spectral_states_jvp(primals, tangents):
    h_matrix, psi0, times, evals, evecs = primals
    dh, dpsi0, dtimes, _, _ = tangents  # (evals, evecs) are stop-gradient data
    states = spectral_states(h_matrix, psi0, times, evals, evecs)
    phi = matmul(evecs.conj().T, psi0)
    phases = rotation(times[:, None] * evals[None, :]).astype(evecs.dtype)
    # Each tangent is assembled in the eigenbasis (T, d), then rotated back once.
    eig_tangent = jnp.zeros_like(states)
    if not isinstance(dh, SymbolicZero):
        dh_eig = matmul(matmul(evecs.conj().T, dh.astype(evecs.dtype)), evecs)

        def one_time(t):
            return matmul(_divided_difference(t, evals).astype(evecs.dtype) * dh_eig, phi)

        batch = chunk_size(times.shape[0], 16 * evals.shape[0] ** 2)
        eig_tangent = eig_tangent + jax.lax.map(one_time, times, batch_size=batch)
    if not isinstance(dpsi0, SymbolicZero):
        eig_tangent = eig_tangent + phases * matmul(evecs.conj().T, dpsi0)[None, :]
    if not isinstance(dtimes, SymbolicZero):
        rate = jax.lax.complex(jnp.zeros_like(evals), -evals).astype(evecs.dtype)  # -i E
        eig_tangent = eig_tangent + dtimes[:, None].astype(evecs.dtype) * rate * phases * phi
    return states, matmul(eig_tangent, evecs.T)


spectral_states.defjvp(_spectral_states_jvp, symbolic_zeros=True)


def evolve(
    h: PauliSum,
    psi0: Complex[Array, " d"],
    times: Float[Array, " T"],
    *,
    eig: Spectrum | None = None,
) -> Complex[Array, "T d"]:
    """States exp(-iHt) psi0 at each of `times`, by the spectral decomposition of H.

    Args:
        h: Hamiltonian on N sites.
        psi0: initial state, shape (2**N,).
        times: 1-D array of times.
        eig: a precomputed `spectrum(dense(h))`, to share one decomposition between calls.

    Returns:
        States, shape (len(times), 2**N). Differentiable in h's coefficients, psi0 and
        times, exactly also at degenerate spectra.
    """
    check_dense_fits(h.n_sites)
    h_matrix = dense(h)
    if eig is None:
        eig = spectrum(h_matrix)
    return spectral_states(h_matrix, psi0.astype(eig.evecs.dtype), times, eig.evals, eig.evecs)


def evolve_expm(h: PauliSum, psi0: Complex[Array, " d"], times: Float[Array, " T"]) -> Complex[Array, "T d"]:
    """States exp(-iHt) psi0 at each of `times`, one matrix exponential per time."""
    check_dense_fits(h.n_sites)
    h_matrix = dense(h)
    dtype = complex_dtype(h_matrix.dtype)
    h_matrix = h_matrix.astype(dtype)
    psi0 = psi0.astype(dtype)

    def one_time(t):
        minus_i_t = jax.lax.complex(jnp.zeros_like(t), -t).astype(dtype)
        return matmul(jax.scipy.linalg.expm(minus_i_t * h_matrix), psi0)

    return jax.lax.map(one_time, times)
