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

import functools
import math

import diffrax
import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Complex, Float

from .. import _checks
from ..models import spin_chain_battery
from ..result import ChargeResult
from ..terms import PAULI_LETTERS, PauliSum
from . import _charging

RTOL = 1e-12
ATOL = 1e-12


@functools.lru_cache(maxsize=64)
def _factor_index(n_sites: int, terms: tuple) -> np.ndarray:
    """(K, L) indices into [S.ravel(), 1]: site * 3 + component, padded with 3N (the constant 1)."""
    width = max((len(term) for term in terms), default=1)
    index = np.full((len(terms), width), 3 * n_sites, dtype=np.int64)
    for k, term in enumerate(terms):
        for position, (site, letter) in enumerate(term):
            index[k, position] = 3 * site + PAULI_LETTERS.index(letter)
    return index


def classical_energy(h: PauliSum, spins: Float[Array, "N 3"]) -> Float[Array, ""]:
    """H_C(S) = sum_k c_k prod S_m^a: the energy of the product state with Bloch vectors `spins`."""
    if not h.terms:
        return jnp.zeros((), spins.dtype)
    flat = jnp.concatenate([spins.ravel(), jnp.ones((1,), spins.dtype)])
    factors = flat[jnp.asarray(_factor_index(h.n_sites, h.terms))]
    return jnp.sum(h.coeffs.astype(spins.dtype) * jnp.prod(factors, axis=-1))


def bloch_vectors(amplitudes: Complex[Array, "N 2"]) -> Float[Array, "N 3"]:
    """Bloch vectors of product-state amplitudes (row i: amplitude of up, of down)."""
    up, down = amplitudes[:, 0], amplitudes[:, 1]
    cross = jnp.conj(up) * down
    pop = jnp.abs(up) ** 2 - jnp.abs(down) ** 2
    return jnp.stack([2 * jnp.real(cross), 2 * jnp.imag(cross), pop], axis=-1)


def precession(h: PauliSum, spins: Float[Array, "N 3"]) -> Float[Array, "N 3"]:
    """dS_m/dt = 2 (dH_C/dS_m) x S_m for all m."""
    field = jax.grad(classical_energy, argnums=1)(h, spins)
    return 2.0 * jnp.cross(field, spins)


class _Classical(eqx.Module):
    """H_C as traced data: factor indices (K, L) into [S.ravel(), 1] and coefficients (K,).

    Unlike `PauliSum` the structure is an array, so one compiled solver serves every chain
    whose padded shapes agree (padding: extra spins with no terms, terms with c = 0).
    """

    index: Array
    coeffs: Array

    def energy(self, spins):
        flat = jnp.concatenate([spins.ravel(), jnp.ones((1,), spins.dtype)])
        return jnp.sum(self.coeffs * jnp.prod(flat[self.index], axis=-1))


def _bucket(n: int) -> int:
    return 1 << max(0, (n - 1).bit_length())


def _classical(h: PauliSum, n_padded: int, k_padded: int, width: int) -> _Classical:
    index = np.full((k_padded, width), 3 * n_padded, dtype=np.int64)
    for k, term in enumerate(h.terms):
        for position, (site, letter) in enumerate(term):
            index[k, position] = 3 * site + PAULI_LETTERS.index(letter)
    coeffs = jnp.zeros(k_padded, jnp.result_type(float)).at[: len(h.terms)].set(h.coeffs)
    return _Classical(jnp.asarray(index), coeffs)


def _vector_field(t, spins, h: _Classical):
    del t
    return 2.0 * jnp.cross(jax.grad(h.energy)(spins), spins)


def _max_norm(y):
    return jnp.max(jnp.abs(y))


def precession_rate(h: PauliSum) -> float:
    """Upper bound on any spin's precession rate: 2 max_m sum_{k touching m} |c_k| (unit vectors)."""
    local = np.zeros(h.n_sites)
    coeffs = np.abs(np.asarray(h.coeffs))
    for k, term in enumerate(h.terms):
        for site, _ in term:
            local[site] += coeffs[..., k].max()
    return 2.0 * float(local.max(initial=0.0))


def _max_steps(h: PauliSum, t_max: float) -> int:
    """Generous step budget: 64 steps per precession period at the fastest possible rate."""
    steps = math.ceil(64 * precession_rate(h) * t_max / (2 * math.pi))
    return int(min(2**20, max(4096, _bucket(steps))))


