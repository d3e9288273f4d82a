"""Chebyshev propagator: Bessel functions, spectral bounds, plans, states, energy curves, derivatives."""

import dataclasses
import math
import zlib

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.sparse.linalg
import scipy.special
from reference import xxz_dm_chain

import qbjax
from qbjax.engines.chebyshev import GEMM_SEGMENTS, chebyshev_curve
from qbjax.kernels import chebyshev as ch
from qbjax.operators import bounds as bounds_module
from qbjax.operators.bounds import spectral_bounds
from qbjax.operators.terms import PauliSum, dense, norm_bound

CHAIN = {"alpha": 0.3, "dm": 0.7, "g": 1.0, "field": 1.0, "omega": 4.0}


def _exact(h, psi0, times):
    """Reference states by the dense spectral decomposition (NumPy, float64)."""
    evals, evecs = np.linalg.eigh(np.asarray(dense(h)))
    amplitudes = evecs.conj().T @ np.asarray(psi0)
    return np.stack([evecs @ (np.exp(-1j * evals * t) * amplitudes) for t in np.asarray(times)])


def exact_start(h0, psi0):
    return float(np.real(np.vdot(np.asarray(psi0), np.asarray(dense(h0)) @ np.asarray(psi0))))


def _energies(h0, states):
    h0 = np.asarray(dense(h0))
    return np.real(np.einsum("ti,ij,tj->t", states.conj(), h0, states))


@pytest.fixture(scope="module")
def chain6():
    return qbjax.spin_chain_battery(6, **CHAIN)


# ----------------------------------------------------------------------------------------
# Bessel functions


def test_bessel_matches_scipy():
    x = np.concatenate([[0.0, 1e-12, 1e-3, 0.2], np.linspace(0.5, 500.0, 97)])
    got = np.asarray(ch.bessel_j(jnp.asarray(x), 600))
    ref = scipy.special.jv(np.arange(601)[None, :], x[:, None])
    np.testing.assert_allclose(got, ref, atol=1e-13, rtol=0)


def test_bessel_large_arguments_and_orders():
    # SciPy's own jv is off by about 2e-14 at x ~ 1000 (ours agrees with an 80-bit
    # recurrence to 2e-16), hence the tolerance
    x = np.array([640.3, 999.9])
    got = np.asarray(ch.bessel_j(jnp.asarray(x), 2000))
    ref = scipy.special.jv(np.arange(2001)[None, :], x[:, None])
    np.testing.assert_allclose(got, ref, atol=5e-14, rtol=0)


def test_bessel_tiny_and_negative_arguments():
    tiny = np.asarray(ch.bessel_j(jnp.asarray(1e-200), 3))
    np.testing.assert_allclose(tiny[:2], [1.0, 5e-201], rtol=1e-13)
    x = 7.3
    np.testing.assert_allclose(
        np.asarray(ch.bessel_j(jnp.asarray(-x), 20)),
        (-1.0) ** np.arange(21) * scipy.special.jv(np.arange(21), x),
        atol=1e-15,
    )


def test_bessel_derivatives_follow_the_recurrence_identity():
    x = jnp.asarray([0.0, 0.4, 3.0, 25.0, 180.0])
    k = np.arange(201)
    _, tangent = jax.jvp(lambda v: ch.bessel_j(v, 200), (x,), (jnp.ones_like(x),))
    xs = np.asarray(x)[:, None]
    identity = 0.5 * (scipy.special.jv(k - 1, xs) - scipy.special.jv(k + 1, xs))
    np.testing.assert_allclose(np.asarray(tangent), identity, atol=1e-13, rtol=0)
    # reverse mode and a second derivative: J_k'' = (J_{k-2} - 2 J_k + J_{k+2}) / 4
    second = jax.grad(jax.grad(lambda v: ch.bessel_j(v, 12)[5]))(7.0)
    expected = (scipy.special.jv(3, 7.0) - 2 * scipy.special.jv(5, 7.0) + scipy.special.jv(7, 7.0)) / 4
    assert float(second) == pytest.approx(expected, abs=1e-14)


