"""The thermal-gradient battery (PHYSICS.md section 4): two qubits between two baths.

    H = (omega_A/2) sz_A + (omega_S/2) sz_S + g (s+_A s-_S + s-_A s+_S)

Qubit A (site 0, most significant bit) couples to a bath at T_A, qubit S (site 1) to a
bath at T_S; Bose occupation n(w, T) = 1/(exp(w/T) - 1).

- local master equation: on each qubit k, jumps sqrt(gamma_k (n_k + 1)) s-_k and
  sqrt(gamma_k n_k) s+_k with n_k = n(omega_k, T_k) (valid for g << omega).
- global master equation: bath k couples through sx_k; in the eigenbasis of H its jump
  operator at Bohr frequency w > 0 is A_k(w) = sum_{e' - e = w} P_e sx_k P_e', with rate
  gamma_k (n(w, T_k) + 1), and A_k(w)^+ with rate gamma_k n(w, T_k). Transitions that
  share a Bohr frequency are grouped into one jump operator (secular approximation):
  for this H, |gg> -> |+> and |-> -> |ee> always share a frequency.
Heat current from bath k: J_k = Tr(H D_k[rho]) (> 0 when heat flows into the pair).

Two-stroke cycle: (1) the baths act for a time tau; (2) the optimal unitary extracts the
ergotropy, leaving the passive state. The periodic state solves rho = passive(e^{L tau} rho);
per cycle W = ergotropy extracted, Q_A = integral of J_A over the stroke, efficiency W/Q_A,
power W/tau.
"""

from __future__ import annotations

from typing import NamedTuple

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Complex, Float

from .. import _checks
from ..kernels.lindblad import SIGMA_MINUS, SIGMA_PLUS, SIGMA_X, dissipator, hamiltonian_superop, unvec, vec
from ..measures.passivity import ergotropy
from ..operators.terms import complex_dtype, dense, pauli_sum
from .steady import steady_state

MASTERS = ("local", "global")
BATHS = ("a", "s")
# populations in the bare basis, index = 2 * bit_A + bit_S with bit 0 = up = excited
POPULATION_LABELS = ("ee", "eg", "ge", "gg")  # (A, S): "eg" = A excited, S ground


class ThermalPair(eqx.Module):
    """Parameters of the pair; every field may be traced. Build it with `thermal_pair`."""

    omega_a: Float[Array, ""]
    omega_s: Float[Array, ""]
    g: Float[Array, ""]
    gamma_a: Float[Array, ""]
    gamma_s: Float[Array, ""]
    temp_a: Float[Array, ""]
    temp_s: Float[Array, ""]

    def hamiltonian(self) -> Float[Array, "4 4"]:
        """H as a real 4 x 4 matrix (s+_A s-_S + h.c. = (XX + YY)/2)."""
        h = pauli_sum(
            2,
            [
                (((0, "Z"),), self.omega_a / 2),
                (((1, "Z"),), self.omega_s / 2),
                (((0, "X"), (1, "X")), self.g / 2),
                (((0, "Y"), (1, "Y")), self.g / 2),
            ],
        )
        return dense(h) if h.terms else jnp.zeros((4, 4), self.omega_a.dtype)

    def bath(self, which: str) -> tuple[Array, Array, Array, int]:
        """(omega, gamma, T, site) of bath "a" or "s"."""
        if which == "a":
            return self.omega_a, self.gamma_a, self.temp_a, 0
        return self.omega_s, self.gamma_s, self.temp_s, 1


def thermal_pair(
    omega_a=1.0, omega_s=0.5, g=0.1, gamma=0.01, temp_a=2.0, temp_s=0.1, *, gamma_s=None
) -> ThermalPair:
    """Validate and build the pair. `gamma` is the rate of both baths unless `gamma_s` is given.

    Defaults: the paper's temperatures T_A = 2, T_S = 0.1 (omega_0 = 1); a detuned pair
    omega_A = 1, omega_S = 0.5 (inversion needs omega_A > omega_S), g = 0.1, gamma = 0.01.
    """
    for name, value in (("omega_a", omega_a), ("omega_s", omega_s), ("g", g), ("gamma", gamma)):
        _checks.magnitude(name, value)
    _checks.positive("omega_a", omega_a)
    _checks.positive("omega_s", omega_s)
    _checks.positive("gamma", gamma)
    gamma_s = gamma if gamma_s is None else gamma_s
    _checks.magnitude("gamma_s", gamma_s)
    _checks.positive("gamma_s", gamma_s)
    _checks.positive("temp_a", temp_a)
    _checks.positive("temp_s", temp_s)
    values = (omega_a, omega_s, g, gamma, gamma_s, temp_a, temp_s)
    dtype = jnp.result_type(*values, float)
    return ThermalPair(*(jnp.asarray(v, dtype) for v in values))


