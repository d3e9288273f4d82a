"""The thermal-gradient pair: NESS against QuTiP, analytic limits, heat currents, gradients,
and the two-stroke cycle (first law, periodicity, Carnot)."""

import json

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from optional_qutip import needs_qutip
from optional_qutip import qutip as qt

from qbjax import ArgumentError
from qbjax.app.cli import main
from qbjax.kernels import lindblad as lb
from qbjax.measures.passivity import ergotropy
from qbjax.open import thermal as th


def _qutip_ops():
    """sigma-, sigma+, sigma_z, sigma_x and the identity of one qubit, from QuTiP."""
    return qt.sigmam(), qt.sigmap(), qt.sigmaz(), qt.sigmax(), qt.qeye(2)


def _qutip_pair(wa, ws, g):
    sm, sp, sz, _, i2 = _qutip_ops()
    local = 0.5 * wa * qt.tensor(sz, i2) + 0.5 * ws * qt.tensor(i2, sz)
    return local + g * (qt.tensor(sp, sm) + qt.tensor(sm, sp))


def _n(w, temp):
    return 1 / np.expm1(w / temp)


def _qutip_collapse(wa, ws, g, gamma, ta, ts, master):
    """Independent construction: local ops, or global ops grouped by Bohr frequency in Python."""
    sm, sp, _, sx, i2 = _qutip_ops()
    if master == "local":
        ops = []
        for op_site, w, temp in ((0, wa, ta), (1, ws, ts)):
            embed = (lambda o: qt.tensor(o, i2)) if op_site == 0 else (lambda o: qt.tensor(i2, o))
            ops += [np.sqrt(gamma * (_n(w, temp) + 1)) * embed(sm), np.sqrt(gamma * _n(w, temp)) * embed(sp)]
        return ops
    h = _qutip_pair(wa, ws, g).full()
    energies, vectors = np.linalg.eigh(h)
    ops = []
    for x, temp in ((qt.tensor(sx, i2).full(), ta), (qt.tensor(i2, sx).full(), ts)):
        groups: dict[float, np.ndarray] = {}
        for i in range(4):
            for j in range(4):
                w = energies[j] - energies[i]
                if w > 1e-9:
                    key = next((k for k in groups if abs(k - w) < 1e-9), w)
                    term = (
                        np.outer(vectors[:, i], vectors[:, i].conj())
                        @ x
                        @ np.outer(vectors[:, j], vectors[:, j].conj())
                    )
                    groups[key] = groups.get(key, 0) + term
        for w, a in groups.items():
            a = qt.Qobj(a, dims=[[2, 2], [2, 2]])
            ops += [np.sqrt(gamma * (_n(w, temp) + 1)) * a, np.sqrt(gamma * _n(w, temp)) * a.dag()]
    return ops


def _random_params(seed):
    rng = np.random.default_rng(seed)
    wa, ws = rng.uniform(0.5, 1.5, size=2)
    return dict(
        omega_a=wa, omega_s=ws, g=rng.uniform(0.02, 0.3), gamma=rng.uniform(0.005, 0.05),
        temp_a=rng.uniform(0.5, 3.0), temp_s=rng.uniform(0.05, 0.5),
    )  # fmt: skip


CASES = [(master, seed) for master in th.MASTERS for seed in (0, 1)]


@needs_qutip
@pytest.mark.parametrize("master, seed", CASES)
def test_ness_matches_qutip_steadystate(master, seed):
    p = _random_params(seed)
    pair = th.thermal_pair(**p)
    rho = np.asarray(th.ness(pair, master).rho)
    h = _qutip_pair(p["omega_a"], p["omega_s"], p["g"])
    ops = _qutip_collapse(p["omega_a"], p["omega_s"], p["g"], p["gamma"], p["temp_a"], p["temp_s"], master)
    np.testing.assert_allclose(rho, qt.steadystate(h, ops).full(), atol=1e-10)
    np.testing.assert_allclose(
        np.asarray(th.pair_liouvillian(pair, master)), qt.liouvillian(h, ops).full(), atol=1e-12
    )


@needs_qutip
def test_resonant_global_groups_degenerate_bohr_frequencies():
    """omega_A = omega_S: the eigenbasis mixes |eg>, |ge>; grouping must be basis independent."""
    p = dict(omega_a=1.0, omega_s=1.0, g=0.07, gamma=0.02, temp_a=1.5, temp_s=0.2)
    rho = np.asarray(th.ness(th.thermal_pair(**p), "global").rho)
    ops = _qutip_collapse(1.0, 1.0, 0.07, 0.02, 1.5, 0.2, "global")
    np.testing.assert_allclose(rho, qt.steadystate(_qutip_pair(1.0, 1.0, 0.07), ops).full(), atol=1e-10)


