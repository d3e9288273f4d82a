"""`qbjax resources`: JSON time series, PNG, and one-line errors naming the flag."""

import json

import numpy as np
import pytest

from qbjax.app import cli
from qbjax.tasks.charger import MEASURES


def test_json_time_series_and_plot(tmp_path, capsys):
    png = tmp_path / "scatter.png"
    argv = ["resources", "--omega-b", "1", "--omega-c", "1", "--j1", "0.5", "--n-times", "21", "--json"]
    assert cli.main([*argv, "--plot", str(png)]) == 0
    report = json.loads(capsys.readouterr().out)
    assert png.stat().st_size > 10_000
    times = np.asarray(report["times"])
    assert len(times) == 21 and times[-1] == pytest.approx(np.pi / 0.5)  # default: one exchange cycle
    for key in MEASURES:
        assert len(report[key]) == 21
    # resonance: p = sin^2(J1 t), capacity 2 |cos 2 J1 t|, concurrence |sin 2 J1 t|
    np.testing.assert_allclose(report["capacity"], 2 * np.abs(np.cos(2 * 0.5 * times)), atol=1e-10)
    np.testing.assert_allclose(report["concurrence"], np.abs(np.sin(2 * 0.5 * times)), atol=1e-10)
    assert report["rank_correlation_with_capacity"]["concurrence"] == pytest.approx(-1.0, abs=1e-12)
    # texture of rho_b follows the capacity; the pair's texture is constant at resonance
    assert report["rank_correlation_with_capacity"]["texture"] == pytest.approx(1.0, abs=1e-12)
    np.testing.assert_allclose(report["texture"], np.sqrt(0.25 + (np.asarray(report["capacity"]) / 4) ** 2))
    assert report["correlation_with_capacity"]["texture_pair"] is None
    assert report["rank_correlation_with_capacity"]["texture_pair"] is None
    np.testing.assert_allclose(report["texture_pair"], np.sqrt(0.75), atol=1e-12)


def test_amplitudes_and_table(capsys):
    assert cli.main(["resources", "--amplitudes", "0,1,1j,0", "--n-times", "5"]) == 0
    out = capsys.readouterr().out
    assert "initial amplitudes" in out and "concurrence" in out
    assert "texture_pair" in out and "of rho_b" in out


@pytest.mark.parametrize(
    "argv, flag",
    [
        (["--n-times", "1"], "--n-times"),
        (["--initial", "zz"], "--initial"),
        (["--amplitudes", "0,0,0,0"], "--amplitudes"),
        (["--amplitudes", "1,2"], "--amplitudes"),
        (["--t-max", "-1"], "--t-max"),
        (["--omega-b", "1", "--omega-c", "1", "--j1", "0"], "--t-max"),
    ],
)
def test_bad_flags_exit_2_naming_the_flag(argv, flag, capsys):
    with pytest.raises(SystemExit) if argv[1] == "1,2" else _no_exit() as _:
        code = cli.main(["resources", *argv])
        assert code == 2
    assert flag in capsys.readouterr().err


class _no_exit:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False
