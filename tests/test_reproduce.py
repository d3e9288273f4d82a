"""`qbjax reproduce`: a figure at reduced size writes PNG + JSON whose numbers `qbjax charge` gives."""

import json

import pytest

import qbjax
from qbjax.charge import charge_with
from qbjax.cli import main


def charge_model(model, t_max, *, times=None, method="auto"):
    return charge_with(qbjax.SpinChain.of(model), t_max, times=times, method=method)


MODEL_KEYS = ("n", "coupling", "g", "p", "alpha", "dm", "field", "omega", "protocol", "periodic")


def _same_as_charge(row: dict):
    model = {key: row[key] for key in MODEL_KEYS}
    result, method = charge_model(model, row["t_max"], times=row.get("times"), method=row["method"])
    assert method == row["method"]
    for key in ("max_power", "t_max_power", "max_work", "t_max_work"):
        assert float(getattr(result, key)) == pytest.approx(row[key], rel=1e-9, abs=1e-12), key


def test_fig2_reduced_writes_png_and_data_matching_charge(tmp_path, capsys):
    assert main(["reproduce", "le2018-fig2", "--out", str(tmp_path), "--points", "3"]) == 0
    report = json.loads(capsys.readouterr().out)
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
