"""Two-qubit battery-charger model: closed forms in the single-excitation subspace.

From |g_b e_c> = |up, down> the state stays a|ge> + b|eg> with, for Delta = w_b - w_c and
Omega^2 = Delta^2 + J1^2 (H restricted: -J2 + [[-Delta, J1], [J1, Delta]]):
    a = e^{i J2 t} (cos Omega t + i (Delta/Omega) sin Omega t),  b = -i e^{i J2 t} (J1/Omega) sin Omega t.
Then with p = |b|^2 and C = 2|ab|: capacity 2 w_b |1 - 2p| = 2 w_b sqrt(1 - C^2), negativity C/2,
F3 = sqrt(1 + 2 C^2), B_max = 2 sqrt(1 + C^2), first-order coherence sqrt(1 - C^2), l1 coherence
C, imaginarity 2 |Im(a b*)| = |J1 sin 2 Omega t| / Omega. rho_b = diag(1 - p, p), so its texture is
sqrt(1/4 + (1/2 - p)^2) = sqrt(1/4 + (C_b/(4 w_b))^2) (C_b the capacity) and its grand-sum texture
ln 2; the pair's texture is sqrt(1 - |a + b|^2 / 4), constant at resonance (Re(a b*) = 0).
"""

import jax
import numpy as np
import pytest
from scipy.linalg import expm

import qbjax
from qbjax.app.plot_resources import spearman
from qbjax.tasks import charger

SX = np.array([[0, 1], [1, 0]], dtype=complex)
SY = np.array([[0, -1j], [1j, 0]])
SZ = np.diag([1.0, -1.0]).astype(complex)
I2 = np.eye(2)


def hamiltonian_numpy(wb, wc, j1, j2):
    sp = (SX + 1j * SY) / 2
    sm = (SX - 1j * SY) / 2
    return (
        -wb * np.kron(SZ, I2)
        - wc * np.kron(I2, SZ)
        + j1 * (np.kron(sp, sm) + np.kron(sm, sp))
        + j2 * np.kron(SZ, SZ)
    )


def closed_form(times, wb, wc, j1, j2):
    delta = wb - wc
    omega = np.hypot(delta, j1)
    phase = np.exp(1j * j2 * times)
    a = phase * (np.cos(omega * times) + 1j * delta / omega * np.sin(omega * times))
    b = -1j * phase * j1 / omega * np.sin(omega * times)
    p = np.abs(b) ** 2
    c = 2 * np.abs(a * b)
    return {
        "capacity": 2 * wb * np.abs(1 - 2 * p),
        "concurrence": c,
        "negativity": c / 2,
        "steering": np.sqrt(1 + 2 * c**2),
        "bell": 2 * np.sqrt(1 + c**2),
        "first_order_coherence": np.sqrt(np.maximum(1 - c**2, 0)),
        "l1_coherence": c,
        "imaginarity": np.abs(j1 * np.sin(2 * omega * times)) / omega,
        "texture": np.sqrt(0.25 + (0.5 - p) ** 2),
        "texture_grand_sum": np.log(2.0) + 0 * p,
        "texture_pair": np.sqrt(1 - np.abs(a + b) ** 2 / 4),
        "entropy": -(p * np.log(np.maximum(p, 1e-300)) + (1 - p) * np.log(np.maximum(1 - p, 1e-300))),
        "ergotropy": 2 * wb * np.maximum(0, 2 * p - 1),
        "coherent_ergotropy": 0 * p,
    }


@pytest.fixture(scope="module")
def random_series():
    rng = np.random.default_rng(2024)
    params = dict(
        omega_b=rng.uniform(0.5, 2),
        omega_c=rng.uniform(0.5, 2),
        j1=rng.uniform(0.3, 1.5),
        j2=rng.uniform(-1, 1),
    )
    times = np.linspace(0, 6, 61)
    return params, times, charger.resource_series(times, **params)


def test_hamiltonian_matches_the_operator_definition():
    rng = np.random.default_rng(1)
    wb, wc, j1, j2 = rng.normal(size=4)
    np.testing.assert_allclose(
        qbjax.dense(charger.charger_hamiltonian(wb, wc, j1, j2)),
        hamiltonian_numpy(wb, wc, j1, j2),
        atol=1e-14,
    )
    # each qubit's ground state is sz = +1 (basis bit 0): |gg> is index 0
    h_b, _ = charger.local_hamiltonians(1.3, 0.7)
    assert np.argmin(np.diag(np.asarray(h_b))) == 0