def bose(omega, temp):
    """n(w, T) = 1 / (exp(w / T) - 1)."""
    return 1.0 / jnp.expm1(omega / temp)


def _embed(op: np.ndarray, site: int) -> np.ndarray:
    return np.kron(op, np.eye(2)) if site == 0 else np.kron(np.eye(2), op)


def _local_bath(pair: ThermalPair, which: str) -> Array:
    omega, gamma, temp, site = pair.bath(which)
    n = bose(omega, temp)
    down = jnp.asarray(_embed(SIGMA_MINUS, site), omega.dtype)
    up = jnp.asarray(_embed(SIGMA_PLUS, site), omega.dtype)
    return dissipator(jnp.sqrt(gamma * (n + 1)) * down) + dissipator(jnp.sqrt(gamma * n) * up)


def _global_bath(pair: ThermalPair, which: str) -> Array:
    """Secular global dissipator of one bath, with transitions grouped by Bohr frequency.

    In the eigenbasis, c[i, j] = sqrt(rate(w_ij)) <i|sx_k|j> for the transition j -> i with
    w_ij = E_j - E_i. Grouping sums D[sum_{w_ij = w} c_ij |i><j|] over w; expanded, it is a
    double sum over transition pairs with equal frequency, weighted by a 0/1 mask. The
    mask is built from values, so it also works under jit and grad (it has zero derivative).
    """
    _, gamma, temp, site = pair.bath(which)
    h = pair.hamiltonian()
    energies, vectors = jnp.linalg.eigh(h)
    x = vectors.T @ jnp.asarray(_embed(SIGMA_X, site), h.dtype) @ vectors
    w = energies[None, :] - energies[:, None]  # w[i, j] = E_j - E_i
    tol = 1e-9 * (1.0 + jnp.max(jnp.abs(energies)))
    active = jnp.abs(w) > tol
    w_safe = jnp.where(active, jnp.abs(w), 1.0)
    n = bose(w_safe, temp)
    rate = jnp.where(active, gamma * jnp.where(w > 0, n + 1, n), 0.0)
    c = jnp.sqrt(rate) * x  # (i, j)
    same = (jnp.abs(w[:, :, None, None] - w[None, None, :, :]) < tol) & active[:, :, None, None]
    same = same & active[None, None, :, :]
    pair_weight = jnp.where(same, c[:, :, None, None] * c[None, None, :, :], 0.0)  # [i, j, k, l]
    d = h.shape[0]
    # jump term: out (i, k) <- in (j, l) with weight c_ij c_kl (real eigenvectors, real c)
    jump = jnp.transpose(pair_weight, (0, 2, 1, 3))  # [i, k, j, l]
    # K[l, j] = sum_i c_il c_ij [w_ij = w_il]
    k_mat = jnp.einsum("ijil->lj", pair_weight)
    eye = jnp.eye(d, dtype=h.dtype)
    # [out_row, out_col, in_row, in_col]: (K rho)[a, b] = K[a, c] rho[c, b]; (rho K)[a, b] = rho[a, e] K[e, b]
    anti = 0.5 * (jnp.einsum("ac,be->abce", k_mat, eye) + jnp.einsum("ac,eb->abce", eye, k_mat))
    tensor = jump - anti
    super_eig = jnp.transpose(tensor, (1, 0, 3, 2)).reshape(d * d, d * d)  # column stacking
    rotation = jnp.kron(vectors, vectors)  # vec(V X V^T) = (V kron V) vec(X) for real V
    return (rotation @ super_eig @ rotation.T).astype(complex_dtype(h.dtype))


