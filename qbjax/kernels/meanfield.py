"""Mean-field (classical) spin chain: Le et al. 2018, eqs. 20-21 (PHYSICS.md section 1).

Every Pauli operator sigma^a of spin m in H is replaced by the component S_m^a of a unit
(Bloch) vector, which turns any `PauliSum` into a classical energy

    H_C(S) = sum_k c_k prod_{(m, a) in term k} S_m^a

(each term acts on distinct sites, so this is the expectation value of H in the product state
with Bloch vectors S_m). The vectors precess in the field their neighbours make,

    dS_m/dt = 2 (dH_C/dS_m) x S_m,        S_m(0) = Bloch vector of site m's initial state,

integrated with diffrax (Dopri8, rtol = atol = 1e-12 by default). W(t) = H0_C(S(t)) - H0_C(S(0)).
Any coupling graph, alpha, DM vector and protocol works, since H_C comes from the same terms
as the quantum model. The ODE conserves |S_m| and H_charge_C.
"""

from __future__ import annotations

import math

import diffrax
import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Complex, Float

from .. import _checks
from ..operators.terms import PAULI_LETTERS, PauliSum

RTOL = 1e-12
MAX_STEPS = 2**20  # the dense output keeps every step: 2^20 steps of N spins in memory
ATOL = 1e-12


def classical_energy(h: PauliSum, spins: Float[Array, "N 3"]) -> Float[Array, ""]:
    """H_C(S) = sum_k c_k prod S_m^a: the energy of the product state with Bloch vectors `spins`."""
    width = max((len(term) for term in h.terms), default=1)
    return classical_hamiltonian(h, h.n_sites, len(h.terms), width).energy(spins)


def bloch_vectors(amplitudes: Complex[Array, "N 2"]) -> Float[Array, "N 3"]:
    """Bloch vectors of product-state amplitudes (row i: amplitude of up, of down)."""
    up, down = amplitudes[:, 0], amplitudes[:, 1]
    cross = jnp.conj(up) * down
    pop = jnp.abs(up) ** 2 - jnp.abs(down) ** 2
    return jnp.stack([2 * jnp.real(cross), 2 * jnp.imag(cross), pop], axis=-1)


class ClassicalH(eqx.Module):
    """H_C as traced data: factor indices (K, L) into [S.ravel(), 1] and coefficients (K,).

    Unlike `PauliSum` the structure is an array, so one compiled solver serves every chain
    whose padded shapes agree (padding: extra spins with no terms, terms with c = 0).
    """

    index: Array
    coeffs: Array

    def energy(self, spins):
        flat = jnp.concatenate([spins.ravel(), jnp.ones((1,), spins.dtype)])
        return jnp.sum(self.coeffs * jnp.prod(flat[self.index], axis=-1))


def bucket(n: int) -> int:
    return 1 << max(0, (n - 1).bit_length())


def classical_hamiltonian(h: PauliSum, n_padded: int, k_padded: int, width: int) -> ClassicalH:
    index = np.full((k_padded, width), 3 * n_padded, dtype=np.int64)
    for k, term in enumerate(h.terms):
        for position, (site, letter) in enumerate(term):
            index[k, position] = 3 * site + PAULI_LETTERS.index(letter)
    coeffs = jnp.zeros(k_padded, jnp.result_type(float)).at[: len(h.terms)].set(h.coeffs)
    return ClassicalH(jnp.asarray(index), coeffs)


def vector_field(t, spins, h: ClassicalH):
    del t
    return 2.0 * jnp.cross(jax.grad(h.energy)(spins), spins)


def _max_norm(y):
    return jnp.max(jnp.abs(y))


def precession_rate(h: PauliSum) -> Array:
    """Upper bound on any spin's precession rate: 2 max_m sum_{k touching m} |c_k| (unit vectors)."""
    sites = np.array([site for term in h.terms for site, _ in term], dtype=int)
    owner = np.array([k for k, term in enumerate(h.terms) for _ in term], dtype=int)
    local = jnp.zeros(h.n_sites, h.coeffs.dtype).at[sites].add(jnp.abs(h.coeffs[owner]))
    return 2.0 * jnp.max(local, initial=0.0)


def step_budget(h: PauliSum, t_max: float) -> int:
    """Generous step budget: 64 steps per precession period at the fastest possible rate."""
    steps = math.ceil(64 * float(precession_rate(h)) * t_max / (2 * math.pi))
    if steps > MAX_STEPS:
        raise _checks.ArgumentError(
            "t_max",
            f"a window of {t_max:.6g} needs about {steps} solver steps, at most {MAX_STEPS}: shorten it",
        )
    return int(min(MAX_STEPS, max(4096, bucket(steps))))


def solve_classical(h: ClassicalH, spins0, t_end, saveat, max_steps, rtol=RTOL, atol=ATOL):
    return diffrax.diffeqsolve(
        diffrax.ODETerm(vector_field),
        diffrax.Dopri8(),
        t0=jnp.zeros((), spins0.dtype),
        t1=t_end,
        dt0=None,
        y0=spins0,
        args=h,
        saveat=saveat,
        stepsize_controller=diffrax.PIDController(rtol=rtol, atol=atol, norm=_max_norm),
        max_steps=max_steps,
    )


def classical_ground_energy(h: PauliSum, n_starts: int = 6, seed: int = 0) -> float:
    """Lowest classical energy min_S H_C(S) over unit vectors, by L-BFGS on the angles.

    Starts: all down, all up and `n_starts - 2` random configurations (fixed seed); a local
    method, so it is the lowest minimum found (exact for the ferromagnetic chains of Le et al.).
    """
    import scipy.optimize

    def energy(angles):
        theta, phi = angles[: h.n_sites], angles[h.n_sites :]
        spins = jnp.stack(
            [jnp.sin(theta) * jnp.cos(phi), jnp.sin(theta) * jnp.sin(phi), jnp.cos(theta)], axis=-1
        )
        return classical_energy(h, spins)

    value_and_grad = jax.jit(jax.value_and_grad(energy))
    rng = np.random.default_rng(seed)
    n = h.n_sites
    starts = [np.r_[np.full(n, math.pi), np.zeros(n)], np.r_[np.zeros(n), np.zeros(n)]]
    starts += [np.r_[rng.uniform(0, math.pi, n), rng.uniform(0, 2 * math.pi, n)] for _ in range(n_starts - 2)]
    best = math.inf
    for start in starts:
        result = scipy.optimize.minimize(
            lambda x: tuple(np.asarray(v, float) for v in value_and_grad(jnp.asarray(x))),
            start,
            jac=True,
            method="L-BFGS-B",
            options={"gtol": 1e-12, "ftol": 1e-15},
        )
        best = min(best, float(result.fun))
    return best