def test_closed_forms_from_ground_battery_excited_charger(random_series):
    params, times, series = random_series
    expected = closed_form(times, params["omega_b"], params["omega_c"], params["j1"], params["j2"])
    for key, values in expected.items():
        np.testing.assert_allclose(series[key], values, atol=1e-10, err_msg=key)


def test_relations_that_make_the_trends(random_series):
    params, _, s = random_series
    c = np.asarray(s["concurrence"])
    np.testing.assert_allclose(s["capacity"], 2 * params["omega_b"] * np.sqrt(1 - c**2), atol=1e-10)
    # residual capacity = (E_max - E_min of H) - 2 (w_b + w_c) sqrt(1 - C^2)
    e = np.linalg.eigvalsh(
        hamiltonian_numpy(params["omega_b"], params["omega_c"], params["j1"], params["j2"])
    )
    np.testing.assert_allclose(
        s["residual_capacity"],
        e[-1] - e[0] - 2 * (params["omega_b"] + params["omega_c"]) * np.sqrt(1 - c**2),
        atol=1e-10,
    )


def test_mixed_and_user_initial_states_against_scipy_expm():
    rng = np.random.default_rng(3)
    a = rng.normal(size=(4, 4)) + 1j * rng.normal(size=(4, 4))
    rho0 = a @ a.conj().T
    rho0 /= np.trace(rho0).real
    wb, wc, j1, j2 = 1.1, 0.8, 0.6, 0.25
    times = np.array([0.0, 0.7, 2.3])
    series = charger.resource_series(times, omega_b=wb, omega_c=wc, j1=j1, j2=j2, initial=rho0)
    h = hamiltonian_numpy(wb, wc, j1, j2)
    h_b = -wb * SZ
    for k, t in enumerate(times):
        u = expm(-1j * h * t)
        rho = u @ rho0 @ u.conj().T
        rho_b = rho.reshape(2, 2, 2, 2).trace(axis1=1, axis2=3)
        assert float(series["capacity"][k]) == pytest.approx(float(qbjax.capacity(rho_b, h_b)), abs=1e-10)
        assert float(series["concurrence"][k]) == pytest.approx(float(qbjax.concurrence(rho)), abs=1e-10)
        assert float(series["ergotropy"][k]) == pytest.approx(float(qbjax.ergotropy(rho_b, h_b)), abs=1e-10)
    # a pure state given as a vector and as a density matrix gives the same series
    psi = np.array([0.6, 0.0, 0.8j, 0.0])
    by_vector = charger.resource_series(times, initial=psi)
    by_matrix = charger.resource_series(times, initial=np.outer(psi, psi.conj()))
    for key in charger.MEASURES:
        np.testing.assert_allclose(by_vector[key], by_matrix[key], atol=1e-10, err_msg=key)


def test_gradient_in_j1_at_a_degenerate_hamiltonian():
    """w_b = w_c = 1, J2 = 0, J1 = 2: H has eigenvalues (-2, -2, 2, 2)."""
    times = np.array([0.3])

    def capacity(j1):
        return charger.resource_series(times, omega_b=1.0, omega_c=1.0, j1=j1, j2=0.0)["capacity"][0]

    grad = float(jax.grad(capacity)(2.0))
    h = 1e-6
    numeric = (float(capacity(2.0 + h)) - float(capacity(2.0 - h))) / (2 * h)
    assert np.isfinite(grad)
    assert grad == pytest.approx(numeric, rel=1e-6, abs=1e-8)
    # closed form: C = 2|1 - 2 sin^2(J1 t)| -> dC/dJ1 = -4 t sin(2 J1 t) (sign of 1 - 2p positive here)
    assert grad == pytest.approx(-4 * 0.3 * np.sin(2 * 2.0 * 0.3), rel=1e-10)


# (J1, J2) at resonance omega_b = omega_c
RESONANT = [(1.0, 1.0, 0.0), (1.0, 0.3, 0.0), (1.0, 1.0, 0.7), (2.0, 0.5, -1.2), (0.7, 1.6, 0.4)]


