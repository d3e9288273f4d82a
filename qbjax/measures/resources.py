"""Quantum resources of a state: entanglement, coherence, steering, Bell nonlocality, texture.

Every measure is a function of a state `rho` alone (a density matrix, or a state vector psi
read as |psi><psi|) and works under `jit`, `vmap` and `grad`. Inputs may be NumPy or JAX
arrays. Concrete inputs are validated (square, Hermitian, unit trace, right dimension) and a
bad one raises `ArgumentError` naming the argument; traced inputs pass unchecked.

Basis convention as in `qbjax.terms`: site 0 is the most significant factor of the tensor
product (QuTiP's order), bit 0 = |up>.

Two-qubit measures (PHYSICS.md section 3), with T_ij = Tr(rho s^i (x) s^j), i, j in {x,y,z}:
    concurrence     C  = max(0, l1 - l2 - l3 - l4), l_k^2 the eigenvalues of rho (sy sy) rho* (sy sy)
    negativity      N  = sum of |negative eigenvalues| of the partial transpose (QuTiP's convention)
    steering        F3 = sqrt(Tr T^T T);      normalised S = max(0, (F3 - 1)/(sqrt 3 - 1))
    Bell (CHSH)     B  = 2 sqrt(u1 + u2), u1 >= u2 the largest eigenvalues of T^T T;
                    normalised max(0, (B - 2)/(2 sqrt 2 - 2))
    first-order coherence D = sqrt((D_A^2 + D_B^2)/2), D_k = sqrt(2 Tr rho_k^2 - 1)
Any dimension:
    l1 coherence    sum_{i != j} |rho_ij|;   l1 imaginarity sum_{i != j} |Im rho_ij|
    texture         (1/2) || rho - |f><f| ||_1, |f> = d^{-1/2} sum_i |i>;  grand sum -ln <f|rho|f>
    entropy         -Tr rho ln rho (von Neumann, natural log unless `base`)

Differentiability. Spectral measures use eigenvalues only (never eigenvectors), so gradients
stay finite at degenerate spectra (e.g. the maximally mixed state). Where a measure itself has
a kink or an infinite slope, the returned gradient is the one-sided choice stated here, finite:
- entropy at a zero eigenvalue (rank-deficient states, e.g. pure states): the true slope into
  the full-rank directions is infinite; x ln x contributes 0 there (derivative within the
  states of the same rank).
- concurrence: sqrt of zero eigenvalues of rho rho~ (pure states) contributes 0; kink at C = 0.
- negativity and trace distance: kink where an eigenvalue crosses 0 (gradient 0 from it).
- l1 coherence: kink at rho_ij = 0 (gradient 0 from that entry).
- steering at T = 0, first-order coherence at D_k = 0: sqrt kink, gradient 0.
- Bell: u1 + u2 = Tr T^T T - u3 is not differentiable where u2 = u3 (e.g. Bell states); the
  gradient returned there is that of Tr T^T T - u3 for LAPACK's eigenvector choice.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Complex, Float

from .. import _checks
from ..operators.terms import complex_dtype

# Hermiticity and unit-trace tolerance for concrete inputs (absolute, on entries / the trace).
ATOL = 1e-8
# Below this, an eigenvalue is treated as an exact zero by the gradient of sqrt (see module doc).
_SQRT_GRADIENT_FLOOR = 1e-14

_PAULI = {
    "x": np.array([[0, 1], [1, 0]], dtype=complex),
    "y": np.array([[0, -1j], [1j, 0]], dtype=complex),
    "z": np.array([[1, 0], [0, -1]], dtype=complex),
}
# (3, 3, 4, 4): s^i (x) s^j
_PAULI_PAIRS = np.array([[np.kron(_PAULI[a], _PAULI[b]) for b in "xyz"] for a in "xyz"])
_SY_SY = np.kron(_PAULI["y"], _PAULI["y"])


# ---------------------------------------------------------------------------------------------
# validation and conversion


def _complex(array) -> Array:
    array = jnp.asarray(array)
    if not jnp.issubdtype(array.dtype, jnp.inexact):
        array = array.astype(jnp.float64 if jax.config.jax_enable_x64 else jnp.float32)
    return array.astype(complex_dtype(array.dtype))


def check_state(name: str, state, dim: int | None = None, what: str = "") -> None:
    """Concrete checks: vector or square matrix, of dimension `dim`, normalised, Hermitian."""
    if _checks.is_traced(state):
        return
    array = np.asarray(state)
    if not np.issubdtype(array.dtype, np.number):
        raise _checks.ArgumentError(name, f"must be a numeric array, got dtype {array.dtype}")
    if array.ndim not in (1, 2) or (array.ndim == 2 and array.shape[0] != array.shape[1]):
        raise _checks.ArgumentError(
            name, f"must be a state vector (d,) or a square density matrix (d, d), got shape {array.shape}"
        )
    d = array.shape[0]
    if dim is not None and d != dim:
        raise _checks.ArgumentError(name, f"must have dimension {dim}{what}, got shape {array.shape}")
    if d == 0:
        raise _checks.ArgumentError(name, "must not be empty")
    if not np.all(np.isfinite(array)):
        raise _checks.ArgumentError(name, "must be finite")
    if array.ndim == 1:
        norm = float(np.vdot(array, array).real)
        if abs(norm - 1.0) > ATOL * 100:
            raise _checks.ArgumentError(name, f"state vector must have norm 1, got norm^2 = {norm:.12g}")
        return
    deviation = float(np.max(np.abs(array - array.conj().T)))
    if deviation > ATOL * max(1.0, float(np.max(np.abs(array)))):
        raise _checks.ArgumentError(name, f"must be Hermitian, max |rho - rho^+| = {deviation:.3g}")
    trace = np.trace(array)
    if abs(trace - 1.0) > ATOL * 100:
        raise _checks.ArgumentError(name, f"must have trace 1, got {complex(trace):.12g}")


def density_matrix(state, name: str = "rho", dim: int | None = None, what: str = "") -> Complex[Array, "d d"]:
    """`state` as a complex density matrix (a vector psi becomes |psi><psi|), validated if concrete."""
    check_state(name, state, dim, what)
    state = _complex(state)
    if state.ndim == 1:
        return jnp.outer(state, state.conj())
    return state


def _two_qubit(rho, name: str = "rho") -> Complex[Array, "4 4"]:
    return density_matrix(rho, name, 4, " (a two-qubit state)")


def _dims(name: str, d: int, dims) -> tuple[int, ...]:
    """Subsystem dimensions: `dims`, or qubits when None (d must then be a power of 2)."""
    if dims is None:
        n = round(math.log2(d)) if d > 0 else -1
        if n < 1 or 2**n != d:
            raise _checks.ArgumentError(
                name, f"dimension {d} is not a power of 2; pass dims for non-qubit sites"
            )
        return (2,) * n
    dims = tuple(int(k) for k in dims)
    if any(k < 1 for k in dims) or math.prod(dims) != d:
        raise _checks.ArgumentError("dims", f"must be positive and multiply to the dimension {d}, got {dims}")
    return dims


def _sites(name: str, sites, n: int) -> tuple[int, ...]:
    if isinstance(sites, (int, np.integer)):
        sites = (sites,)
    sites = tuple(sites)
    if any(isinstance(s, bool) or not isinstance(s, (int, np.integer)) for s in sites):
        raise _checks.ArgumentError(name, f"must be site indices (integers), got {sites!r}")
    if len(set(sites)) != len(sites) or any(not 0 <= s < n for s in sites):
        raise _checks.ArgumentError(name, f"must be distinct site indices in 0..{n - 1}, got {sites!r}")
    return tuple(sorted(int(s) for s in sites))


# ---------------------------------------------------------------------------------------------
# safe elementary functions: finite gradients at 0 (see module docstring)


@jax.custom_jvp
def _sqrt0(x):
    """sqrt(max(x, 0)); its derivative is taken as 0 where x <= _SQRT_GRADIENT_FLOOR."""
    return jnp.sqrt(jnp.maximum(x, 0.0))


@_sqrt0.defjvp
def _sqrt0_jvp(primals, tangents):
    (x,), (dx,) = primals, tangents
    y = _sqrt0(x)
    positive = x > _SQRT_GRADIENT_FLOOR
    return y, jnp.where(positive, dx * 0.5 / jnp.where(positive, y, 1.0), 0.0)


def _xlogx(x):
    """x ln x with 0 ln 0 = 0 and derivative 0 at x <= 0."""
    positive = x > 0
    safe = jnp.where(positive, x, 1.0)
    return jnp.where(positive, safe * jnp.log(safe), 0.0)


def _abs_complex(z):
    """|z| for complex z with gradient 0 at z = 0 (plain jnp.abs gives NaN there)."""
    return _sqrt0(jnp.real(z) ** 2 + jnp.imag(z) ** 2)


def _hermitian_eigvals(a) -> Array:
    """Eigenvalues of a Hermitian matrix from its Hermitian part (ascending)."""
    return jnp.linalg.eigvalsh((a + a.conj().T) / 2)


# ---------------------------------------------------------------------------------------------
# partial trace and partial transpose


def ptrace(state, keep: int | Sequence[int], dims: Sequence[int] | None = None) -> Complex[Array, "k k"]:
    """Reduced density matrix on the sites `keep` (QuTiP's `ptrace(sel)`: the sites kept).

    Args:
        state: state vector (d,) or density matrix (d, d).
        keep: a site index or a sequence of them; kept in ascending order, as QuTiP does.
        dims: dimension of each site (default: qubits, d = 2**N).

    Returns:
        The reduced density matrix, shape (prod dims[keep],) * 2. From a vector it is formed
        as M M^+ with M the (kept, traced) reshaping of psi, never building |psi><psi|.
    """
    check_state("state", state)
    state = _complex(state)
    dims = _dims("state", state.shape[0], dims)
    keep = _sites("keep", keep, len(dims))
    trace = tuple(i for i in range(len(dims)) if i not in keep)
    d_keep = math.prod(dims[i] for i in keep)
    d_trace = math.prod(dims[i] for i in trace)
    if state.ndim == 1:
        m = jnp.transpose(state.reshape(dims), keep + trace).reshape(d_keep, d_trace)
        return m @ m.conj().T
    n = len(dims)
    order = keep + trace
    tensor = jnp.transpose(state.reshape(dims + dims), order + tuple(n + i for i in order))
    tensor = tensor.reshape(d_keep, d_trace, d_keep, d_trace)
    return jnp.einsum("iaja->ij", tensor)


def partial_transpose(rho, sites: int | Sequence[int], dims: Sequence[int] | None = None) -> Array:
    """rho with the indices of `sites` transposed (default dims: qubits)."""
    rho = density_matrix(rho)
    dims = _dims("rho", rho.shape[0], dims)
    sites = _sites("sites", sites, len(dims))
    n = len(dims)
    axes = list(range(2 * n))
    for s in sites:
        axes[s], axes[n + s] = n + s, s
    return jnp.transpose(rho.reshape(dims + dims), axes).reshape(rho.shape)


# ---------------------------------------------------------------------------------------------
# entropy and entanglement


def entropy(rho, base: float | None = None) -> Float[Array, ""]:
    """Von Neumann entropy -Tr rho ln rho (in units of ln `base` when given; QuTiP's entropy_vn)."""
    rho = density_matrix(rho)
    s = -jnp.sum(_xlogx(_hermitian_eigvals(rho)))
    if base is not None:
        _checks.positive("base", base)
        s = s / math.log(base)
    return s


def mutual_information(
    rho, part: int | Sequence[int] = 0, dims: Sequence[int] | None = None, base: float | None = None
) -> Float[Array, ""]:
    """I(A:B) = S(A) + S(B) - S(AB) with A the sites `part` and B the rest (default A = site 0)."""
    rho = density_matrix(rho)
    dims = _dims("rho", rho.shape[0], dims)
    a = _sites("part", part, len(dims))
    b = tuple(i for i in range(len(dims)) if i not in a)
    if not b:
        raise _checks.ArgumentError("part", "must leave at least one site outside the part")
    return entropy(ptrace(rho, a, dims), base) + entropy(ptrace(rho, b, dims), base) - entropy(rho, base)


def concurrence(rho) -> Float[Array, ""]:
    """Wootters concurrence of a two-qubit state: max(0, l1 - l2 - l3 - l4).

    l_k (descending) are the square roots of the eigenvalues of rho (sy sy) rho* (sy sy), equal
    to the singular values of W^T (sy sy) W for any W with rho = W W^+. The value comes from
    those singular values (W from eigh: no square root of round-off, so pure states are exact to
    ~1e-16 rather than ~1e-8); the derivative comes from the eigenvalues of the non-Hermitian
    product, which needs no eigenvectors and stays finite at degenerate spectra.
    """
    rho = _two_qubit(rho)
    flip = jnp.asarray(_SY_SY, rho.dtype)
    # derivative route: eigenvalues of rho rho~ (real, >= 0 up to round-off)
    product = rho @ flip @ rho.conj() @ flip
    by_eig = _sqrt0(jnp.sort(jnp.real(jnp.linalg.eigvals(product)))[::-1])
    # value route: singular values of W^T F W
    frozen = jax.lax.stop_gradient((rho + rho.conj().T) / 2)
    weights, vectors = jnp.linalg.eigh(frozen)
    w = vectors * jnp.sqrt(jnp.maximum(weights, 0.0)).astype(rho.dtype)[None, :]
    by_svd = jnp.linalg.svd(w.T @ flip @ w, compute_uv=False)  # descending
    roots = by_eig + jax.lax.stop_gradient(by_svd - by_eig)
    return jnp.maximum(0.0, roots[0] - roots[1] - roots[2] - roots[3])


def negativity(rho, sites: int | Sequence[int] = 1, dims: Sequence[int] | None = None) -> Float[Array, ""]:
    """Sum of |negative eigenvalues| of the partial transpose on `sites` (QuTiP's negativity).

    QuTiP: `negativity(rho, subsys, method="eigenvalues")`, equal to (||rho^T_A||_1 - 1)/2.
    For two sites the value does not depend on which site is transposed.
    """
    rho = density_matrix(rho)
    if len(_dims("rho", rho.shape[0], dims)) < 2:
        raise _checks.ArgumentError(
            "rho",
            f"must be a state of two or more sites (dimension 4 or more for qubits), got {rho.shape[0]}",
        )
    eigenvalues = _hermitian_eigvals(partial_transpose(rho, sites, dims))
    return jnp.sum(jnp.where(eigenvalues < 0, -eigenvalues, 0.0))


# ---------------------------------------------------------------------------------------------
# coherence, imaginarity, texture (computational basis)


def _off_diagonal(d: int) -> np.ndarray:
    return ~np.eye(d, dtype=bool)


def l1_coherence(rho) -> Float[Array, ""]:
    """l1-norm coherence sum_{i != j} |rho_ij| in the computational basis."""
    rho = density_matrix(rho)
    return jnp.sum(jnp.where(_off_diagonal(rho.shape[0]), _abs_complex(rho), 0.0))


def imaginarity(rho) -> Float[Array, ""]:
    """l1-norm imaginarity sum_{i != j} |Im rho_ij| in the computational basis."""
    rho = density_matrix(rho)
    return jnp.sum(jnp.where(_off_diagonal(rho.shape[0]), jnp.abs(jnp.imag(rho)), 0.0))


def _textureless(d: int, dtype) -> Array:
    return jnp.full((d, d), 1.0 / d, dtype=dtype)


def texture(rho) -> Float[Array, ""]:
    """State texture, trace-distance form: (1/2) || rho - |f><f| ||_1, |f> = d^{-1/2} sum_i |i>."""
    rho = density_matrix(rho)
    difference = rho - _textureless(rho.shape[0], rho.dtype)
    return 0.5 * jnp.sum(jnp.abs(_hermitian_eigvals(difference)))


def texture_grand_sum(rho) -> Float[Array, ""]:
    """State texture, grand-sum form: -ln <f|rho|f> = -ln( sum_ij rho_ij / d ) (inf when <f|rho|f> = 0)."""
    rho = density_matrix(rho)
    return -jnp.log(jnp.real(jnp.sum(rho)) / rho.shape[0])


# ---------------------------------------------------------------------------------------------
# correlations of two qubits


def correlation_matrix(rho) -> Float[Array, "3 3"]:
    """T_ij = Tr(rho s^i (x) s^j), i, j in (x, y, z), for a two-qubit state."""
    rho = _two_qubit(rho)
    return jnp.real(jnp.einsum("ijab,ba->ij", jnp.asarray(_PAULI_PAIRS, rho.dtype), rho))


def steering(rho) -> Float[Array, ""]:
    """Linear steering inequality with optimal settings (Costa and Angelo 2016): F3 = sqrt(Tr T^T T).

    Steerable when F3 > 1; at most sqrt 3 (Bell states).
    """
    t = correlation_matrix(rho)
    return _sqrt0(jnp.sum(t**2))


def steering_normalized(rho) -> Float[Array, ""]:
    """max(0, (F3 - 1)/(sqrt 3 - 1)), in [0, 1]."""
    return jnp.maximum(0.0, (steering(rho) - 1.0) / (math.sqrt(3.0) - 1.0))


def bell(rho) -> Float[Array, ""]:
    """Maximal CHSH value (Horodecki): B_max = 2 sqrt(u1 + u2), u the eigenvalues of T^T T.

    Nonlocal when B_max > 2; at most 2 sqrt 2.
    """
    t = correlation_matrix(rho)
    u = jnp.linalg.eigvalsh(t.T @ t)  # ascending
    return 2.0 * _sqrt0(jnp.sum(t**2) - u[0])


def bell_normalized(rho) -> Float[Array, ""]:
    """max(0, (B_max - 2)/(2 sqrt 2 - 2)), in [0, 1]."""
    return jnp.maximum(0.0, (bell(rho) - 2.0) / (2.0 * math.sqrt(2.0) - 2.0))


def _purity(rho) -> Float[Array, ""]:
    """Tr rho^2 = sum |rho_ij|^2, written without |.| so its gradient is smooth at 0 entries."""
    return jnp.sum(jnp.real(rho) ** 2 + jnp.imag(rho) ** 2)


def first_order_coherence(rho) -> Float[Array, ""]:
    """First-order coherence of a two-qubit state (Svozilik et al. 2015).

    D = sqrt((D_A^2 + D_B^2)/2) with D_k = sqrt(2 Tr rho_k^2 - 1), i.e. the mean squared
    Bloch-vector length of the two qubits, square-rooted.
    """
    rho = _two_qubit(rho)
    purity_a = _purity(ptrace(rho, 0))
    purity_b = _purity(ptrace(rho, 1))
    return _sqrt0(purity_a + purity_b - 1.0)