def test_degree_is_the_smallest_rigorous_one():
    for x, tol in [(0.3, 1e-6), (5.0, 1e-12), (30.0, 1e-12), (30.0, 1e-6), (120.0, 1e-12)]:
        degree = ch.degree_for(x, tol)
        assert ch.tail_bound(x, degree) <= tol
        assert degree == max(1, math.ceil(x)) or ch.tail_bound(x, degree - 1) > tol
        orders = np.arange(degree + 1, degree + 400)
        actual = 2 * np.sum(np.abs(scipy.special.jv(orders, x)))
        assert actual <= ch.tail_bound(x, degree)
        # the a-posteriori tail is the actual one (up to the bounded remainder)
        assert float(ch.bessel_tail(jnp.asarray(x), degree)) == pytest.approx(actual, rel=1e-6, abs=1e-30)


# ----------------------------------------------------------------------------------------
# Spectral bounds and plans


@pytest.mark.parametrize("exact", [True, False])
@pytest.mark.parametrize("coupling", ["nn", "lr"])
@pytest.mark.parametrize("protocol", ["replace", "add", "collective"])
def test_spectral_bounds_contain_the_spectrum(coupling, protocol, exact, monkeypatch):
    if not exact:  # the Weyl bounds alone, as beyond 2^9 amplitudes
        monkeypatch.setattr(bounds_module, "_EXACT_MAX_DIM", 0)
    battery = qbjax.spin_chain_battery(6, coupling=coupling, protocol=protocol, p=0.8, **CHAIN)
    for h in (battery.charging, battery.energy):
        evals = np.linalg.eigvalsh(np.asarray(dense(h)))
        lo, hi = spectral_bounds(h)
        bound = float(norm_bound(h))
        assert lo <= evals[0] and evals[-1] <= hi
        assert -bound <= lo and hi <= bound


def test_spectral_bounds_are_tight_for_chains(monkeypatch):
    battery = qbjax.spin_chain_battery(8, alpha=0.3, dm=1.0)
    evals = np.linalg.eigvalsh(np.asarray(dense(battery.charging)))
    lo, hi = spectral_bounds(battery.charging)  # 2^8 amplitudes: the computed extremes, widened
    assert lo <= evals[0] and evals[-1] <= hi and hi - lo < (1 + 1e-10) * (evals[-1] - evals[0])
    monkeypatch.setattr(bounds_module, "_EXACT_MAX_DIM", 0)  # the cluster bound, as beyond 2^9 amplitudes
    charging = qbjax.spin_chain_battery(8, alpha=0.3).charging
    evals = np.linalg.eigvalsh(np.asarray(dense(charging)))
    lo, hi = spectral_bounds(charging)
    assert hi - lo < 1.02 * (evals[-1] - evals[0]) < 0.8 * 2 * float(norm_bound(charging))
    # diagonal Hamiltonians: the exact extremes
    field = qbjax.spin_chain_battery(5, field=1.3, protocol="collective").energy
    assert spectral_bounds(field) == pytest.approx((-6.5, 6.5), abs=1e-12)
    assert spectral_bounds(PauliSum(3, (), jnp.zeros((0,)))) == (0.0, 0.0)


def test_interval_in_single_precision_still_contains_the_spectrum():
    # c and r rounded to float32: without widening, many of the rounded intervals
    # would lose an end of the float64 one, where T_k grows
    rng = np.random.default_rng(5)
    for center, radius in zip(rng.uniform(-50, 50, 200), rng.uniform(1, 60, 200), strict=True):
        c, r = (float(x) for x in ch.working_interval(center, radius, np.float32))
        assert c - r <= center - radius and center + radius <= c + r
        assert r - radius <= 1e-5 * (radius + abs(center))  # and hardly wider


def test_plan_rule(chain6):
    h = chain6.charging
    center, radius, degree, segments, block = ch.plan(h, 20.0, tol=1e-12)
    lo, hi = spectral_bounds(h)
    assert center == pytest.approx((lo + hi) / 2) and radius == pytest.approx((hi - lo) / 2, rel=1e-9)
    assert segments == math.ceil(radius * 20.0 / ch.MAX_SEGMENT_ARG)
    assert degree == ch.degree_for(radius * 20.0 / segments, 1e-12 / segments)
    assert block is None  # no memory limit: every vector of a segment kept
    assert ch.plan(h, 0.0) == (center, radius, 1, 1, None)
    assert ch.plan(h, 20.0, bounds=(-30.0, 30.0)).radius == pytest.approx(30.0)