def test_equal_temperatures_global_ness_is_gibbs_of_full_h():
    pair = th.thermal_pair(1.1, 0.6, 0.25, 0.03, 0.7, 0.7)
    rho = th.ness(pair, "global").rho
    np.testing.assert_allclose(rho, th.gibbs_state(pair.hamiltonian(), 0.7), atol=1e-12)
    state = th.ness(pair, "global")
    np.testing.assert_allclose([state.heat_current_a, state.heat_current_s], 0.0, atol=1e-15)
    assert float(state.ergotropy) < 1e-12  # Gibbs states are passive


def test_uncoupled_local_ness_is_product_of_qubit_gibbs_states():
    pair = th.thermal_pair(1.0, 0.5, 0.0, 0.01, 2.0, 0.1)
    rho = np.asarray(th.ness(pair, "local").rho)
    qa = np.asarray(th.gibbs_state(0.5 * lb.SIGMA_Z, 2.0))
    qs = np.asarray(th.gibbs_state(0.25 * lb.SIGMA_Z, 0.1))
    np.testing.assert_allclose(rho, np.kron(qa, qs), atol=1e-14)


@pytest.mark.parametrize("master", th.MASTERS)
def test_heat_flows_from_hot_to_cold(master):
    for seed in range(3):
        p = _random_params(seed + 20)
        state = th.ness(th.thermal_pair(**p), master)
        assert state.heat_current_a > 1e-8 and state.heat_current_s < -1e-8  # A's bath is hotter
        np.testing.assert_allclose(state.heat_current_a, -state.heat_current_s, rtol=1e-9)
        p["temp_a"], p["temp_s"] = p["temp_s"], p["temp_a"]
        swapped = th.ness(th.thermal_pair(**p), master)
        assert swapped.heat_current_a < -1e-8 and swapped.heat_current_s > 1e-8


def test_default_pair_is_active_with_population_inversion():
    state = th.ness(th.thermal_pair(), "local")
    pops = dict(zip(th.POPULATION_LABELS, np.asarray(state.populations), strict=True))
    assert pops["eg"] > pops["ge"]  # E(eg) > E(ge) for omega_A > omega_S: inversion
    assert state.ergotropy > 0.1
    np.testing.assert_allclose(state.ergotropy, ergotropy(state.rho, th.thermal_pair().hamiltonian()))


@pytest.mark.parametrize("master", ["local", pytest.param("global", marks=pytest.mark.slow)])
def test_ness_ergotropy_gradient_matches_finite_differences(master):
    names = ("omega_a", "omega_s", "g", "gamma", "temp_a", "temp_s")
    x0 = jnp.asarray([1.0, 0.55, 0.12, 0.02, 1.8, 0.15])

    def f(x):
        return th.ness(th.ThermalPair(x[0], x[1], x[2], x[3], x[3], x[4], x[5]), master).ergotropy

    grad = jax.jit(jax.grad(f))(x0)
    eps = 1e-6
    steps = eps * jnp.eye(6)
    values = jax.jit(jax.vmap(f))(jnp.concatenate([x0 + steps, x0 - steps]))
    fd = (values[:6] - values[6:]) / (2 * eps)
    for k, name in enumerate(names):
        np.testing.assert_allclose(grad[k], fd[k], rtol=1e-6, atol=1e-9, err_msg=name)


@needs_qutip
@pytest.mark.parametrize("master", th.MASTERS)
def test_pair_evolution_matches_mesolve(master):
    p = _random_params(5)
    pair = th.thermal_pair(**p)
    rng = np.random.default_rng(6)
    psi = rng.normal(size=4) + 1j * rng.normal(size=4)
    rho0 = np.outer(psi, psi.conj()) / np.vdot(psi, psi)
    times = np.linspace(0, 40, 9)
    states = np.asarray(lb.evolve_dense(th.pair_liouvillian(pair, master), rho0, times))
    h = _qutip_pair(p["omega_a"], p["omega_s"], p["g"])
    ops = _qutip_collapse(p["omega_a"], p["omega_s"], p["g"], p["gamma"], p["temp_a"], p["temp_s"], master)
    ref = qt.mesolve(
        h, qt.Qobj(rho0, dims=[[2, 2], [2, 2]]), times, ops, options={"atol": 1e-13, "rtol": 1e-11}
    )
    for rho, r in zip(states, ref.states, strict=True):
        np.testing.assert_allclose(rho, r.full(), atol=1e-9)
        assert lb.is_density_matrix(rho, atol=1e-12)


