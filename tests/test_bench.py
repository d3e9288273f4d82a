"""`qbjax bench`: the smoke run writes its JSON rows and figures; bad flags exit 2."""

import importlib.util
import json

import pytest

from qbjax.app import bench
from qbjax.app.cli import main
from qbjax.devices import visible_backends

ROW_KEYS = {"device", "n", "engine", "precision", "batch", "compile_s", "run_s", "workload", "points_per_s"}


def test_smoke_run_writes_json_rows_and_pngs(tmp_path, user_cli):
    report = json.loads(user_cli("bench", "--smoke", "--json", "--out", str(tmp_path)).stdout)
    assert report == json.loads((tmp_path / "bench.json").read_text())
    assert report["devices"]["cpu"].startswith("cpu")
    assert report["bandwidth_bytes_per_s"]["cpu"] > 1e8
    measured = [row for row in report["rows"] if "skipped" not in row]
    for row in measured:
        assert ROW_KEYS <= set(row), row
        assert row["compile_s"] >= 0 and row["run_s"] > 0
    kinds = {(row["engine"], row["workload"], row["precision"]) for row in measured}
    for workload in ("curve", "pmax", "grad", "sweep"):
        assert {("dense", workload, "double"), ("dense", workload, "single")} <= kinds
    # QuTiP is a test dependency; a GPU image without it (no registry there) has no such row
    assert (("qutip", "curve", "double") in kinds) == (importlib.util.find_spec("qutip") is not None)
    assert {row["batch"] for row in measured if row["workload"] == "sweep"} == {1, 4}
    for row in measured:
        if row["engine"] == "dense":
            assert row["peak_bytes"] > 0 and row["memory_source"] == "xla"
        if row["precision"] == "single" and row["engine"] == "dense":
            assert 0 < row["error_vs_double"] < 1e-5
        if row["workload"] == "matvec":  # a 256-byte state: cache-resident, no fraction
            assert row["matvec_bytes_per_s"] > 0 and "caches" in row["bandwidth_note"]
            assert "bandwidth_fraction" not in row
    # every row after the first of its kind carries its prediction, a measured one its check
    for row in report["rows"]:
        assert "predicted_run_s" in row
        if row.get("predicted_run_s") is not None and "run_s" in row:
            assert row["prediction_ratio"] == pytest.approx(row["run_s"] / row["predicted_run_s"])
    batch_4 = [row for row in measured if row["workload"] == "sweep" and row["batch"] == 4]
    assert batch_4 and all(row["predicted_run_s"] > 0 for row in batch_4)  # from batch 1
    assert report["predictions"]["checked"] == sum("prediction_ratio" in row for row in report["rows"]) > 0
    for name in ("bench_time.png", "bench_throughput.png"):
        png = (tmp_path / name).read_bytes()
        assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 20_000


def test_sizes_too_slow_or_too_large_are_skipped_with_the_reason():
    config = bench.BenchConfig(
        sizes=(4, 5, 34),  # N = 34: no machine's memory holds even the matvec (1.5 TiB)
        engines=("dense",),
        batches=(),
        precisions=("double",),
        repeats=1,
        max_run_s=1e-9,
        qutip=False,
    )
    rows = bench.run_bench(config)["rows"]
    assert len(rows) == config.n_measurements() == 3 * 4
    by_size = {n: [row for row in rows if row["n"] == n] for n in (4, 5, 34)}
    assert all("run_s" in row for row in by_size[4])
    assert all(row["skipped"].startswith("predicted run") for row in by_size[5])
    # the matvec by the device's free memory, the dense workloads by the engine's own check
    matvec, *dense = by_size[34]
    assert "free on the device" in matvec["skipped"]
    assert all("n = 34 needs about" in row["skipped"] for row in dense)


def test_memory_estimates_are_the_plans_not_the_budget():
    """A workload's estimate is its plan's (an N = 8 sweep of 256 points needs tens of MB,
    not 256 x the 256 MiB default budget, which skipped it on a 24 GiB machine), and the
    gradient's is the reverse mode's (5-16 times the forward march)."""
    sweep = bench.estimate_bytes("sweep", "chebyshev", 8, "double", 256)
    assert sweep < 2**30
    plan = bench.sweep_plan("chebyshev", 8, "double", 256, "cpu")
    assert sweep == 256 * plan.engine.batch_memory_bytes(bench.chain(8))
    curve = bench.estimate_bytes("curve", "chebyshev", 12, "double")
    assert 4 * curve < bench.estimate_bytes("grad", "chebyshev", 12, "double") < 20 * curve


@pytest.mark.parametrize(
    ("flags", "argument"),
    [
        (["--n", "12:8"], "--n"),
        (["--n", "eight"], "--n"),
        (["--engines", "dense,magic"], "--engines"),
        (["--precision", "half"], "--precision"),
        (["--batch", "0"], "--batch"),
        (["--batch", "1,x"], "--batch"),
        (["--devices", "abacus"], "--devices"),
        (["--max-run-s", "0"], "--max-run-s"),
    ],
)
@pytest.mark.parametrize("smoke", [[], ["--smoke"]], ids=["full", "smoke"])
def test_bad_flags_exit_2_naming_the_flag(flags, argument, smoke, tmp_path, capsys):
    # --smoke replaces the sizes and counts, but a bad flag beside it is still refused
    assert main(["bench", *flags, *smoke, "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and f"argument {argument}:" in err[0]


@pytest.mark.skipif("gpu" in visible_backends(), reason="a GPU is visible here")
def test_missing_gpu_backend_is_refused(tmp_path, capsys):
    assert main(["bench", "--devices", "gpu", "--smoke", "--out", str(tmp_path)]) == 2
    assert "argument --devices: no gpu backend is visible" in capsys.readouterr().err