def bath_superops(pair: ThermalPair, master: str = "local") -> tuple[Array, Array]:
    """(D_A, D_S): each bath's dissipator as a 16 x 16 superoperator."""
    _checks.one_of("master", master, MASTERS)
    build = _local_bath if master == "local" else _global_bath
    return build(pair, "a"), build(pair, "s")


def pair_liouvillian(pair: ThermalPair, master: str = "local") -> Complex[Array, "16 16"]:
    """-i[H, .] + D_A + D_S."""
    d_a, d_s = bath_superops(pair, master)
    return hamiltonian_superop(pair.hamiltonian()) + d_a + d_s


def heat_currents(pair: ThermalPair, rho, master: str = "local") -> tuple[Array, Array]:
    """(J_A, J_S) with J_k = Tr(H D_k[rho]); positive when heat flows into the pair."""
    return tuple(_energy(pair, unvec(d_k @ vec(rho))) for d_k in bath_superops(pair, master))


def _energy(pair: ThermalPair, x) -> Array:
    """Re Tr(H x)."""
    h = pair.hamiltonian()
    x = jnp.asarray(x)
    return jnp.real(jnp.trace(h.astype(x.dtype) @ x))


class NESS(NamedTuple):
    """Non-equilibrium steady state of the pair and what it stores."""

    rho: Complex[Array, "4 4"]
    energy: Float[Array, ""]  # Tr(rho H), coupling included
    ergotropy: Float[Array, ""]  # with respect to the full H
    populations: Float[Array, " 4"]  # bare basis, order POPULATION_LABELS
    heat_current_a: Float[Array, ""]
    heat_current_s: Float[Array, ""]


def ness(pair: ThermalPair, master: str = "local") -> NESS:
    """The NESS; every field is differentiable in the pair's parameters (jitted per master)."""
    _checks.one_of("master", master, MASTERS)
    return _ness(pair, master)


@eqx.filter_jit
def _ness(pair: ThermalPair, master: str) -> NESS:
    rho = steady_state(pair_liouvillian(pair, master))
    h = pair.hamiltonian()
    j_a, j_s = heat_currents(pair, rho, master)
    return NESS(
        rho=rho,
        energy=_energy(pair, rho),
        ergotropy=ergotropy(rho, h),
        populations=jnp.real(jnp.diagonal(rho)),
        heat_current_a=j_a,
        heat_current_s=j_s,
    )


def gibbs_state(h, temp) -> Array:
    """exp(-H/T) / Z."""
    energies, vectors = jnp.linalg.eigh(h)
    weights = jnp.exp(-(energies - energies[0]) / temp)
    return (vectors * (weights / jnp.sum(weights))) @ vectors.conj().T


# ---------------------------------------------------------------- two-stroke cycle


class Cycle(NamedTuple):
    """One period of the two-stroke cycle at its periodic state."""

    tau: Float[Array, ""]
    work: Float[Array, ""]  # ergotropy extracted per cycle
    heat_a: Float[Array, ""]  # heat from bath A during the stroke
    heat_s: Float[Array, ""]
    efficiency: Float[Array, ""]  # work / heat_a
    power: Float[Array, ""]  # work / tau
    passive: Complex[Array, "4 4"]  # periodic state after extraction (start of the stroke)
    charged: Complex[Array, "4 4"]  # periodic state at the end of the stroke
    residual: float  # max |p_next - p| in the last cycle of the iteration
    iterations: int
    converged: bool  # False when max_iterations ran out (e.g. a period-2 orbit at a level crossing)


def _stroke(superop: Array, rho: Array, tau) -> tuple[Array, Array]:
    """(rho(tau), integral_0^tau rho(t) dt), both from one exponential (Van Loan)."""
    n = superop.shape[0]
    block = jnp.zeros((n + 1, n + 1), superop.dtype)
    block = block.at[:n, :n].set(superop).at[:n, n].set(vec(rho))
    exp = jax.scipy.linalg.expm(block * jnp.asarray(tau).astype(block.dtype))
    return unvec(exp[:n, :n] @ vec(rho)), unvec(exp[:n, n])


