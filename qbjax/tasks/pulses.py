"""Time-dependent charging: a drive piecewise constant on K equal segments of [0, T].

    V(t) = a_k sum_i sx_i  (+ b_k sum_i sy_i, the second quadrature)     for t in segment k

The rest of the charging Hamiltonian (fields, interactions) is the protocol's, built from the
same `SpinChain` with its constant drive `omega` removed; the energy H0 and the start are the
chain's. Each segment propagates the state exactly by a constant Hamiltonian:

- "dense" (`DenseSegments`): the segment's eigendecomposition (`kernels.dense.spectral_states`, whose
  derivative is exact at degenerate spectra too), O(d^3) per segment, N <= DENSE_MAX_SITES;
- "chebyshev" (`ChebyshevSegments`): matrix-free Chebyshev steps (`kernels.chebyshev.chebyshev_propagate`),
  with one spectral interval that holds every segment's spectrum for amplitudes up to the
  bound, so one degree serves every segment and every pulse.

Both are plain JAX functions of the amplitudes and of T: `jit`, `vmap` over pulses and
`grad` with respect to the amplitudes all apply.
"""

from __future__ import annotations

import abc
import math

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Complex, Float

from .. import _checks
from ..kernels.chebyshev import MAX_SEGMENT_ARG, center_radius, chebyshev_propagate, degree_for
from ..kernels.dense import check_dense_fits, spectral_states, spectrum
from ..measures import qsl
from ..models.chain import SpinChain
from ..operators.bounds import spectral_bounds
from ..operators.matfree import matfree
from ..operators.terms import PauliSum, complex_dtype, dense

METHODS = ("auto", "dense", "chebyshev")
DENSE_GRAD_MATRICES = 7  # d x d matrices reverse mode keeps per dense segment (`DenseSegments`)
DENSE_MAX_SITES = 8  # beyond, a segment's eigendecomposition costs more than Chebyshev steps
CHEBYSHEV_TOL = 1e-12  # summed truncation error of every step of a pulse (state norm)


class PulsedBattery(eqx.Module):
    """A spin chain whose drive is a pulse.

    Attributes:
        energy: H0, whose expectation is the stored energy.
        rest: the charging Hamiltonian without the drive.
        psi0: the initial state.
        quadratures: 1 (drive along x) or 2 (x and y).
    """

    energy: PauliSum
    rest: PauliSum
    psi0: Complex[Array, " d"]
    quadratures: int = eqx.field(static=True)

    @property
    def n_sites(self) -> int:
        return self.energy.n_sites

    def segment_hamiltonian(self, amplitudes: Float[Array, " q"]) -> PauliSum:
        """rest + a sum_i sx_i (+ b sum_i sy_i) for one segment's amplitudes (a[, b])."""
        n = self.n_sites
        letters = "XY"[: self.quadratures]
        terms = tuple(((i, letter),) for letter in letters for i in range(n))
        coeffs = jnp.repeat(amplitudes.astype(self.rest.coeffs.dtype), n)
        return PauliSum(n, self.rest.terms + terms, jnp.concatenate([self.rest.coeffs, coeffs]))


def pulsed_battery(model: SpinChain, quadratures: int = 1) -> PulsedBattery:
    """The chain `model` with its constant drive replaced by a pulse of 1 or 2 quadratures."""
    if quadratures not in (1, 2):
        raise _checks.ArgumentError("quadratures", f"must be 1 (x) or 2 (x and y), got {quadratures!r}")
    battery = model.replace(omega=0.0).battery()  # a concrete zero drops the drive's terms
    dtype = complex_dtype(jnp.result_type(float))
    return PulsedBattery(battery.energy, battery.charging, battery.initial_state().astype(dtype), quadratures)


class Propagator(eqx.Module):
    """How each segment is propagated: exp(-i h tau) psi for one segment's Hamiltonian h
    (static choices fixed from concrete bounds)."""

    @abc.abstractmethod
    def __call__(self, h: PauliSum, psi, tau) -> Array:
        """exp(-i h tau) psi."""

    @abc.abstractmethod
    def gradient_bytes(self, n_sites: int, segments: int) -> int:
        """Peak memory of reverse mode through a pulse of `segments` segments (one start)."""


class DenseSegments(Propagator):
    """Each segment by its eigendecomposition: exact derivatives at degenerate spectra."""

    def __call__(self, h, psi, tau):
        matrix = dense(h)
        eig = spectrum(matrix)
        return spectral_states(matrix, psi, tau[None], eig.evals, eig.evecs.astype(psi.dtype))[0]

    def gradient_bytes(self, n_sites: int, segments: int) -> int:
        # reverse mode keeps every segment's matrix and eigenvectors and their products:
        # 6.1 d x d matrices per segment in XLA's memory analysis (N = 6 and 8)
        return (DENSE_GRAD_MATRICES * segments + 4) * 16 * 4**n_sites


class ChebyshevSegments(Propagator):
    """Each segment by `steps` matrix-free Chebyshev steps of one degree, on one interval
    [center - radius, center + radius] that holds every segment's spectrum."""

    center: float = eqx.field(static=True)
    radius: float = eqx.field(static=True)
    degree: int = eqx.field(static=True)
    steps: int = eqx.field(static=True)

    def __call__(self, h, psi, tau):
        return _checkpointed_steps(self, h, psi, tau)

    def gradient_bytes(self, n_sites: int, segments: int) -> int:
        # each segment's start, and one segment's recurrence rerun (three states per order)
        return (2 * segments + 3 * self.degree * self.steps + 16) * 16 * 2**n_sites


