"""Charging figures of merit of a battery (PHYSICS.md section 1).

    W(t)   = <H0>_t - <H0>_0                  work deposited by charging for a time t
    P(t)   = W(t) / t                          average charging power (P(0) = dW/dt at 0)
    P_max  = max_{0 < T <= t_max} P(T), T* its argmax; likewise W_max and its time
    E(t)   = <H0>_t - E_ground(H0)             ergotropy of the (pure) charged state

All quantities come from one spectral decomposition of the charging Hamiltonian
(`propagate.dense`). Maxima: a grid fine enough to resolve the fastest frequency of
W(t), then bisection on the sign of the derivative, so T* is accurate far below
1e-9 relative. P_max and W_max are differentiable in every model parameter: by the
envelope theorem their gradient is the partial derivative at the fixed optimum.
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Complex, Float

from . import _checks
from ._maximize import GRID_WHEN_TRACED, grid_size, window_maxima
from .models import Battery
from .propagate.dense import Spectrum, _rotation, check_dense_fits, chunk_size, spectral_states, spectrum
from .result import ChargeResult
from .terms import apply, complex_dtype, dense, diagonal, expectation, is_diagonal, norm_bound


class _Charging(eqx.Module):
    """A battery together with the decomposition of its charging Hamiltonian."""

    battery: Battery
    h_matrix: Array
    eig: Spectrum
    psi0: Complex[Array, " d"]
    h0_matrix: Array  # the energy H0 as a complex matrix: <H0> of many states is one product

    def energy(self, times: Float[Array, " T"]) -> Float[Array, " T"]:
        """<H0>_t, differentiable in every parameter (divided-difference JVP of the evolution)."""

        def states(ts):
            return spectral_states(self.h_matrix, self.psi0, ts, self.eig.evals, self.eig.evecs)

        return _energies(self.h0_matrix, states, times)

    def initial_energy(self) -> Float[Array, ""]:
        return expectation(self.battery.energy, self.psi0)

    def initial_rate(self) -> Float[Array, ""]:
        """dW/dt at t = 0: -2 Im <H psi0 | H0 psi0> (zero when psi0 is an eigenstate of H0)."""
        h_psi = apply(self.battery.charging, self.psi0)
        h0_psi = apply(self.battery.energy, self.psi0)
        return -2.0 * jnp.imag(jnp.vdot(h_psi, h0_psi))


def _energies(h0_matrix, states_at, times: Float[Array, " T"]) -> Float[Array, " T"]:
    """<H0> on the states `states_at(block of times)`, a block per matrix product, memory bounded."""
    n, d = times.shape[0], h0_matrix.shape[0]
    size = chunk_size(n, 16 * d * 3)
    blocks = -(-n // size)
    padded = jnp.concatenate([times, jnp.broadcast_to(times[-1:], (blocks * size - n,))])

    def block(ts):
        states = states_at(ts)
        return jnp.real(jnp.sum(states.conj() * (states @ h0_matrix.T), axis=-1))

    return jax.lax.map(block, padded.reshape(blocks, size)).reshape(-1)[:n]


class _SearchCurve(eqx.Module):
    """<H0>_t from a fixed decomposition, for locating maxima (time derivatives only).

    psi(t) = V (exp(-i E t) * a) with a = V^dagger psi0 computed once: each time costs
    one product with V, and plain autodiff gives d/dt. The differentiable path
    (`_Charging.energy`) recomputes a and carries the parameter-derivative rule.
    """

    h0_matrix: Array
    evals: Array
    evecs: Array
    amplitudes: Array

    @staticmethod
    def of(c: _Charging) -> _SearchCurve:
        c = jax.lax.stop_gradient(c)
        return _SearchCurve(c.h0_matrix, c.eig.evals, c.eig.evecs, c.eig.evecs.conj().T @ c.psi0)

    def energy(self, times: Float[Array, " T"]) -> Float[Array, " T"]:
        def states(ts):
            phases = _rotation(ts[:, None] * self.evals[None, :]).astype(self.evecs.dtype)
            return (phases * self.amplitudes[None, :]) @ self.evecs.T

        return _energies(self.h0_matrix, states, times)


def _prepare(battery: Battery) -> _Charging:
    check_dense_fits(battery.n_sites)
    h_matrix = dense(battery.charging)
    eig = spectrum(h_matrix)
    dtype = complex_dtype(eig.evecs.dtype)
    psi0 = battery.initial_state().astype(dtype)
    return _Charging(battery, h_matrix, eig, psi0, dense(battery.energy).astype(dtype))


def _work(c: _Charging, times) -> Float[Array, " T"]:
    return c.energy(times) - c.initial_energy()


def _power(c: _Charging, times, work) -> Float[Array, " T"]:
    positive = times > 0
    return jnp.where(positive, work / jnp.where(positive, times, 1.0), c.initial_rate())


def ground_energy(h) -> Float[Array, ""]:
    """Lowest eigenvalue of a PauliSum (from the diagonal when H is made of sigma^z's)."""
    if is_diagonal(h):
        return jnp.min(diagonal(h))
    return jnp.linalg.eigvalsh(dense(h))[0]


def default_grid(battery: Battery, t_max) -> int:
    """Grid size for the maxima: POINTS_PER_PERIOD samples of the fastest frequency.

    Frequencies of W(t) are differences of eigenvalues of the charging Hamiltonian,
    at most 2 ||H|| <= 2 sum_k |c_k|.
    """
    if _checks.is_traced((battery.charging.coeffs, t_max)):
        return GRID_WHEN_TRACED
    return grid_size(2.0 * float(np.max(np.asarray(norm_bound(battery.charging)))), float(t_max))


def _maxima(c: _Charging, t_max, n_grid: int):
    """(P_max, T*, W_max, T_W) over (0, t_max]."""
    return window_maxima(c, c.initial_energy(), t_max, n_grid, c.eig.evals.dtype, search=_SearchCurve.of(c))


_prepare_jit = eqx.filter_jit(_prepare)


def _charge(battery: Battery, t_max, times, n_grid: int) -> ChargeResult:
    # Two compiled stages: with the eigendecomposition and the time loops of the maxima
    # in one XLA program, the CPU backend ran the loops ~30x slower (N = 8).
    return _charge_prepared(_prepare_jit(battery), t_max, times, n_grid)


@eqx.filter_jit
def _charge_prepared(c: _Charging, t_max, times, n_grid: int) -> ChargeResult:
    p_max, t_p, w_max, t_w = _maxima(c, t_max, n_grid)
    result = ChargeResult(p_max, t_p, w_max, t_w, c.initial_energy())
    if times is None:
        return result
    work = _work(c, times)
    e_ground = ground_energy(c.battery.energy)
    ergotropy = work + c.initial_energy() - e_ground
    return eqx.tree_at(
        lambda r: (r.ground_energy, r.times, r.work, r.power, r.ergotropy),
        result,
        (e_ground, times, work, _power(c, times, work), ergotropy),
        is_leaf=lambda x: x is None,
    )


def _as_times(times) -> Array:
    _checks.time_grid("times", times)
    return jnp.asarray(times, dtype=jnp.result_type(float))


def _check_window(battery: Battery, t_max, n_grid) -> int:
    _checks.positive("t_max", t_max)
    if n_grid is None:
        return default_grid(battery, t_max)
    return _checks.integer_at_least("n_grid", n_grid, 2)


def charge(battery: Battery, t_max, *, times=None, n_grid: int | None = None) -> ChargeResult:
    """Charge a battery: maximum power and work over (0, t_max], and curves on `times`.

    Args:
        battery: the battery (energy Hamiltonian, charging Hamiltonian, initial state).
        t_max: end of the charging window, > 0 (Le et al. use 2 pi / omega).
        times: optional non-negative, sorted times for W(t), P(t) and ergotropy(t).
        n_grid: samples of the window before refinement; default resolves the fastest
            frequency of W(t) with POINTS_PER_PERIOD samples.

    Returns:
        A `ChargeResult`; scalars have shape (), curves shape (len(times),).
    """
    n_grid = _check_window(battery, t_max, n_grid)
    if times is not None:
        times = _as_times(times)
    return _charge(battery, jnp.asarray(t_max, dtype=jnp.result_type(float)), times, n_grid)


@eqx.filter_jit
def _work_power_prepared(c: _Charging, times):
    work = _work(c, times)
    return work, _power(c, times, work)


def work(battery: Battery, times) -> Float[Array, " T"]:
    """W(t) = <H0>_t - <H0>_0 on `times` (non-negative, sorted)."""
    return _work_power_prepared(_prepare_jit(battery), _as_times(times))[0]


def power(battery: Battery, times) -> Float[Array, " T"]:
    """P(t) = W(t)/t on `times`; at t = 0 its limit dW/dt(0)."""
    return _work_power_prepared(_prepare_jit(battery), _as_times(times))[1]


def max_power(battery: Battery, t_max, *, n_grid: int | None = None) -> tuple[Array, Array]:
    """(P_max, T*) over (0, t_max]; differentiable in the battery's parameters and t_max."""
    result = charge(battery, t_max, n_grid=n_grid)
    return result.max_power, result.t_max_power


def max_work(battery: Battery, t_max, *, n_grid: int | None = None) -> tuple[Array, Array]:
    """(W_max, time of W_max) over (0, t_max]."""
    result = charge(battery, t_max, n_grid=n_grid)
    return result.max_work, result.t_max_work