@jax.jit
def _periodic_populations(propagator, vectors, p0, threshold, max_iterations):
    """Iterate p -> eigenvalues(P rho(p)) until one step moves p by less than `threshold`."""

    def one_cycle(p):
        rho = (vectors * p.astype(vectors.dtype)) @ vectors.conj().T
        charged = unvec(propagator @ vec(rho))
        return jnp.linalg.eigvalsh(0.5 * (charged + charged.conj().T))[::-1]

    def cond(state):
        _, change, k = state
        return (change >= threshold) & (k < max_iterations)

    def body(state):
        p, _, k = state
        new = one_cycle(p)
        return new, jnp.max(jnp.abs(new - p)), k + 1

    inf = jnp.asarray(jnp.inf, p0.dtype)
    return jax.lax.while_loop(cond, body, (p0, inf, jnp.asarray(0)))


@eqx.filter_jit
def _cycle_prelude(pair: ThermalPair, master: str, tau):
    """(e^{L tau}, eigenvectors of H, passive populations of the NESS)."""
    superop = pair_liouvillian(pair, master)
    _, vectors = jnp.linalg.eigh(pair.hamiltonian())
    propagator = jax.scipy.linalg.expm(superop * tau.astype(superop.dtype))
    p0 = jnp.linalg.eigvalsh(steady_state(superop))[::-1]
    return propagator, vectors.astype(superop.dtype), p0


@eqx.filter_jit
def _cycle_epilogue(pair: ThermalPair, master: str, tau, vectors, p):
    """The periodic passive and charged states, work and heats of one stroke."""
    superop = pair_liouvillian(pair, master)
    passive = (vectors * p.astype(vectors.dtype)) @ vectors.conj().T
    charged, integral = _stroke(superop, passive, tau)
    d_a, d_s = bath_superops(pair, master)
    heat_a = _energy(pair, unvec(d_a @ vec(integral)))
    heat_s = _energy(pair, unvec(d_s @ vec(integral)))
    return passive, charged, ergotropy(charged, pair.hamiltonian()), heat_a, heat_s


def two_stroke_cycle(
    pair: ThermalPair, tau, master: str = "local", *, tol: float = 1e-11, max_iterations: int = 500_000
) -> Cycle:
    """The periodic two-stroke cycle for a charging time tau (concrete parameters).

    The state after extraction is passive: populations p (descending) on the eigenstates
    of H (ascending energy), so the periodic state is a fixed point of the map
    p -> eigenvalues(e^{L tau} rho(p)). The map is only piecewise smooth (the sort), and
    for short tau its fixed point sits where two populations nearly cross, so it is
    iterated (jitted while loop, one 16 x 16 product and one 4 x 4 eigensolve per cycle)
    from the passive state of the NESS. The map contracts by about exp(-gamma tau) per
    cycle, so iteration stops when a cycle moves p by less than tol * min(1, gamma tau),
    which bounds the distance to the fixed point by about tol.
    """
    _checks.positive("tau", tau)
    if not _checks.is_traced((pair, tau)):  # exp(-L tau) of the cycle: its phase bounded as a charge's
        rates = (pair.omega_a, pair.omega_s, pair.g, pair.gamma_a, pair.gamma_s)
        _checks.charging_phase("tau", float(tau), sum(abs(float(x)) for x in rates))
    _checks.positive("tol", tol)
    max_iterations = _checks.integer_at_least("max_iterations", max_iterations, 1)
    if _checks.is_traced(pair) or _checks.is_traced(tau):
        raise _checks.ArgumentError(
            "pair", "two_stroke_cycle needs concrete parameters (it iterates to convergence)"
        )
    _checks.one_of("master", master, MASTERS)
    tau = jnp.asarray(tau, pair.omega_a.dtype)
    propagator, vectors, p0 = _cycle_prelude(pair, master, tau)
    rate = float(jnp.minimum(pair.gamma_a, pair.gamma_s)) * float(tau)
    threshold = jnp.asarray(tol * min(1.0, rate), tau.dtype)
    p, change, iterations = _periodic_populations(propagator, vectors, p0, threshold, max_iterations)
    passive, charged, work, heat_a, heat_s = _cycle_epilogue(pair, master, tau, vectors, p)
    return Cycle(
        tau=tau,
        work=work,
        heat_a=heat_a,
        heat_s=heat_s,
        efficiency=work / heat_a,
        power=work / tau,
        passive=passive,
        charged=charged,
        residual=float(change),
        iterations=int(iterations),
        converged=bool(change < threshold),
    )