def test_traced_coefficients_need_bounds(chain6):
    h, h0, psi0 = chain6.charging, chain6.energy, chain6.initial_state()

    def curve(coeffs):
        return chebyshev_curve(PauliSum(h.n_sites, h.terms, coeffs), h0, psi0, 1.0).energy(0.5)

    with pytest.raises(ValueError, match="bounds: must be given"):
        jax.jit(curve)(h.coeffs)
    with pytest.raises(ValueError, match="bounds: must be given"):
        jax.vmap(lambda c: ch.evolve_chebyshev(PauliSum(h.n_sites, h.terms, c), psi0, [1.0]).states)(
            h.coeffs[None]
        )


# ----------------------------------------------------------------------------------------
# States and energies against dense references


def test_states_match_dense(chain6):
    h, psi0 = chain6.charging, chain6.initial_state()
    times = np.array([0.0, 0.05, 0.3, 1.0, 2.5, 7.0, 20.0])  # r t up to ~500: many steps
    result = ch.evolve_chebyshev(h, psi0, times)
    errors = np.linalg.norm(np.asarray(result.states) - _exact(h, psi0, times), axis=1)
    assert errors.max() <= 1e-10
    assert float(result.error_estimate) >= errors.max()
    # the curve's states and energies over many segments (more than _GEMM_SEGMENTS: the
    # batched-gather path of energy())
    curve = chebyshev_curve(h, chain6.energy, psi0, 30.0)
    assert curve.segments > GEMM_SEGMENTS
    probe = np.array([0.0, 3.3, 13.7, 20.0, 30.0])
    exact = _exact(h, psi0, probe)
    states = np.stack([np.asarray(curve.state(t)) for t in probe])
    errors = np.linalg.norm(states - exact, axis=1)
    assert errors.max() <= 1e-10
    assert float(curve.error_estimate()) >= errors.max()
    np.testing.assert_allclose(states[3], np.asarray(result.states[-1]), atol=1e-12)
    energies = np.asarray(curve.energy(jnp.asarray(probe)))
    np.testing.assert_allclose(energies, _energies(chain6.energy, exact), atol=1e-10, rtol=0)


@pytest.mark.parametrize("coupling", ["nn", "lr"])
@pytest.mark.parametrize("protocol", ["replace", "add", "collective"])
def test_energy_curve_matches_dense(coupling, protocol):
    n = 7 if coupling == "nn" else 6
    battery = qbjax.spin_chain_battery(n, coupling=coupling, protocol=protocol, p=1.0, **CHAIN)
    psi0 = battery.initial_state()
    t_end = 2 * np.pi / CHAIN["omega"]
    curve = chebyshev_curve(battery.charging, battery.energy, psi0, t_end)
    times = np.linspace(0.0, t_end, 64)
    exact = _energies(battery.energy, _exact(battery.charging, psi0, times))
    energy = np.asarray(curve.energy(jnp.asarray(times)))
    np.testing.assert_allclose(energy - energy[0], exact - exact[0], atol=1e-10, rtol=0)
    h0_norm = np.max(np.abs(np.linalg.eigvalsh(np.asarray(dense(battery.energy)))))
    assert np.max(np.abs(energy - exact)) <= 2 * h0_norm * float(curve.error_estimate())


def test_uniform_grid_energy_matches_dense(chain6):
    # blocks of the grid read from one segment, some backwards: still the exact energies, for
    # the whole window and for a shorter one, with n not a multiple of the 7 segments
    psi0 = chain6.initial_state()
    curve = chebyshev_curve(chain6.charging, chain6.energy, psi0, 4.0, segments=7)
    for t_end, n in ((4.0, 256), (0.37 * 4.0, 61)):
        grid = t_end * np.arange(1, n + 1) / n
        exact = _energies(chain6.energy, _exact(chain6.charging, psi0, grid))
        np.testing.assert_allclose(np.asarray(curve.uniform_energy(t_end, n)), exact, atol=1e-10, rtol=0)


