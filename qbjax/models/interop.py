"""Conversion to and from QuTiP (optional: QuTiP is imported only inside these functions).

    to_qutip(PauliSum)        -> operator Qobj, dims [[2]*N, [2]*N] (sparse CSR data)
    to_qutip(state vector)    -> ket Qobj, dims [[2]*N, [1]*N] (QuTiP 5 shows [[2]*N, [1]])
    to_qutip(density matrix)  -> operator Qobj, dims [[2]*N, [2]*N]
    to_qutip(Battery)         -> QutipBattery(energy, charging, initial) (a SpinChain too)
    from_qutip(operator)      -> PauliSum, by Pauli decomposition (Hermitian, N <= 10 qubits)
    from_qutip(ket)           -> complex128 NumPy state vector

Both sides use the same basis: site 0 is the leftmost tensor factor (the most significant
bit of the basis index) and `qutip.basis(2, 0)` is |up> (sigma^z = +1).

The Pauli decomposition c_P = Tr(P H) / 2^N of all 4^N strings P is a transform applied one
site at a time: H, reshaped to one (row bit, column bit) axis of length 4 per site, is
contracted on each axis with the 4 x 4 map from a 2 x 2 block to its (I, X, Y, Z)
coefficients. That costs O(N 4^N) operations and 4^N numbers of memory, milliseconds up to
N = 8. What costs more is a dense operator's PauliSum itself, one static term per string:
about 1 s for the 65536 strings at N = 8, about 20 s for the 10^6 at N = 10. Physical
Hamiltonians (a few terms per site or bond) stay fast. N > 10 is refused.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .. import _checks
from ..operators.terms import PauliSum
from .chain import Battery, SpinChain

MAX_DECOMPOSE_SITES = 10

# (I, X, Y, Z)[p] as 2 x 2 matrices
_PAULI_MATRICES = np.array(
    [[[1, 0], [0, 1]], [[0, 1], [1, 0]], [[0, -1j], [1j, 0]], [[1, 0], [0, -1]]], dtype=np.complex128
)
# c_p = Tr(P_p M) / 2 = sum_{r,c} P_p[c, r] M[r, c] / 2: one row per letter, one column per 2r + c
_DECOMPOSE = np.transpose(_PAULI_MATRICES, (0, 2, 1)).reshape(4, 4) / 2
_LETTERS = "IXYZ"


class QutipBattery(NamedTuple):
    """A battery in QuTiP: the energy H0 and the charging Hamiltonian as operators, the initial ket."""

    energy: object
    charging: object
    initial: object


def _qutip():
    try:
        import qutip
    except ImportError as error:
        raise ImportError(
            "qbjax.to_qutip and qbjax.from_qutip need QuTiP, which is not installed: pip install qutip"
        ) from error
    return qutip


def to_qutip(x):
    """A qbjax object as a `qutip.Qobj` (site 0 the leftmost tensor factor).

    Args:
        x: a `PauliSum` (-> Hermitian operator), a state vector of dimension 2^N (-> ket),
            a 2^N x 2^N matrix such as a density matrix (-> operator), or a `Battery` /
            `SpinChain` (-> `QutipBattery` of the energy, the charging Hamiltonian and the
            initial state as a ket). NumPy or concrete JAX arrays; not traced values.
    """
    qutip = _qutip()
    if isinstance(x, SpinChain):
        x = x.battery()
    if isinstance(x, Battery):
        return QutipBattery(to_qutip(x.energy), to_qutip(x.charging), to_qutip(x.initial_state()))
    if _checks.is_traced(x):
        raise _checks.ArgumentError("x", "must be concrete: to_qutip cannot run inside jit, vmap or grad")
    if isinstance(x, PauliSum):
        n = x.n_sites
        return qutip.Qobj(_sparse_matrix(x), dims=[[2] * n, [2] * n], isherm=True)
    if not hasattr(x, "shape"):
        raise _checks.ArgumentError(
            "x", f"must be a PauliSum, a Battery, a state vector or a matrix, got {type(x).__name__}"
        )
    array = np.asarray(x)
    if not np.issubdtype(array.dtype, np.number):
        raise _checks.ArgumentError("x", f"must hold numbers, got dtype {array.dtype}")
    array = array.astype(np.complex128)
    if array.ndim == 2 and array.shape[1] == 1:
        array = array[:, 0]
    if array.ndim == 1:
        n = _qubits("x", array.shape[0], f"a state vector of dimension {array.shape[0]}")
        return qutip.Qobj(array[:, None], dims=[[2] * n, [1] * n])
    if array.ndim == 2 and array.shape[0] == array.shape[1]:
        n = _qubits("x", array.shape[0], f"a {array.shape[0]} x {array.shape[0]} matrix")
        return qutip.Qobj(array, dims=[[2] * n, [2] * n])
    raise _checks.ArgumentError(
        "x", f"must be a state vector (2^N,) or a square matrix (2^N, 2^N), got shape {array.shape}"
    )


def from_qutip(qobj, tol: float = 1e-12):
    """A `qutip.Qobj` on N qubits as qbjax data.

    Args:
        qobj: a Hermitian operator with dims [[2]*N, [2]*N], N <= 10 (-> `PauliSum`), or a
            ket with dims [[2]*N, [1]*N] (-> complex128 NumPy state vector of size 2^N).
        tol: Pauli coefficients with |c| < tol * max|c| are dropped (operators only).

    The PauliSum holds one term per Pauli string with a coefficient left, sites ascending
    within a term. A multiple of the identity (for example the trace part of a density
    matrix) is kept as the empty term `()`.
    """
    qutip = _qutip()
    if not isinstance(qobj, qutip.Qobj):
        raise _checks.ArgumentError("qobj", f"must be a qutip.Qobj, got {type(qobj).__name__}")
    _checks.finite("tol", tol)
    if tol < 0:
        raise _checks.ArgumentError("tol", f"must be >= 0, got {tol!r}")
    dims = qobj.dims
    if qobj.isket:
        if not dims[0] or any(d != 2 for d in dims[0]) or any(d != 1 for d in dims[1]):
            raise _checks.ArgumentError("qobj", f"must be a ket on qubits, dims [[2]*N, [1]*N]; got {dims}")
        return np.asarray(qobj.full(), dtype=np.complex128)[:, 0]
    if not qobj.isoper:
        raise _checks.ArgumentError("qobj", f"must be an operator or a ket, got a {qobj.type}")
    n = len(dims[0])
    if not dims[0] or dims[0] != dims[1] or any(d != 2 for d in dims[0]):
        raise _checks.ArgumentError(
            "qobj",
            f"must act on qubits, dims [[2]*N, [2]*N]; got {dims} "
            "(give a plain 2^N matrix its qubit dims: qutip.Qobj(matrix, dims=[[2] * N, [2] * N]))",
        )
    if n > MAX_DECOMPOSE_SITES:
        raise _checks.ArgumentError(
            "qobj",
            f"acts on {n} qubits; the Pauli decomposition is limited to N <= {MAX_DECOMPOSE_SITES} "
            "(4^N strings of a dense 2^N x 2^N matrix)",
        )
    matrix = np.asarray(qobj.full(), dtype=np.complex128)
    if not np.all(np.isfinite(matrix)):
        raise _checks.ArgumentError("qobj", "must have finite matrix elements")
    scale = float(np.max(np.abs(matrix), initial=0.0))
    asymmetry = float(np.max(np.abs(matrix - matrix.conj().T), initial=0.0))
    if asymmetry > 1e-10 * scale:
        raise _checks.ArgumentError(
            "qobj", f"must be Hermitian: max |H - H^dagger| = {asymmetry:.3g} (max |H| = {scale:.3g})"
        )
    return _decompose(n, matrix, tol)


def _qubits(name: str, dimension: int, what: str) -> int:
    """N with 2^N == dimension, or an ArgumentError."""
    if dimension < 2 or dimension & (dimension - 1):
        raise _checks.ArgumentError(name, f"must have dimension 2^N for N qubits, got {what}")
    return dimension.bit_length() - 1


def _parity(values: np.ndarray) -> np.ndarray:
    """Popcount(values) mod 2, elementwise (non-negative integers)."""
    if hasattr(np, "bitwise_count"):  # NumPy >= 2.0
        return np.bitwise_count(values) & 1
    parity = np.zeros_like(values)
    while np.any(values):
        parity ^= values & 1
        values = values >> 1
    return parity


def _sparse_matrix(h: PauliSum):
    """H as a scipy CSR matrix in O(K 2^N) work and O(nnz) memory.

    Term k maps basis state s to s ^ flip_k with the factor i^{y_k} (-1)^{|s & zmask_k|}.
    Terms that flip the same bits share one such "permuted diagonal" of H: they are summed
    there (sorted by flip, in chunks of terms), and each distinct flip adds 2^N entries.
    """
    import scipy.sparse

    from ..operators.terms import pauli_masks

    coeffs = np.asarray(h.coeffs)
    if coeffs.ndim != 1:
        raise _checks.ArgumentError("x", f"must be one PauliSum, not a batch: coeffs shape {coeffs.shape}")
    d = h.dimension
    masks = pauli_masks(h.n_sites, h.terms)
    order = np.argsort(masks.flip, kind="stable")
    flips, group = np.unique(masks.flip[order], return_inverse=True)
    zmasks = masks.zmask[order]
    weights = coeffs.astype(np.float64)[order] * 1j ** (masks.y_count[order] % 4)
    states = np.arange(d, dtype=np.int64)
    diagonals = np.zeros((len(flips), d), np.complex128)
    chunk = max(1, 2**20 // d)
    for start in range(0, len(order), chunk):
        part = slice(start, start + chunk)
        values = weights[part, None] * (1.0 - 2.0 * _parity(states[None, :] & zmasks[part, None]))
        groups = group[part]
        firsts = np.flatnonzero(np.r_[True, groups[1:] != groups[:-1]])
        diagonals[groups[firsts]] += np.add.reduceat(values, firsts, axis=0)
    rows = states[None, :] ^ flips[:, None]
    cols = np.broadcast_to(states, rows.shape)
    matrix = scipy.sparse.csr_matrix((diagonals.ravel(), (rows.ravel(), cols.ravel())), shape=(d, d))
    matrix.eliminate_zeros()
    return matrix


def _decompose(n: int, matrix: np.ndarray, tol: float) -> PauliSum:
    """Pauli coefficients Tr(P H) / 2^N of a Hermitian 2^N x 2^N matrix, one site at a time."""
    # axes (r_0..r_{N-1}, c_0..c_{N-1}) -> (r_0, c_0, r_1, c_1, ...) -> one axis 2 r_i + c_i per site
    tensor = matrix.reshape((2,) * (2 * n))
    tensor = tensor.transpose([axis for site in range(n) for axis in (site, n + site)]).reshape((4,) * n)
    for site in range(n):
        tensor = np.moveaxis(np.tensordot(_DECOMPOSE, tensor, axes=([1], [site])), 0, site)
    coeffs = tensor.real.ravel()  # real for a Hermitian matrix (up to rounding)
    largest = float(np.max(np.abs(coeffs), initial=0.0))
    kept = np.flatnonzero((np.abs(coeffs) >= tol * largest) & (coeffs != 0))
    letters = np.stack(np.unravel_index(kept, (4,) * n), axis=-1)
    terms = tuple(tuple((site, _LETTERS[p]) for site, p in enumerate(row.tolist()) if p) for row in letters)
    return PauliSum(n, terms, coeffs[kept].astype(np.float64))
