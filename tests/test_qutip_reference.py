"""qbjax against an independent QuTiP reference.

Every Hamiltonian on the QuTiP side is written out here directly from the formulas of
PHYSICS.md with `qutip.sigmax/sigmay/sigmaz`, `qeye` and `tensor` (site 0 is the leftmost
tensor factor, `basis(2, 1)` is |down>), and evolved with the ODE solver `sesolve` at tight
tolerances. Nothing on the reference side goes through qbjax, so a wrong sign, a missing
bond or a swapped protocol in qbjax shows up as a disagreement.

    H0    = sum_i B_i sz_i + H_int
    H_int = - sum_{i->j} g_ij [ sz_i sz_j + alpha (sx_i sx_j + sy_i sy_j) + D . (s_i x s_j) ]
    (bonds i -> j along the chain; a ring's closing bond is N-1 -> 0: uniform chirality)
    V     = sum_i omega_i sx_i
    replace: H = H_int + V, E = H0;  add: H = H0 + V, E = H0;
    collective: H = sum_i B_i sz_i + H_int + V, E = sum_i B_i sz_i.
    W(t) = <E>_t - <E>_0 from |down...down>.

Symmetry note: with site-independent B and omega, reflecting the chain (i -> N-1-i) maps
D -> -D and leaves |down...down>, V and the fields unchanged, so W(t) cannot see the overall
sign of the DM vector. The tests that must pin that sign down use site-dependent fields.
"""

import jax.numpy as jnp
import numpy as np
import pytest
from optional_qutip import whole_module_needs_qutip

import qbjax

qutip = whole_module_needs_qutip()

W_ATOL = 1e-8  # absolute agreement required on W(t) (and on ergotropies)
STATE_ATOL = 1e-8  # elementwise agreement required on state vectors
SESOLVE_OPTIONS = {"atol": 1e-13, "rtol": 1e-13, "nsteps": 10**6}
N_TIMES = 30
PROTOCOL_NAMES = ("replace", "add", "collective")

SX, SY, SZ = qutip.sigmax(), qutip.sigmay(), qutip.sigmaz()
PAULI = {"x": SX, "y": SY, "z": SZ}


# ---------------------------------------------------------------- QuTiP reference


def on_site(op, i, n):
    """op acting on site i of n (site 0 leftmost)."""
    return qutip.tensor([op if k == i else qutip.qeye(2) for k in range(n)])


def pair(a, i, b, j, n):
    """sigma^a_i sigma^b_j with a, b in "xyz"."""
    return on_site(PAULI[a], i, n) * on_site(PAULI[b], j, n)


def zero_operator(n):
    return 0.0 * qutip.tensor([qutip.qeye(2)] * n)


def all_down(n):
    return qutip.tensor([qutip.basis(2, 1)] * n)