@pytest.mark.parametrize("omega, j1, j2", RESONANT)
def test_battery_texture_closed_form_and_rank_correlation_at_resonance(omega, j1, j2):
    """texture(rho_b) = sqrt(1/4 + (C/(4 w_b))^2) over the whole series; Spearman with C is +1."""
    times = np.linspace(0.0, 2 * np.pi / j1, 301)  # two exchange cycles
    s = charger.resource_series(times, omega_b=omega, omega_c=omega, j1=j1, j2=j2, initial="ge")
    capacity = np.asarray(s["capacity"])
    assert np.ptp(capacity) > omega  # the series does move: C goes from 2 w_b to 0
    np.testing.assert_allclose(s["texture"], np.sqrt(0.25 + (capacity / (4 * omega)) ** 2), atol=1e-12)
    assert spearman(s["texture"], capacity) > 0.99
    # the pair's texture does not move: sqrt(1 - |<f|psi>|^2) with |<f|psi>|^2 = 1/4
    np.testing.assert_allclose(s["texture_pair"], np.sqrt(0.75), atol=1e-12)
    assert np.isnan(spearman(s["texture_pair"], capacity))


def test_pair_texture_moves_off_resonance_battery_texture_still_follows_capacity():
    times = np.linspace(0.0, np.pi / np.hypot(0.5, 1.0), 201)
    for wb, wc, sign in ((1.5, 1.0, -1), (1.0, 1.5, +1)):
        s = charger.resource_series(times, omega_b=wb, omega_c=wc, j1=1.0, j2=0.3)
        capacity = np.asarray(s["capacity"])
        assert np.ptp(s["texture_pair"]) > 0.05
        assert sign * spearman(s["texture_pair"], capacity) > 0.5
        np.testing.assert_allclose(s["texture"], np.sqrt(0.25 + (capacity / (4 * wb)) ** 2), atol=1e-12)
        assert spearman(s["texture"], capacity) > 0.99


def _texture_numpy(rho):
    d = rho.shape[0]
    f = np.full(d, d**-0.5)
    return 0.5 * np.abs(np.linalg.eigvalsh(rho - np.outer(f, f))).sum()


def test_battery_and_pair_texture_against_numpy_at_a_random_state():
    rng = np.random.default_rng(7)
    a = rng.normal(size=(4, 4)) + 1j * rng.normal(size=(4, 4))
    rho = a @ a.conj().T
    rho /= np.trace(rho).real
    h_b, h_c = charger.local_hamiltonians(1.2, 0.9)
    h = qbjax.dense(charger.charger_hamiltonian(1.2, 0.9, 0.8, 0.3))
    values = charger.two_qubit_resources(rho, h, h_b, h_c)
    rho_b = np.einsum("ajbj->ab", rho.reshape(2, 2, 2, 2))
    assert abs(rho_b[0, 1]) > 0.01  # a battery state with coherence, so |f> matters
    assert float(values["texture"]) == pytest.approx(_texture_numpy(rho_b), abs=1e-12)
    assert float(values["texture_pair"]) == pytest.approx(_texture_numpy(rho), abs=1e-12)
    assert float(values["texture_grand_sum"]) == pytest.approx(-np.log(rho_b.sum().real / 2), abs=1e-12)
    assert float(values["texture"]) != pytest.approx(float(values["texture_pair"]), abs=1e-3)


def test_gradient_of_battery_texture_in_j1():
    times = np.array([0.4])

    def texture(j1):
        return charger.resource_series(times, omega_b=1.0, omega_c=1.0, j1=j1, j2=0.2)["texture"][0]

    j1 = 0.9
    grad = float(jax.grad(texture)(j1))
    # resonance: p = sin^2(J1 t), texture = sqrt(1/4 + cos^2(2 J1 t)/4)
    x = np.cos(2 * j1 * 0.4)
    expected = (x / 4) * (-2 * 0.4 * np.sin(2 * j1 * 0.4)) / np.sqrt(0.25 + x**2 / 4)
    assert grad == pytest.approx(expected, rel=1e-9)


def test_bad_arguments():
    with pytest.raises(qbjax.ArgumentError) as info:
        charger.resource_series([0.0, 1.0], initial="xx")
    assert info.value.argument == "initial"
    with pytest.raises(qbjax.ArgumentError) as info:
        charger.resource_series([0.0, 1.0], initial=np.eye(2) / 2)
    assert info.value.argument == "initial"
    with pytest.raises(qbjax.ArgumentError) as info:
        charger.resource_series([1.0, 0.0])
    assert info.value.argument == "times"
    with pytest.raises(qbjax.ArgumentError) as info:
        charger.resource_series([0.0], j1=float("nan"))
    assert info.value.argument == "j1"
