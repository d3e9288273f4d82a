"""qbjax.to_qutip / qbjax.from_qutip against operators written out directly in QuTiP.

The reference operators are built from `qutip.sigmax/sigmay/sigmaz`, `qeye` and `tensor`
(site 0 the leftmost factor, `basis(2, 0)` = |up>), never through qbjax.
"""

import subprocess
import sys

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from optional_qutip import whole_module_needs_qutip

import qbjax
from qbjax.operators import terms

qutip = whole_module_needs_qutip()

I2, SX, SY, SZ = qutip.qeye(2), qutip.sigmax(), qutip.sigmay(), qutip.sigmaz()
PAULI = {"X": SX, "Y": SY, "Z": SZ}
ATOL = 1e-12


def string(n, factors):
    """The QuTiP operator of a Pauli string {site: letter} on n qubits."""
    return qutip.tensor([PAULI[factors[site]] if site in factors else I2 for site in range(n)])


def canonical(h):
    """{term with sites ascending: summed coefficient}, so two PauliSums compare up to ordering."""
    out = {}
    for term, c in zip(h.terms, np.asarray(h.coeffs).tolist(), strict=True):
        key = tuple(sorted(term))
        out[key] = out.get(key, 0.0) + c
    return {key: c for key, c in out.items() if c != 0.0}


def assert_same_terms(a, b):
    assert a.n_sites == b.n_sites
    ca, cb = canonical(a), canonical(b)
    assert set(ca) == set(cb)
    np.testing.assert_allclose([ca[k] for k in ca], [cb[k] for k in ca], rtol=0, atol=ATOL)


def random_chain(seed):
    """A spin-chain battery with random numbers: DM vectors, lr couplings, site fields."""
    rng = np.random.default_rng(seed)
    n = int(rng.integers(2, 6))
    return qbjax.spin_chain_battery(
        n,
        coupling=("nn", "lr")[seed % 2],
        g=float(rng.normal()),
        p=float(rng.uniform(0, 3)),
        alpha=float(rng.uniform(-1, 1)),
        dm=rng.normal(size=3) if seed % 3 else float(rng.normal()),
        dm_axis="xyz"[seed % 3],
        field=rng.normal(size=n),
        omega=rng.normal(size=n) if seed % 2 else float(rng.normal()),
        protocol=("replace", "add", "collective")[seed % 3],
        periodic=bool(seed % 4 >= 2),
    )


def random_state(n, seed):
    rng = np.random.default_rng(seed)
    psi = rng.normal(size=2**n) + 1j * rng.normal(size=2**n)
    return psi / np.linalg.norm(psi)


@pytest.mark.parametrize("seed", range(8))
def test_round_trip_of_random_spin_chains(seed):
    battery = random_chain(seed)
    for h in (battery.energy, battery.charging):
        op = qbjax.to_qutip(h)
        assert op.dims == [[2] * h.n_sites, [2] * h.n_sites]
        assert op.isherm
        np.testing.assert_allclose(op.full(), np.asarray(terms.dense(h)), rtol=0, atol=ATOL)
        assert_same_terms(qbjax.from_qutip(op), h)


def test_pauli_sum_matches_qutip_written_out():
    weighted = [
        (((0, "X"), (2, "Y")), 0.7),
        (((1, "Z"),), -1.3),
        (((0, "Y"), (1, "Y"), (2, "Z")), 0.4),
        (((1, "X"),), 0.25),
        (((1, "Z"), (0, "Z")), -0.6),
    ]
    h = qbjax.pauli_sum(3, weighted)
    reference = sum(c * string(3, dict(term)) for term, c in weighted)
    op = qbjax.to_qutip(h)
    assert op.dims == reference.dims == [[2, 2, 2], [2, 2, 2]]
    np.testing.assert_allclose(op.full(), reference.full(), rtol=0, atol=ATOL)
    # and back, from the independently built operator
    assert_same_terms(qbjax.from_qutip(reference), h)


def test_battery_matches_qutip_written_out():
    """A 3-site open chain with DM along z and site fields, protocol "replace"."""
    b, g, alpha, dm, omega = np.array([1.0, 0.5, -0.3]), 0.8, 0.4, 0.6, 2.0
    battery = qbjax.spin_chain_battery(3, g=g, alpha=alpha, dm=dm, field=b, omega=omega)
    h_int = -g * sum(
        string(3, {i: "Z", i + 1: "Z"})
        + alpha * (string(3, {i: "X", i + 1: "X"}) + string(3, {i: "Y", i + 1: "Y"}))
        + dm * (string(3, {i: "X", i + 1: "Y"}) - string(3, {i: "Y", i + 1: "X"}))
        for i in range(2)
    )
    h_field = sum(b[i] * string(3, {i: "Z"}) for i in range(3))
    drive = sum(omega * string(3, {i: "X"}) for i in range(3))
    converted = qbjax.to_qutip(battery)
    assert isinstance(converted, qbjax.QutipBattery)
    np.testing.assert_allclose(converted.energy.full(), (h_field + h_int).full(), rtol=0, atol=ATOL)
    np.testing.assert_allclose(converted.charging.full(), (h_int + drive).full(), rtol=0, atol=ATOL)
    down = qutip.tensor([qutip.basis(2, 1)] * 3)
    assert converted.initial.dims == down.dims
    np.testing.assert_allclose(converted.initial.full(), down.full(), rtol=0, atol=ATOL)
    # a SpinChain converts through its battery
    chain = qbjax.to_qutip(qbjax.SpinChain(3, g=g, alpha=alpha, dm=dm, field=b, omega=omega))
    np.testing.assert_allclose(chain.charging.full(), converted.charging.full(), rtol=0, atol=ATOL)


