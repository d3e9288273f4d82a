"""Noisy charging of spin-chain batteries: the Lindblad engine on a time grid.

While the charging Hamiltonian acts, every site also dephases and decays (see
`engines.lindblad`). W(t) = Tr(rho(t) H0) - Tr(rho(0) H0), P(t) = W(t)/t, and the ergotropy
of the mixed state rho(t) with respect to H0; P_max and T* over (0, times[-1]] come from the
same refined maxima as every closed engine (`charge.maxima`).
"""

from __future__ import annotations

from typing import NamedTuple

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float

from .. import _checks
from ..engines.lindblad import Lindblad, LindbladCurve
from ..tasks.charge import grid_points, maxima, work_and_power


class NoisyCharge(NamedTuple):
    """Charging curves of a noisy battery on a time grid (shapes (T,)), and its maxima."""

    times: Float[Array, " T"]
    work: Float[Array, " T"]
    power: Float[Array, " T"]  # W(t)/t; dW/dt at t = 0
    ergotropy: Float[Array, " T"]
    trace: Float[Array, " T"]  # Tr rho(t): 1 up to the solver tolerance
    min_eigenvalue: Float[Array, " T"]  # smallest eigenvalue of rho(t): >= 0 up to tolerance
    max_power: Float[Array, ""]  # P_max over (0, times[-1]], refined between grid points
    t_max_power: Float[Array, ""]
    max_ergotropy: Float[Array, ""]  # largest ergotropy on `times`


def noisy_charge(
    battery, times, *, dephasing=0.0, damping=0.0, rtol: float = 1e-8, atol: float = 1e-10
) -> NoisyCharge:
    """Charge `battery` under dephasing and amplitude damping on every site.

    Args:
        battery: a `Battery` or `SpinChain`, N <= 10.
        times: sorted, non-negative times, shape (T,); the window of P_max is (0, times[-1]].
        dephasing, damping: rates >= 0 (may be traced: results are differentiable).
        rtol, atol: adaptive-solver tolerances.
    """
    # a nonzero rate as an array is traced: one compilation serves every rate; a concrete
    # zero stays a number, so its channel is dropped
    dephasing, damping = (r if _checks.is_concrete_zero(r) else jnp.asarray(r) for r in (dephasing, damping))
    engine = Lindblad(dephasing, damping, rtol, atol)
    engine.check(battery)
    _checks.time_grid("times", times)
    times = jnp.asarray(times, dtype=jnp.result_type(float))
    t_end = times[-1]
    if not _checks.is_traced(t_end) and float(t_end) <= 0:
        raise _checks.ArgumentError("times", "must reach beyond t = 0")
    return _noisy_charge(engine, battery, times, grid_points(engine, battery, None, t_end, None))


@eqx.filter_jit
def _noisy_charge(engine: Lindblad, battery, times, n_grid: int) -> NoisyCharge:
    curve: LindbladCurve = engine.prepare(battery, times[-1])
    work, power = work_and_power(curve, times)
    ergotropy = curve.ergotropy(times, work)
    states = curve.states(times)
    hermitian = 0.5 * (states + jnp.conj(jnp.swapaxes(states, -1, -2)))
    p_max, t_power, _, _ = maxima(curve, times[-1], n_grid)
    return NoisyCharge(
        times=times,
        work=work,
        power=power,
        ergotropy=ergotropy,
        trace=jnp.real(jnp.trace(states, axis1=-2, axis2=-1)),
        min_eigenvalue=jnp.linalg.eigvalsh(hermitian)[:, 0],
        max_power=p_max,
        t_max_power=t_power,
        max_ergotropy=jnp.max(ergotropy),
    )


def noise_sweep(battery, times, rates, *, kind: str = "dephasing", **options) -> dict[str, np.ndarray]:
    """P_max and maximal ergotropy against the rate of one noise channel, as one batch.

    The rates run as one `vmap` over the Lindblad engine's rate (shared structure).

    Returns a dict of NumPy arrays: rates, max_power, t_max_power, max_ergotropy,
    final_ergotropy.
    """
    _checks.one_of("kind", kind, ("dephasing", "damping"))
    rates = np.asarray(rates, dtype=float)
    if rates.ndim != 1 or rates.size == 0:
        raise _checks.ArgumentError("rates", f"must be a non-empty 1-D list, got shape {rates.shape}")
    _checks.nonnegative("rates", rates)
    rtol, atol = options.pop("rtol", 1e-8), options.pop("atol", 1e-10)
    if options:
        raise _checks.ArgumentError(sorted(options)[0], "is not an option of noise_sweep")
    other = "damping" if kind == "dephasing" else "dephasing"

    def one(rate):
        # a traced rate keeps the channel even at 0; the other channel is absent
        result = noisy_charge(battery, times, **{kind: rate, other: 0.0}, rtol=rtol, atol=atol)
        return result.max_power, result.t_max_power, result.max_ergotropy, result.ergotropy[-1]

    columns = jax.jit(jax.vmap(one))(jnp.asarray(rates))
    names = ("max_power", "t_max_power", "max_ergotropy", "final_ergotropy")
    return {"rates": rates, **{name: np.asarray(c) for name, c in zip(names, columns, strict=True)}}
