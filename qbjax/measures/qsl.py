"""The quantum speed limit on charging power (Campaioli et al., PRL 118, 150601, 2017).

Mandelstam-Tamm: a state cannot move a Bures angle L(rho_0, rho_T) faster than its energy
spread allows, T >= L / Delta E_T, with Delta E_T the time average of the spread
sqrt(<H^2> - <H>^2) of the charging Hamiltonian along the evolution. Hence

    P = W / T <= P_QSL = W Delta E_T / L,        L = arccos |<psi_0|psi_T>|   (pure states)

For a constant charging Hamiltonian the spread is conserved, Delta E_T = Delta E(psi_0); a
piecewise-constant drive conserves it on each segment. PHYSICS.md section 5: one spin at
omega = 4B with the field kept charges at P = 5.6238 against P_QSL = 5.7769.
"""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
from jaxtyping import Array

from ..kernels.chebyshev import evolve_chebyshev
from ..operators.matfree import matfree
from ..operators.terms import PauliSum, sparse

# Above this many spins the sparse matrix (terms x 2^N entries) gives way to Chebyshev steps.
SPARSE_SITES = 16


def power_bound(work, spread, overlap) -> float:
    """P_QSL = W Delta E_T / L from the work, the time-averaged spread and |<psi_0|psi_T>|;
    infinite when the state has not moved (L = 0)."""
    angle = float(np.arccos(np.clip(overlap, 0.0, 1.0)))
    return float(work) * float(spread) / angle if angle > 0 else float("inf")


def spread(apply, psi) -> Array:
    """Delta E = sqrt(<H^2> - <H>^2) of a normalised state, given psi -> H psi (traceable)."""
    h_psi = apply(psi)
    mean = jnp.real(jnp.vdot(psi, h_psi))
    return jnp.sqrt(jnp.maximum(jnp.real(jnp.vdot(h_psi, h_psi)) - mean**2, 0.0))


def constant_drive_bound(charging: PauliSum, psi0, t: float, work: float) -> float:
    """P_QSL of charging with the constant Hamiltonian `charging` for a time t from psi0."""
    psi0 = np.asarray(psi0, dtype=complex)
    if charging.n_sites <= SPARSE_SITES:
        from scipy.sparse.linalg import expm_multiply

        matrix = sparse(charging)
        psi_t = expm_multiply(-1j * t * matrix, psi0)
        return power_bound(work, spread(matrix.dot, psi0), abs(np.vdot(psi0, psi_t)))
    psi_t = np.asarray(evolve_chebyshev(charging, jnp.asarray(psi0), [t], tol=1e-10).states[0])
    op = matfree(charging)
    spread_0 = spread(lambda v: np.asarray(op(jnp.asarray(v))), psi0)
    return power_bound(work, spread_0, abs(np.vdot(psi0, psi_t)))
