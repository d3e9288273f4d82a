"""Resumable on-disk storage of a sweep: a manifest, one netCDF file per chunk, one result.

    OUT/sweep.json          what was asked (model, axes, grid, chunking) and the units
    OUT/chunks/NNNNNN.nc    one finished chunk: point indices, parameter values, results
    OUT/sweep.nc            the assembled result on the sweep's own axes

Every file is written to a temporary name and renamed into place (an atomic step on
POSIX), so a process killed at any moment leaves only complete files; a rerun finds the
chunks already done and checks that they belong to the same sweep. Each chunk also carries
a SHA-256 checksum of its contents (index, sweep, points, parameters, results): a chunk that
no longer reads or matches it (truncated, zeroed, one flipped byte) is damaged, moved aside
to NNNNNN.nc.damaged and computed again, and the sweep says so in its notes. A manifest that
no longer parses is refused, saying how to start afresh (deleting it alone keeps the intact
chunks: each names its sweep, so nothing foreign is mixed in). netCDF (classic
format, written by SciPy) is self-describing: each variable carries its units, and the
files open in xarray, netCDF4, ncdump or Panoply without qbjax.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable, Mapping
from pathlib import Path

import numpy as np

from .. import _checks
from .._version import __version__

MANIFEST = "sweep.json"
CHUNKS = "chunks"
RESULT = "sweep.nc"


def netcdf_file(*args, **kwargs):
    """SciPy's netCDF-3 file, imported when a sweep first writes or reads one (scipy.io
    takes about 60 ms to import, a tenth of a `qbjax charge` command's start-up)."""
    from scipy.io import netcdf_file as scipy_netcdf_file

    return scipy_netcdf_file(*args, **kwargs)


CONVENTIONS = "hbar = 1; energies in the unit of B, g and omega; times in hbar/energy"
PARAMETER_UNITS = {"t_max": "time", "p": "1"}


def _version() -> str:
    return __version__


def _replace_atomically(path: Path, write) -> None:
    """write(temporary_path), flush it to disk, then rename it to `path`."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    write(temporary)
    with open(temporary, "rb") as handle:
        os.fsync(handle.fileno())
    os.replace(temporary, path)


class DamagedChunk(Exception):
    """A chunk file that cannot be read, or whose contents no longer match its checksum."""


def _checksum(index: int, sweep: str, points, rows, values) -> str:
    """SHA-256 of a chunk's contents, as float64 / int32 little-endian bytes."""
    digest = hashlib.sha256(f"{index}\n{sweep}\n".encode())
    digest.update(np.ascontiguousarray(points, "<i4").tobytes())
    for array in (rows, values):
        digest.update(np.ascontiguousarray(array, "<f8").tobytes())
    return digest.hexdigest()