def test_xxx_chain_charges_like_independent_spins():
    n, b, omega = 5, 0.8, 3.0
    battery = qbjax.spin_chain_battery(n, coupling="lr", g=1.4, p=0.7, alpha=1.0, field=b, omega=omega)
    curve = chebyshev_curve(battery.charging, battery.energy, battery.initial_state(), 2.0)
    times = jnp.linspace(0.0, 2.0, 9)
    np.testing.assert_allclose(
        np.asarray(curve.work(times)), n * 2 * b * np.sin(omega * np.asarray(times)) ** 2, atol=1e-10
    )


def test_n14_matches_expm_multiply():
    n, t_end = 14, 1.2
    battery = qbjax.spin_chain_battery(n, **CHAIN)
    h_sparse, h0_sparse = xxz_dm_chain(n, *(CHAIN[k] for k in ("g", "alpha", "dm", "field", "omega")))
    psi0 = np.asarray(battery.initial_state())
    times = np.linspace(0.0, t_end, 5)
    ref = scipy.sparse.linalg.expm_multiply(-1j * h_sparse, psi0, start=0.0, stop=t_end, num=5, endpoint=True)
    result = ch.evolve_chebyshev(battery.charging, battery.initial_state(), times)
    np.testing.assert_allclose(np.asarray(result.states), ref, atol=1e-9, rtol=0)
    curve = chebyshev_curve(battery.charging, battery.energy, battery.initial_state(), t_end)
    exact = np.real(np.einsum("ti,ti->t", ref.conj(), (h0_sparse @ ref.T).T))
    np.testing.assert_allclose(np.asarray(curve.energy(jnp.asarray(times))), exact, atol=1e-9, rtol=0)


# ----------------------------------------------------------------------------------------
# Derivatives and batching


def test_time_derivative(chain6):
    h, h0, psi0 = chain6.charging, chain6.energy, chain6.initial_state()
    curve = chebyshev_curve(h, h0, psi0, 3.0)
    times = jnp.asarray([0.0, 0.4, 1.1, 2.999])
    _, slope = jax.jvp(curve.energy, (times,), (jnp.ones_like(times),))
    # d<H0>/dt = <psi| i [H, H0] |psi>
    states = _exact(h, psi0, np.asarray(times))
    hd, h0d = np.asarray(dense(h)), np.asarray(dense(h0))
    exact = np.real(np.einsum("ti,ij,tj->t", states.conj(), 1j * (hd @ h0d - h0d @ hd), states))
    np.testing.assert_allclose(np.asarray(slope), exact, atol=1e-9, rtol=0)
    step = 1e-5
    plus, minus = curve.energy(times[1:] + step), curve.energy(times[1:] - step)
    fd = (np.asarray(plus) - np.asarray(minus)) / (2 * step)
    np.testing.assert_allclose(np.asarray(slope[1:]), fd, rtol=1e-6, atol=1e-8)
    assert float(jax.grad(lambda t: curve.energy(t))(1.1)) == pytest.approx(float(slope[2]), rel=1e-12)


def _work_function(n, t_end, times, bounds, **fixed):
    def work(alpha, dm):
        battery = qbjax.spin_chain_battery(n, alpha=alpha, dm=dm, **fixed)
        psi0 = battery.initial_state()
        curve = chebyshev_curve(battery.charging, battery.energy, psi0, t_end, bounds=bounds)
        return curve.work(times)

    return jax.jit(work)


@pytest.mark.parametrize(("alpha", "dm"), [(0.3, 0.7), (1.0, 0.0)])
def test_gradient_in_coefficients_matches_finite_differences(alpha, dm):
    fixed = {"g": 1.0, "field": 1.0, "omega": 4.0}
    lo, hi = spectral_bounds(qbjax.spin_chain_battery(5, alpha=alpha, dm=dm, **fixed).charging)
    times = jnp.asarray([0.35, 0.8])
    work = _work_function(5, 0.8, times, (lo - 1.0, hi + 1.0), **fixed)

    @jax.jit
    def total(alpha, dm):
        return jnp.sum(work(alpha, dm))

    grads = jax.jit(jax.grad(total, argnums=(0, 1)))(jnp.asarray(alpha), jnp.asarray(dm))
    step = 1e-5
    for i, g in enumerate(grads):
        plus = [alpha, dm]
        minus = [alpha, dm]
        plus[i] += step
        minus[i] -= step
        fd = (float(total(*map(jnp.asarray, plus))) - float(total(*map(jnp.asarray, minus)))) / (2 * step)
        assert float(g) == pytest.approx(fd, rel=1e-6, abs=1e-9)