def _solve(h: _Classical, spins0, t_end, saveat, max_steps, rtol=RTOL, atol=ATOL):
    return diffrax.diffeqsolve(
        diffrax.ODETerm(_vector_field),
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


def evolve_meanfield(
    h: PauliSum,
    spins0: Float[Array, "N 3"],
    times: Float[Array, " T"],
    *,
    rtol: float = RTOL,
    atol: float = ATOL,
    max_steps: int | None = None,
) -> Float[Array, "T N 3"]:
    """Bloch vectors S_m(t) at each of `times` (sorted, >= 0) under the classical H_C of `h`.

    Differentiable in h's coefficients, spins0 and times (diffrax's checkpointed adjoint).
    """
    times = jnp.asarray(times, dtype=spins0.dtype)
    if max_steps is None:
        traced = _checks.is_traced((h, times))
        max_steps = 2**16 if traced else _max_steps(h, float(np.max(np.asarray(times))))
    # t1 > 0 is required even when every time is 0.
    t_end = jnp.maximum(times[-1], jnp.finfo(spins0.dtype).tiny)
    width = max((len(term) for term in h.terms), default=1)
    classical = _classical(h, h.n_sites, len(h.terms), width)
    return _solve(classical, spins0, t_end, diffrax.SaveAt(ts=times), max_steps, rtol, atol).ys


class _MeanFieldCurve(eqx.Module):
    """<H0>_t of the classical chain from Dopri8's dense output (error ~1e-14 at rtol 1e-12)."""

    energy_h: _Classical
    charging_h: _Classical
    spins0: Array
    interpolation: diffrax.DenseInterpolation

    def energy(self, times):
        # The interpolant is garbage past t1, and XLA may round a grid's last point t1 * n/n up.
        times = jnp.clip(times, self.interpolation.t0, self.interpolation.t1)
        spins = jax.vmap(self.interpolation.evaluate)(times)
        return jax.vmap(self.energy_h.energy)(spins)

    def initial_energy(self):
        return self.energy_h.energy(self.spins0)

    def initial_rate(self):
        return jnp.sum(
            jax.grad(self.energy_h.energy)(self.spins0) * _vector_field(0.0, self.spins0, self.charging_h)
        )


@eqx.filter_jit
def _charge(energy_h, charging_h, spins0, t_max, times, n_grid: int, max_steps: int, ground_energy):
    t_end = t_max if times is None else jnp.maximum(t_max, times[-1])
    dense = _solve(charging_h, spins0, t_end, diffrax.SaveAt(dense=True), max_steps)
    curve = _MeanFieldCurve(energy_h, charging_h, spins0, dense.interpolation)
    return _charging.figures(curve, t_max, n_grid, times, ground_energy, spins0.dtype)


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


def charge_meanfield(model: dict, t_max, *, times=None, n_grid: int | None = None) -> ChargeResult:
    """Charge the mean-field (classical) version of a spin-chain battery.

    Args:
        model: keyword arguments of `spin_chain_battery` (any coupling, alpha, dm, protocol).
        t_max: end of the window (0, t_max] for the maxima, > 0.
        times: optional non-negative sorted times for W, P and ergotropy curves; the
            "ergotropy" is measured from the lowest classical energy (`classical_ground_energy`).
        n_grid: grid before refinement; default: 8 points per period of twice the fastest
            precession rate, rounded up to a power of two.

    Returns:
        a `ChargeResult`.
    """
    battery = spin_chain_battery(**model)
    times, n_grid = _charging.checked_inputs(t_max, times, n_grid)
    traced = _checks.is_traced((battery, t_max))
    if n_grid is None:
        # W(t) holds products of two spins' components: up to twice the precession rate
        bandwidth = 2.0 * precession_rate(battery.charging) if not traced else None
        # rounded up to a power of two so that nearby parameter points share one compilation
        n_grid = (
            _charging.GRID_WHEN_TRACED if traced else _bucket(_charging.grid_size(bandwidth, float(t_max)))
        )
    max_steps = 2**16 if traced else _max_steps(battery.charging, float(t_max))
    ground = None
    if times is not None:
        ground = jnp.asarray(classical_ground_energy(battery.energy), dtype=jnp.result_type(float))
    if times is not None and not traced:
        max_steps = max(max_steps, _max_steps(battery.charging, float(np.max(np.asarray(times)))))
    # Pad to power-of-two sizes so that one compilation serves chains of similar size.
    n_padded = _bucket(battery.n_sites)
    k_padded = _bucket(max(len(battery.energy.terms), len(battery.charging.terms), 1))
    width = max((len(term) for term in battery.energy.terms + battery.charging.terms), default=1)
    energy_h, charging_h = (
        _classical(h, n_padded, k_padded, width) for h in (battery.energy, battery.charging)
    )
    spins0 = jnp.zeros((n_padded, 3), jnp.result_type(float)).at[:, 2].set(-1.0)
    spins0 = spins0.at[: battery.n_sites].set(bloch_vectors(battery.initial).astype(spins0.dtype))
    t_max = jnp.asarray(t_max, dtype=jnp.result_type(float))
    return _charge(energy_h, charging_h, spins0, t_max, times, n_grid, max_steps, ground)
