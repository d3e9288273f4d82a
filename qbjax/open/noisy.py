"""Noisy charging of spin-chain batteries (issue 6, part 3).

While the charging Hamiltonian acts, every site also dephases (jump sqrt(dephasing) sz_k)
and decays (amplitude damping, jump sqrt(damping) s-_k, s- = |down><up|):

    d rho/dt = -i[H_charge, rho] + sum_k dephasing D[sz_k] rho + damping D[s-_k] rho

from rho(0) = |down...down><down...down|. With H0 the battery's energy Hamiltonian,
W(t) = Tr(rho(t) H0) - Tr(rho(0) H0), P(t) = W(t)/t, and the ergotropy of the mixed state
rho(t) with respect to H0. The right-hand side is matrix-free (`ChainLindbladian`), so
N up to about 8 runs on a laptop.
"""

from __future__ import annotations

from typing import NamedTuple

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float

from .. import _checks
from ..models import Battery
from ..passivity import ergotropy
from ..terms import apply
from .lindblad import MAX_CHAIN_SITES, chain_lindbladian, evolve


class NoisyCharge(NamedTuple):
    """Charging curves of a noisy battery on a time grid (shapes (T,))."""

    times: Float[Array, " T"]
    work: Float[Array, " T"]
    power: Float[Array, " T"]  # W(t)/t; 0 at t = 0
    ergotropy: Float[Array, " T"]
    trace: Float[Array, " T"]  # Tr rho(t): 1 up to the solver tolerance
    min_eigenvalue: Float[Array, " T"]  # smallest eigenvalue of rho(t): >= 0 up to tolerance
    max_power: Float[Array, ""]  # max over the grid of P(t)
    t_max_power: Float[Array, ""]
    max_ergotropy: Float[Array, ""]


def _energy(h0, rho) -> Array:
    """Tr(rho H0) with H0 applied column by column."""
    h_rho = jax.vmap(apply, in_axes=(None, 1), out_axes=1)(h0, rho)
    return jnp.real(jnp.trace(h_rho))


def noisy_charge(
    battery: Battery, times, *, dephasing=0.0, damping=0.0, rtol: float = 1e-8, atol: float = 1e-10
) -> NoisyCharge:
    """Charge `battery` under dephasing and amplitude damping on every site.

    Args:
        battery: e.g. `qbjax.spin_chain_battery(n, ...)`, N <= 10.
        times: sorted, non-negative save times, shape (T,). P_max is the maximum of
            W(t)/t over this grid (use a fine grid).
        dephasing, damping: rates >= 0 (may be traced: results are differentiable).
        rtol, atol: adaptive-solver tolerances.
    """
    n = battery.n_sites
    if n > MAX_CHAIN_SITES:
        raise _checks.ArgumentError("n", f"must be <= {MAX_CHAIN_SITES} for noisy charging, got {n}")
    _checks.time_grid("times", times)
    _checks.positive("rtol", rtol)
    _checks.positive("atol", atol)
    # built outside jit so that channels with a concrete zero rate are dropped
    lindbladian = chain_lindbladian(battery.charging, dephasing=dephasing, damping=damping)
    real = jnp.real(battery.initial).dtype
    return _noisy_charge(battery, lindbladian, jnp.asarray(times, dtype=real), rtol, atol)


@eqx.filter_jit
def _noisy_charge(battery: Battery, lindbladian, times, rtol: float, atol: float) -> NoisyCharge:
    psi0 = battery.initial_state()
    rho0 = jnp.outer(psi0, psi0.conj())
    states = evolve(lindbladian, rho0, times, rtol=rtol, atol=atol)
    h0 = battery.energy
    energies = jax.vmap(lambda rho: _energy(h0, rho))(states)
    work = energies - _energy(h0, rho0)
    safe_t = jnp.where(times > 0, times, 1.0)
    power = jnp.where(times > 0, work / safe_t, 0.0)
    ergo = jax.vmap(lambda rho: ergotropy(rho, h0))(states)
    hermitian = 0.5 * (states + jnp.conj(jnp.swapaxes(states, -1, -2)))
    best = jnp.argmax(power)
    return NoisyCharge(
        times=times,
        work=work,
        power=power,
        ergotropy=ergo,
        trace=jnp.real(jnp.trace(states, axis1=-2, axis2=-1)),
        min_eigenvalue=jnp.linalg.eigvalsh(hermitian)[:, 0],
        max_power=power[best],
        t_max_power=times[best],
        max_ergotropy=jnp.max(ergo),
    )


def noise_sweep(
    battery: Battery, times, rates, *, kind: str = "dephasing", **options
) -> dict[str, np.ndarray]:
    """P_max and maximal ergotropy against the rate of one noise channel.

    Returns a dict of NumPy arrays: rates, max_power, t_max_power, max_ergotropy,
    final_ergotropy.
    """
    _checks.one_of("kind", kind, ("dephasing", "damping"))
    rates = np.asarray(rates, dtype=float)
    if rates.ndim != 1 or rates.size == 0:
        raise _checks.ArgumentError("rates", f"must be a non-empty 1-D list, got shape {rates.shape}")
    _checks.nonnegative("rates", rates)

    def one(rate):
        result = noisy_charge(battery, times, **{kind: jnp.asarray(rate)}, **options)
        return result.max_power, result.t_max_power, result.max_ergotropy, result.ergotropy[-1]

    rows = [one(rate) for rate in rates]
    columns = [np.array([float(row[k]) for row in rows]) for k in range(4)]
    return dict(
        zip(("max_power", "t_max_power", "max_ergotropy", "final_ergotropy"), columns, strict=True),
        rates=rates,
    )