def test_vmap_over_parameters_matches_loop():
    fixed = {"g": 1.0, "field": 1.0, "omega": 4.0}
    alphas = jnp.asarray([0.0, 0.5, 1.0])
    chargers = [qbjax.spin_chain_battery(5, alpha=a, dm=0.4, **fixed).charging for a in alphas]
    bounds = [spectral_bounds(h) for h in chargers]
    union = (min(b[0] for b in bounds), max(b[1] for b in bounds))
    times = jnp.linspace(0.0, 1.5, 7)
    work = _work_function(5, 1.5, times, union, **fixed)
    dm = jnp.asarray(0.4)
    batched = jax.jit(jax.vmap(lambda a: work(a, dm)))(alphas)
    looped = jnp.stack([work(a, dm) for a in alphas])
    np.testing.assert_allclose(np.asarray(batched), np.asarray(looped), atol=1e-12, rtol=0)


def test_static_plan_under_jit(chain6):
    h, h0, psi0 = chain6.charging, chain6.energy, chain6.initial_state()
    bounds = spectral_bounds(h)
    *_, degree, segments, _ = ch.plan(h, 2.0, bounds=bounds)

    @jax.jit
    def energy_at_end(coeffs, t_end):
        hh = PauliSum(h.n_sites, h.terms, coeffs)
        curve = chebyshev_curve(hh, h0, psi0, t_end, bounds=bounds, degree=degree, segments=segments)
        return curve.energy(t_end), curve.error_estimate()

    energy, error = energy_at_end(h.coeffs, 2.0)
    exact = _energies(h0, _exact(h, psi0, [2.0]))[0]
    assert float(energy) == pytest.approx(exact, abs=1e-10)
    assert float(error) < 1e-10
    # a degree far too low for the window is reported, not hidden
    assert not np.isfinite(float(energy_at_end(h.coeffs, 40.0)[1]))
    lean = chebyshev_curve(
        h, h0, psi0, 2.0, bounds=bounds, degree=degree, segments=segments, keep_state=False
    )
    with pytest.raises(ValueError, match="keep_state"):
        lean.state(1.0)
    assert float(chebyshev_curve(h, h0, psi0, 0.0).energy(0.0)) == pytest.approx(exact_start(h0, psi0))


# ---------------------------------------------------------------------------------------
# The Chebyshev engine behind charge, sweep and optimize.


SLOW = pytest.mark.slow


@pytest.mark.parametrize(
    ("coupling", "protocol"),
    [("nn", "replace")]
    + [
        pytest.param(c, p, marks=SLOW)
        for c in ("nn", "lr")
        for p in ("replace", "add", "collective")
        if (c, p) != ("nn", "replace")
    ],
)
def test_engine_agrees_with_dense_on_random_chains(coupling, protocol):
    rng = np.random.default_rng(zlib.crc32(f"{coupling}-{protocol}".encode()))  # the same chain every run
    n = int(rng.integers(3, 8))
    params = dict(
        g=rng.uniform(0.3, 1.5), p=rng.uniform(0, 2), alpha=rng.uniform(-1, 1), dm=rng.uniform(0, 1),
        field=rng.uniform(0.5, 1.5), omega=rng.uniform(1, 5),
    )  # fmt: skip
    model = qbjax.SpinChain(n, coupling=coupling, protocol=protocol, **params)
    t_max, times = 2 * np.pi / params["omega"], np.linspace(0, 1.5, 7)
    cheb = qbjax.charge(model, t_max, times=times, method="chebyshev")
    dense = qbjax.charge(model, t_max, times=times, method="dense")
    for key in ("max_power", "t_max_power", "max_work", "t_max_work", "initial_energy", "ground_energy"):
        assert float(getattr(cheb, key)) == pytest.approx(float(getattr(dense, key)), rel=1e-10, abs=1e-10)
    for key in ("work", "power", "ergotropy"):
        np.testing.assert_allclose(getattr(cheb, key), getattr(dense, key), atol=1e-10, rtol=0)
    assert 0 < float(cheb.error_estimate) < 1e-11