def reference_bonds(n, coupling, g, p=1.0, periodic=False, chirality="uniform"):
    """[(i, j, g_ij)], bond i -> j, written out independently of qbjax.models.

    On a ring each bond runs the short way round in the direction 0 -> 1 -> ... -> N-1 -> 0
    (distance d = (j - i) mod N <= N/2). chirality="reversed" writes every bond as i < j
    instead, the convention that reverses the DM term on the bonds through N-1 -> 0.
    """
    if not periodic:
        if coupling == "nn":
            return [(i, i + 1, g) for i in range(n - 1)]
        return [(i, j, g / (j - i) ** p) for i in range(n) for j in range(i + 1, n)]
    bonds = []
    for i in range(n):
        for d in range(1, n // 2 + 1):
            j = (i + d) % n
            if 2 * d == n and i >= n // 2:
                continue  # the diametral bond once
            if coupling == "nn" and d != 1:
                continue
            bonds.append((i, j, g if coupling == "nn" else g / d**p))
    if chirality == "reversed":
        bonds = [(min(i, j), max(i, j), g_ij) for i, j, g_ij in bonds]
    return bonds


def reference_parts(n, bonds, alpha, dm, field, omega):
    """(H_B, H_int, V) as QuTiP operators. dm: a number (D along z) or (Dx, Dy, Dz)."""
    field = np.broadcast_to(np.asarray(field, dtype=float), (n,))
    omega = np.broadcast_to(np.asarray(omega, dtype=float), (n,))
    dx, dy, dz = (0.0, 0.0, float(dm)) if np.ndim(dm) == 0 else (float(c) for c in dm)

    h_field = zero_operator(n)
    drive = zero_operator(n)
    for i in range(n):
        h_field = h_field + field[i] * on_site(SZ, i, n)
        drive = drive + omega[i] * on_site(SX, i, n)

    h_int = zero_operator(n)
    for i, j, g_ij in bonds:
        # (s_i x s_j) component by component
        cross_x = pair("y", i, "z", j, n) - pair("z", i, "y", j, n)
        cross_y = pair("z", i, "x", j, n) - pair("x", i, "z", j, n)
        cross_z = pair("x", i, "y", j, n) - pair("y", i, "x", j, n)
        bracket = (
            pair("z", i, "z", j, n)
            + alpha * (pair("x", i, "x", j, n) + pair("y", i, "y", j, n))
            + dx * cross_x
            + dy * cross_y
            + dz * cross_z
        )
        h_int = h_int - g_ij * bracket
    return h_field, h_int, drive


def reference_protocol(protocol, h_field, h_int, drive):
    """(charging Hamiltonian, energy operator) of a protocol."""
    if protocol == "replace":
        return h_int + drive, h_field + h_int
    if protocol == "add":
        return h_field + h_int + drive, h_field + h_int
    if protocol == "collective":
        return h_field + h_int + drive, h_field
    raise ValueError(protocol)


def reference_hamiltonians(n, coupling, protocol, params, *, dm=None, periodic=False, chirality="uniform"):
    """(charging Hamiltonian, energy operator) for drawn parameters; `dm` overrides params["dm"]."""
    bonds = reference_bonds(n, coupling, params["g"], params["p"], periodic=periodic, chirality=chirality)
    dm = params["dm"] if dm is None else dm
    parts = reference_parts(n, bonds, params["alpha"], dm, params["field"], params["omega"])
    return reference_protocol(protocol, *parts)


def reference_work(h_charge, energy, n, times):
    """W(t) = <E>_t - <E>_0 by sesolve from |down...down>."""
    psi0 = all_down(n)
    result = qutip.sesolve(h_charge, psi0, times, e_ops=[energy], options=SESOLVE_OPTIONS)
    energy_t = np.real(np.asarray(result.expect[0]))
    return energy_t - np.real(qutip.expect(energy, psi0))


def reference_states(h_charge, n, times):
    """States exp(-iHt)|down...down> by sesolve, shape (T, 2**n)."""
    options = dict(SESOLVE_OPTIONS, store_states=True)
    result = qutip.sesolve(h_charge, all_down(n), times, options=options)
    return np.stack([state.full().ravel() for state in result.states])


def charging_times(omega):
    """N_TIMES points on [0, 2 pi / omega] (omega: the largest drive amplitude)."""
    return np.linspace(0.0, 2 * np.pi / float(np.max(omega)), N_TIMES)


def assert_close(actual, desired, atol, what):
    actual, desired = np.asarray(actual), np.asarray(desired)
    err = float(np.max(np.abs(actual - desired)))
    assert err <= atol, f"{what}: max |qbjax - qutip| = {err:.3e} > atol {atol:.0e}"


def draw(rng):
    """Random model parameters in the ranges of the cross-check."""
    return {
        "alpha": rng.uniform(-1.0, 1.0),
        "dm": rng.uniform(-1.5, 1.5),
        "g": rng.uniform(0.2, 2.0),
        "p": rng.uniform(0.0, 3.0),
        "field": rng.uniform(0.5, 2.0),
        "omega": rng.uniform(1.0, 6.0),
    }


# ---------------------------------------------------------------- 1. W(t) on random chains


# For each N, three draws that between them cover all three protocols and both couplings;
# the coupling assigned to each protocol alternates with N, so every (coupling, protocol)
# pair occurs at three different N.
def _random_chain_cases():
    cases = []
    for n in range(2, 8):
        couplings = ("nn", "lr", "nn") if n % 2 == 0 else ("lr", "nn", "lr")
        for k, (coupling, protocol) in enumerate(zip(couplings, PROTOCOL_NAMES, strict=True)):
            cases.append(pytest.param(n, coupling, protocol, 1000 * n + k, id=f"N{n}-{coupling}-{protocol}"))
    return cases


@pytest.mark.parametrize(("n", "coupling", "protocol", "seed"), _random_chain_cases())
def test_work_matches_sesolve_on_random_chains(n, coupling, protocol, seed):
    params = draw(np.random.default_rng(seed))
    battery = qbjax.spin_chain_battery(n, coupling=coupling, protocol=protocol, **params)
    times = charging_times(params["omega"])

    h_charge, energy = reference_hamiltonians(n, coupling, protocol, params)
    w_ref = reference_work(h_charge, energy, n, times)

    assert np.max(np.abs(w_ref)) > 1e-2, "reference W(t) is trivially small; the check would be vacuous"
    assert_close(qbjax.work(battery, times), w_ref, W_ATOL, "W(t)")

    # P(t) = W(t)/t for t > 0; at t = 0 its limit dW/dt(0) = i <psi0|[H, E]|psi0>.
    psi0 = all_down(n)
    rate0 = np.real(1j * qutip.expect(h_charge * energy - energy * h_charge, psi0))
    p_ref = np.concatenate([[rate0], w_ref[1:] / times[1:]])
    assert_close(qbjax.power(battery, times), p_ref, W_ATOL / times[1], "P(t)")


# ---------------------------------------------------------------- 2. states: evolve / evolve_expm


@pytest.mark.parametrize("method", ["evolve", "evolve_expm"])
def test_states_match_sesolve(method):
    rng = np.random.default_rng(20240602)
    n = 4
    params = draw(rng)
    params["dm"] = 1.1  # make sure the DM term (complex Hamiltonian) is well away from zero
    battery = qbjax.spin_chain_battery(n, coupling="lr", protocol="add", **params)
    times = charging_times(params["omega"])

    h_charge, _ = reference_hamiltonians(n, "lr", "add", params)
    states_ref = reference_states(h_charge, n, times)

    psi0 = jnp.asarray(all_down(n).full().ravel())
    propagate = getattr(qbjax, method)
    states = np.asarray(propagate(battery.charging, psi0, jnp.asarray(times)))

    assert states.shape == (N_TIMES, 2**n)
    assert_close(states, states_ref, STATE_ATOL, f"{method} states")
    fidelity = np.abs(np.sum(states_ref.conj() * states, axis=1)) ** 2
    assert_close(fidelity, np.ones(N_TIMES), 1e-10, f"{method} fidelity")


# ---------------------------------------------------------------- 3. ergotropy


@pytest.mark.parametrize(
    ("coupling", "protocol", "seed"),
    [("nn", "replace", 31), ("lr", "add", 32), ("lr", "collective", 33)],
)
def test_ergotropy_matches_qutip(coupling, protocol, seed):
    n = 4
    params = draw(np.random.default_rng(seed))
    battery = qbjax.spin_chain_battery(n, coupling=coupling, protocol=protocol, **params)
    t_max = 2 * np.pi / params["omega"]
    times = t_max * np.array([0.0, 0.13, 0.37, 0.5, 0.81, 1.0])

    h_charge, energy = reference_hamiltonians(n, coupling, protocol, params)
    psi0 = all_down(n)
    result = qutip.sesolve(h_charge, psi0, times, e_ops=[energy], options=SESOLVE_OPTIONS)
    e_ground = float(np.min(energy.eigenenergies()))
    ergotropy_ref = np.real(np.asarray(result.expect[0])) - e_ground

    charged = qbjax.charge(battery, t_max, times=times)
    assert_close(charged.ergotropy, ergotropy_ref, W_ATOL, "charge().ergotropy")
    assert_close(charged.ground_energy, e_ground, W_ATOL, "charge().ground_energy")

    # qbjax.ergotropy / passive_energy / capacity on the QuTiP states, QuTiP energy matrix.
    energy_matrix = jnp.asarray(energy.full())
    spectrum = np.sort(energy.eigenenergies())
    for k, state in enumerate(reference_states(h_charge, n, times)):
        psi = jnp.asarray(state)
        assert_close(qbjax.ergotropy(psi, energy_matrix), ergotropy_ref[k], W_ATOL, "ergotropy(psi)")
        assert_close(qbjax.passive_energy(psi, energy_matrix), spectrum[0], W_ATOL, "passive_energy(psi)")
        assert_close(qbjax.capacity(psi, energy_matrix), spectrum[-1] - spectrum[0], W_ATOL, "capacity(psi)")


# ---------------------------------------------------------------- 4. periodic chain


@pytest.mark.parametrize(
    ("n", "coupling", "protocol"),
    [(4, "nn", "replace"), (4, "nn", "collective"), (5, "nn", "add"), (5, "lr", "replace"), (6, "lr", "add")],
)
def test_ring_has_uniform_chirality(n, coupling, protocol):
    params = draw(np.random.default_rng(4040 + n))
    battery = qbjax.spin_chain_battery(n, coupling=coupling, protocol=protocol, periodic=True, **params)
    times = charging_times(params["omega"])

    def reference(**options):
        return reference_work(*reference_hamiltonians(n, coupling, protocol, params, **options), n, times)

    w_ring = reference(periodic=True)
    assert_close(qbjax.work(battery, times), w_ring, W_ATOL, "periodic W(t)")
    # the closing bond must matter, and so must its orientation, else this test could not fail
    assert np.max(np.abs(reference(periodic=False) - w_ring)) > 1e-3
    assert np.max(np.abs(reference(periodic=True, chirality="reversed") - w_ring)) > 1e-3


def test_ring_dm_chain_is_translation_invariant():
    """Uniform chirality: the cyclic shift of the sites commutes with H_int (any DM vector)."""
    n = 5
    chain = qbjax.spin_chain_battery(
        n, g=0.7, alpha=0.3, dm=[0.4, -0.9, 1.3], periodic=True, protocol="collective"
    )
    h_int = np.asarray(qbjax.dense(chain.charging)) - np.asarray(qbjax.dense(chain.energy))
    h_int -= np.asarray(qbjax.dense(qbjax.local_field(n, 4.0, "x")))  # the drive
    shift = np.zeros((2**n, 2**n))
    for s in range(2**n):  # site k -> site k + 1: rotate the bit string right by one
        shift[((s >> 1) | ((s & 1) << (n - 1))), s] = 1.0
    assert np.max(np.abs(h_int)) > 1.0
    np.testing.assert_allclose(shift @ h_int @ shift.T, h_int, atol=1e-12)


@pytest.mark.parametrize("axis", ["x", "y", "z"])
def test_dm_axis_matches_qutip(axis):
    """dm=D with dm_axis=a is the DM vector D e_a, checked against the QuTiP-built Hamiltonians."""
    n, protocol = 4, "collective"
    params = draw(np.random.default_rng(7070 + ord(axis)))
    d = params.pop("dm")
    vector = np.zeros(3)
    vector["xyz".index(axis)] = d
    battery = qbjax.spin_chain_battery(n, protocol=protocol, dm=d, dm_axis=axis, **params)
    h_charge, energy = reference_hamiltonians(n, "nn", protocol, {**params, "dm": vector})
    np.testing.assert_allclose(np.asarray(qbjax.dense(battery.charging)), h_charge.full(), atol=1e-12)
    np.testing.assert_allclose(np.asarray(qbjax.dense(battery.energy)), energy.full(), atol=1e-12)
    times = charging_times(params["omega"])
    assert_close(
        qbjax.work(qbjax.SpinChain(n, protocol=protocol, dm=d, dm_axis=axis, **params), times),
        reference_work(h_charge, energy, n, times),
        W_ATOL,
        f"W(t), DM along {axis}",
    )


# ---------------------------------------------------------------- 5. general DM vector


@pytest.mark.parametrize("site_dependent", [False, True], ids=["uniform-fields", "site-fields"])
@pytest.mark.parametrize("coupling", ["nn", "lr"])
def test_dm_vector(coupling, site_dependent):
    n = 3
    rng = np.random.default_rng(5050 + 2 * (coupling == "lr") + site_dependent)
    params = draw(rng)
    params["dm"] = rng.uniform(-1.5, 1.5, size=3)
    if site_dependent:
        params["field"] = rng.uniform(0.5, 2.0, size=n)
        params["omega"] = rng.uniform(1.0, 6.0, size=n)
    protocol = "add"
    battery = qbjax.spin_chain_battery(n, coupling=coupling, protocol=protocol, **params)
    times = charging_times(params["omega"])

    def reference(dm):
        return reference_work(*reference_hamiltonians(n, coupling, protocol, params, dm=dm), n, times)

    w_ref = reference(params["dm"])
    assert_close(qbjax.work(battery, times), w_ref, W_ATOL, "W(t) with DM vector")

    # Sensitivity: each component is visible on its own (a swapped or dropped component fails).
    for k in range(3):
        flipped = params["dm"].copy()
        flipped[k] = -flipped[k]
        assert np.max(np.abs(reference(flipped) - w_ref)) > 1e-4, f"D_{'xyz'[k]} sign invisible"
    if site_dependent:
        # site-dependent fields break the reflection symmetry: the overall sign of D is visible
        assert np.max(np.abs(reference(-params["dm"]) - w_ref)) > 1e-4


def test_dm_vector_along_z_equals_scalar_dm():
    params = draw(np.random.default_rng(5151))
    d = params.pop("dm")
    times = charging_times(params["omega"])
    scalar = qbjax.work(qbjax.spin_chain_battery(3, coupling="lr", dm=d, **params), times)
    vector = qbjax.work(
        qbjax.spin_chain_battery(3, coupling="lr", dm=np.array([0.0, 0.0, d]), **params), times
    )
    assert_close(vector, scalar, 1e-12, "dm=(0,0,D) vs dm=D")


# ---------------------------------------------------------------- 6. site-dependent fields


@pytest.mark.parametrize(
    ("coupling", "protocol", "seed"),
    [("nn", "replace", 61), ("lr", "add", 62), ("nn", "collective", 63)],
)
def test_site_dependent_field_and_drive(coupling, protocol, seed):
    n = 4
    rng = np.random.default_rng(seed)
    params = draw(rng)
    params["field"] = rng.uniform(0.5, 2.0, size=n)
    params["omega"] = rng.uniform(1.0, 6.0, size=n)
    battery = qbjax.spin_chain_battery(n, coupling=coupling, protocol=protocol, **params)
    times = charging_times(params["omega"])

    def reference(dm):
        return reference_work(*reference_hamiltonians(n, coupling, protocol, params, dm=dm), n, times)

    w_ref = reference(params["dm"])
    assert_close(qbjax.work(battery, times), w_ref, W_ATOL, "W(t) with site-dependent B_i, omega_i")
    # with site-dependent fields the sign of D is visible, so the DM convention is pinned down
    assert np.max(np.abs(reference(-params["dm"]) - w_ref)) > 1e-4

    if protocol == "collective":
        # energy is sum_i B_i sz_i: its ground energy is -sum_i B_i
        charged = qbjax.charge(battery, float(times[-1]), times=times)
        assert_close(charged.ground_energy, -np.sum(params["field"]), W_ATOL, "ground energy")
