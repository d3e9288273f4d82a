"""Independent reference operators for tests: Pauli strings as SciPy sparse Kronecker products.

Written from the formulas of PHYSICS.md, never through qbjax, so that a sign or ordering
error in qbjax shows up as a disagreement. Site 0 is the leftmost factor.
"""

import functools

import numpy as np
import scipy.sparse as sp

PAULI = {
    "X": sp.csr_matrix(np.array([[0, 1], [1, 0]], dtype=complex)),
    "Y": sp.csr_matrix(np.array([[0, -1j], [1j, 0]])),
    "Z": sp.csr_matrix(np.array([[1, 0], [0, -1]], dtype=complex)),
}


def pauli_string(n, term):
    """Sparse 2^n x 2^n matrix of the product of (site, letter) Paulis in `term`."""
    factors = [sp.identity(2, dtype=complex, format="csr") for _ in range(n)]
    for site, letter in term:
        factors[site] = PAULI[letter]
    return functools.reduce(lambda a, b: sp.kron(a, b, format="csr"), factors)


def xxz_dm_chain(n, g, alpha, dm, field, omega):
    """(H_charge, H0) of the nearest-neighbour chain in the "replace" protocol."""
    h_int = sp.csr_matrix((2**n, 2**n), dtype=complex)
    for i in range(n - 1):
        j = i + 1
        h_int = h_int - g * (
            pauli_string(n, ((i, "Z"), (j, "Z")))
            + alpha * (pauli_string(n, ((i, "X"), (j, "X"))) + pauli_string(n, ((i, "Y"), (j, "Y"))))
            + dm * (pauli_string(n, ((i, "X"), (j, "Y"))) - pauli_string(n, ((i, "Y"), (j, "X"))))
        )
    h_field = sum(field * pauli_string(n, ((i, "Z"),)) for i in range(n))
    drive = sum(omega * pauli_string(n, ((i, "X"),)) for i in range(n))
    return h_int + drive, h_field + h_int