def test_engine_error_estimate_bounds_the_measured_error():
    """|W - W_exact| <= 2 ||H0|| * (state error) <= 2 ||H0|| * estimate at a loose tolerance,
    where the error is far from rounding (the default tolerance: the tests above)."""
    model = qbjax.SpinChain(4, alpha=0.4, dm=0.8, omega=3.0)
    times = np.linspace(0, 4.0, 9)
    exact = qbjax.charge(model, 4.0, times=times, method="dense")
    norm_h0 = float(np.max(np.abs(np.linalg.eigvalsh(np.asarray(qbjax.dense(model.battery().energy))))))
    result = qbjax.charge(model, 4.0, times=times, method=qbjax.Chebyshev(tol=1e-4))
    error = float(np.max(np.abs(np.asarray(result.work) - np.asarray(exact.work))))
    assert 1e-9 < error <= 2 * norm_h0 * float(result.error_estimate)


@pytest.mark.parametrize(
    ("alpha", "dm"), [pytest.param(0.3, 0.6, marks=SLOW), (1.0, 0.0)], ids=["generic", "xxx-d0"]
)
def test_engine_max_power_gradient_matches_central_differences(alpha, dm):
    t_max = 2 * np.pi / 4.0
    width = 2.0 * float(norm_bound(qbjax.spin_chain_battery(6, alpha=1.5, dm=1.0).charging))
    engine = qbjax.Chebyshev(bounds=(-width / 2, width / 2))

    def p_max(x):
        # 512 samples resolve W(t) (8 per period of its fastest possible frequency: 216)
        battery = qbjax.spin_chain_battery(6, alpha=x[0], dm=x[1])
        return qbjax.charge(battery, t_max, n_grid=512, method=engine).max_power

    x = jnp.asarray([alpha, dm])
    grad = np.asarray(jax.grad(p_max)(x))
    # jit: one compiled objective for every point (traced D keeps the D terms at D = 0 too)
    compiled = jax.jit(p_max)
    for i in range(2):
        step = jnp.zeros(2).at[i].set(1e-5)
        difference = (float(compiled(x + step)) - float(compiled(x - step))) / 2e-5
        assert grad[i] == pytest.approx(difference, rel=1e-6, abs=1e-6 * abs(float(compiled(x))))


@SLOW  # 13 s; tests/test_sweep.py checks Chebyshev sweeps against charge on 4 devices by default
def test_engine_sweeps_batched_and_equals_dense():
    from qbjax.tasks.sweep import sweep

    model = {"n": 6, "coupling": "lr", "p": 1.0, "g": 0.8}
    axes = {"alpha": [-0.5, 0.5], "dm": [0.0, 0.7]}
    cheb, dense = sweep(model, axes, method="chebyshev"), sweep(model, axes, method="dense")
    for key in ("max_power", "t_max_power", "max_work", "ergotropy"):
        np.testing.assert_allclose(cheb.values[key], dense.values[key], rtol=1e-10)


# ----------------------------------------------------------------------------------------
# Bounded memory: segments streamed a block of vectors at a time


# 100: every vector in one pass, streamed; 1 and 13 run with -m slow
@pytest.mark.parametrize(
    "block", [pytest.param(1, marks=pytest.mark.slow), 5, pytest.param(13, marks=pytest.mark.slow), 100]
)
def test_streamed_segments_equal_the_exact_curve(chain6, block):
    h, h0, psi0 = chain6.charging, chain6.energy, chain6.initial_state()
    bounds = spectral_bounds(h)
    _, _, degree, segments, _ = ch.plan(h, 1.5, bounds=bounds)
    times = jnp.linspace(0.0, 1.5, 9)
    curve = chebyshev_curve(h, h0, psi0, 1.5, bounds=bounds, degree=degree, segments=segments, block=block)
    np.testing.assert_allclose(
        np.asarray(curve.energy(times)), _energies(h0, _exact(h, psi0, times)), atol=1e-10
    )
    kept = chebyshev_curve(h, h0, psi0, 1.5, bounds=bounds, degree=degree, segments=segments)
    assert float(curve.initial_overlap(1.1)) == pytest.approx(float(kept.initial_overlap(1.1)), abs=1e-12)
    assert curve.centred and not kept.centred
    np.testing.assert_allclose(np.asarray(curve.state(1.3)), _exact(h, psi0, [1.3])[0], atol=1e-10)


