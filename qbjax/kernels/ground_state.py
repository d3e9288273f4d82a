"""The ground state of H0: a battery's start for `initial="ground"` (PHYSICS.md section 1).

With D != 0 (or g < 0, or |alpha| > 1) |down...down> is not the ground state of H0, so it
holds ergotropy before any charging, and "ergotropy rises with D" can be an artefact of the
start. Charging from the ground state makes every unit of stored energy extractable.

Concrete Hamiltonians: a dense `eigh` up to DENSE_SITES spins, SciPy's Lanczos (`eigsh`) on
the matrix-free H @ psi beyond. A degenerate ground state has no unique vector and is refused.
Traced Hamiltonians (sweeps, optimisation): a dense `eigh` whose derivative is written out
from first-order perturbation theory, so degenerate *excited* levels cannot poison it (the
generic eigenvector rule divides by every eigenvalue difference). A degenerate point gives
NaN there, since a traced value cannot raise.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Complex

from .. import _checks
from ..operators.terms import PauliSum, complex_dtype, dense, diagonal, is_diagonal, norm_bound

# Above this size the concrete path uses Lanczos: a dense eigh of 2^11 is already ~1 s.
DENSE_SITES = 10
# Largest size for a traced ground state: a dense eigh per point.
TRACED_SITES = 12
# The ground state counts as degenerate when E1 - E0 <= GAP_TOLERANCE * sum_k |c_k|.
GAP_TOLERANCE = 1e-9


def ground_state(h: PauliSum) -> Complex[Array, " d"]:
    """The normalised ground-state vector of `h`, its largest amplitude real and positive.

    Raises:
        ArgumentError("initial") when the ground state is degenerate (concrete `h`), or when
        `h` is traced on more than TRACED_SITES spins.
    """
    if _checks.is_traced(h.coeffs):
        check_traced_size(h.n_sites)
        matrix = dense(h)
        return _traced_ground_vector(matrix, GAP_TOLERANCE * norm_bound(h))
    with jax.ensure_compile_time_eval():  # concrete numbers, even inside a jit being traced
        return jnp.asarray(_concrete_ground_vector(h))


def check_traced_size(n_sites: int) -> None:
    """Refuse a ground-state start that would need a traced (per-point) solve beyond dense sizes."""
    if n_sites > TRACED_SITES:
        raise _checks.ArgumentError(
            "initial",
            f"'ground' in a sweep or an optimisation needs N <= {TRACED_SITES} (a dense "
            f"eigensolver per point); got N = {n_sites}",
        )


def _concrete_ground_vector(h: PauliSum) -> np.ndarray:
    if is_diagonal(h):
        energies = np.asarray(diagonal(h)) if h.terms else np.zeros(h.dimension)
        order = np.argsort(energies, kind="stable")[:2]
        vectors = np.eye(h.dimension, dtype=complex)[:, order]
        lowest = energies[order]
    elif h.n_sites <= DENSE_SITES:
        lowest, vectors = np.linalg.eigh(np.asarray(dense(h)))
    else:
        lowest, vectors = _lanczos_lowest_two(h)
    _refuse_degenerate(lowest, float(norm_bound(h)) if h.terms else 0.0)
    return _fix_phase(vectors[:, 0].astype(complex_dtype(np.float64)))


def _lanczos_lowest_two(h: PauliSum) -> tuple[np.ndarray, np.ndarray]:
    from scipy.sparse.linalg import LinearOperator, eigsh

    from ..operators.matfree import matfree

    op = matfree(h)
    apply = jax.jit(lambda psi: op(psi))
    dtype = np.complex128
    matvec = LinearOperator(
        (h.dimension, h.dimension), lambda v: np.asarray(apply(jnp.asarray(v.ravel(), dtype))), dtype=dtype
    )
    start = np.random.default_rng(0).standard_normal(h.dimension).astype(dtype)
    evals, evecs = eigsh(matvec, k=2, which="SA", v0=start, tol=1e-12)
    order = np.argsort(evals)
    return evals[order], evecs[:, order]


def _refuse_degenerate(lowest: np.ndarray, scale: float) -> None:
    if len(lowest) < 2:
        return
    gap = float(lowest[1] - lowest[0])
    if gap <= GAP_TOLERANCE * max(scale, 1.0):
        raise _checks.ArgumentError(
            "initial",
            f"the ground state of H0 is degenerate (E0 = {lowest[0]:.12g}, gap {gap:.3g}), so "
            "'ground' names no unique state; break the degeneracy (e.g. field != 0) or start "
            "from 'down'",
        )


def _fix_phase(psi, xp=np):
    """The same vector whatever phase the eigensolver returned: largest amplitude real > 0."""
    top = psi[xp.argmax(xp.abs(psi))]
    return psi * xp.conj(top / xp.abs(top).astype(top.dtype))


@jax.custom_jvp
def _traced_ground_vector(matrix: Array, tolerance: Array) -> Array:
    evals, evecs = jnp.linalg.eigh(matrix)
    psi = _fix_phase(evecs[:, 0].astype(complex_dtype(evals.dtype)), jnp)
    degenerate = evals[1] - evals[0] <= tolerance
    return jnp.where(degenerate, jnp.nan, psi)


@_traced_ground_vector.defjvp
def _traced_ground_vector_jvp(primals, tangents):
    matrix, tolerance = primals
    dmatrix, _ = tangents
    psi = _traced_ground_vector(matrix, tolerance)
    evals, evecs = jnp.linalg.eigh(matrix)
    excited = evecs[:, 1:].astype(psi.dtype)
    # d psi0 = sum_{k > 0} |k> <k| dH |0> / (E0 - Ek): the parallel-transport gauge, enough for
    # every expectation value (they do not see the phase)
    coupling = excited.conj().T @ (dmatrix.astype(psi.dtype) @ psi)
    return psi, excited @ (coupling / (evals[0] - evals[1:]).astype(psi.dtype))
