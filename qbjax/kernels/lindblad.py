"""Lindblad master equations: superoperators, the dense Liouvillian, a matrix-free
right-hand side for spin chains, and time evolution.

    d rho / dt = -i [H, rho] + sum_k ( L_k rho L_k^+ - 1/2 {L_k^+ L_k, rho} )

Vectorisation is column stacking (QuTiP's convention): vec(rho)[i + d j] = rho[i, j], so
vec(A X B) = (B^T kron A) vec(X). A superoperator is a (d^2, d^2) matrix acting on vec(rho).

Dense Liouvillians serve small systems (the thermal pair is 16 x 16). Spin chains up to
N of about 8 use `ChainLindbladian`: H rho from `terms.apply` on the columns of rho, and
single-site jump operators applied to one tensor axis of rho, never a d^2 x d^2 matrix.
Evolution then uses an adaptive Runge-Kutta solver (diffrax Tsit5 with a PID step-size
controller) on the real and imaginary parts of rho.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import diffrax
import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Complex, Float

from .. import _checks
from ..operators.terms import PauliSum, apply, complex_dtype

MAX_CHAIN_SITES = 10  # rho of 2^10 x 2^10 complex numbers is 16 MiB; beyond that use trajectories

# single-site operators in the (up, down) basis: bit 0 = up = sigma^z = +1
SIGMA_MINUS = np.array([[0.0, 0.0], [1.0, 0.0]])  # |down><up|
SIGMA_PLUS = SIGMA_MINUS.T
SIGMA_Z = np.diag([1.0, -1.0])
SIGMA_X = np.array([[0.0, 1.0], [1.0, 0.0]])
SINGLE_SITE = {"sm": SIGMA_MINUS, "sp": SIGMA_PLUS, "sz": SIGMA_Z, "sx": SIGMA_X}


# ---------------------------------------------------------------- superoperators


def vec(rho: Complex[Array, "d d"]) -> Complex[Array, " d2"]:
    """Column stacking: vec(rho)[i + d j] = rho[i, j]."""
    return jnp.asarray(rho).T.reshape(-1)


def unvec(v: Complex[Array, " d2"]) -> Complex[Array, "d d"]:
    """Inverse of `vec`."""
    d = math.isqrt(v.shape[-1])
    return v.reshape(d, d).T


def _cplx(a) -> Array:
    a = jnp.asarray(a)
    return a.astype(complex_dtype(a.dtype))


def spre(a) -> Complex[Array, "d2 d2"]:
    """vec(A X) = (I kron A) vec(X)."""
    a = _cplx(a)
    return jnp.kron(jnp.eye(a.shape[0], dtype=a.dtype), a)


def spost(a) -> Complex[Array, "d2 d2"]:
    """vec(X A) = (A^T kron I) vec(X)."""
    a = _cplx(a)
    return jnp.kron(a.T, jnp.eye(a.shape[0], dtype=a.dtype))


def sprepost(a, b) -> Complex[Array, "d2 d2"]:
    """vec(A X B) = (B^T kron A) vec(X)."""
    return jnp.kron(_cplx(b).T, _cplx(a))


def hamiltonian_superop(h) -> Complex[Array, "d2 d2"]:
    """-i [H, .] as a superoperator."""
    return -1j * (spre(h) - spost(h))


def dissipator(jump) -> Complex[Array, "d2 d2"]:
    """D[L] = L . L^+ - 1/2 {L^+ L, .} as a superoperator."""
    jump = _cplx(jump)
    ldl = jump.conj().T @ jump
    return sprepost(jump, jump.conj().T) - 0.5 * spre(ldl) - 0.5 * spost(ldl)


def liouvillian(h, jumps: Sequence = ()) -> Complex[Array, "d2 d2"]:
    """The dense Liouvillian -i[H, .] + sum_k D[L_k] (column stacking)."""
    total = hamiltonian_superop(h)
    for jump in jumps:
        total = total + dissipator(jump)
    return total


def apply_superop(superop, rho) -> Complex[Array, "d d"]:
    """The superoperator applied to the matrix rho."""
    return unvec(superop @ vec(_cplx(rho)))


def lindblad_rhs(rho, h, jumps: Sequence = ()) -> Complex[Array, "d d"]:
    """-i[H, rho] + sum_k D[L_k] rho with dense matrices (the reference form)."""
    rho, h = _cplx(rho), _cplx(h)
    out = -1j * (h @ rho - rho @ h)
    for jump in jumps:
        jump = _cplx(jump)
        ldl = jump.conj().T @ jump
        out = out + jump @ rho @ jump.conj().T - 0.5 * (ldl @ rho + rho @ ldl)
    return out


def evolve_dense(superop, rho0, times) -> Complex[Array, "T d d"]:
    """rho(t) = exp(L t) rho0 for each t (exact; for small dense Liouvillians)."""
    _checks.time_grid("times", times)
    v0 = vec(_cplx(rho0))
    superop = _cplx(superop)
    times = jnp.asarray(times, dtype=superop.dtype)
    return jax.vmap(lambda t: unvec(jax.scipy.linalg.expm(superop * t) @ v0.astype(superop.dtype)))(times)


# ---------------------------------------------------------------- matrix-free chains


def _apply_left(op: Array, site: int, n_sites: int, rho: Array) -> Array:
    """(op on `site`) @ rho, acting on one tensor axis of the row index."""
    d = rho.shape[0]
    r = rho.reshape(2**site, 2, 2 ** (n_sites - site - 1), d)
    return jnp.einsum("ab,ibjc->iajc", op, r).reshape(d, d)


def _apply_right(op: Array, site: int, n_sites: int, rho: Array) -> Array:
    """rho @ (op on `site`), acting on one tensor axis of the column index."""
    d = rho.shape[0]
    r = rho.reshape(d, 2**site, 2, 2 ** (n_sites - site - 1))
    return jnp.einsum("iajb,jc->iacb", r, op).reshape(d, d)


class ChainLindbladian(eqx.Module):
    """A spin-chain Lindbladian: H as a PauliSum plus single-site jump operators.

    Jump k is sqrt(rates[k]) O_k on site `sites[k]`, with O_k named by `kinds[k]`: "sm"
    (sigma^- = |down><up|, amplitude damping), "sp" (sigma^+), "sz" (dephasing) or "sx".

    Attributes:
        hamiltonian: H, a PauliSum on N sites.
        sites, kinds: static structure of the jumps.
        rates: traced rates, shape (K,), >= 0.
    """

    hamiltonian: PauliSum
    sites: tuple[int, ...] = eqx.field(static=True)
    kinds: tuple[str, ...] = eqx.field(static=True)
    rates: Float[Array, " K"]

    def __check_init__(self):
        n = self.hamiltonian.n_sites
        if len(self.sites) != len(self.kinds) or self.rates.shape != (len(self.sites),):
            raise _checks.ArgumentError("rates", "need one site, one kind and one rate per jump operator")
        for site, kind in zip(self.sites, self.kinds, strict=True):
            if not 0 <= site < n:
                raise _checks.ArgumentError("sites", f"site {site} outside 0..{n - 1}")
            _checks.one_of("kinds", kind, SINGLE_SITE)

    @property
    def n_sites(self) -> int:
        return self.hamiltonian.n_sites

    def commutator(self, rho: Complex[Array, "d d"]) -> Complex[Array, "d d"]:
        """-i (H rho - rho H), with H applied column by column (matrix-free)."""
        h_cols = jax.vmap(apply, in_axes=(None, 1), out_axes=1)
        h_rho = h_cols(self.hamiltonian, rho)
        rho_h = h_cols(self.hamiltonian, rho.conj().T).conj().T  # rho H = (H rho^+)^+
        return -1j * (h_rho - rho_h)

    def dissipate(self, rho: Complex[Array, "d d"]) -> Complex[Array, "d d"]:
        """sum_k rate_k (O_k rho O_k^+ - 1/2 {O_k^+ O_k, rho})."""
        out = jnp.zeros_like(rho)
        n = self.n_sites
        for k, (site, kind) in enumerate(zip(self.sites, self.kinds, strict=True)):
            op = jnp.asarray(SINGLE_SITE[kind], rho.dtype)
            odo = op.conj().T @ op
            jump_term = _apply_right(op.conj().T, site, n, _apply_left(op, site, n, rho))
            anti = _apply_left(odo, site, n, rho) + _apply_right(odo, site, n, rho)
            out = out + self.rates[k].astype(rho.dtype) * (jump_term - 0.5 * anti)
        return out

    def __call__(self, rho: Complex[Array, "d d"]) -> Complex[Array, "d d"]:
        """The right-hand side d rho / dt."""
        return self.commutator(rho) + self.dissipate(rho)

    def jumps_dense(self) -> list[Array]:
        """The jump operators sqrt(rate) O_k as dense matrices (for checks and small N)."""
        n = self.n_sites
        out = []
        for k, (site, kind) in enumerate(zip(self.sites, self.kinds, strict=True)):
            op = np.kron(np.kron(np.eye(2**site), SINGLE_SITE[kind]), np.eye(2 ** (n - site - 1)))
            out.append(jnp.sqrt(self.rates[k]) * jnp.asarray(op))
        return out


def chain_lindbladian(hamiltonian: PauliSum, *, dephasing=0.0, damping=0.0, pumping=0.0) -> ChainLindbladian:
    """H plus jumps on every site: sqrt(dephasing) sz, sqrt(damping) s-, sqrt(pumping) s+.

    Each rate is a number >= 0 (or a tracer). Jumps with a concrete zero rate are dropped.
    """
    n = hamiltonian.n_sites
    if n > MAX_CHAIN_SITES:
        raise _checks.ArgumentError(
            "n", f"must be <= {MAX_CHAIN_SITES} for density-matrix evolution, got {n}"
        )
    sites, kinds, rates = [], [], []
    for name, kind, rate in (
        ("dephasing", "sz", dephasing),
        ("damping", "sm", damping),
        ("pumping", "sp", pumping),
    ):
        _checks.nonnegative(name, rate)
        if _checks.is_concrete_zero(rate):
            continue
        for site in range(n):
            sites.append(site)
            kinds.append(kind)
            rates.append(jnp.asarray(rate, dtype=jnp.result_type(rate, float)))
    dtype = hamiltonian.coeffs.dtype
    rate_array = jnp.stack(rates).astype(dtype) if rates else jnp.zeros((0,), dtype)
    return ChainLindbladian(hamiltonian, tuple(sites), tuple(kinds), rate_array)


# ---------------------------------------------------------------- adaptive evolution


def evolve(
    rhs,
    rho0: Complex[Array, "d d"],
    times: Float[Array, " T"],
    *,
    rtol: float = 1e-8,
    atol: float = 1e-10,
    max_steps: int = 100_000,
) -> Complex[Array, "T d d"]:
    """Integrate d rho/dt = rhs(rho) from t = 0 and return rho at each of `times`.

    Args:
        rhs: a callable rho -> d rho / dt (a `ChainLindbladian`, or a closure around
            `lindblad_rhs`).
        rho0: initial density matrix, shape (d, d).
        times: sorted, non-negative save times, shape (T,).
        rtol, atol: tolerances of the adaptive step (diffrax Tsit5 + PIDController).

    Returns:
        The states, shape (T, d, d). Differentiable (diffrax checkpointed adjoint).
    """
    _checks.time_grid("times", times)
    _checks.positive("rtol", rtol)
    _checks.positive("atol", atol)
    rho0 = _cplx(rho0)
    times = jnp.asarray(times, dtype=jnp.real(rho0).dtype)
    t1 = solve_end(times[-1])
    saveat = diffrax.SaveAt(ts=jnp.minimum(times, t1))
    solution = solve(rhs, rho0, t1, saveat, rtol=rtol, atol=atol, max_steps=max_steps)
    states = jax.lax.complex(solution.ys[0], solution.ys[1])
    return jnp.where((times == 0)[:, None, None], rho0[None], states)


def solve_end(t_end) -> Array:
    """The end of the integration for a window [0, t_end]: diffrax needs t1 > t0, so a zero
    window becomes a no-op step of 1e-12."""
    return jnp.maximum(t_end, jnp.asarray(1e-12, jnp.asarray(t_end).dtype))


def solve(rhs, rho0, t1, saveat, *, rtol: float, atol: float, max_steps: int):
    """diffrax's solution of d rho/dt = rhs(rho) on [0, t1] (Tsit5, PID step control), with
    rho carried as its (real, imaginary) parts."""
    real = jnp.real(rho0).dtype

    def field(t, y, args):
        out = rhs(jax.lax.complex(y[0], y[1]))
        return jnp.real(out), jnp.imag(out)

    return diffrax.diffeqsolve(
        diffrax.ODETerm(field),
        diffrax.Tsit5(),
        t0=jnp.asarray(0.0, real),
        t1=t1,
        dt0=None,
        y0=(jnp.real(rho0), jnp.imag(rho0)),
        saveat=saveat,
        stepsize_controller=diffrax.PIDController(rtol=rtol, atol=atol),
        max_steps=max_steps,
    )


def is_density_matrix(rho, atol: float = 1e-9) -> bool:
    """Trace one, Hermitian and positive semidefinite, each to `atol` (concrete check)."""
    rho = np.asarray(rho)
    hermitian = np.allclose(rho, rho.conj().T, atol=atol)
    trace_one = abs(np.trace(rho) - 1) < atol
    positive = np.linalg.eigvalsh(0.5 * (rho + rho.conj().T)).min() > -atol
    return bool(hermitian and trace_one and positive)
