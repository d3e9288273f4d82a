"""Pauli-string Hamiltonians: a static term structure times traced coefficients.

A Hamiltonian is H = sum_k c_k P_k, each P_k a product of Pauli matrices on a
few distinct sites. The structure (which sites carry which Pauli) is hashable
Python data, fixed when a function is traced; the coefficients c_k are a real
JAX array that can be traced, batched with `vmap` and differentiated. One
structure therefore serves every backend (dense matrix, matrix-free H @ psi,
classical energy) and every parameter point of a batch.

Basis convention (QuTiP's tensor order): site 0 is the most significant bit of
the basis index; bit value 0 is |up> (sigma^z = +1), bit value 1 is |down>.
|down...down> is therefore the last basis vector.
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Complex, Float

from .. import _checks
from ..precision import vdot

# One term: ((site, letter), ...) with distinct sites and letters in "XYZ".
Term = tuple[tuple[int, str], ...]

PAULI_LETTERS = "XYZ"


class PauliSum(eqx.Module):
    """H = sum_k coeffs[k] * P_k with P_k the Pauli string `terms[k]` on `n_sites` qubits.

    Attributes:
        n_sites: number of qubits N; the Hilbert space has dimension 2**N.
        terms: static structure, one tuple of (site, letter) pairs per term.
        coeffs: real coefficients, shape (K,) (or (..., K) for a batch built outside vmap).
    """

    n_sites: int = eqx.field(static=True)
    terms: tuple[Term, ...] = eqx.field(static=True)
    coeffs: Float[Array, "... K"]

    def __check_init__(self):
        for term in self.terms:
            sites = [site for site, _ in term]
            if len(set(sites)) != len(sites):
                raise _checks.ArgumentError("terms", f"sites repeat within the term {term}")
            for site, letter in term:
                if not 0 <= site < self.n_sites:
                    raise _checks.ArgumentError("terms", f"site {site} outside 0..{self.n_sites - 1}")
                if letter not in PAULI_LETTERS:
                    raise _checks.ArgumentError("terms", f"Pauli letter {letter!r} is not one of X, Y, Z")
        if self.coeffs.shape[-1:] != (len(self.terms),):
            raise _checks.ArgumentError(
                "coeffs", f"last axis must have length {len(self.terms)}, got shape {self.coeffs.shape}"
            )
        if jnp.iscomplexobj(self.coeffs):
            raise _checks.ArgumentError("coeffs", "must be real (Pauli strings are Hermitian)")

    def __add__(self, other: PauliSum) -> PauliSum:
        if other.n_sites != self.n_sites:
            raise _checks.ArgumentError(
                "other", f"cannot add PauliSums on {self.n_sites} and {other.n_sites} sites"
            )
        xp = _checks.array_module(self.coeffs, other.coeffs)
        coeffs = xp.concatenate([self.coeffs, other.coeffs], axis=-1)
        return PauliSum(self.n_sites, self.terms + other.terms, coeffs)

    @property
    def dimension(self) -> int:
        return 2**self.n_sites

    @property
    def is_real(self) -> bool:
        """True when every term has an even number of Y's, so the matrix is real."""
        return bool(np.all(pauli_masks(self.n_sites, self.terms).y_count % 2 == 0))


def pauli_sum(n_sites: int, weighted_terms: list[tuple[Term, object]]) -> PauliSum:
    """Build a PauliSum from (term, coefficient) pairs, dropping concrete zeros.

    A coefficient that is a concrete 0 (a Python or NumPy number, or a JAX array
    outside any transformation) cannot be differentiated or batched, so its term
    is dropped: a chain with D = 0 then stays real and cheap. A traced 0 (inside
    `grad`, `vmap` or `jit`) keeps its term, so derivatives at D = 0 are exact.
    """
    kept = [(term, c) for term, c in weighted_terms if not _checks.is_concrete_zero(c)]
    if not kept:
        return PauliSum(n_sites, (), np.zeros((0,), jnp.result_type(float)))
    terms = tuple(term for term, _ in kept)
    xp = _checks.array_module([c for _, c in kept])
    coeffs = xp.stack([xp.asarray(c) for _, c in kept], axis=-1)
    if not jnp.issubdtype(coeffs.dtype, jnp.floating):
        coeffs = coeffs.astype(jnp.result_type(float))
    return PauliSum(n_sites, terms, coeffs)


def complex_dtype(*dtypes) -> np.dtype:
    """The complex dtype matching the widest of `dtypes` (explicit, so strict promotion holds)."""
    wide = any(np.finfo(dtype).bits >= 64 for dtype in dtypes)
    return np.dtype(np.complex128 if wide else np.complex64)


class PauliMasks(NamedTuple):
    """How each term acts on a basis state s: P_k |s> = i^{y_count} (-1)^{|s & zmask|} |s ^ flip>."""

    flip: np.ndarray  # (K,) bits flipped by the term (its X and Y sites)
    zmask: np.ndarray  # (K,) bits whose values set the sign (its Z and Y sites), from Y = i X Z
    y_count: np.ndarray  # (K,) number of Y factors