class SweepStore:
    """The output folder of one sweep."""

    def __init__(self, folder: Path, description: dict, quantities: Mapping[str, tuple[str, str]]):
        self.folder = folder
        self.description = description
        self.quantities = quantities
        self.notes: list[str] = []  # what was found damaged and repaired

    def _chunk_path(self, index: int) -> Path:
        return self.folder / CHUNKS / f"{index:06d}.nc"

    def completed_chunks(self, indices: Iterable[int], names=()) -> dict[int, np.ndarray]:
        """Chunk index -> results (points x quantities) for every intact chunk on disk; a
        damaged one is moved aside (to be computed again) and noted. `names`: the swept
        parameters, whose columns the checksum covers."""
        done = {}
        for index in indices:
            path = self._chunk_path(index)
            if not path.exists():
                continue
            try:
                done[index] = self._read_chunk(path, index, names)
            except DamagedChunk as damage:
                os.replace(path, path.with_name(path.name + ".damaged"))
                moved = f"moved to {path.name}.damaged and computed again"
                self.notes.append(f"chunk {path.name} was damaged ({damage}); {moved}")
        return done

    def _read_chunk(self, path: Path, index: int, names) -> np.ndarray:
        try:
            with netcdf_file(path, "r", mmap=False) as chunk:
                sweep, stored_index = chunk.sweep.decode(), int(chunk.chunk_index)
                stored = chunk.checksum.decode()
                points = chunk.variables["point"].data.copy()
                rows = np.stack([chunk.variables[name].data.copy() for name in (*names, "t_max")], axis=1)
                values = np.stack([chunk.variables[key].data.copy() for key in self.quantities], axis=1)
        except Exception as error:  # any failure to parse: truncated, zeroed, a header byte flipped
            raise DamagedChunk(f"unreadable: {type(error).__name__}") from None
        if _checksum(stored_index, sweep, points, rows, values) != stored:
            raise DamagedChunk("its contents do not match its checksum")
        if stored_index != index or sweep != json.dumps(self.description):
            raise _checks.ArgumentError("out", f"{path} belongs to a different sweep; delete it to recompute")
        return values

    def write_chunk(self, index: int, first_point: int, names, rows: np.ndarray, values: np.ndarray) -> None:
        """Write one finished chunk: rows (points x (names..., t_max)), values (points x quantities)."""

        def write(path):
            with netcdf_file(path, "w", version=2) as chunk:
                chunk.title = "qbjax sweep chunk"
                chunk.qbjax_version = _version()
                chunk.conventions = CONVENTIONS
                chunk.chunk_index = index
                chunk.sweep = json.dumps(self.description)
                chunk.createDimension("point", rows.shape[0])
                point = chunk.createVariable("point", "i4", ("point",))
                point[:] = np.arange(first_point, first_point + rows.shape[0])
                point.long_name = "index of the point in the sweep (row-major over the grid)"
                for column, name in enumerate((*names, "t_max")):
                    self._variable(
                        chunk, name, ("point",), rows[:, column], PARAMETER_UNITS.get(name, "energy")
                    )
                for column, (key, (units, meaning)) in enumerate(self.quantities.items()):
                    self._variable(chunk, key, ("point",), values[:, column], units, meaning)
                chunk.checksum = _checksum(index, chunk.sweep, point[:], rows, values)

        (self.folder / CHUNKS).mkdir(exist_ok=True)
        _replace_atomically(self._chunk_path(index), write)

    @staticmethod
    def _variable(dataset, name, dims, data, units, meaning=None):
        variable = dataset.createVariable(name, "f8", dims)
        variable[...] = data
        variable.units = units
        if meaning:
            variable.long_name = meaning

    def write_result(self, names, axes, rows: np.ndarray, shape, values: Mapping[str, np.ndarray]) -> Path:
        """The whole sweep on its own axes (a grid) or along `point` (a list of points)."""
        path = self.folder / RESULT

        def write(temporary):
            with netcdf_file(temporary, "w", version=2) as data:
                data.title = "qbjax sweep"
                data.qbjax_version = _version()
                data.conventions = CONVENTIONS
                data.sweep = json.dumps(self.description)
                for key, value in self.description["model"].items():
                    setattr(data, key, json.dumps(value) if not isinstance(value, str) else value)
                if axes:
                    dims = tuple(names)
                    for name, axis in zip(names, axes, strict=True):
                        data.createDimension(name, len(axis))
                        self._variable(data, name, (name,), axis, PARAMETER_UNITS.get(name, "energy"))
                else:
                    dims = ("point",)
                    data.createDimension("point", rows.shape[0])
                    for column, name in enumerate(names):
                        self._variable(data, name, dims, rows[:, column], PARAMETER_UNITS.get(name, "energy"))
                if "t_max" not in names:
                    self._variable(data, "t_max", dims, rows[:, -1].reshape(shape), "time", "charging window")
                for key, (units, meaning) in self.quantities.items():
                    self._variable(data, key, dims, values[key], units, meaning)

        _replace_atomically(path, write)
        return path


def open_store(out, description: dict, quantities: Mapping[str, tuple[str, str]]) -> SweepStore:
    """Open (create, or resume) the output folder of the sweep `description`."""
    folder = Path(out)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise _checks.ArgumentError("out", f"cannot create folder {folder}: {error.strerror}") from None
    manifest_path = folder / MANIFEST
    manifest = {
        "qbjax_version": _version(),
        "conventions": CONVENTIONS,
        "quantities": {key: {"units": u, "description": d} for key, (u, d) in quantities.items()},
        "sweep": description,
    }
    if manifest_path.exists():
        saved = _read_manifest(manifest_path)
        if saved is None:
            raise _checks.ArgumentError(
                "out",
                f"{manifest_path} is damaged (not JSON); delete {folder} to start afresh, or delete "
                f"{MANIFEST} alone to keep the intact chunks",
            )
        if saved.get("sweep") != description:
            raise _checks.ArgumentError(
                "out", f"{folder} holds a different sweep ({MANIFEST}); use another folder or delete it"
            )
    else:
        _replace_atomically(manifest_path, lambda path: path.write_text(json.dumps(manifest, indent=1)))
    return SweepStore(folder, description, quantities)


def _read_manifest(path: Path) -> dict | None:
    """The saved manifest, or None when it is not a JSON object (damaged)."""
    try:
        saved = json.loads(path.read_text())
    except (ValueError, UnicodeDecodeError):
        return None
    return saved if isinstance(saved, dict) else None


def load_result(out) -> dict[str, np.ndarray]:
    """Every variable of OUT/sweep.nc as a NumPy array (for files from any qbjax run)."""
    with netcdf_file(Path(out) / RESULT, "r", mmap=False) as data:
        return {name: variable.data.copy() for name, variable in data.variables.items()}