@pytest.mark.parametrize("master", [pytest.param("local", marks=pytest.mark.slow), "global"])
def test_cycle_first_law_periodicity_and_carnot(master):
    pair = th.thermal_pair(1.0, 0.5, 0.1, 0.05, 2.0, 0.1)
    carnot = 1 - 0.1 / 2.0
    for tau in (0.5, 5.0, 50.0):
        cycle = th.two_stroke_cycle(pair, tau, master)
        assert cycle.converged
        assert cycle.work > 0 and cycle.heat_a > 0 and cycle.heat_s < 0
        np.testing.assert_allclose(cycle.work, cycle.heat_a + cycle.heat_s, rtol=1e-8)  # first law
        assert cycle.efficiency <= carnot
        assert cycle.efficiency <= 1 - 0.5 / 1.0 + 1e-2  # the SWAP bound 1 - omega_S/omega_A, to O(g^2)
        np.testing.assert_allclose(cycle.power, cycle.work / tau)
        assert lb.is_density_matrix(cycle.passive, atol=1e-12) and lb.is_density_matrix(
            cycle.charged, atol=1e-12
        )
        # periodic: one more stroke from the passive state reaches `charged`, whose passive state is `passive`
        superop = th.pair_liouvillian(pair, master)
        again = lb.evolve_dense(superop, cycle.passive, [tau])[0]
        np.testing.assert_allclose(again, cycle.charged, atol=1e-12)
        energies = np.linalg.eigvalsh(np.asarray(pair.hamiltonian()))
        passive_energy = np.sum(np.sort(np.linalg.eigvalsh(np.asarray(again)))[::-1] * energies)
        np.testing.assert_allclose(
            np.trace(np.asarray(cycle.passive) @ np.asarray(pair.hamiltonian())).real,
            passive_energy,
            atol=1e-10,
        )


def test_cycle_fixed_point_matches_brute_force_iteration():
    pair = th.thermal_pair(1.0, 0.6, 0.15, 0.1, 1.5, 0.2)
    tau = 3.0
    superop = th.pair_liouvillian(pair, "global")
    h = np.asarray(pair.hamiltonian())
    _, vectors = np.linalg.eigh(h)
    rho = np.diag([0.25, 0.25, 0.25, 0.25]).astype(complex)
    propagator = np.asarray(jax.scipy.linalg.expm(superop * tau))
    for _ in range(400):  # contraction ~ exp(-gamma tau) per cycle
        charged = lb.unvec(propagator @ lb.vec(rho))
        r = np.sort(np.linalg.eigvalsh(np.asarray(charged)))[::-1]
        rho = ((vectors * r) @ vectors.T).astype(complex)
    cycle = th.two_stroke_cycle(pair, tau, "global")
    np.testing.assert_allclose(cycle.passive, rho, atol=1e-10)
    np.testing.assert_allclose(cycle.work, float(ergotropy(charged, h)), rtol=1e-8)


def test_shorter_cycles_are_at_least_as_efficient():
    pair = th.thermal_pair()
    eff = [float(th.two_stroke_cycle(pair, tau, "global").efficiency) for tau in (1.0, 30.0, 300.0)]
    assert eff[0] >= eff[1] >= eff[2] > 0


def test_bad_input_names_the_argument():
    for kwargs, name in [
        (dict(temp_a=-1.0), "temp_a"), (dict(temp_s=0.0), "temp_s"), (dict(gamma=-0.1), "gamma"),
        (dict(g=float("nan")), "g"), (dict(omega_s=0.0), "omega_s"),
    ]:  # fmt: skip
        with pytest.raises(ArgumentError, match=f"^{name}:"):
            th.thermal_pair(**kwargs)
    with pytest.raises(ArgumentError, match="master"):
        th.ness(th.thermal_pair(), "hybrid")
    with pytest.raises(ArgumentError, match="tau: must be > 0"):
        th.two_stroke_cycle(th.thermal_pair(), 0.0)


def test_cli_json(capsys):
    assert main(["thermal", "--master", "global", "--tau", "1,10", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    state = th.ness(th.thermal_pair(), "global")
    np.testing.assert_allclose(report["ness_ergotropy"], state.ergotropy, rtol=1e-12)
    np.testing.assert_allclose(report["heat_current_a"], state.heat_current_a, rtol=1e-12)
    assert report["temp_a"] == 2.0 and report["temp_s"] == 0.1
    assert (
        report["tau"] == [1.0, 10.0]
        and len(report["work"]) == len(report["efficiency"]) == len(report["power"]) == 2
    )
    np.testing.assert_allclose(report["power"], np.array(report["work"]) / np.array([1.0, 10.0]))
    assert main(["thermal", "--temp-s", "-0.1"]) == 2
    assert "--temp-s" in capsys.readouterr().err
    assert main(["thermal", "--tau", "1,-2"]) == 2
    assert "--tau" in capsys.readouterr().err
