"""A damaged sweep folder is caught: a chunk that no longer reads or matches its checksum
is moved aside and computed again, a manifest that no longer parses is refused with the way
to start afresh, and the results equal an undamaged run's (issue 23: a truncated or zeroed chunk ended in a
traceback, one flipped byte gave a silently wrong t_max_work = 7.06e307)."""

import json

import numpy as np
import pytest

from qbjax import ArgumentError
from qbjax.app.cli import main
from qbjax.tasks.sweep import sweep
from qbjax.tasks.sweep_store import MANIFEST

MODEL = {"n": 3, "g": 0.8}
AXES = {"alpha": np.linspace(-1, 1, 6), "dm": [0.0, 0.7]}  # 12 points, 6 chunks of 2


def _damage(chunks, kind: str) -> None:
    path = chunks / {"truncated": "000001.nc", "zeroed": "000002.nc", "flipped": "000004.nc"}[kind]
    data = bytearray(path.read_bytes())
    if kind == "truncated":
        data = data[: len(data) // 2]
    elif kind == "zeroed":
        data = bytearray(len(data))
    else:  # one bit of the last variable's values
        data[-3] ^= 0x10
    path.write_bytes(bytes(data))


def test_damaged_chunks_are_recomputed_with_identical_results(tmp_path):
    out = tmp_path / "sweep"
    clean = sweep(MODEL, AXES, chunk=2, out=out, method="chebyshev", progress=False)
    assert clean.notes == ()
    for kind in ("truncated", "zeroed", "flipped"):
        _damage(out / "chunks", kind)
    again = sweep(MODEL, AXES, chunk=2, out=out, method="chebyshev", progress=False)
    assert again.resumed_chunks == 3
    for key, values in clean.values.items():
        np.testing.assert_array_equal(again.values[key], values, err_msg=key)
    assert len(again.notes) == 3
    damaged = {note.split()[1] for note in again.notes}
    assert damaged == {"000001.nc", "000002.nc", "000004.nc"}
    assert "checksum" in next(note for note in again.notes if "000004" in note)
    moved = sorted(path.name for path in (out / "chunks").glob("*.damaged"))
    assert moved == sorted(f"{name}.damaged" for name in damaged)
    third = sweep(MODEL, AXES, chunk=2, out=out, method="chebyshev", progress=False)
    assert third.resumed_chunks == 6 and third.notes == ()


def test_a_damaged_manifest_is_refused_saying_how_to_start_afresh(tmp_path):
    out = tmp_path / "sweep"
    clean = sweep(MODEL, AXES, chunk=2, out=out, method="chebyshev", progress=False)
    (out / MANIFEST).write_text((out / MANIFEST).read_text()[:40])
    with pytest.raises(ArgumentError, match=r"damaged.*delete sweep\.json alone to keep the intact chunks"):
        sweep(MODEL, AXES, chunk=2, out=out, method="chebyshev", progress=False)
    (out / MANIFEST).unlink()
    again = sweep(MODEL, AXES, chunk=2, out=out, method="chebyshev", progress=False)
    assert again.resumed_chunks == 6
    np.testing.assert_array_equal(again.values["max_power"], clean.values["max_power"])


def test_cli_reports_the_repair_in_its_notes(tmp_path, capsys):
    args = ["sweep", "--n", "3", "--alpha=-1:1:4", "--dm", "0", "--chunk", "2", "--json", "--no-plot"]
    args += ["--out", str(tmp_path / "s")]
    assert main(args) == 0
    first = json.loads(capsys.readouterr().out)
    assert first["notes"] == []
    _damage(tmp_path / "s" / "chunks", "truncated")
    assert main(args) == 0
    captured = capsys.readouterr()
    second = json.loads(captured.out)
    assert second["points"] == first["points"] and second["resumed_chunks"] == 1
    assert len(second["notes"]) == 1 and "000001.nc was damaged" in second["notes"][0]
    assert captured.err.strip() == f"qbjax sweep: {second['notes'][0]}"  # one line on stderr


def test_a_chunk_of_another_sweep_is_still_refused(tmp_path):
    out = tmp_path / "sweep"
    sweep(MODEL, AXES, chunk=2, out=out, method="chebyshev", progress=False)
    foreign = tmp_path / "other"
    sweep({"n": 3, "g": 0.9}, AXES, chunk=2, out=foreign, method="chebyshev", progress=False)
    (out / "chunks" / "000003.nc").write_bytes((foreign / "chunks" / "000003.nc").read_bytes())
    with pytest.raises(Exception, match="belongs to a different sweep"):
        sweep(MODEL, AXES, chunk=2, out=out, method="chebyshev", progress=False)