@jax.checkpoint
def _checkpointed_steps(prop: ChebyshevSegments, h, psi, tau):
    """A segment's Chebyshev steps; reverse mode keeps the segment's start and reruns the
    steps, not their recurrences' vectors (K states per step, for every segment)."""
    op = matfree(h)
    for _ in range(prop.steps):
        psi = chebyshev_propagate(op, psi, prop.center, prop.radius, prop.degree, tau / prop.steps)
    return psi


def propagator(
    battery: PulsedBattery, omega_max: float, segment_max: float, method: str = "auto"
) -> Propagator:
    """The propagator for segments up to `segment_max` long with |amplitudes| <= omega_max."""
    _checks.one_of("method", method, METHODS)
    if method == "auto":
        method = "dense" if battery.n_sites <= DENSE_MAX_SITES else "chebyshev"
    if method == "dense":
        check_dense_fits(battery.n_sites)
        return DenseSegments()
    lo, hi = spectral_bounds(battery.rest) if battery.rest.terms else (0.0, 0.0)
    reach = battery.quadratures * battery.n_sites * float(omega_max)  # ||a X + b Y|| <= N (|a| + |b|)
    center, radius = center_radius((lo - reach, hi + reach))
    steps = max(1, math.ceil(radius * segment_max / MAX_SEGMENT_ARG))
    degree = degree_for(radius * segment_max / steps, CHEBYSHEV_TOL / steps)
    return ChebyshevSegments(float(center), float(radius), degree, steps)


def final_state(
    battery: PulsedBattery, prop: Propagator, pulse: Float[Array, "K q"], t
) -> tuple[Array, Array]:
    """(psi(T), time-averaged energy spread Delta E_T) after the pulse (K, q) over [0, t]."""
    tau = jnp.asarray(t, pulse.dtype) / pulse.shape[0]

    def step(psi, amplitudes):
        h = battery.segment_hamiltonian(amplitudes)
        return prop(h, psi, tau), qsl.spread(matfree(h), psi)

    psi, spreads = jax.lax.scan(step, battery.psi0, pulse)
    return psi, jnp.mean(spreads)


def energy(h: PauliSum, psi) -> Array:
    return jnp.real(jnp.vdot(psi, matfree(h)(psi)))


def work(battery: PulsedBattery, prop: Propagator, pulse, t) -> Array:
    """W(T) = <H0>_T - <H0>_0 after the pulse."""
    psi, _ = final_state(battery, prop, pulse, t)
    return energy(battery.energy, psi) - energy(battery.energy, battery.psi0)


def work_curve(battery: PulsedBattery, prop: Propagator, pulse, t, per_segment: int = 16):
    """(times, W(t)) sampled `per_segment` times in every segment (for plots)."""
    k = pulse.shape[0]
    tau = jnp.asarray(t, pulse.dtype) / k
    fractions = jnp.arange(1, per_segment + 1, dtype=pulse.dtype) / per_segment
    e0 = energy(battery.energy, battery.psi0)

    def step(psi, amplitudes):
        h = battery.segment_hamiltonian(amplitudes)
        inside = jax.vmap(lambda f: prop(h, psi, f * tau))(fractions)
        return inside[-1], jax.vmap(lambda phi: energy(battery.energy, phi))(inside) - e0

    _, works = jax.lax.scan(step, battery.psi0, pulse)
    times = (jnp.arange(k, dtype=pulse.dtype)[:, None] + fractions[None, :]) * tau
    return jnp.concatenate([jnp.zeros(1, pulse.dtype), times.ravel()]), jnp.concatenate(
        [jnp.zeros(1, pulse.dtype), works.ravel()]
    )


def as_pulse(amplitudes, quadratures: int) -> np.ndarray:
    """Amplitudes as a (K, q) array: (K,) for one quadrature, (K, 2) for two."""
    pulse = np.asarray(amplitudes, dtype=float)
    if pulse.ndim == 1 and quadratures == 1:
        pulse = pulse[:, None]
    if pulse.ndim != 2 or pulse.shape[1] != quadratures or pulse.shape[0] < 1:
        raise _checks.ArgumentError(
            "pulse", f"must have shape (K,) or (K, {quadratures}) with K >= 1, got {np.shape(amplitudes)}"
        )
    _checks.finite("pulse", pulse)
    return pulse


def pulse_work(model: SpinChain, amplitudes, t: float, *, method: str = "auto") -> float:
    """W(T) of `model` charged by the piecewise-constant drive `amplitudes` ((K,) along x, or
    (K, 2) along x and y) on K equal segments of [0, t]."""
    _checks.positive("t", t)
    pulse = as_pulse(amplitudes, 1 if np.ndim(amplitudes) == 1 else 2)
    battery = pulsed_battery(model, pulse.shape[1])
    prop = propagator(battery, float(np.max(np.abs(pulse))), t / pulse.shape[0], method)
    return float(_work_jit(battery, prop, jnp.asarray(pulse), jnp.asarray(t, jnp.result_type(float))))


@eqx.filter_jit
def _work_jit(battery, prop, pulse, t):
    return work(battery, prop, pulse, t)
