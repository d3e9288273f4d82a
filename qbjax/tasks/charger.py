"""Two-qubit battery-charger model and the time series of its quantum resources (PHYSICS.md 3).

    H = -omega_b sz_b - omega_c sz_c + J1 (s+_b s-_c + s-_b s+_c) + J2 sz_b sz_c
      = -omega_b Z_b - omega_c Z_c + (J1/2)(X_b X_c + Y_b Y_c) + J2 Z_b Z_c,

site 0 = battery b, site 1 = charger c (QuTiP order). With omega > 0 the ground state of each
qubit is sz = +1, i.e. |up> = basis bit 0, so |g_b e_c> = |up, down> is basis vector 1.

The state evolves unitarily, rho(t) = U(t) rho0 U(t)^+, U(t) = exp(-iHt). Along the way,
on the battery's reduced state rho_b = ptrace(rho_bc, 0):
    capacity            C(rho_b, H_b), H_b = -omega_b sz_b
    ergotropy (+ coherent/incoherent parts) under H_b, entropy S(rho_b)
    texture             (1/2) || rho_b - |f><f| ||_1, |f> = (|0> + |1>)/sqrt 2
    texture_grand_sum   -ln <f|rho_b|f>
and on the pair rho_bc:
    residual_capacity   C(rho_bc, H) - C(rho_b, H_b) - C(rho_c, H_c)
    texture_pair        (1/2) || rho_bc - |f><f| ||_1, |f> = (1/2) sum_i |i>
    mutual information, concurrence, negativity, l1 coherence, imaginarity, steering, Bell
    and first-order coherence (see `qbjax.resources`).
From |g_b e_c> the state stays a|ge> + b|eg>: texture_pair = sqrt(1 - |a + b|^2 / 4) is constant
at resonance (omega_b = omega_c), so the texture that follows the capacity is that of rho_b
(PHYSICS.md section 3): rho_b is diagonal, texture = sqrt(1/4 + (C/(4 omega_b))^2) and
texture_grand_sum = ln 2 (constant).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Complex, Float

from .. import _checks
from ..kernels.dense import evolve
from ..measures import passivity, resources
from ..operators.terms import PauliSum, complex_dtype, dense, norm_bound, pauli_sum

# name -> (battery, charger) single-qubit state, g = |up>, e = |down>, p = (g + e)/sqrt 2
_QUBIT = {"g": (1.0, 0.0), "e": (0.0, 1.0), "p": (2**-0.5, 2**-0.5)}
INITIAL_STATES = ("ge", "eg", "gg", "ee", "pe", "pg", "ep", "bell")

# Keys of `resource_series` / `two_qubit_resources`, in display order.
MEASURES = (
    "capacity",
    "residual_capacity",
    "ergotropy",
    "coherent_ergotropy",
    "incoherent_ergotropy",
    "concurrence",
    "negativity",
    "entropy",
    "mutual_information",
    "l1_coherence",
    "imaginarity",
    "texture",
    "texture_grand_sum",
    "texture_pair",
    "steering",
    "steering_normalized",
    "bell",
    "bell_normalized",
    "first_order_coherence",
)


def charger_hamiltonian(omega_b=1.0, omega_c=1.0, j1=1.0, j2=0.0) -> PauliSum:
    """H of the battery (site 0) and charger (site 1); every number may be traced."""
    for name, value in (("omega_b", omega_b), ("omega_c", omega_c), ("j1", j1), ("j2", j2)):
        _checks.magnitude(name, value)
    dtype = jnp.result_type(omega_b, omega_c, j1, j2, float)
    omega_b, omega_c, j1, j2 = (jnp.asarray(x, dtype) for x in (omega_b, omega_c, j1, j2))
    return pauli_sum(
        2,
        [
            (((0, "Z"),), -omega_b),
            (((1, "Z"),), -omega_c),
            (((0, "X"), (1, "X")), j1 / 2),
            (((0, "Y"), (1, "Y")), j1 / 2),
            (((0, "Z"), (1, "Z")), j2),
        ],
    )


def local_hamiltonians(omega_b=1.0, omega_c=1.0) -> tuple[Array, Array]:
    """(H_b, H_c) = (-omega_b sz, -omega_c sz) as 2 x 2 matrices."""
    sz = jnp.diag(jnp.asarray([1.0, -1.0]))
    return -jnp.asarray(omega_b) * sz, -jnp.asarray(omega_c) * sz


def initial_state(initial: str | object = "ge") -> Complex[Array, ...]:
    """A named two-qubit state (battery first) or a given vector (4,) / density matrix (4, 4).

    Names: two letters from g (ground, sz = +1), e (excited), p ((g + e)/sqrt 2) for battery
    then charger, e.g. "ge" = |g_b e_c>; or "bell" = (|ge> + |eg>)/sqrt 2.
    """
    if isinstance(initial, str):
        _checks.one_of("initial", initial, INITIAL_STATES)
        if initial == "bell":
            return jnp.asarray([0.0, 1.0, 1.0, 0.0], dtype=complex) / np.sqrt(2.0)
        return jnp.kron(
            jnp.asarray(_QUBIT[initial[0]], dtype=complex), jnp.asarray(_QUBIT[initial[1]], dtype=complex)
        )
    resources.check_state("initial", initial, 4, " (a two-qubit state)")
    return jnp.asarray(initial)


def two_qubit_resources(rho, h, h_b, h_c) -> dict[str, Float[Array, ""]]:
    """Every measure of MEASURES at one two-qubit state `rho` (battery = qubit 0).

    Capacity, ergotropy, entropy, texture and texture_grand_sum are of rho_b = ptrace(rho, 0);
    texture_pair and the correlation measures are of rho itself.

    Args:
        rho: density matrix (4, 4) or state vector (4,).
        h: Hamiltonian of the pair (for the residual capacity); h_b, h_c: local 2 x 2 ones.
    """
    rho = resources.density_matrix(rho, "rho", 4, " (a two-qubit state)")
    rho_b = resources.ptrace(rho, 0)
    return {
        "capacity": passivity.capacity(rho_b, h_b),
        "residual_capacity": passivity.residual_capacity(rho, h_b, h_c, h),
        "ergotropy": passivity.ergotropy(rho_b, h_b),
        "coherent_ergotropy": passivity.coherent_ergotropy(rho_b, h_b),
        "incoherent_ergotropy": passivity.incoherent_ergotropy(rho_b, h_b),
        "concurrence": resources.concurrence(rho),
        "negativity": resources.negativity(rho),
        "entropy": resources.entropy(rho_b),
        "mutual_information": resources.mutual_information(rho),
        "l1_coherence": resources.l1_coherence(rho),
        "imaginarity": resources.imaginarity(rho),
        "texture": resources.texture(rho_b),
        "texture_grand_sum": resources.texture_grand_sum(rho_b),
        "texture_pair": resources.texture(rho),
        "steering": resources.steering(rho),
        "steering_normalized": resources.steering_normalized(rho),
        "bell": resources.bell(rho),
        "bell_normalized": resources.bell_normalized(rho),
        "first_order_coherence": resources.first_order_coherence(rho),
    }


def evolve_density(h: PauliSum, rho0, times: Float[Array, " T"]) -> Complex[Array, "T d d"]:
    """rho(t) = U rho0 U^+ at each time; a vector rho0 is evolved as a vector, then squared.

    Uses the spectral propagator `qbjax.evolve` (degenerate-safe derivative).
    """
    rho0 = jnp.asarray(rho0)
    dtype = complex_dtype(rho0.dtype if jnp.issubdtype(rho0.dtype, jnp.inexact) else np.float64, times.dtype)
    rho0 = rho0.astype(dtype)
    if rho0.ndim == 1:
        psi = evolve(h, rho0, times)
        return jnp.einsum("ti,tj->tij", psi, psi.conj())
    d = rho0.shape[0]
    # columns of U(t): evolve each basis vector
    u = jax.vmap(lambda e: evolve(h, e, times), out_axes=2)(jnp.eye(d, dtype=dtype))  # (T, d, d)
    return u @ rho0 @ jnp.swapaxes(u.conj(), 1, 2)


def resource_series(
    times, *, omega_b=1.0, omega_c=1.0, j1=1.0, j2=0.0, initial="ge"
) -> dict[str, Float[Array, " T"]]:
    """Time series of every measure in MEASURES for the battery-charger pair.

    Args:
        times: 1-D array of times >= 0.
        omega_b, omega_c, j1, j2: model parameters (may be traced: the result is
            differentiable in them).
        initial: a name from INITIAL_STATES or a state vector / density matrix of dimension 4.

    Returns:
        {"times": (T,), measure: (T,) for each of MEASURES}.
    """
    _checks.time_grid("times", times)
    for name, value in (("omega_b", omega_b), ("omega_c", omega_c), ("j1", j1), ("j2", j2)):
        _checks.magnitude(name, value)
    if not _checks.is_traced((times, omega_b, omega_c, j1, j2)):
        norm = float(norm_bound(charger_hamiltonian(omega_b, omega_c, j1, j2)))
        _checks.charging_phase("times", float(np.max(np.asarray(times))), norm)
    rho0 = initial_state(initial)
    times = jnp.asarray(times, dtype=jnp.result_type(float))
    return _series(times, jnp.asarray(rho0), omega_b, omega_c, j1, j2)


@jax.jit
def _series(times, rho0, omega_b, omega_c, j1, j2):
    h = charger_hamiltonian(omega_b, omega_c, j1, j2)
    h_b, h_c = local_hamiltonians(omega_b, omega_c)
    states = evolve_density(h, rho0, times)
    h_matrix = dense(h)
    series = jax.vmap(lambda rho: two_qubit_resources(rho, h_matrix, h_b, h_c))(states)
    return {"times": times, **series}