def test_state_round_trip():
    psi = random_state(3, 1)
    ket = qbjax.to_qutip(psi)
    assert ket.isket
    assert ket.dims == qutip.tensor([qutip.basis(2, 0)] * 3).dims
    np.testing.assert_allclose(ket.full()[:, 0], psi, rtol=0, atol=ATOL)
    back = qbjax.from_qutip(ket)
    assert isinstance(back, np.ndarray)
    assert back.dtype == np.complex128
    np.testing.assert_allclose(back, psi, rtol=0, atol=ATOL)
    # JAX arrays, and the basis convention: index 1 of 2 qubits is |up, down>
    np.testing.assert_allclose(qbjax.to_qutip(jnp.asarray(psi)).full(), ket.full(), rtol=0, atol=ATOL)
    up_down = qutip.tensor(qutip.basis(2, 0), qutip.basis(2, 1))
    np.testing.assert_allclose(qbjax.from_qutip(up_down), np.eye(4)[1], rtol=0, atol=ATOL)


def test_density_matrix():
    psi = random_state(3, 2)
    rho = np.outer(psi, psi.conj())
    op = qbjax.to_qutip(rho)
    assert op.isoper
    assert op.dims == [[2, 2, 2], [2, 2, 2]]
    np.testing.assert_allclose(op.full(), rho, rtol=0, atol=ATOL)
    # its Pauli decomposition keeps the trace part as the identity term ()
    decomposed = qbjax.from_qutip(op)
    assert canonical(decomposed)[()] == pytest.approx(1 / 8, abs=ATOL)
    np.testing.assert_allclose(np.asarray(terms.dense(decomposed)), rho, rtol=0, atol=ATOL)


@pytest.mark.parametrize("seed", range(4))
def test_expectation_values_agree(seed):
    h = random_chain(seed).charging
    psi = random_state(h.n_sites, seed)
    expected = float(terms.expectation(h, jnp.asarray(psi)))
    assert qutip.expect(qbjax.to_qutip(h), qbjax.to_qutip(psi)) == pytest.approx(expected, abs=ATOL)
    rho = qbjax.to_qutip(np.outer(psi, psi.conj()))
    assert qutip.expect(qbjax.to_qutip(h), rho) == pytest.approx(expected, abs=ATOL)


def test_random_hermitian_from_qutip():
    """A dense random Hermitian operator (all 4^N strings present) decomposes and rebuilds."""
    op = qutip.rand_herm([2] * 6, density=1.0, seed=3)
    h = qbjax.from_qutip(op)
    assert len(h.terms) == 4**6
    np.testing.assert_allclose(np.asarray(terms.dense(h)), op.full(), rtol=0, atol=1e-12)
    np.testing.assert_allclose(qbjax.to_qutip(h).full(), op.full(), rtol=0, atol=1e-12)
    psi = random_state(6, 4)
    expected = qutip.expect(op, qbjax.to_qutip(psi))
    assert float(terms.expectation(h, jnp.asarray(psi))) == pytest.approx(expected, abs=1e-12)


def test_eight_site_chain_round_trip():
    battery = qbjax.spin_chain_battery(8, coupling="lr", alpha=0.3, dm=[0.2, -0.4, 0.5], periodic=True)
    assert_same_terms(qbjax.from_qutip(qbjax.to_qutip(battery.charging)), battery.charging)


def test_tol_drops_small_coefficients():
    op = 2.0 * string(2, {0: "X"}) + 1e-13 * string(2, {1: "Z"})
    assert canonical(qbjax.from_qutip(op)) == {((0, "X"),): 2.0}
    kept = canonical(qbjax.from_qutip(op, tol=0.0))
    assert kept[((1, "Z"),)] == pytest.approx(1e-13, rel=1e-6)
    assert qbjax.from_qutip(0 * op).terms == ()


@pytest.mark.parametrize(
    ("qobj", "match"),
    [
        (qutip.tensor(qutip.sigmap(), I2), "Hermitian"),
        (qutip.num(3), "qubits"),
        (qutip.Qobj(np.eye(4)), "qubits"),
        (qutip.tensor(I2, qutip.qeye(3)), "qubits"),
        (qutip.basis(3, 0), "qubits"),
        (qutip.basis(2, 0).dag(), "operator or a ket"),
        (qutip.qeye([2] * 11), "N <= 10"),
        (np.eye(2), "qutip.Qobj"),
    ],
)
def test_from_qutip_refuses(qobj, match):
    with pytest.raises(qbjax.ArgumentError, match=match) as error:
        qbjax.from_qutip(qobj)
    assert error.value.argument == "qobj"


def test_from_qutip_refuses_negative_tol():
    with pytest.raises(qbjax.ArgumentError, match="tol"):
        qbjax.from_qutip(SZ, tol=-1.0)


@pytest.mark.parametrize("x", [np.ones(3), np.ones((4, 2)), np.ones((3, 3)), np.ones((2, 2, 2)), "abc"])
def test_to_qutip_refuses(x):
    with pytest.raises(qbjax.ArgumentError) as error:
        qbjax.to_qutip(x)
    assert error.value.argument == "x"


def test_to_qutip_refuses_traced_values():
    with pytest.raises(qbjax.ArgumentError, match="concrete"):
        jax.jit(qbjax.to_qutip)(jnp.ones(4, jnp.complex128) / 2)


def test_missing_qutip_says_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "qutip", None)  # `import qutip` now raises ImportError
    with pytest.raises(ImportError, match="pip install qutip"):
        qbjax.to_qutip(np.ones(2) / np.sqrt(2))
    with pytest.raises(ImportError, match="pip install qutip"):
        qbjax.from_qutip(None)


def test_import_qbjax_does_not_import_qutip():
    code = "import sys, qbjax; qbjax.to_qutip, qbjax.from_qutip; assert 'qutip' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)