@functools.lru_cache(maxsize=256)
def pauli_masks(n_sites: int, terms: tuple[Term, ...]) -> PauliMasks:
    """O(K) structural data; never touches the 2^N basis."""
    flips, zmasks, y_counts = [], [], []
    for term in terms:
        flip = zmask = 0
        for site, letter in term:
            bit = 1 << (n_sites - 1 - site)
            flip |= bit if letter in "XY" else 0
            zmask |= bit if letter in "ZY" else 0
        flips.append(flip)
        zmasks.append(zmask)
        y_counts.append(sum(letter == "Y" for _, letter in term))
    return PauliMasks(np.array(flips, np.int64), np.array(zmasks, np.int64), np.array(y_counts, np.int64))


def _basis_states(h: PauliSum):
    """The basis indices 0..2^N - 1, as an iota inside programs (never a 2^N constant: XLA
    would embed it and fold whatever is computed from it, in time that grows with 2^N)."""
    return jnp.arange(h.dimension, dtype=jnp.int64 if h.n_sites >= 31 else jnp.int32)


def _sign_table(h: PauliSum, states) -> Array:
    """(K, len(states)): i^{y_count} (-1)^{|s & zmask|} for every term and source state s, from
    the index bits (real +-1 when every y_count is even, complex otherwise)."""
    masks = pauli_masks(h.n_sites, h.terms)
    zmask = jnp.asarray(masks.zmask, states.dtype)
    parity = jax.lax.population_count(states[None, :] & zmask[:, None]) & 1
    sign = 1 - 2 * parity
    if np.all(masks.y_count % 2 == 0):
        return sign * jnp.asarray(1 - (masks.y_count % 4), sign.dtype)[:, None]  # i^0 = 1, i^2 = -1
    phase = jnp.asarray(1j ** (masks.y_count % 4), complex_dtype(h.coeffs.dtype))
    return sign.astype(phase.dtype) * phase[:, None]


def _signed_values(h: PauliSum, states) -> Array:
    """(K, len(states)) matrix elements of c_k P_k leaving each basis state s."""
    signs = _sign_table(h, states)
    dtype = h.coeffs.dtype if h.is_real else complex_dtype(h.coeffs.dtype)
    return h.coeffs.astype(dtype)[:, None] * signs.astype(dtype)


def _targets(h: PauliSum, states) -> Array:
    """(K, len(states)): term k sends basis state s to s XOR flip_k."""
    flips = jnp.asarray(pauli_masks(h.n_sites, h.terms).flip, states.dtype)
    return states[None, :] ^ flips[:, None]


def dense(h: PauliSum) -> Array:
    """The (2^N, 2^N) matrix of H; real dtype when no term has an odd number of Y's.

    Built by one scatter-add: term k sends basis state s to s XOR flip_k.
    """
    d = h.dimension
    states = _basis_states(h)
    values = _signed_values(h, states)
    rows = _targets(h, states)
    cols = jnp.broadcast_to(states, rows.shape)
    return jnp.zeros((d, d), values.dtype).at[rows, cols].add(values)


def sparse(h: PauliSum):
    """H as a SciPy CSR matrix (NumPy only: no compilation); concrete coefficients."""
    from scipy.sparse import csr_matrix

    masks = pauli_masks(h.n_sites, h.terms)
    states = np.arange(h.dimension, dtype=np.int64)
    rows = states[None, :] ^ masks.flip[:, None]
    parity = np.bitwise_count(states[None, :] & masks.zmask[:, None]) & 1
    signs = (1.0 - 2.0 * parity) * (1j ** (masks.y_count % 4))[:, None]
    values = np.asarray(h.coeffs)[:, None] * (signs.real if np.all(masks.y_count % 2 == 0) else signs)
    cols = np.broadcast_to(states, rows.shape)
    return csr_matrix((values.ravel(), (rows.ravel(), cols.ravel())), shape=(h.dimension, h.dimension))


def apply(h: PauliSum, psi: Complex[Array, " d"]) -> Complex[Array, " d"]:
    """H @ psi without forming the matrix (cost K * 2^N)."""
    # (P_k psi)[t] = value_k(t ^ flip_k) psi[t ^ flip_k]
    source = _targets(h, _basis_states(h))
    values = _signed_values(h, _basis_states(h))
    dtype = complex_dtype(values.dtype, psi.dtype)
    values, psi = values.astype(dtype), psi.astype(dtype)
    gathered = jnp.take_along_axis(values, source, axis=1) * psi[source]
    return jnp.sum(gathered, axis=0)


def expectation(h: PauliSum, psi: Complex[Array, " d"]) -> Float[Array, ""]:
    """<psi|H|psi> for a state vector (real, since H is Hermitian)."""
    return jnp.real(vdot(psi, apply(h, psi)))


def norm_bound(h: PauliSum) -> Float[Array, ""]:
    """sum_k |c_k| >= ||H||: every Pauli string has unit operator norm."""
    xp = _checks.array_module(h.coeffs)
    return xp.sum(xp.abs(h.coeffs), axis=-1)


def is_diagonal(h: PauliSum) -> bool:
    """True when every term is a product of sigma^z's (H is diagonal in the basis)."""
    return bool(np.all(pauli_masks(h.n_sites, h.terms).flip == 0))


def diagonal(h: PauliSum) -> Float[Array, " d"]:
    """The diagonal of a diagonal (Z-only) Hamiltonian, without forming the matrix."""
    if not is_diagonal(h):
        raise _checks.ArgumentError("h", "diagonal() needs a Hamiltonian made of sigma^z terms only")
    return jnp.sum(_signed_values(h, _basis_states(h)), axis=0)