def test_streamed_gradient_equals_the_kept_one(chain6):
    """Reverse mode through the passes (scans, conds, in-place writes) equals that through
    the kept vectors."""
    h, h0, psi0 = chain6.charging, chain6.energy, chain6.initial_state()
    bounds = spectral_bounds(h)
    _, _, degree, segments, _ = ch.plan(h, 1.5, bounds=bounds)

    def last_energy(coeffs, block):
        hh = PauliSum(h.n_sites, h.terms, coeffs)
        curve = chebyshev_curve(
            hh, h0, psi0, 1.5, bounds=bounds, degree=degree, segments=segments, block=block
        )
        return curve.energy(1.5)

    streamed, kept = (jax.grad(last_energy)(h.coeffs, block) for block in (5, None))
    np.testing.assert_allclose(streamed, kept, atol=1e-9, rtol=1e-9)


def test_a_memory_budget_streams_the_segments_and_keeps_the_numbers():
    chain = qbjax.SpinChain(9, **CHAIN)
    state = 16 * 2**9
    kept = qbjax.Chebyshev().plan(chain, 0.5)
    lean = qbjax.Chebyshev(memory=16 * state).plan(chain, 0.5)
    assert kept.block is None and lean.block is not None
    assert lean.memory_bytes(chain) <= 16 * state < kept.memory_bytes(chain)
    times = jnp.linspace(0.0, 0.5, 6)
    a, b = (qbjax.energy_curve(chain, 0.5, method=engine).energy(times) for engine in (kept, lean))
    np.testing.assert_allclose(np.asarray(a), np.asarray(b), atol=1e-11, rtol=0)
    with pytest.raises(qbjax.ArgumentError, match="memory"):
        qbjax.charge(chain, 0.5, method=qbjax.Chebyshev(memory=4 * state))


@pytest.mark.parametrize("states", [None, 12, 18, 40])
def test_memory_estimate_covers_what_xla_allocates(states):
    """The engine's estimate (its plan's `march_vectors`, used for budgets and refusals) is
    at least what XLA allocates for the whole compiled preparation (arguments, outputs,
    temporaries), and not far above it; `states`: the budget in state vectors."""
    from qbjax.engines.chebyshev import _prepare_planned

    chain = qbjax.SpinChain(12, **CHAIN).values_as_arrays()
    state = 16 * 2**12
    engine = qbjax.Chebyshev(memory=None if states is None else states * state).plan(chain, 0.5)
    shape = dataclasses.replace(engine, center=None, radius=None)  # as prepare_concrete compiles it
    bounds = tuple(np.float64(x) for x in engine._planned_interval())
    lowered = _prepare_planned.lower(shape, chain, jnp.float64(0.5), bounds)
    memory = lowered.compile().compiled.memory_analysis()
    used = memory.temp_size_in_bytes + memory.argument_size_in_bytes + memory.output_size_in_bytes
    estimate = engine.memory_bytes(chain)
    # XLA:GPU adds scratch of fixed size (a cuBLAS workspace of 32 MiB to programs with matrix
    # products, on an H200 44 MB in all at N = 12): negligible for the budgets that matter
    # (N = 26 double: 13.0 GiB used of 16 GiB estimated; N = 30 single: 96 of 112 GiB)
    scratch = 0 if jax.default_backend() == "cpu" else 48 * 2**20
    assert used <= estimate + scratch, (engine.block, used / state, estimate / state)
    assert estimate <= 1.4 * used + 4 * state, (engine.block, used / state, estimate / state)
