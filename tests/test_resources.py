"""Quantum-resource measures against QuTiP, closed forms, brute force and finite differences."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from optional_qutip import needs_qutip, qutip
from scipy.linalg import expm

import qbjax
from qbjax.measures import resources

SY = np.array([[0, -1j], [1j, 0]])
BELL = np.array([0, 1, 1, 0]) / np.sqrt(2)  # (|01> + |10>)/sqrt 2
PAULIS = [np.array([[0, 1], [1, 0]]), SY, np.diag([1.0, -1.0])]


def random_density_matrix(d, rng, rank=None):
    a = rng.normal(size=(d, rank or d)) + 1j * rng.normal(size=(d, rank or d))
    rho = a @ a.conj().T
    return rho / np.trace(rho).real


def random_hermitian(d, rng):
    a = rng.normal(size=(d, d)) + 1j * rng.normal(size=(d, d))
    return (a + a.conj().T) / 2


def werner(p):
    return p * np.outer(BELL, BELL).astype(complex) + (1 - p) * np.eye(4, dtype=complex) / 4


def two_qubit(rho):
    return qutip.Qobj(rho, dims=[[2, 2], [2, 2]])


# --- QuTiP agreement ------------------------------------------------------------------------


@needs_qutip
@pytest.mark.parametrize("rank", [1, 2, 3, 4])
def test_two_qubit_measures_agree_with_qutip(rank):
    rng = np.random.default_rng(100 + rank)
    for _ in range(5):
        rho = random_density_matrix(4, rng, rank)
        q = two_qubit(rho)
        # QuTiP takes sqrt of round-off eigenvalues of rho rho~ itself: ~1e-8 at rank < 4
        atol = 1e-12 if rank == 4 else 1e-7
        assert float(qbjax.concurrence(rho)) == pytest.approx(qutip.concurrence(q), abs=atol)
        for subsys in (0, 1):
            expected = qutip.negativity(q, subsys, method="eigenvalues")
            assert float(qbjax.negativity(rho, subsys)) == pytest.approx(expected, abs=1e-12)
        assert float(qbjax.entropy(rho)) == pytest.approx(qutip.entropy_vn(q), abs=1e-12)
        assert float(qbjax.entropy(rho, base=2)) == pytest.approx(qutip.entropy_vn(q, base=2), abs=1e-12)
        assert float(qbjax.entropy(qbjax.ptrace(rho, 0))) == pytest.approx(
            qutip.entropy_vn(q.ptrace(0)), abs=1e-12
        )
        assert float(qbjax.mutual_information(rho)) == pytest.approx(qutip.entropy_mutual(q, 0, 1), abs=1e-12)


def test_concurrence_of_pure_states_is_exact():
    """C(psi) = |<psi| sy sy |psi*>| (Wootters), to round-off, also for pure density matrices."""
    rng = np.random.default_rng(5)
    flip = np.kron(SY, SY)
    for _ in range(10):
        psi = rng.normal(size=4) + 1j * rng.normal(size=4)
        psi /= np.linalg.norm(psi)
        expected = abs(psi @ flip @ psi)
        assert float(qbjax.concurrence(psi)) == pytest.approx(expected, abs=1e-13)
        assert float(qbjax.concurrence(np.outer(psi, psi.conj()))) == pytest.approx(expected, abs=1e-13)


@needs_qutip
@pytest.mark.parametrize("keep", [(0,), (1,), (2,), (0, 2), (2, 0), (1, 2), (0, 1, 2)])
def test_ptrace_agrees_with_qutip_for_vectors_and_matrices(keep):
    rng = np.random.default_rng(7)
    rho = random_density_matrix(8, rng)
    psi = rng.normal(size=8) + 1j * rng.normal(size=8)
    psi /= np.linalg.norm(psi)
    q_rho = qutip.Qobj(rho, dims=[[2, 2, 2], [2, 2, 2]])
    q_psi = qutip.Qobj(psi, dims=[[2, 2, 2], [1, 1, 1]])
    np.testing.assert_allclose(qbjax.ptrace(rho, keep), q_rho.ptrace(sorted(keep)).full(), atol=1e-14)
    np.testing.assert_allclose(qbjax.ptrace(psi, keep), q_psi.ptrace(sorted(keep)).full(), atol=1e-14)


@needs_qutip
def test_ptrace_and_negativity_with_non_qubit_dims():
    rng = np.random.default_rng(8)
    rho = random_density_matrix(6, rng)
    q = qutip.Qobj(rho, dims=[[2, 3], [2, 3]])
    np.testing.assert_allclose(qbjax.ptrace(rho, 1, dims=(2, 3)), q.ptrace(1).full(), atol=1e-14)
    expected = qutip.negativity(q, 0, method="eigenvalues")
    assert float(qbjax.negativity(rho, 0, dims=(2, 3))) == pytest.approx(expected, abs=1e-12)


# --- closed forms ---------------------------------------------------------------------------


@pytest.mark.parametrize("p", [0.0, 0.2, 1 / 3, 0.5, 0.8, 1.0])
def test_werner_state_closed_forms(p):
    rho = werner(p)
    assert float(qbjax.concurrence(rho)) == pytest.approx(max(0.0, (3 * p - 1) / 2), abs=1e-12)
    assert float(qbjax.negativity(rho)) == pytest.approx(max(0.0, (3 * p - 1) / 4), abs=1e-12)
    # T = p diag(1, 1, -1) for (|01> + |10>)/sqrt 2
    np.testing.assert_allclose(resources.correlation_matrix(rho), p * np.diag([1.0, 1.0, -1.0]), atol=1e-14)
    assert float(qbjax.steering(rho)) == pytest.approx(np.sqrt(3) * p, abs=1e-12)
    assert float(qbjax.bell(rho)) == pytest.approx(2 * np.sqrt(2) * p, abs=1e-12)
    assert float(qbjax.steering_normalized(rho)) == pytest.approx(
        max(0, (np.sqrt(3) * p - 1) / (np.sqrt(3) - 1)), abs=1e-12
    )
    assert float(qbjax.bell_normalized(rho)) == pytest.approx(
        max(0, (2 * np.sqrt(2) * p - 2) / (2 * np.sqrt(2) - 2)), abs=1e-12
    )
    assert float(qbjax.first_order_coherence(rho)) == pytest.approx(0.0, abs=1e-7)  # reduced states I/2
    assert float(qbjax.l1_coherence(rho)) == pytest.approx(p, abs=1e-14)
    assert float(qbjax.imaginarity(rho)) == pytest.approx(0.0, abs=1e-14)


def test_product_states_have_no_correlations_and_full_first_order_coherence():
    rng = np.random.default_rng(3)
    a, b = rng.normal(size=2) + 1j * rng.normal(size=2), rng.normal(size=2) + 1j * rng.normal(size=2)
    psi = np.kron(a / np.linalg.norm(a), b / np.linalg.norm(b))
    assert float(qbjax.concurrence(psi)) == pytest.approx(0, abs=1e-12)
    assert float(qbjax.negativity(psi)) == pytest.approx(0, abs=1e-12)
    assert float(qbjax.first_order_coherence(psi)) == pytest.approx(1, abs=1e-12)
    assert float(qbjax.mutual_information(psi)) == pytest.approx(0, abs=1e-10)


@pytest.mark.parametrize("d", [2, 3, 4, 8])
def test_coherence_imaginarity_texture_match_their_definitions(d):
    rng = np.random.default_rng(d)
    rho = random_density_matrix(d, rng)
    off = ~np.eye(d, dtype=bool)
    assert float(qbjax.l1_coherence(rho)) == pytest.approx(np.abs(rho[off]).sum(), rel=1e-13)
    assert float(qbjax.imaginarity(rho)) == pytest.approx(np.abs(rho[off].imag).sum(), rel=1e-13)
    f = np.ones(d) / np.sqrt(d)
    singular = np.linalg.svd(rho - np.outer(f, f), compute_uv=False)
    assert float(qbjax.texture(rho)) == pytest.approx(singular.sum() / 2, rel=1e-12)
    assert float(qbjax.texture_grand_sum(rho)) == pytest.approx(-np.log((f @ rho @ f).real), rel=1e-12)
    # textureless state: both forms vanish
    assert float(qbjax.texture(f)) == pytest.approx(0, abs=1e-12)
    assert float(qbjax.texture_grand_sum(f)) == pytest.approx(0, abs=1e-12)


@needs_qutip
def test_steering_and_bell_against_the_correlation_matrix_from_paulis():
    rng = np.random.default_rng(11)
    rho = random_density_matrix(4, rng, 2)
    t = np.array([[np.trace(rho @ np.kron(a, b)).real for b in PAULIS] for a in PAULIS])
    np.testing.assert_allclose(resources.correlation_matrix(rho), t, atol=1e-14)
    u = np.sort(np.linalg.eigvalsh(t.T @ t))
    assert float(qbjax.steering(rho)) == pytest.approx(np.sqrt(np.trace(t.T @ t)), rel=1e-12)
    assert float(qbjax.bell(rho)) == pytest.approx(2 * np.sqrt(u[1] + u[2]), rel=1e-12)
    purities = [
        np.trace(np.linalg.matrix_power(qutip.Qobj(m).full(), 2)).real
        for m in (two_qubit(rho).ptrace(0), two_qubit(rho).ptrace(1))
    ]
    expected = np.sqrt(((2 * purities[0] - 1) + (2 * purities[1] - 1)) / 2)
    assert float(qbjax.first_order_coherence(rho)) == pytest.approx(expected, rel=1e-12)


# --- ergotropy and capacity: brute force over unitaries ---------------------------------------


def _orbit_extremes(rho, h, rng, starts=6, steps=3000):
    """min and max of Tr(U rho U^+ H) over unitaries U, by gradient flow from random unitaries.

    Step U <- expm(eta [s, H]) U with s = U rho U^+: d/d eta Tr(s H) = -||[s, H]||^2 <= 0, so the
    energy decreases until [s, H] = 0; the best of several random starts is kept.
    """
    d = rho.shape[0]
    eta = 0.2 / np.linalg.norm(h, 2) ** 2 / max(1.0, np.linalg.norm(rho, 2))
    extremes = []
    for target in (h, -h):
        best = np.inf
        for _ in range(starts):
            u = expm(1j * random_hermitian(d, rng) * 3)
            for _ in range(steps):
                s = u @ rho @ u.conj().T
                u = expm(eta * (s @ target - target @ s)) @ u
            s = u @ rho @ u.conj().T
            best = min(best, np.trace(s @ target).real)
        extremes.append(best)
    return extremes[0], -extremes[1]


@pytest.mark.slow
@pytest.mark.parametrize("d", [2, 3, 4])
def test_ergotropy_and_capacity_agree_with_brute_force_unitary_optimisation(d):
    rng = np.random.default_rng(20 + d)
    rho, h = random_density_matrix(d, rng), random_hermitian(d, rng)
    low, high = _orbit_extremes(rho, h, rng)
    mean = np.trace(rho @ h).real
    assert float(qbjax.ergotropy(rho, h)) == pytest.approx(mean - low, abs=1e-7)
    assert float(qbjax.capacity(rho, h)) == pytest.approx(high - low, abs=1e-7)


@pytest.mark.slow
def test_incoherent_ergotropy_brute_force_over_the_dephased_orbit():
    rng = np.random.default_rng(31)
    rho, h = random_density_matrix(3, rng), random_hermitian(3, rng)
    _, v = np.linalg.eigh(h)
    dephased = v @ np.diag(np.diag(v.conj().T @ rho @ v)) @ v.conj().T
    np.testing.assert_allclose(qbjax.measures.passivity.dephase(rho, h), dephased, atol=1e-13)
    low, _ = _orbit_extremes(dephased, h, rng)
    e_i = float(qbjax.incoherent_ergotropy(rho, h))
    assert e_i == pytest.approx(np.trace(rho @ h).real - low, abs=1e-4)
    assert float(qbjax.coherent_ergotropy(rho, h)) == pytest.approx(
        float(qbjax.ergotropy(rho, h)) - e_i, abs=1e-14
    )
    assert float(qbjax.coherent_ergotropy(rho, h)) >= -1e-12


def test_qubit_coherent_ergotropy_closed_form():
    """H = -w sz (ground state r_z = +1); Bloch vector r: E = w (|r| - r_z), E_i = w (|r_z| - r_z)."""
    w = 0.7
    h = -w * np.diag([1.0, -1.0])
    for r in ([0.3, -0.2, -0.5], [0.6, 0.1, 0.2], [0.0, 0.0, -0.9], [0.5, 0.5, 0.0]):
        rho = (np.eye(2) + sum(c * s for c, s in zip(r, PAULIS, strict=True))) / 2
        norm = np.linalg.norm(r)
        assert float(qbjax.ergotropy(rho, h)) == pytest.approx(w * (norm - r[2]), abs=1e-13)
        assert float(qbjax.incoherent_ergotropy(rho, h)) == pytest.approx(w * (abs(r[2]) - r[2]), abs=1e-13)


def test_dephasing_keeps_coherence_inside_a_degenerate_eigenspace():
    rng = np.random.default_rng(4)
    rho = random_density_matrix(3, rng)
    h = np.diag([0.0, 0.0, 1.0])
    expected = rho.copy()
    expected[:2, 2] = expected[2, :2] = 0
    np.testing.assert_allclose(qbjax.measures.passivity.dephase(rho, h), expected, atol=1e-14)


def test_residual_capacity():
    sz = np.diag([1.0, -1.0])
    # Bell state: locally maximally mixed (capacity 0), globally pure: C = 4 for H = sz + sz
    assert float(qbjax.residual_capacity(BELL, sz, sz)) == pytest.approx(4.0, abs=1e-12)
    # pure product state: capacities add up
    psi = np.kron([0.6, 0.8j], [1.0, 0.0])
    assert float(qbjax.residual_capacity(psi, sz, 2 * sz)) == pytest.approx(0.0, abs=1e-12)
    # explicit whole-system H
    h = np.diag([0.0, 1.0, 2.0, 5.0])
    assert float(qbjax.residual_capacity(BELL, sz, sz, h)) == pytest.approx(5.0, abs=1e-12)


# --- transformations and gradients ------------------------------------------------------------

TWO_QUBIT = [
    qbjax.concurrence,
    qbjax.negativity,
    qbjax.entropy,
    qbjax.mutual_information,
    qbjax.l1_coherence,
    qbjax.imaginarity,
    qbjax.texture,
    qbjax.texture_grand_sum,
    qbjax.steering,
    qbjax.bell,
    qbjax.first_order_coherence,
]


@pytest.mark.slow
def test_jit_and_vmap_match_eager():
    rng = np.random.default_rng(9)
    batch = np.stack([random_density_matrix(4, rng, 1 + k % 4) for k in range(6)])
    for f in TWO_QUBIT:
        eager = np.array([float(f(rho)) for rho in batch])
        np.testing.assert_allclose(jax.vmap(f)(jnp.asarray(batch)), eager, atol=1e-12, err_msg=f.__name__)
        np.testing.assert_allclose(jax.jit(f)(batch[0]), eager[0], atol=1e-12, err_msg=f.__name__)


def _central(f, x, h=1e-6):
    return (f(x + h) - f(x - h)) / (2 * h)


def _check_gradient(f, path, x0, atol=1e-6, rtol=1e-6):
    along = jax.jit(lambda x: f(path(x)))
    value = jax.grad(along)(x0)
    assert np.isfinite(float(value)), f.__name__
    numeric = _central(lambda x: float(along(x)), x0)
    assert float(value) == pytest.approx(numeric, abs=atol, rel=rtol), f.__name__


def _full_rank_path(seed):
    rng = np.random.default_rng(seed)
    a, b = random_density_matrix(4, rng), random_density_matrix(4, rng)
    k = random_hermitian(4, rng)
    w, v = np.linalg.eigh(k)

    def path(x):
        u = (v * jnp.exp(1j * (x * w).astype(complex))) @ v.conj().T
        return u @ ((1 - x / 4) * a + (x / 4) * b) @ u.conj().T

    return path


@pytest.mark.slow
@pytest.mark.parametrize("f", TWO_QUBIT, ids=lambda f: f.__name__)
def test_gradients_match_finite_differences_at_a_generic_state(f):
    _check_gradient(f, _full_rank_path(1), 0.3)


@pytest.mark.parametrize("f", TWO_QUBIT, ids=lambda f: f.__name__)
def test_gradients_are_finite_and_correct_at_degenerate_werner_states(f):
    """Werner states: the spectrum of rho is threefold degenerate, that of rho rho~ too."""

    def path(p):
        p = jnp.asarray(p).astype(complex)
        return (
            werner(0.5)
            + p * (werner(1.0) - werner(0.0))
            + p**2 * np.diag([0.1, -0.1, 0.0, 0.0]).astype(complex)
        )

    if f is qbjax.bell:
        pytest.skip("u2 = u3 for Werner states: B_max is not differentiable there")
    _check_gradient(f, path, 0.0)


@pytest.mark.parametrize(
    "f",
    [
        qbjax.concurrence,
        qbjax.negativity,
        qbjax.steering,
        qbjax.bell,
        qbjax.first_order_coherence,
        qbjax.texture,
        qbjax.l1_coherence,
    ],
    ids=lambda f: f.__name__,
)
def test_gradients_along_pure_states(f):
    """psi(x) = cos x |01> + e^{ix} sin x |10>: rank-deficient rho, degenerate spectra."""

    def path(x):
        x = jnp.asarray(x).astype(complex)
        return jnp.stack([0.0 * x, jnp.cos(x), jnp.exp(1j * x) * jnp.sin(x), 0.0 * x])

    _check_gradient(f, path, 0.4)


def test_gradient_at_the_maximally_mixed_state():
    """Entropy and texture are smooth at I/4; their gradients there are finite and correct."""
    rng = np.random.default_rng(2)
    direction = random_hermitian(4, rng)
    direction -= np.trace(direction) / 4 * np.eye(4)

    def path(x):
        return np.eye(4, dtype=complex) / 4 + jnp.asarray(x).astype(complex) * direction / 10

    for f in (qbjax.entropy, qbjax.texture, qbjax.texture_grand_sum, qbjax.mutual_information):
        _check_gradient(f, path, 0.0)
    # concurrence and negativity are flat around I/4 (separable interior)
    for f in (qbjax.concurrence, qbjax.negativity):
        assert float(jax.grad(lambda x, f=f: f(path(x)))(0.0)) == 0.0


@pytest.mark.slow
def test_ergotropy_capacity_gradients_at_degenerate_spectra():
    h = np.diag([0.0, 0.0, 1.0, 1.0])
    for f in (qbjax.ergotropy, qbjax.capacity, qbjax.incoherent_ergotropy, qbjax.coherent_ergotropy):
        _check_gradient(lambda rho, f=f: f(rho, h), _full_rank_path(3), 0.2)
        _check_gradient(lambda rho, f=f: f(rho, h), lambda x: werner(jnp.asarray(x).astype(complex)), 0.5)


# --- validation -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "bad, reason",
    [
        (np.ones((2, 3)) / 2, "square"),
        (np.eye(4) / 4 + np.triu(np.ones((4, 4)), 1) * 0.1, "Hermitian"),
        (np.eye(4) / 2, "trace 1"),
        (np.array([1.0, 1.0, 0, 0]), "norm 1"),
        (np.eye(2) / 2, "dimension 4"),
        (np.full((4, 4), np.nan), "finite"),
        (np.zeros((2, 2, 2)), "shape"),
    ],
)
def test_bad_states_raise_value_errors_naming_rho(bad, reason):
    for f in (qbjax.concurrence, qbjax.negativity, qbjax.steering, qbjax.bell, qbjax.first_order_coherence):
        with pytest.raises(ValueError, match=reason) as info:
            f(bad)
        assert info.value.argument == "rho"


def test_bad_arguments_are_named():
    rho = np.eye(4) / 4
    cases = [
        (lambda: qbjax.ptrace(rho, 2), "keep"),
        (lambda: qbjax.ptrace(rho, (0, 0)), "keep"),
        (lambda: qbjax.ptrace(np.eye(3) / 3, 0), "state"),
        (lambda: qbjax.ptrace(rho, 0, dims=(3, 2)), "dims"),
        (lambda: qbjax.mutual_information(rho, (0, 1)), "part"),
        (lambda: qbjax.entropy(rho, base=-1.0), "base"),
        (lambda: qbjax.ergotropy(np.eye(4) / 2, np.eye(4)), "state"),
        (lambda: qbjax.ergotropy(rho, np.triu(np.ones((4, 4)))), "h"),
        (lambda: qbjax.l1_coherence(np.ones((3, 3))), "rho"),
    ]
    for call, argument in cases:
        with pytest.raises(qbjax.ArgumentError) as info:
            call()
        assert info.value.argument == argument


def test_traced_inputs_skip_validation():
    # inside jit an unnormalised state is not checked (no concrete value), outside it is
    assert np.isfinite(float(jax.jit(qbjax.l1_coherence)(np.eye(4) / 2)))
    with pytest.raises(ValueError):
        qbjax.l1_coherence(np.eye(4) / 2)
