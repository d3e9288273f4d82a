"""Ground states and ground energies of a Pauli sum: the one place that finds them.

- `ground_energy`: exact, from the dense matrix (or the diagonal);
- `ground_state_energy`: matrix-free Lanczos, differentiable (Hellmann-Feynman);
- `lowest_energy`: the first up to DENSE_SITES spins, the second beyond;
- `ground_state`: the vector, a battery's start for `initial="ground"` (PHYSICS.md
  section 1).


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

import functools

import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Complex, Float

from .. import _checks
from ..operators.matfree import matfree
from ..operators.terms import PauliSum, complex_dtype, dense, diagonal, is_diagonal, norm_bound
from ..precision import real_of, scaled, vdot
from .krylov import lanczos_step, random_start, tridiagonal

# At most this many Lanczos steps for the ground energy of a non-diagonal H0 (ergotropies),
GROUND_ITERATIONS = 300
# run in blocks of this many, until a block moves the lowest Ritz value by at most
# _GROUND_TOL relative (typically 2-4 blocks: converged to ~1e-15 at N = 8-12).
_GROUND_BLOCK = 16
_GROUND_TOL = 1e-14
# Rows of a Sturm sequence per loop iteration: the padded Lanczos coefficients come in
# whole blocks of _GROUND_BLOCK.
_STURM_BLOCK = _GROUND_BLOCK
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


def ground_energy(h: PauliSum) -> Float[Array, ""]:
    """Lowest eigenvalue of a Pauli sum (from the diagonal when H is made of sigma^z's)."""
    if is_diagonal(h):
        return jnp.min(diagonal(h))
    return jnp.linalg.eigvalsh(dense(h))[0]


def lowest_energy(h: PauliSum) -> Array:
    """E_ground(h): dense up to DENSE_SITES spins, matrix-free Lanczos beyond."""
    return ground_energy(h) if h.n_sites <= DENSE_SITES else ground_state_energy(h)


def ground_state_energy(h: PauliSum, *, iterations: int = GROUND_ITERATIONS, seed: int = 0) -> Array:
    """Lowest eigenvalue of a Pauli sum, matrix-free (diagonal H: the minimum of the diagonal).

    The lowest Ritz value of Lanczos from a fixed random start, run in blocks of 16 steps
    until a block moves it by at most 1e-14 relative (at most `iterations` steps). Its
    derivative is the Hellmann-Feynman one, <g|dH|g> with g the Ritz vector, which costs a
    second pass of the recurrence: it runs only when the energy is differentiated.
    """
    if is_diagonal(h):
        op = matfree(h)
        diag = op.diagonal()
        return jnp.min(diag) if diag is not None else jnp.zeros((), h.coeffs.dtype)
    return _lowest_ritz(h.n_sites, h.terms, min(iterations, h.dimension), seed, h.coeffs)


def _lanczos_until_converged(op, start, max_steps: int):
    """Lanczos in blocks of `_GROUND_BLOCK` steps until the lowest Ritz value settles.

    It stops when a block moves the lowest Ritz value by at most `_GROUND_TOL` (relative),
    at a breakdown (an exhausted Krylov space: the Ritz values are then exact), or after
    `max_steps`. Returns (alpha, beta, m, lowest): the coefficients padded to a whole number
    of blocks, of which the first m are valid, and T_m's lowest eigenvalue.
    """
    size = -(-max_steps // _GROUND_BLOCK) * _GROUND_BLOCK
    real = real_of(start.dtype)
    v0 = scaled(start, 1.0 / jnp.sqrt(jnp.real(vdot(start, start))))

    def step(carry, _):
        following, a = lanczos_step(op, carry, 0.0)  # only an exact breakdown ends it
        return following, (a, following[2])

    def block(state):
        vectors, alpha, beta, m, lowest, _ = state
        vectors, (a, b) = jax.lax.scan(step, vectors, None, length=_GROUND_BLOCK)
        alpha = jax.lax.dynamic_update_slice(alpha, a, (m,))
        beta = jax.lax.dynamic_update_slice(beta, b, (m,))
        broke = jnp.any(b == 0)
        advance = jnp.where(broke, jnp.argmax(b == 0).astype(jnp.int32) + 1, jnp.int32(_GROUND_BLOCK))
        m = jnp.minimum(m + advance, jnp.int32(max_steps))
        new = _lowest_ritz_value(alpha, beta, m)
        done = (jnp.abs(new - lowest) <= _GROUND_TOL * jnp.maximum(1.0, jnp.abs(new))) | broke
        return vectors, alpha, beta, m, new, done | (m >= max_steps)

    zeros = jnp.zeros((size,), real)
    vectors = (jnp.zeros_like(v0), v0, jnp.zeros((), real))
    init = (vectors, zeros, zeros, jnp.int32(0), jnp.asarray(jnp.inf, real), jnp.asarray(False))
    _, alpha, beta, m, lowest, _ = jax.lax.while_loop(lambda state: ~state[-1], block, init)
    return alpha, beta, m, lowest


def _active_tridiagonal(alpha, beta, m):
    """(alpha, beta) of T_m padded to full size by a decoupled block of values above T_m's
    spectrum (Gershgorin), so its lowest eigenvalues are T_m's."""
    index = jnp.arange(alpha.shape[0], dtype=jnp.int32)
    beta = jnp.where(index < m - 1, beta, 0.0)
    top = jnp.max(jnp.where(index < m, alpha, -jnp.inf)) + 2.0 * jnp.max(beta) + 1.0
    return jnp.where(index < m, alpha, top), beta


def _lowest_ritz_value(alpha, beta, m):
    """Lowest eigenvalue of T_m by bisection on Sturm counts that read only T_m's rows.

    ~150x faster than a dense eigh at m = 256; JAX's `eigh_tridiagonal` would read all
    the padded rows, 4-16x more than the m = 48-64 a ground energy takes. The bracket is
    [Gershgorin lower bound, min alpha] (lambda_min <= every diagonal element), halved until
    it is a few eps wide.
    """
    alpha, beta = _active_tridiagonal(alpha, beta, m)
    index = jnp.arange(alpha.shape[0], dtype=jnp.int32)
    magnitude = jnp.abs(beta)
    radius = magnitude + jnp.concatenate([jnp.zeros((1,), beta.dtype), magnitude[:-1]])
    lo = jnp.min(jnp.where(index < m, alpha - radius, jnp.inf))
    hi = jnp.min(jnp.where(index < m, alpha, jnp.inf))
    rows = -(-m // _STURM_BLOCK) * _STURM_BLOCK
    eps = jnp.finfo(alpha.dtype).eps

    def unresolved(bracket):
        lo, hi = bracket
        return hi - lo > 2.0 * eps * jnp.maximum(jnp.abs(lo), jnp.abs(hi)) + jnp.finfo(alpha.dtype).tiny

    def halve(bracket):
        lo, hi = bracket
        middle = 0.5 * (lo + hi)
        below = _sturm_count(alpha, beta * beta, middle, rows) > 0
        return jnp.where(below, lo, middle), jnp.where(below, middle, hi)

    lo, hi = jax.lax.while_loop(unresolved, halve, (lo, hi))
    return 0.5 * (lo + hi)


def _sturm_count(alpha, beta_sq, x, rows):
    """Eigenvalues below x of the tridiagonal (alpha, beta_sq[i] = beta_i^2 coupling rows i
    and i + 1): the negative pivots of the LDL^T factorisation of T - x, over its first
    `rows` rows (the rows after them must be decoupled and lie above x)."""
    pivmin = jnp.finfo(alpha.dtype).tiny * jnp.maximum(1.0, jnp.max(beta_sq))
    coupling = jnp.concatenate([jnp.zeros((1,), beta_sq.dtype), beta_sq[:-1]])

    def block(carry):
        # _STURM_BLOCK rows per loop iteration, unrolled: the loop's overhead exceeds a row's work
        i, q, count = carry
        a = jax.lax.dynamic_slice(alpha, (i,), (_STURM_BLOCK,))
        c = jax.lax.dynamic_slice(coupling, (i,), (_STURM_BLOCK,))
        for j in range(_STURM_BLOCK):
            q = a[j] - c[j] / q - x
            negative = q <= pivmin
            count = count + negative.astype(jnp.int32)
            q = jnp.where(negative, jnp.minimum(q, -pivmin), q)
        return i + _STURM_BLOCK, q, count

    init = (jnp.int32(0), jnp.ones_like(x), jnp.int32(0))
    return jax.lax.while_loop(lambda carry: carry[0] < rows, block, init)[2]


def _ground_ritz(h: PauliSum, k: int, seed: int, *, vector: bool):
    """(lowest Ritz value, its Ritz vector or None) of at most k Lanczos steps on h."""
    start = random_start(h, seed)
    op = matfree(h)
    alpha, beta, m, lowest = _lanczos_until_converged(op, start, k)
    if not vector:
        return lowest, None
    lam, q = jnp.linalg.eigh(tridiagonal(*_active_tridiagonal(alpha, beta, m)))

    def rebuild(j, carry):
        # second pass of the same recurrence; accumulate g = sum_j c_j v_j without storing V
        v_prev, v, b_prev, g = carry
        w = op(v) - scaled(v, alpha[j]) - scaled(v_prev, b_prev)
        b = beta[j]
        v_next = jnp.where(b > 0, scaled(w, 1.0 / jnp.where(b > 0, b, 1.0)), 0.0)
        return v, v_next, b, g + scaled(v, q[j, 0])

    v0 = scaled(start, 1.0 / jnp.sqrt(jnp.real(vdot(start, start))))
    init = (jnp.zeros_like(start), v0, jnp.zeros((), alpha.dtype), jnp.zeros_like(start))
    g = jax.lax.fori_loop(0, m, rebuild, init)[3]
    return lam[0], scaled(g, 1.0 / jnp.linalg.norm(g))


@functools.partial(jax.custom_jvp, nondiff_argnums=(0, 1, 2, 3))
def _lowest_ritz(n_sites: int, terms, k: int, seed: int, coeffs):
    return _ground_ritz(PauliSum(n_sites, terms, coeffs), k, seed, vector=False)[0]


@_lowest_ritz.defjvp
def _lowest_ritz_jvp(n_sites, terms, k, seed, primals, tangents):
    (coeffs,), (dcoeffs,) = primals, tangents
    value, g = _ground_ritz(PauliSum(n_sites, terms, coeffs), k, seed, vector=True)
    dh = matfree(PauliSum(n_sites, terms, dcoeffs))
    return value, jnp.real(vdot(g, dh(g)))
