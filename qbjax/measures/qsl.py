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

import numpy as np

from ..operators.terms import PauliSum, sparse

# Above this many spins the sparse matrix (terms x 2^N entries) gives way to Chebyshev steps.
SPARSE_SITES = 16


def power_bound(work, spread, overlap) -> float:
    """P_QSL = W Delta E_T / L from the work, the time-averaged spread and |<psi_0|psi_T>|;
    infinite when the state has not moved (L = 0)."""
    angle = float(np.arccos(np.clip(overlap, 0.0, 1.0)))
    return float(work) * float(spread) / angle if angle > 0 else float("inf")


def spread(matrix_apply, psi) -> float:
    """Delta E = sqrt(<H^2> - <H>^2) of a state, given psi -> H psi."""
    h_psi = matrix_apply(psi)
    mean = float(np.real(np.vdot(psi, h_psi)))
    return float(np.sqrt(max(float(np.real(np.vdot(h_psi, h_psi))) - mean**2, 0.0)))


def constant_drive_bound(charging: PauliSum, psi0, t: float, work: float) -> float:
    """P_QSL of charging with the constant Hamiltonian `charging` for a time t from psi0."""
    psi0 = np.asarray(psi0, dtype=complex)
    if charging.n_sites <= SPARSE_SITES:
        from scipy.sparse.linalg import expm_multiply

        matrix = sparse(charging)
        psi_t = expm_multiply(-1j * t * matrix, psi0)
        return power_bound(work, spread(matrix.dot, psi0), abs(np.vdot(psi0, psi_t)))
    import jax.numpy as jnp

    from ..kernels.chebyshev import evolve_chebyshev
    from ..operators.matfree import matfree

    psi_t = np.asarray(evolve_chebyshev(charging, jnp.asarray(psi0), [t], tol=1e-10).states[0])
    op = matfree(charging)
    spread_0 = spread(lambda v: np.asarray(op(jnp.asarray(v))), psi0)
    return power_bound(work, spread_0, abs(np.vdot(psi0, psi_t)))


def reduced_bound(matrix: np.ndarray, psi0: np.ndarray, t: float, work: float) -> float:
    """P_QSL in a small invariant subspace (the symmetric engine's Dicke states)."""
    evals, evecs = np.linalg.eigh(matrix)
    amplitudes = evecs.conj().T @ psi0
    overlap = abs(np.sum(np.abs(amplitudes) ** 2 * np.exp(-1j * evals * t)))
    return power_bound(work, spread(matrix.dot, psi0), overlap)


def charge_bound(model, method: str, t: float, work: float) -> float | None:
    """P_QSL of a `charge` run at time t (T*), for the engine `method` that ran it; None for
    the mean-field chain (no quantum state)."""
    from ..models.chain import as_battery

    if method == "meanfield":
        return None
    if method == "symmetric":
        from ..models.symmetric import symmetric_battery

        reduced = symmetric_battery(model)
        matrix = np.asarray(reduced.charging_matrix())
        return reduced_bound(matrix, np.asarray(reduced.initial_state(), dtype=complex), t, work)
    battery = as_battery(model)
    return constant_drive_bound(battery.charging, battery.initial_state(), t, work)
