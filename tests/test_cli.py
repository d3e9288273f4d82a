"""The `qbjax` command: JSON contract, table output, demo files."""

import json
import math

import numpy as np
import pytest

import qbjax
from qbjax.app.cli import main


def run_json(argv, capsys):
    assert main(argv) == 0
    return json.loads(capsys.readouterr().out)


def test_charge_json_defaults_are_le2018_four_spins(capsys):
    report = run_json(["charge", "--json"], capsys)
    for key in ("max_power", "t_max_power", "max_work", "t_max_work"):
        assert isinstance(report[key], float)
    assert report["max_power"] == pytest.approx(34.8638, abs=1e-4)
    assert report["t_max_power"] == pytest.approx(0.18277, abs=1e-5)
    assert report["t_max"] == pytest.approx(2 * math.pi / 4)
    assert "times" not in report


def test_charge_json_with_times_equals_the_python_api(capsys):
    argv = ["charge", "--json", "--n", "3", "--coupling", "lr", "--g", "0.7", "--p", "2", "--alpha", "-0.3"]
    argv += ["--dm", "0.4", "--field", "1.2", "--omega", "3", "--protocol", "add", "--t-max", "1.5"]
    report = run_json([*argv, "--times", "0,0.25,0.5,1.25"], capsys)
    battery = qbjax.spin_chain_battery(
        3, coupling="lr", g=0.7, p=2.0, alpha=-0.3, dm=0.4, field=1.2, omega=3.0, protocol="add"
    )
    times = [0.0, 0.25, 0.5, 1.25]
    expected = qbjax.charge(battery, 1.5, times=times)
    assert report["times"] == times
    np.testing.assert_allclose(report["work"], np.asarray(expected.work), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(report["power"][1:], np.asarray(expected.work)[1:] / times[1:], rtol=1e-12)
    np.testing.assert_allclose(report["ergotropy"], np.asarray(expected.ergotropy), rtol=1e-12, atol=1e-12)
    assert report["max_power"] == pytest.approx(float(expected.max_power), rel=1e-12)
    assert report["max_work"] == pytest.approx(float(expected.max_work), rel=1e-12)


def test_charge_table_is_readable(capsys):
    assert main(["charge", "--n", "2", "--times", "0.1,0.2"]) == 0
    out = capsys.readouterr().out
    assert "maximum power" in out and "P_max" in out and "ergotropy" in out
    assert len(out.splitlines()) == 10  # 2 model lines, blank, 3 results, blank, column names, 2 times


def test_demo_writes_table_png_and_data(tmp_path, capsys):
    assert main(["demo", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "P_max" in out
    png = (tmp_path / "demo.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 10_000
    data = json.loads((tmp_path / "demo.json").read_text())
    by_alpha = {row["alpha"]: row for row in data["rows"]}
    assert by_alpha[0.0]["max_power"] == pytest.approx(34.8638, abs=1e-4)
    assert by_alpha[1.0]["max_power"] == pytest.approx(23.1875, abs=1e-4)
    # the paper's trend: P_max grows as alpha decreases from 1
    powers = [by_alpha[a]["max_power"] for a in sorted(by_alpha, reverse=True)]
    assert all(np.diff(powers) > 0)
