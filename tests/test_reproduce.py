"""`qbjax reproduce`: a figure at reduced size writes PNG + JSON whose numbers `qbjax charge` gives."""

import json

import numpy as np
import pytest

import qbjax
from qbjax.app.cli import main


def charge_model(model, t_max, *, times=None, method="auto"):
    result = qbjax.charge(qbjax.SpinChain.of(model), t_max, times=times, method=method)
    return result, result.method


MODEL_KEYS = ("n", "coupling", "g", "p", "alpha", "dm", "field", "omega", "protocol", "periodic")


def _same_as_charge(row: dict):
    model = {key: row[key] for key in MODEL_KEYS}
    result, method = charge_model(model, row["t_max"], times=row.get("times"), method=row["method"])
    assert method == row["method"]
    for key in ("max_power", "t_max_power", "max_work", "t_max_work"):
        assert float(getattr(result, key)) == pytest.approx(row[key], rel=1e-9, abs=1e-12), key


def test_fig2_reduced_writes_png_and_data_matching_charge(tmp_path, user_cli):
    report = json.loads(user_cli("reproduce", "le2018-fig2", "--out", str(tmp_path), "--points", "3").stdout)
    folder = tmp_path / "le2018_fig2"
    assert (folder / "le2018_fig2.png").stat().st_size > 10_000
    data = json.loads((folder / "le2018_fig2.json").read_text())
    assert report["le2018-fig2"]["data"] == str(folder / "le2018_fig2.json")
    assert data["alphas"] == [-1.0, 0.0, 1.0]
    rows = data["series"]["NN"]
    # XXX (alpha = 1) charges like 4 independent spins: P_max = P_ind
    assert rows[-1]["max_power"] / data["p_ind"] == pytest.approx(1.0, rel=1e-9)
    _same_as_charge(rows[1])


@pytest.mark.slow
@pytest.mark.parametrize("figure", ["le2018-fig3", "le2018-fig4", "le2018-fig5", "le2018-fig6"])
def test_every_figure_data_matches_charge(tmp_path, figure):
    options = {"le2018-fig4": ["--n-max", "3"], "le2018-fig6": ["--n-max", "3", "--n-max-symmetric", "8"]}
    assert main(["reproduce", figure, "--out", str(tmp_path), *options.get(figure, ["--points", "11"])]) == 0
    name = figure.replace("-", "_")
    data = json.loads((tmp_path / name / f"{name}.json").read_text())
    assert (tmp_path / name / f"{name}.png").exists()
    if "point" in data:
        _same_as_charge(data["point"])
    if "series" in data:
        _same_as_charge(data["series"]["LR Ising (p = 1)"][-1])
    if "classical" in data:
        _same_as_charge(data["classical"]["NN Ising"][-1])
        _same_as_charge(data["quantum_p0"][-1])


def test_unknown_figure_is_refused(capsys):
    assert main(["reproduce", "le2018-fig9", "--out", "unused"]) == 2
    assert "--figure" in capsys.readouterr().err


DM_MODEL_KEYS = (*MODEL_KEYS, "dm_axis", "initial")


@pytest.mark.slow  # 18 s; fig. 2 covers the reproduce machinery by default
def test_dm_chain_study_reduced(tmp_path, capsys):
    """The seed-000 study at N = 2 and D in {0, 2}: files, the reading table, and numbers
    that `qbjax charge` reproduces; the collective protocol's parallel reference is exact."""
    assert main(["reproduce", "dm-chain", "--out", str(tmp_path), "--points", "2", "--n-max", "2"]) == 0
    report = json.loads(capsys.readouterr().out)["dm-chain"]
    folder = tmp_path / "dm_chain"
    assert (folder / "dm_chain.png").stat().st_size > 10_000
    assert (folder / "dm_chain_resources.png").stat().st_size > 10_000
    data = json.loads((folder / "dm_chain.json").read_text())
    assert report["data"] == str(folder / "dm_chain.json")
    assert set(data["readings"]) == {
        f"{protocol}/{start}/D{axis}"
        for protocol in ("collective", "replace")
        for start in ("down", "ground")
        for axis in ("z", "y")
    }
    # parallel charging = N independent spins. Field replaced by the drive: 1.449223 omega B
    # each; field kept (collective): precession about (omega, 0, B) at Omega = |(omega, B)|,
    # W = 2B (omega/Omega)^2 sin^2(Omega t), so P_max = 2B omega^2/Omega x 0.724611 each
    omega, field = 0.5, 1.0
    rabi = np.hypot(omega, field)
    for reading, per_spin in (
        ("replace/down/Dz", 1.449223 * omega * field),
        ("collective/down/Dy", 2 * field * omega**2 / rabi * 0.724611),
    ):
        for n, row in zip(data["ns"], data["readings"][reading]["parallel"], strict=True):
            assert row["max_power"] == pytest.approx(n * per_spin, rel=1e-6)
    # every stored point is what `qbjax charge` gives for its flags and grid
    row = data["readings"]["replace/ground/Dy"]["collective"][-1][-1]
    model = {key: row[key] for key in DM_MODEL_KEYS}
    expected = qbjax.charge(qbjax.SpinChain.of(model), row["t_max"], n_grid=row["n_grid"])
    assert float(expected.max_power) == pytest.approx(row["max_power"], rel=1e-10)
    assert row["initial_ergotropy"] == pytest.approx(0.0, abs=1e-9)
    assert row["max_ergotropy"] == pytest.approx(row["max_work"], abs=1e-9)
    # from |down...down> with D along z the replace protocol's start holds ergotropy already
    down = data["readings"]["replace/down/Dz"]["collective"][-1][-1]
    assert down["initial_ergotropy"] > 0.1
    claims = data["claims"]["collective/down/Dy"]
    assert claims["dm_raises_power"] and claims["collective_beats_parallel_at_dmax"]
    resources = data["resources"]["Dy"]
    assert [entry["dm"] for entry in resources] == [0.0, 1.0, 2.0]
    assert len(resources[0]["steering"]) == len(data["times"])


def test_a_figure_point_without_a_named_start_keeps_the_spin_chain():
    """Figure points give no `initial`: the report must still charge the SpinChain (the
    symmetric engine takes nothing else), not a Battery of Pauli terms."""
    from qbjax.app.report import charge_report

    model = {"n": 4, "coupling": "lr", "p": 0.0, "alpha": 0.3}
    report = charge_report(model, 1.0, method="symmetric")
    dense = charge_report(model, 1.0, method="dense")
    assert report["method"] == "symmetric"
    assert report["max_power"] == pytest.approx(dense["max_power"], rel=1e-10)
