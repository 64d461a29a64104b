"""Dataset bridge between mlip-trainer and pacemaker's pandas datasets.

Usage: ``python mlip_bridge.py <command> [options]``. Every command prints exactly one JSON
object as the last line of stdout and exits 0 on success. Bad input prints

    {"error": {"kind": "bad_input", "message": ..., "problems": [{"index", "field", "value", "reason"}]}}

on stdout and exits 2; any other failure exits 1 with a traceback on stderr.

A CalculationResult (one JSON object, or one line of a JSONL file) is::

    {"structure": {"symbols": ["Cu", ...],          # natoms chemical symbols
                   "positions": [[x, y, z], ...],   # [natoms, 3], Å
                   "cell": [[..], [..], [..]],      # [3, 3], Å
                   "pbc": [true, true, true]},
     "energy": -1.23,                                # total energy, eV
     "forces": [[fx, fy, fz], ...],                  # [natoms, 3], eV/Å
     "stress": [6 Voigt (xx yy zz yz xz xy)] or [3, 3]   (optional, eV/Å^3)
     "virial": [3, 3] or [6 Voigt]                   # optional, eV
     "name": "optional string"}

The dataset is a gzip-pickled pandas DataFrame (protocol 4), the format pacemaker reads, with
columns ``name, ase_atoms, energy, forces, stress, virial``. pacemaker fits ``energy_corrected``:
a dataset written here needs ``data: {reference_energy: ...}`` in pacemaker's input.yaml.
"""

from __future__ import annotations

import argparse
import errno
import fcntl
import gzip
import hashlib
import json
import math
import mmap
import os
import pickle
import random
import resource
import socket
import sys
import tempfile
import time
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import lru_cache
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterable, Iterator, NoReturn, Sequence

import numpy as np
import pandas as pd

DATASET_COLUMNS = ("name", "ase_atoms", "energy", "forces", "stress", "virial")
#: Extra columns this project keeps in the dataset: the content hash and the side of the split.
#: pacemaker carries extra columns without fitting them.
HASH_COLUMN = "mlip_hash"
SPLIT_COLUMN = "mlip_split"
#: Numbers enter the content hash rounded to this many decimals (Å, eV, eV/Å): the precision
#: of extended XYZ files (ASE writes %16.8f), so a structure exported and re-imported hashes alike.
HASH_DECIMALS = 8
INDEX_FORMAT = 2
#: gzip level of the accumulated dataset. pandas' to_pickle uses 9; 1 compresses these pickles
#: (mostly float64 noise) almost as well (see bench/dataset.ts) in a fraction of the time.
COMPRESS_LEVEL = 1
#: gzip level of train/test: 0 ("stored", still gzip, still what pacemaker reads). They are
#: derived copies of the accumulated file, rewritten with it on every append; compressing
#: them would double the cost of an append for about a quarter less disk.
SPLIT_COMPRESS_LEVEL = 0
#: Bytes of pickle stream per gzip member (compressed in parallel).
GZIP_CHUNK = 1 << 20
#: How long an updater waits for another one's lock, s.
DEFAULT_LOCK_TIMEOUT = 20 * 60.0
EMT_ELEMENTS = ("Al", "Cu", "Ag", "Au", "Ni", "Pd", "Pt")
VOIGT_PAIRS = ((0, 0), (1, 1), (2, 2), (1, 2), (0, 2), (0, 1))
MAX_VALUE_REPR = 80
#: Two atoms closer than this (Å, periodic images included) are "on top of each other".
MIN_DISTANCE = 0.1
#: A periodic cell vector shorter than this (Å) counts as zero.
MIN_CELL_VECTOR = 1e-6
#: Normalised Gram determinant of the periodic cell vectors below which the cell is degenerate.
MIN_CELL_FLATNESS = 1e-8
#: Above this many atoms the overlap check uses ASE's neighbour list instead of all pairs.
MAX_ATOMS_PAIRWISE = 1500


# ---------------------------------------------------------------------------------------------
# Errors
# ---------------------------------------------------------------------------------------------


@dataclass
class Problem:
    """One defect of one input record: which record, which field, what was there, why it is bad."""

    index: int
    field: str
    value: str
    reason: str
    #: The file the record came from, and its position in that file (0-based).
    file: str | None = None
    record: int | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"index": self.index, "field": self.field, "value": self.value, "reason": self.reason}
        if self.file is not None:
            out["file"] = self.file
            out["record"] = self.record
        return out


@dataclass
class BadInput(Exception):
    """Input that no retry can fix: reported as JSON on stdout, exit status 2."""

    message: str
    problems: list[Problem] = field(default_factory=list)

    def __str__(self) -> str:
        return self.message

    def to_json(self) -> dict[str, Any]:
        return {
            "error": {
                "kind": "bad_input",
                "message": self.message,
                "problems": [p.to_json() for p in self.problems],
            }
        }


def short_repr(value: Any) -> str:
    """A repr short enough for an error report."""
    text = repr(value)
    if len(text) > MAX_VALUE_REPR:
        text = text[: MAX_VALUE_REPR - 3] + "..."
    return text


# ---------------------------------------------------------------------------------------------
# Validation of CalculationResult records
# ---------------------------------------------------------------------------------------------


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _is_finite_number(value: Any) -> bool:
    return _is_number(value) and math.isfinite(value)


def _matrix_problem(value: Any, rows: int | None, cols: int) -> str | None:
    """Why `value` is not a finite [rows, cols] matrix (rows=None: any row count), or None.

    One pass of type checks over the numbers, then numpy for finiteness: records of thousands
    of atoms validate in microseconds, and the first bad row is still named.
    """
    if not isinstance(value, list):
        return f"expected a list of {cols}-vectors, got {type(value).__name__}"
    if rows is not None and len(value) != rows:
        return f"expected {rows} rows, got {len(value)}"
    if not all(type(row) is list and len(row) == cols for row in value):
        bad = next(row for row in value if not (isinstance(row, list) and len(row) == cols))
        return f"expected every row to be a list of {cols} numbers, got {short_repr(bad)}"
    if not {type(x) for row in value for x in row} <= _NUMBER_TYPES:
        bad = next(row for row in value if not all(_is_number(x) for x in row))
        return f"expected numbers, got {short_repr(bad)}"
    if value and not np.isfinite(np.array(value, dtype=np.float64)).all():
        bad = next(row for row in value if not all(math.isfinite(x) for x in row))
        return f"expected finite numbers, got {short_repr(bad)}"
    return None


_NUMBER_TYPES = frozenset({int, float})


def _vector_problem(value: Any, length: int) -> str | None:
    if not isinstance(value, list) or len(value) != length:
        return f"expected a list of {length} numbers"
    if not all(_is_number(x) for x in value):
        return "expected numbers"
    if not all(math.isfinite(x) for x in value):
        return "expected finite numbers"
    return None


def _six_or_3x3_problem(value: Any) -> str | None:
    if isinstance(value, list) and len(value) == 6 and not any(isinstance(x, list) for x in value):
        return _vector_problem(value, 6)
    return _matrix_problem(value, 3, 3)


def _known_symbols() -> frozenset[str]:
    from ase.data import chemical_symbols

    return frozenset(s for s in chemical_symbols if s != "X")


def _structure_problems(index: int, structure: Any) -> list[Problem]:
    if not isinstance(structure, dict):
        return [Problem(index, "structure", short_repr(structure), "expected an object")]
    problems: list[Problem] = []
    symbols = structure.get("symbols")
    known = _known_symbols()
    if not isinstance(symbols, list) or not symbols:
        problems.append(Problem(index, "structure.symbols", short_repr(symbols), "expected a non-empty list"))
    else:
        unknown = [s for s in symbols if not isinstance(s, str) or s not in known]
        if unknown:
            problems.append(
                Problem(index, "structure.symbols", short_repr(unknown), "unknown chemical symbol(s)")
            )
    natoms = len(symbols) if isinstance(symbols, list) else None
    reason = _matrix_problem(structure.get("positions"), natoms, 3)
    if reason:
        problems.append(Problem(index, "structure.positions", short_repr(structure.get("positions")), reason))
    cell = structure.get("cell")
    reason = _matrix_problem(cell, 3, 3)
    if reason:
        problems.append(Problem(index, "structure.cell", short_repr(cell), reason))
    pbc = structure.get("pbc")
    if not isinstance(pbc, list) or len(pbc) != 3 or not all(isinstance(x, bool) for x in pbc):
        problems.append(Problem(index, "structure.pbc", short_repr(pbc), "expected a list of 3 booleans"))
    elif reason is None:
        for axis, periodic in enumerate(pbc):
            if periodic and not any(cell[axis]):
                problems.append(
                    Problem(index, "structure.cell", short_repr(cell), f"cell vector {axis} is zero but pbc is true")
                )
    return problems


def _stress_problems(index: int, stress: Any) -> list[Problem]:
    reason = _six_or_3x3_problem(stress)
    if reason:
        return [Problem(index, "stress", short_repr(stress), reason + " (6 Voigt or 3x3)")]
    if len(stress) == 3 and not np.allclose(np.array(stress), np.array(stress).T, rtol=1e-8, atol=1e-12):
        return [Problem(index, "stress", short_repr(stress), "3x3 stress must be symmetric")]
    return []


def _cell_problems(index: int, cell: list[list[float]], pbc: list[bool]) -> list[Problem]:
    """A periodic direction needs a non-zero cell vector, and the periodic vectors together must
    span as many dimensions as there are periodic directions (no flat or collinear cells)."""
    rows = np.array(cell, dtype=np.float64)
    periodic = [axis for axis in range(3) if pbc[axis]]
    problems: list[Problem] = []
    lengths = np.linalg.norm(rows, axis=1)
    for axis in periodic:
        if lengths[axis] < MIN_CELL_VECTOR:
            problems.append(Problem(index, "structure.cell", short_repr(cell),
                                    f"cell vector {axis} is zero (shorter than {MIN_CELL_VECTOR} Å) but pbc is true"))
    if problems or len(periodic) < 2:
        return problems
    vectors = rows[periodic]
    gram = vectors @ vectors.T
    # Normalised Gram determinant: 1 for orthogonal vectors, 0 for dependent ones.
    flatness = float(np.linalg.det(gram) / np.prod(lengths[periodic] ** 2))
    if flatness < MIN_CELL_FLATNESS:
        problems.append(Problem(index, "structure.cell", short_repr(cell),
                                f"periodic cell vectors {periodic} are linearly dependent (degenerate cell)"))
    return problems


@lru_cache(maxsize=256)
def _inverse_cell(cell_bytes: bytes) -> np.ndarray | None:
    """Inverse of a 3x3 cell, cached: batches mostly share a few cells, and np.linalg.inv and
    np.cross cost far more per call than the distance check itself."""
    basis = np.frombuffer(cell_bytes, dtype=np.float64).reshape(3, 3)
    if abs(float(np.linalg.det(basis))) < 1e-12:
        return None
    return np.linalg.inv(basis)


def min_interatomic_distance(positions: np.ndarray, cell: np.ndarray, pbc: Sequence[bool]) -> tuple[float, int, int]:
    """Shortest distance between two atoms (Å) with periodic images, and the two atom indices.

    Fractional differences are wrapped into [-0.5, 0.5) along periodic axes: exact for atoms
    that sit on (an image of) each other, which is what this check is for.
    """
    natoms = len(positions)
    if natoms < 2:
        return math.inf, -1, -1
    if natoms > MAX_ATOMS_PAIRWISE:
        from ase import Atoms
        from ase.neighborlist import neighbor_list

        atoms = Atoms(positions=positions, cell=cell, pbc=list(pbc), numbers=[1] * natoms)
        i, j, d = neighbor_list("ijd", atoms, MIN_DISTANCE)
        if len(d) == 0:
            return math.inf, -1, -1
        k = int(np.argmin(d))
        return float(d[k]), int(i[k]), int(j[k])
    diff = positions[:, None, :] - positions[None, :, :]
    periodic = np.array(pbc, dtype=bool)
    if periodic.any():
        # Non-periodic axes may have a zero cell vector: complete the basis for the inverse.
        basis = cell.copy()
        for axis in range(3):
            if not periodic[axis] and np.linalg.norm(basis[axis]) < MIN_CELL_VECTOR:
                basis[axis] = np.eye(3)[axis] * 1e6
        inverse = _inverse_cell(basis.tobytes())
        if inverse is not None:
            frac = diff @ inverse
            frac[..., periodic] -= np.round(frac[..., periodic])
            diff = frac @ basis
    dist = np.sqrt(np.einsum("ijk,ijk->ij", diff, diff))
    np.fill_diagonal(dist, np.inf)
    k = int(np.argmin(dist))
    i, j = divmod(k, natoms)
    return float(dist[i, j]), i, j


def record_problems(index: int, record: Any, elements: frozenset[str] | None = None) -> list[Problem]:
    """Every defect of one CalculationResult record (empty list: the record is valid)."""
    if not isinstance(record, dict):
        return [Problem(index, "(record)", short_repr(record), "expected a JSON object")]
    problems = _structure_problems(index, record.get("structure"))
    structure = record.get("structure")
    symbols = structure.get("symbols") if isinstance(structure, dict) else None
    natoms = len(symbols) if isinstance(symbols, list) else None
    if not problems and elements is not None:
        outside = sorted({s for s in symbols if s not in elements})  # type: ignore[union-attr]
        if outside:
            problems.append(Problem(index, "structure.symbols", short_repr(outside),
                                    f"element(s) not among the configured elements {sorted(elements)}"))
    if not problems:
        problems.extend(_cell_problems(index, structure["cell"], structure["pbc"]))  # type: ignore[index]
    if not problems:
        d, i, j = min_interatomic_distance(np.array(structure["positions"], dtype=np.float64),  # type: ignore[index]
                                           np.array(structure["cell"], dtype=np.float64),  # type: ignore[index]
                                           structure["pbc"])  # type: ignore[index]
        if d < MIN_DISTANCE:
            problems.append(Problem(index, "structure.positions", f"atoms {i} and {j} are {d:.3g} Å apart",
                                    f"atoms on top of each other (closer than {MIN_DISTANCE} Å)"))
    energy = record.get("energy")
    if not _is_finite_number(energy):
        problems.append(Problem(index, "energy", short_repr(energy), "expected a finite number (eV)"))
    reason = _matrix_problem(record.get("forces"), natoms, 3)
    if reason:
        problems.append(Problem(index, "forces", short_repr(record.get("forces")), reason + " (eV/Å)"))
    if record.get("stress") is not None:
        problems.extend(_stress_problems(index, record["stress"]))
    if record.get("virial") is not None:
        reason = _six_or_3x3_problem(record["virial"])
        if reason:
            problems.append(Problem(index, "virial", short_repr(record["virial"]), reason + " (3x3 or 6 Voigt)"))
    name = record.get("name")
    if name is not None and not isinstance(name, str):
        problems.append(Problem(index, "name", short_repr(name), "expected a string"))
    return problems


def validate_results(results: Sequence[Any], elements: Iterable[str] | None = None,
                     origins: Sequence[tuple[str, int]] | None = None) -> None:
    """Raise BadInput listing every problem of every record, or return if all are valid.

    `origins[i]` is (file, record number in that file) of results[i], so problems name both.
    """
    allowed = frozenset(elements) if elements is not None else None
    problems = [p for i, r in enumerate(results) for p in record_problems(i, r, allowed)]
    if origins is not None:
        for p in problems:
            p.file, p.record = origins[p.index]
    if problems:
        count = len({p.index for p in problems})
        raise BadInput(f"{count} of {len(results)} record(s) are invalid; nothing was written", problems)


# ---------------------------------------------------------------------------------------------
# Conversion
# ---------------------------------------------------------------------------------------------


def voigt_to_matrix(voigt: Sequence[float]) -> np.ndarray:
    """[6] Voigt (xx yy zz yz xz xy, ASE order) -> symmetric [3, 3]."""
    matrix = np.zeros((3, 3), dtype=np.float64)
    for value, (i, j) in zip(voigt, VOIGT_PAIRS):
        matrix[i, j] = matrix[j, i] = value
    return matrix


def matrix_to_voigt(matrix: np.ndarray) -> np.ndarray:
    """[3, 3] -> [6] Voigt (xx yy zz yz xz xy)."""
    return np.array([matrix[i, j] for i, j in VOIGT_PAIRS], dtype=np.float64)


def _as_3x3(value: Sequence[Any]) -> np.ndarray:
    array = np.array(value, dtype=np.float64)
    return voigt_to_matrix(array) if array.shape == (6,) else array.reshape(3, 3)


def _default_name(record: dict[str, Any]) -> str:
    canonical = json.dumps(record, sort_keys=True, separators=(",", ":"))
    return "result_" + hashlib.sha256(canonical.encode()).hexdigest()[:16]


def _record_to_row(record: dict[str, Any]) -> dict[str, Any]:
    from ase import Atoms

    structure = record["structure"]
    atoms = Atoms(
        symbols=structure["symbols"],
        positions=np.array(structure["positions"], dtype=np.float64),
        cell=np.array(structure["cell"], dtype=np.float64),
        pbc=list(structure["pbc"]),
    )
    stress = None
    if record.get("stress") is not None:
        stress = matrix_to_voigt(_as_3x3(record["stress"]))
    virial = None
    if record.get("virial") is not None:
        virial = _as_3x3(record["virial"])
    elif stress is not None and any(atoms.pbc) and abs(atoms.cell.volume) > 0:
        virial = -voigt_to_matrix(stress) * abs(atoms.cell.volume)
    return {
        "name": record.get("name") or _default_name(record),
        "ase_atoms": atoms,
        "energy": float(record["energy"]),
        "forces": np.array(record["forces"], dtype=np.float64).reshape(len(atoms), 3),
        "stress": stress,
        "virial": virial,
    }


def results_to_dataframe(results: Sequence[dict[str, Any]], validate: bool = True) -> pd.DataFrame:
    """Validated CalculationResult records -> a pacemaker dataset DataFrame.

    Columns: name (str), ase_atoms (ase.Atoms with cell, pbc, positions; nothing attached),
    energy (float, eV, total), forces (float64 [natoms, 3], eV/Å), stress (float64 [6] Voigt
    eV/Å^3, or None), virial (float64 [3, 3] eV, or None; from -stress*volume when only the
    stress is given and the cell has a volume).
    """
    if validate:
        validate_results(results)
    rows = [_record_to_row(r) for r in results]
    frame = pd.DataFrame({column: [row[column] for row in rows] for column in DATASET_COLUMNS})
    return frame


def row_to_result(row: pd.Series) -> dict[str, Any]:
    """One dataset row -> CalculationResult JSON object (inverse of results_to_dataframe)."""
    atoms = row["ase_atoms"]
    result: dict[str, Any] = {
        "structure": {
            "symbols": atoms.get_chemical_symbols(),
            "positions": atoms.get_positions().tolist(),
            "cell": np.array(atoms.cell).tolist(),
            "pbc": [bool(x) for x in atoms.pbc],
        },
        "energy": float(row["energy"]),
        "forces": np.asarray(row["forces"], dtype=np.float64).tolist(),
    }
    for column in ("stress", "virial"):
        value = row.get(column)
        if isinstance(value, (np.ndarray, list)):
            result[column] = np.asarray(value, dtype=np.float64).tolist()
    name = row.get("name")
    if isinstance(name, str):
        result["name"] = name
    return result


# ---------------------------------------------------------------------------------------------
# Files
# ---------------------------------------------------------------------------------------------


def sha256_of_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _fsync_directory(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextmanager
def _atomic_file(path: Path) -> Iterator[Any]:
    """A binary file that becomes `path` only when the block ends without an error: a temporary
    file beside it, fsynced, renamed over it, the folder fsynced. Readers see the old file or the
    new one, never a torn one; on an error the temporary file is removed."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, 0o666 & ~_current_umask())
        with os.fdopen(fd, "wb") as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp_name, path)
    except BaseException:
        if os.path.exists(tmp_name):
            os.unlink(tmp_name)
        raise
    _fsync_directory(path.parent)


def write_atomically(path: Path, payload: bytes) -> None:
    """Write `payload` to `path` so that it lands whole (see _atomic_file)."""
    with _atomic_file(path) as handle:
        handle.write(payload)


class _ParallelGzipWriter:
    """A write-only file object for pickle.dump: cuts the stream into GZIP_CHUNK pieces and
    compresses each as its own gzip member on a thread pool (zlib releases the GIL), writing the
    members in order. A multi-member gzip file is one gzip stream to every reader (Python's
    gzip module, hence pandas and pacemaker), so pickling and compression overlap and use the
    cores there are. Same rows, same bytes: chunk boundaries and headers (mtime 0) are fixed."""

    def __init__(self, raw: Any, compresslevel: int) -> None:
        self.raw = raw
        self.level = compresslevel
        self.digest = hashlib.sha256()
        self.buffer = bytearray()
        workers = max(1, min(4, os.cpu_count() or 1))
        self.pool = ThreadPoolExecutor(max_workers=workers)
        self.pending: deque[Any] = deque()
        self.max_pending = workers + 1
        self.members = 0

    def write(self, data: Any) -> int:
        self.buffer += data
        while len(self.buffer) >= GZIP_CHUNK:
            self._submit(bytes(self.buffer[:GZIP_CHUNK]))
            del self.buffer[:GZIP_CHUNK]
        return len(data)

    def _submit(self, piece: bytes) -> None:
        self.pending.append(self.pool.submit(gzip.compress, piece, self.level, mtime=0))
        while len(self.pending) > self.max_pending:
            self._write_next()

    def _write_next(self) -> None:
        member = self.pending.popleft().result()
        self.digest.update(member)
        self.raw.write(member)
        self.members += 1

    def close(self) -> None:
        try:
            if self.buffer or self.members == 0 and not self.pending:
                self._submit(bytes(self.buffer))
                self.buffer.clear()
            while self.pending:
                self._write_next()
        finally:
            self.pool.shutdown(wait=True, cancel_futures=True)


def write_pickle_atomically(df: pd.DataFrame, path: Path, compresslevel: int = COMPRESS_LEVEL) -> str:
    """Stream `df` as a gzip pickle (protocol 4) into `path` so that it lands whole (see
    _atomic_file); return the sha256 of the bytes. Streaming keeps peak memory at the
    DataFrame itself plus a few chunks (no second copy of the pickled bytes)."""
    with _atomic_file(path) as raw:
        writer = _ParallelGzipWriter(raw, compresslevel)
        try:
            pickle.dump(df, writer, protocol=4)
        finally:
            writer.close()
    return writer.digest.hexdigest()


def save_dataset(df: pd.DataFrame, path: str | Path) -> str:
    """Write `df` atomically as a gzip pickle (protocol 4) and return the file's sha256.

    Equivalent to ``df.to_pickle(path, compression='gzip', protocol=4)`` (pacemaker reads it
    with ``pd.read_pickle(path, compression='gzip')``), but atomic, streamed, and with no time
    stamp or file name in the gzip header, so the same rows always give the same bytes.
    """
    return write_pickle_atomically(df, Path(path))


def load_dataset(path: str | Path) -> pd.DataFrame:
    return pd.read_pickle(path, compression="gzip")


def dataset_elements(df: pd.DataFrame) -> list[str]:
    symbols: set[str] = set()
    for atoms in df.get("ase_atoms", []):
        symbols.update(atoms.get_chemical_symbols())
    return sorted(symbols)


# ---------------------------------------------------------------------------------------------
# Reading results: CalculationResult JSON/JSONL, and anything ASE reads with energies and forces
# ---------------------------------------------------------------------------------------------


def _parse_json_array(path: Path, text: str, offset: int) -> list[Any]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise BadInput(
            f"{path} is not valid JSON: {exc}",
            [Problem(offset, "(json)", short_repr(text[max(0, exc.pos - 20) : exc.pos + 20]), str(exc), str(path), 0)],
        ) from None
    if not isinstance(data, list):
        raise BadInput(f"{path}: expected a JSON array of CalculationResult objects")
    return data


def _parse_jsonl(path: Path, text: str, offset: int) -> list[Any]:
    records: list[Any] = []
    problems: list[Problem] = []
    for line_number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError as exc:
            local = len(records) + len(problems)
            problems.append(Problem(offset + local, "(json)", short_repr(line), f"line {line_number}: {exc}", str(path), local))
    if problems:
        raise BadInput(f"{path} has {len(problems)} line(s) that are not valid JSON", problems)
    return records


def _atoms_to_record(atoms: Any, name: str) -> dict[str, Any]:
    """An ASE Atoms with a calculator's results -> a CalculationResult dict (None where missing,
    so validation reports it)."""
    results = dict(getattr(atoms.calc, "results", {}) or {}) if atoms.calc is not None else {}
    energy = results.get("energy", results.get("free_energy"))
    forces = results.get("forces")
    stress = results.get("stress")
    record: dict[str, Any] = {
        "structure": {
            "symbols": atoms.get_chemical_symbols(),
            "positions": atoms.get_positions().tolist(),
            "cell": np.array(atoms.cell).tolist(),
            "pbc": [bool(x) for x in atoms.pbc],
        },
        "energy": float(energy) if energy is not None else None,
        "forces": np.asarray(forces, dtype=np.float64).tolist() if forces is not None else None,
        "name": str(atoms.info.get("name", name)),
    }
    if stress is not None:
        record["stress"] = np.asarray(stress, dtype=np.float64).reshape(-1).tolist()
    return record


def _read_with_ase(path: Path, offset: int) -> list[Any]:
    from ase.io import read

    try:
        frames = read(str(path), index=":")
    except Exception as exc:  # ASE raises many kinds; all mean "not a file it can read".
        raise BadInput(f"{path}: ASE cannot read it as a structure file ({type(exc).__name__}: {exc})",
                       [Problem(offset, "(file)", str(path), f"{type(exc).__name__}: {exc}", str(path), 0)]) from None
    if not isinstance(frames, list):
        frames = [frames]
    return [_atoms_to_record(atoms, f"{path.name}#{i}") for i, atoms in enumerate(frames)]


JSON_SUFFIXES = (".json", ".jsonl", ".ndjson")


def read_results_with_origins(paths: Iterable[str]) -> tuple[list[Any], list[tuple[str, int]]]:
    """Records from every file, in order, and (file, position in file) for each."""
    records: list[Any] = []
    origins: list[tuple[str, int]] = []
    for name in paths:
        path = Path(name)
        if not path.is_file():
            raise BadInput(f"results file not found: {path}",
                           [Problem(len(records), "(file)", str(path), "no such file", str(path), 0)])
        if path.suffix == ".json":
            batch = _parse_json_array(path, path.read_text(encoding="utf-8"), len(records))
        elif path.suffix in JSON_SUFFIXES:
            batch = _parse_jsonl(path, path.read_text(encoding="utf-8"), len(records))
        else:
            batch = _read_with_ase(path, len(records))
        records.extend(batch)
        origins.extend((str(path), i) for i in range(len(batch)))
    return records, origins


def read_results(paths: Iterable[str]) -> list[Any]:
    """Read CalculationResult records from .json (array), .jsonl and ASE-readable files, in order."""
    return read_results_with_origins(paths)[0]


# ---------------------------------------------------------------------------------------------
# Content hashes and the stable split
# ---------------------------------------------------------------------------------------------


def _quantise(values: Any) -> bytes:
    """Values rounded to HASH_DECIMALS decimals as int64 bytes (-0.0 and 0.0 hash alike)."""
    return np.rint(np.asarray(values, dtype=np.float64) * 10.0**HASH_DECIMALS).astype(np.int64).tobytes()


def content_hash(symbols: Sequence[str], positions: Any, cell: Any, pbc: Sequence[bool], energy: float,
                 forces: Any) -> str:
    """sha256 of species, positions (Å), cell (Å), pbc, energy (eV) and forces (eV/Å), numbers
    rounded to HASH_DECIMALS (8) decimals: results that print the same at that precision are the
    same result (an exact re-send always is)."""
    digest = hashlib.sha256(b"mlip-result-v1\0")
    digest.update(",".join(symbols).encode())
    digest.update(bytes(bool(x) for x in pbc))
    for part in (cell, positions, [energy], forces):
        digest.update(_quantise(part))
    return digest.hexdigest()


def record_hash(record: dict[str, Any]) -> str:
    s = record["structure"]
    return content_hash(s["symbols"], s["positions"], s["cell"], s["pbc"], record["energy"], record["forces"])


def row_hash(row: Any) -> str:
    atoms = row["ase_atoms"]
    return content_hash(atoms.get_chemical_symbols(), atoms.get_positions(), np.array(atoms.cell), atoms.pbc,
                        row["energy"], row["forces"])


def split_for(digest: str, test_fraction: float) -> str:
    """'test' for a fixed, hash-determined share `test_fraction` of structures, else 'train'.
    The first 52 bits of the hash as a number in [0, 1): independent of order and batch."""
    return "test" if int(digest[:13], 16) / float(1 << 52) < test_fraction else "train"


# ---------------------------------------------------------------------------------------------
# The lock: one updater at a time, across processes and hosts sharing the workspace
# ---------------------------------------------------------------------------------------------


class LockTimeout(Exception):
    """Another updater held the dataset lock for longer than we were willing to wait."""


@contextmanager
def dataset_lock(lock_path: Path, timeout: float) -> Iterator[float]:
    """Hold an exclusive POSIX record lock (fcntl) on `lock_path`; yields the seconds waited.

    fcntl locks, unlike an O_EXCL lock file, are released by the kernel (or, on NFS, by the
    server's lock manager when the client's lease lapses) when the holder dies, so a killed
    updater never leaves a stale lock behind. The holder's host, pid and start time are written
    into the file for the error message of whoever times out waiting.
    """
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o666)
    started = time.monotonic()
    try:
        delay = 0.02
        while True:
            try:
                fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except OSError as exc:
                if exc.errno not in (errno.EACCES, errno.EAGAIN):
                    raise
            if time.monotonic() - started > timeout:
                holder = os.pread(fd, 4096, 0).decode(errors="replace").strip() or "unknown"
                raise LockTimeout(f"dataset {lock_path} is locked by another updater ({holder}) for more than {timeout:.0f} s")
            time.sleep(delay * (0.5 + random.random()))
            delay = min(delay * 1.5, 0.5)
        waited = time.monotonic() - started
        holder = json.dumps({"host": socket.gethostname(), "pid": os.getpid(),
                             "since": datetime.now(timezone.utc).isoformat(timespec="seconds")})
        os.ftruncate(fd, 0)
        os.pwrite(fd, holder.encode(), 0)
        yield waited
    finally:
        os.close(fd)  # closing the descriptor releases the lock


# ---------------------------------------------------------------------------------------------
# The accumulated dataset: files, index, manifest
# ---------------------------------------------------------------------------------------------


def _signature(path: Path) -> list[int] | None:
    """Size and modification time (whole seconds: what every copy that keeps timestamps keeps)
    of a file, so the index notices a dataset written behind its back."""
    try:
        st = path.stat()
    except FileNotFoundError:
        return None
    return [st.st_size, st.st_mtime_ns // 1_000_000_000]


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _write_json_atomically(path: Path, value: Any) -> None:
    write_atomically(path, (json.dumps(value, indent=1) + "\n").encode())


class DatasetFiles:
    """`accumulated.pckl.gzip` and what lives beside it: train/test files of the stable split,
    the hash index (`accumulated.index.json`), the manifest (`manifest.json`) and the lock."""

    def __init__(self, dataset: str | Path) -> None:
        self.accumulated = Path(dataset)
        folder, stem = self.accumulated.parent, self.accumulated.name.split(".")[0]
        self.train = folder / "train.pckl.gzip"
        self.test = folder / "test.pckl.gzip"
        self.index = folder / f"{stem}.index.json"
        self.manifest = folder / "manifest.json"
        self.lock = folder / f"{stem}.lock"

    def signatures(self) -> dict[str, list[int] | None]:
        return {"accumulated": _signature(self.accumulated), "train": _signature(self.train),
                "test": _signature(self.test)}

    def remove_stale_temporaries(self) -> list[str]:
        """Temporary files of writers that were killed mid-write (only the lock holder calls this)."""
        removed = []
        for name in os.listdir(self.accumulated.parent):
            if name.startswith(".") and name.endswith(".tmp"):
                os.unlink(self.accumulated.parent / name)
                removed.append(name)
        return removed


SIDES = ("train", "test")


class HashIndex:
    """Content hash -> side of the split, for every structure in the dataset.

    Stored as a sorted array of 33-byte records (32-byte sha256 digest, 1 byte side) that is
    memory-mapped and binary-searched: a lookup touches about log2(N) records, so checking a
    batch for duplicates costs the same at 1,000 structures as at 1,000,000. Structures added in
    this run sit in `new` until `to_bytes` merges them.
    """

    RECORD = 33

    def __init__(self, data: Any = b"") -> None:
        self.data = data
        self.n = len(data) // self.RECORD
        self.new: dict[bytes, int] = {}

    def _digest(self, i: int) -> bytes:
        return bytes(self.data[i * self.RECORD : i * self.RECORD + 32])

    def side(self, hexdigest: str) -> str | None:
        digest = bytes.fromhex(hexdigest)
        if digest in self.new:
            return SIDES[self.new[digest]]
        lo, hi = 0, self.n
        while lo < hi:
            mid = (lo + hi) // 2
            if self._digest(mid) < digest:
                lo = mid + 1
            else:
                hi = mid
        if lo < self.n and self._digest(lo) == digest:
            return SIDES[self.data[lo * self.RECORD + 32]]
        return None

    def __contains__(self, hexdigest: object) -> bool:
        return isinstance(hexdigest, str) and self.side(hexdigest) is not None

    def __len__(self) -> int:
        return self.n + len(self.new)

    def add(self, hexdigest: str, side: str) -> None:
        """Record `hexdigest` on `side` unless it is already known (the first side wins)."""
        if hexdigest not in self:
            self.new[bytes.fromhex(hexdigest)] = SIDES.index(side)

    def to_bytes(self) -> bytes:
        size = self.n * self.RECORD
        records = [bytes(self.data[i : i + self.RECORD]) for i in range(0, size, self.RECORD)]
        records.extend(digest + bytes([side]) for digest, side in self.new.items())
        records.sort()
        return b"".join(records)

    def as_dict(self) -> dict[str, str]:
        """Every entry as {hexdigest: side}: for tests and diagnostics, O(N)."""
        raw = self.to_bytes()
        return {raw[i : i + 32].hex(): SIDES[raw[i + 32]] for i in range(0, len(raw), self.RECORD)}


@dataclass
class DatasetState:
    """What the index holds: every structure's hash and side, the counts, and the files' identity."""

    entries: HashIndex
    sha256: str
    counts: dict[str, Any]
    signatures: dict[str, list[int] | None]


def _empty_counts() -> dict[str, Any]:
    return {"structures": {"train": 0, "test": 0}, "atoms": {"train": 0, "test": 0}, "elements": {}}


def _count(counts: dict[str, Any], symbols: Sequence[str], side: str) -> None:
    counts["structures"][side] += 1
    counts["atoms"][side] += len(symbols)
    per_structure: dict[str, int] = {}
    for s in symbols:
        per_structure[s] = per_structure.get(s, 0) + 1
    for element, n in per_structure.items():
        entry = counts["elements"].setdefault(element, {"structures": {"train": 0, "test": 0}, "atoms": {"train": 0, "test": 0}})
        entry["structures"][side] += 1
        entry["atoms"][side] += n


def load_state(files: DatasetFiles) -> DatasetState | None:
    """The index, if it exists and describes the files as they are now; None if missing or stale.
    Reads the small JSON part and maps the entries file: nothing proportional to the dataset."""
    try:
        data = json.loads(files.index.read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return None
    if data.get("format") != INDEX_FORMAT or data.get("hash_decimals") != HASH_DECIMALS:
        return None
    if data.get("files") != files.signatures():
        return None
    entries_path = files.index.parent / str(data.get("entries_file", ""))
    try:
        size = entries_path.stat().st_size
    except (FileNotFoundError, OSError):
        return None
    if size != data.get("entries_count", -1) * HashIndex.RECORD:
        return None
    if size == 0:
        entries = HashIndex()
    else:
        with open(entries_path, "rb") as handle:
            entries = HashIndex(mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ))
    return DatasetState(entries, data["sha256"], data["counts"], data["files"])


def save_state(files: DatasetFiles, state: DatasetState) -> None:
    """Entries file (named after the dataset version) first, then the JSON that points to it,
    then old entries files: a reader sees a complete old or new index."""
    state.signatures = files.signatures()
    raw = state.entries.to_bytes()
    entries_file = f"{files.index.name.removesuffix('.json')}.{(state.sha256 or 'empty')[:16]}.bin"
    write_atomically(files.index.parent / entries_file, raw)
    _write_json_atomically(files.index, {
        "format": INDEX_FORMAT, "hash_decimals": HASH_DECIMALS, "sha256": state.sha256,
        "files": state.signatures, "counts": state.counts,
        "entries_file": entries_file, "entries_count": len(raw) // HashIndex.RECORD,
    })
    prefix = files.index.name.removesuffix(".json") + "."
    for name in os.listdir(files.index.parent):
        if name.startswith(prefix) and name.endswith(".bin") and name != entries_file:
            os.unlink(files.index.parent / name)


def _with_split_columns(df: pd.DataFrame, test_fraction: float) -> pd.DataFrame:
    """Fill HASH_COLUMN/SPLIT_COLUMN for rows written before they existed (or by other tools).
    A side already recorded is never changed."""
    df = df.copy()
    if HASH_COLUMN not in df.columns:
        df[HASH_COLUMN] = None
    if SPLIT_COLUMN not in df.columns:
        df[SPLIT_COLUMN] = None
    missing_hash = df[HASH_COLUMN].isna()
    if missing_hash.any():
        df.loc[missing_hash, HASH_COLUMN] = [row_hash(row) for _, row in df[missing_hash].iterrows()]
    missing_split = df[SPLIT_COLUMN].isna()
    if missing_split.any():
        df.loc[missing_split, SPLIT_COLUMN] = [split_for(h, test_fraction) for h in df.loc[missing_split, HASH_COLUMN]]
    return df


def _state_from_frame(df: pd.DataFrame, sha256: str) -> DatasetState:
    entries = HashIndex()
    counts = _empty_counts()
    for atoms, digest, side in zip(df["ase_atoms"], df[HASH_COLUMN], df[SPLIT_COLUMN]):
        entries.add(digest, side)
        _count(counts, atoms.get_chemical_symbols(), side)
    return DatasetState(entries, sha256, counts, {})


def _write_dataset_files(files: DatasetFiles, df: pd.DataFrame) -> tuple[str, bool]:
    """Write train/test (when both sides have structures) and then the accumulated file; return
    its sha256 and whether the split files exist. Every file lands whole; the index is written
    last by the caller, so a kill in between leaves a stale index that the next run rebuilds."""
    is_test = (df[SPLIT_COLUMN] == "test").to_numpy()
    split = bool(is_test.any() and (~is_test).any())
    if split:
        write_pickle_atomically(df[~is_test].reset_index(drop=True), files.train, SPLIT_COMPRESS_LEVEL)
        write_pickle_atomically(df[is_test].reset_index(drop=True), files.test, SPLIT_COMPRESS_LEVEL)
    else:
        for path in (files.train, files.test):
            if path.exists():
                path.unlink()
    return write_pickle_atomically(df, files.accumulated), split


def _rebuild(files: DatasetFiles, test_fraction: float) -> tuple[DatasetState, pd.DataFrame | None]:
    """Index (and split files) from the dataset itself: the slow path after a crash or an upgrade."""
    if not files.accumulated.exists():
        for path in (files.train, files.test):
            if path.exists():
                path.unlink()
        return DatasetState(HashIndex(), "", _empty_counts(), files.signatures()), None
    df = load_dataset(files.accumulated)
    complete = HASH_COLUMN in df.columns and SPLIT_COLUMN in df.columns and not (
        df[HASH_COLUMN].isna().any() or df[SPLIT_COLUMN].isna().any())
    df = _with_split_columns(df, test_fraction)
    if complete:
        # The dataset is fine; only the split files or the index may be missing or stale.
        is_test = (df[SPLIT_COLUMN] == "test").to_numpy()
        if is_test.any() and (~is_test).any():
            write_pickle_atomically(df[~is_test].reset_index(drop=True), files.train, SPLIT_COMPRESS_LEVEL)
            write_pickle_atomically(df[is_test].reset_index(drop=True), files.test, SPLIT_COMPRESS_LEVEL)
        sha = sha256_of_file(files.accumulated)
    else:
        sha, _ = _write_dataset_files(files, df)
    state = _state_from_frame(df, sha)
    save_state(files, state)
    return state, df


def _read_manifest(files: DatasetFiles) -> dict[str, Any]:
    try:
        data = json.loads(files.manifest.read_text())
        return data if isinstance(data, dict) else {}
    except (FileNotFoundError, json.JSONDecodeError):
        return {}


def _manifest(files: DatasetFiles, state: DatasetState, history: list[dict[str, Any]],
              test_fraction: float | None) -> dict[str, Any]:
    split = files.train.exists() and files.test.exists()
    structures = state.counts["structures"]
    return {
        "format": 1,
        "path": str(files.accumulated),
        "trainPath": str(files.train if split else files.accumulated),
        "testPath": str(files.test) if split else None,
        "sha256": state.sha256,
        "total": structures["train"] + structures["test"],
        "structures": structures,
        "atoms": state.counts["atoms"],
        "elements": state.counts["elements"],
        "testFraction": test_fraction,
        "hash": {"algorithm": "sha256", "fields": ["symbols", "pbc", "cell", "positions", "energy", "forces"],
                 "decimals": HASH_DECIMALS},
        "updated": _now(),
        "history": history,
    }


def _summary(files: DatasetFiles, manifest: dict[str, Any], added: int, duplicates: int) -> dict[str, Any]:
    return {
        "path": str(files.accumulated),
        "trainPath": manifest["trainPath"],
        "testPath": manifest["testPath"],
        "sha256": manifest["sha256"],
        "added": added,
        "duplicates": duplicates,
        "total": manifest["total"],
        "structures": manifest["structures"],
        "elements": sorted(manifest["elements"]),
        "manifestPath": str(files.manifest),
    }


# ---------------------------------------------------------------------------------------------
# Commands
# ---------------------------------------------------------------------------------------------


def with_energy_corrected(df: pd.DataFrame, reference: float | dict[str, float] | None) -> pd.DataFrame:
    """`energy_corrected` = energy - sum of single-atom reference energies (eV) when they are
    known: a number (per atom) or {element: eV}. Without them the column is dropped rather than
    left partly empty (pacemaker computes it itself from `data.reference_energy`)."""
    if reference is None:
        return df.drop(columns=["energy_corrected"]) if "energy_corrected" in df.columns else df
    from ase.data import atomic_numbers

    per_z = np.zeros(len(atomic_numbers) + 1)
    if isinstance(reference, dict):
        for element, value in reference.items():
            per_z[atomic_numbers[element]] = value
    else:
        per_z[:] = reference
    df = df.copy()
    df["energy_corrected"] = [float(e) - float(per_z[a.numbers].sum()) for e, a in zip(df["energy"], df["ase_atoms"])]
    return df


def _reference_energy(text: str | None, elements: Sequence[str] | None) -> float | dict[str, float] | None:
    if text is None:
        return None
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise BadInput("--reference-energy must be JSON", [Problem(-1, "reference_energy", short_repr(text), str(exc))]) from None
    if _is_finite_number(value):
        return float(value)
    known = _known_symbols()
    if not isinstance(value, dict) or not all(k in known and _is_finite_number(v) for k, v in value.items()):
        raise BadInput("--reference-energy must be a number or {element: eV}",
                       [Problem(-1, "reference_energy", short_repr(value), "expected a number or {element: finite number}")])
    missing = sorted(set(elements or []) - set(value))
    if missing:
        raise BadInput("--reference-energy lacks elements", [Problem(-1, "reference_energy", short_repr(value), f"no value for {missing}")])
    return {k: float(v) for k, v in value.items()}


def command_append(dataset: str, results_files: Sequence[str], elements: Sequence[str] | None = None,
                   test_fraction: float = 0.0, lock_timeout: float = DEFAULT_LOCK_TIMEOUT,
                   origin: dict[str, Any] | None = None, reference_energy: str | None = None) -> dict[str, Any]:
    """Validate every record, then, under the lock, append those whose content hash is new.

    Order of work: parse and validate everything (bad input: nothing is touched), hash, take the
    lock, consult the index (rebuild it if missing or stale), and only if something is new read
    the dataset, concatenate, write train/test/accumulated, then index and manifest.
    """
    timings: dict[str, float] = {}
    clock = time.perf_counter()

    def lap(name: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        timings[name] = round(now - clock, 4)
        clock = now

    if not 0.0 <= test_fraction < 1.0:
        raise BadInput("invalid --test-fraction", [Problem(-1, "test_size", str(test_fraction), "expected a number in [0, 1)")])
    reference = _reference_energy(reference_energy, elements)
    records, origins = read_results_with_origins(results_files)
    if not records:
        raise BadInput(f"no CalculationResult records in {', '.join(results_files)}")
    lap("read")
    validate_results(records, elements, origins)
    if isinstance(reference, dict):
        unknown = {symbol for r in records for symbol in r["structure"]["symbols"]} - set(reference)
        if unknown:
            raise BadInput("reference energies lack elements of the results",
                           [Problem(-1, "reference_energy", short_repr(reference), f"no value for {sorted(unknown)}")])
    lap("validate")
    hashes = [record_hash(r) for r in records]
    lap("hash")
    files = DatasetFiles(dataset)
    with dataset_lock(files.lock, lock_timeout) as waited:
        timings["lock_wait"] = round(waited, 4)
        clock = time.perf_counter()
        removed = files.remove_stale_temporaries()
        state = load_state(files)
        old: pd.DataFrame | None = None
        rebuilt = state is None and files.accumulated.exists()
        if state is None:
            state, old = _rebuild(files, test_fraction)
        lap("index")
        fresh: list[int] = []
        seen: set[str] = set()
        for i, digest in enumerate(hashes):
            if digest not in state.entries and digest not in seen:
                seen.add(digest)
                fresh.append(i)
        duplicates = len(records) - len(fresh)
        lap("dedup")
        previous = _read_manifest(files)
        history = list(previous.get("history", []))
        sides = {"train": 0, "test": 0}
        if fresh:
            new = results_to_dataframe([records[i] for i in fresh], validate=False)
            new[HASH_COLUMN] = [hashes[i] for i in fresh]
            new[SPLIT_COLUMN] = [split_for(hashes[i], test_fraction) for i in fresh]
            for i, digest, side in zip(fresh, new[HASH_COLUMN], new[SPLIT_COLUMN]):
                state.entries.add(digest, side)
                sides[side] += 1
                _count(state.counts, records[i]["structure"]["symbols"], side)
            received = len(records)
            del records  # the parsed JSON is no longer needed: free it before the dataset is read
            lap("convert")
            if old is None and files.accumulated.exists():
                old = _with_split_columns(load_dataset(files.accumulated), test_fraction)
            lap("read_dataset")
            frame = new if old is None else pd.concat([old, new], ignore_index=True)
            frame = with_energy_corrected(frame, reference)
            del old, new
            state.sha256, _ = _write_dataset_files(files, frame)
            del frame
            lap("write")
            save_state(files, state)
        else:
            received = len(records)
        history.append({
            "time": _now(),
            **(origin or {}),
            "sources": list(dict.fromkeys(str(Path(f).resolve()) for f in results_files)),
            "received": received,
            "added": len(fresh),
            "addedTrain": sides["train"],
            "addedTest": sides["test"],
            "duplicates": duplicates,
            "testFraction": test_fraction,
            "sha256": state.sha256,
            **({"indexRebuilt": True} if rebuilt else {}),
            **({"removedTemporaries": removed} if removed else {}),
        })
        manifest = _manifest(files, state, history, test_fraction)
        _write_json_atomically(files.manifest, manifest)
        lap("manifest")
    return {**_summary(files, manifest, len(fresh), duplicates), "timings": timings,
            "indexRebuilt": rebuilt}


def _current_manifest(dataset: str, lock_timeout: float = DEFAULT_LOCK_TIMEOUT) -> tuple[DatasetFiles, dict[str, Any]]:
    """The manifest, brought up to date first (under the lock) if the index is missing or stale."""
    files = DatasetFiles(dataset)
    if not files.accumulated.is_file():
        raise BadInput(f"dataset not found: {files.accumulated}",
                       [Problem(-1, "--dataset", str(files.accumulated), "no such file")])
    state = load_state(files)
    manifest = _read_manifest(files)
    if state is not None and manifest.get("sha256") == state.sha256:
        return files, manifest
    with dataset_lock(files.lock, lock_timeout):
        state = load_state(files)
        if state is None:
            fraction = manifest.get("testFraction") or 0.0
            state, _ = _rebuild(files, float(fraction))
        manifest = _manifest(files, state, list(manifest.get("history", [])), manifest.get("testFraction"))
        _write_json_atomically(files.manifest, manifest)
    return files, manifest


def command_summary(dataset: str) -> dict[str, Any]:
    files, manifest = _current_manifest(dataset)
    return {
        **_summary(files, manifest, 0, 0),
        "rows": manifest["total"],
        "natoms_total": manifest["atoms"]["train"] + manifest["atoms"]["test"],
    }


def command_info(dataset: str) -> dict[str, Any]:
    return _current_manifest(dataset)[1]


def _rows_of_split(frame: pd.DataFrame, split: str) -> pd.DataFrame:
    if split == "all":
        return frame
    if SPLIT_COLUMN not in frame.columns:
        raise BadInput("the dataset has no recorded split; use --split all", [Problem(-1, "--split", split, "no split column")])
    return frame[frame[SPLIT_COLUMN] == split]


def command_export(dataset: str, out: str | None, fmt: str = "jsonl", split: str = "all") -> dict[str, Any]:
    path = Path(dataset)
    if not path.is_file():
        raise BadInput(f"dataset not found: {path}", [Problem(-1, "--dataset", str(path), "no such file")])
    frame = _rows_of_split(load_dataset(path), split)
    if fmt == "extxyz":
        if out is None:
            raise BadInput("--format extxyz needs --out FILE", [Problem(-1, "--out", "None", "required for extxyz")])
        return {"rows": _export_extxyz(frame, Path(out)), "out": out, "format": fmt}
    lines = [json.dumps(row_to_result(row)) for _, row in frame.iterrows()]
    if out is None:
        for line in lines:
            print(line)
        return {"rows": len(lines)}
    write_atomically(Path(out), "".join(line + "\n" for line in lines).encode("utf-8"))
    return {"rows": len(lines), "out": out}


def _export_extxyz(frame: pd.DataFrame, out: Path) -> int:
    """Rows -> extended XYZ with energy, forces and stress as calculator results, so ASE (and
    `dataset add`) read them back with the same numbers."""
    import io

    from ase.calculators.singlepoint import SinglePointCalculator
    from ase.io import write

    frames = []
    for _, row in frame.iterrows():
        atoms = row["ase_atoms"].copy()
        results: dict[str, Any] = {"energy": float(row["energy"]), "forces": np.asarray(row["forces"], dtype=np.float64)}
        stress = row.get("stress")
        if isinstance(stress, np.ndarray):
            results["stress"] = np.asarray(stress, dtype=np.float64)
        atoms.calc = SinglePointCalculator(atoms, **results)
        if isinstance(row.get("name"), str):
            atoms.info["name"] = row["name"]
        frames.append(atoms)
    buffer = io.StringIO()
    write(buffer, frames, format="extxyz")
    write_atomically(out, buffer.getvalue().encode("utf-8"))
    return len(frames)


def command_synthesize(out: str, count: int, natoms: int, seed: int, test_fraction: float) -> dict[str, Any]:
    """Benchmark data: `count` random Cu/Ni structures with random energies and forces, written
    as a dataset with index and manifest, as `append` would leave them. Not physical: for timing."""
    from ase import Atoms

    rng = np.random.default_rng(seed)
    nx, ny, nz = _grid_for(natoms)
    grid = np.array([[i, j, k] for i in range(nx) for j in range(ny) for k in range(nz)], dtype=np.float64) * 2.5
    cell = np.diag([nx * 2.5, ny * 2.5, nz * 2.5])
    rows = []
    for i in range(count):
        positions = grid + rng.normal(0.0, 0.05, size=grid.shape)
        symbols = rng.choice(["Cu", "Ni"], size=natoms).tolist()
        rows.append({"name": f"synth_s{seed}_{i}", "ase_atoms": Atoms(symbols=symbols, positions=positions, cell=cell, pbc=True),
                     "energy": float(rng.normal(-3.5 * natoms, 1.0)), "forces": rng.normal(0.0, 0.5, size=(natoms, 3)),
                     "stress": rng.normal(0.0, 0.01, size=6), "virial": rng.normal(0.0, 1.0, size=(3, 3))})
    frame = pd.DataFrame({column: [row[column] for row in rows] for column in DATASET_COLUMNS})
    frame = _with_split_columns(frame, test_fraction)
    files = DatasetFiles(out)
    with dataset_lock(files.lock, DEFAULT_LOCK_TIMEOUT):
        sha, _ = _write_dataset_files(files, frame)
        state = _state_from_frame(frame, sha)
        save_state(files, state)
        _write_json_atomically(files.manifest, _manifest(files, state, [{"time": _now(), "synthetic": True, "added": count}], test_fraction))
    return {"out": out, "count": count}


def command_synthesize_results(out: str, count: int, natoms: int, seed: int) -> dict[str, Any]:
    """Benchmark input: `count` random Cu/Ni CalculationResults as JSONL (not physical)."""
    rng = np.random.default_rng(seed)
    nx, ny, nz = _grid_for(natoms)
    grid = np.array([[i, j, k] for i in range(nx) for j in range(ny) for k in range(nz)], dtype=np.float64) * 2.5
    cell = np.diag([nx * 2.5, ny * 2.5, nz * 2.5]).tolist()
    lines = []
    for i in range(count):
        record = {"structure": {"symbols": rng.choice(["Cu", "Ni"], size=natoms).tolist(),
                                "positions": (grid + rng.normal(0.0, 0.05, size=grid.shape)).tolist(),
                                "cell": cell, "pbc": [True, True, True]},
                  "energy": float(rng.normal(-3.5 * natoms, 1.0)), "forces": rng.normal(0.0, 0.5, size=(natoms, 3)).tolist(),
                  "stress": rng.normal(0.0, 0.01, size=6).tolist(), "name": f"synth_r{seed}_{i}"}
        lines.append(json.dumps(record))
    write_atomically(Path(out), ("\n".join(lines) + "\n").encode())
    return {"out": out, "count": count}


def _grid_for(natoms: int) -> tuple[int, int, int]:
    """The most cubic (nx, ny, nz) with nx*ny*nz == natoms."""
    best = (natoms, 1, 1)
    for nx in range(1, natoms + 1):
        for ny in range(1, natoms // nx + 1):
            if natoms % (nx * ny) == 0:
                candidate = tuple(sorted((nx, ny, natoms // (nx * ny)), reverse=True))
                if max(candidate) - min(candidate) < max(best) - min(best):
                    best = candidate  # type: ignore[assignment]
    return best


def _emt_structure(rng: np.random.Generator, elements: Sequence[str], natoms: int) -> Any:
    from ase.build import bulk
    from ase.data import atomic_numbers, reference_states

    lattice = float(np.mean([reference_states[atomic_numbers[e]]["a"] for e in elements]))
    scale = rng.uniform(0.97, 1.03)
    atoms = bulk("Cu", "fcc", a=lattice * scale).repeat(_grid_for(natoms))
    atoms.set_chemical_symbols([str(rng.choice(list(elements))) for _ in range(len(atoms))])
    atoms.positions += rng.normal(0.0, 0.05, size=atoms.positions.shape)
    return atoms


def _emt_result(atoms: Any, name: str) -> dict[str, Any]:
    from ase.calculators.emt import EMT

    atoms.calc = EMT()
    energy = float(atoms.get_potential_energy())
    forces = atoms.get_forces().tolist()
    stress = atoms.get_stress(voigt=True).tolist()
    atoms.calc = None
    return {
        "structure": {
            "symbols": atoms.get_chemical_symbols(),
            "positions": atoms.get_positions().tolist(),
            "cell": np.array(atoms.cell).tolist(),
            "pbc": [bool(x) for x in atoms.pbc],
        },
        "energy": energy,
        "forces": forces,
        "stress": stress,
        "name": name,
    }


def command_label_emt(out: str, count: int, elements: Sequence[str], seed: int, natoms: int) -> dict[str, Any]:
    problems = [Problem(-1, "--elements", e, f"EMT supports {', '.join(EMT_ELEMENTS)}") for e in elements if e not in EMT_ELEMENTS]
    if count < 1:
        problems.append(Problem(-1, "--count", str(count), "expected an integer >= 1"))
    if natoms < 1:
        problems.append(Problem(-1, "--atoms", str(natoms), "expected an integer >= 1"))
    if problems:
        raise BadInput("invalid label-emt arguments", problems)
    rng = np.random.default_rng(seed)
    results = [_emt_result(_emt_structure(rng, elements, natoms), f"emt_s{seed}_{i}") for i in range(count)]
    write_atomically(Path(out), "".join(json.dumps(r) + "\n" for r in results).encode("utf-8"))
    return {"out": out, "count": count, "elements": sorted(set(elements))}


def command_pred_metrics(pred: str) -> dict[str, Any]:
    """Errors of a prediction pickle (train_pred/test_pred.pckl.gzip) as pacemaker computes them.

    pacemaker's pyace evaluator leaves test_metrics.txt empty, so test errors come from here:
    energy per atom against energy_corrected, forces per component; meV/atom and meV/Å.
    """
    path = Path(pred)
    if not path.exists():
        raise BadInput(f"prediction file {pred} does not exist", [Problem(-1, "--pred", pred, "no such file")])
    df = pd.read_pickle(path, compression="gzip")
    missing = [c for c in ("energy_pred", "forces_pred", "forces", "NUMBER_OF_ATOMS") if c not in df.columns]
    ref_col = "energy_corrected" if "energy_corrected" in df.columns else "energy"
    if missing or len(df) == 0:
        raise BadInput(f"{pred} is not a pacemaker prediction pickle (missing {missing or 'rows'})")
    de = (df["energy_pred"].to_numpy(float) - df[ref_col].to_numpy(float)) / df["NUMBER_OF_ATOMS"].to_numpy(float)
    df_f = np.concatenate([np.asarray(p, float).reshape(-1) - np.asarray(r, float).reshape(-1) for p, r in zip(df["forces_pred"], df["forces"])])
    return {
        "structures": int(len(df)),
        "energy_rmse_mev_per_atom": float(np.sqrt(np.mean(de**2)) * 1000),
        "force_rmse_mev_per_a": float(np.sqrt(np.mean(df_f**2)) * 1000) if df_f.size else 0.0,
        "energy_mae_mev_per_atom": float(np.mean(np.abs(de)) * 1000),
        "force_mae_mev_per_a": float(np.mean(np.abs(df_f)) * 1000) if df_f.size else 0.0,
    }


# ---------------------------------------------------------------------------------------------
# CLI
# ---------------------------------------------------------------------------------------------


class JsonArgumentParser(argparse.ArgumentParser):
    """argparse that reports usage errors as bad_input JSON (exit 2) like every other bad input."""

    def error(self, message: str) -> NoReturn:
        emit(BadInput(f"{self.prog}: {message}").to_json())
        sys.exit(2)


def build_parser() -> argparse.ArgumentParser:
    parser = JsonArgumentParser(prog="mlip_bridge", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True, parser_class=JsonArgumentParser)

    append = commands.add_parser("append", help="validate CalculationResults and append the new ones to a dataset")
    append.add_argument("--dataset", required=True, help="accumulated .pckl.gzip (created if missing)")
    append.add_argument("--results", required=True, action="append",
                        help=".json array, .jsonl, or any file ASE reads with energies and forces (repeatable)")
    append.add_argument("--elements", help="comma-separated: every atom must be one of these")
    append.add_argument("--test-fraction", type=float, default=0.0,
                        help="share of new structures held out as the test set, decided from each hash")
    append.add_argument("--lock-timeout", type=float, default=DEFAULT_LOCK_TIMEOUT, help="s to wait for the lock")
    append.add_argument("--origin", default="{}", help="JSON object recorded in the manifest's history")
    append.add_argument("--reference-energy", help="single-atom energies, eV: a number or {element: eV}; adds energy_corrected")

    summary = commands.add_parser("summary", help="describe a dataset")
    summary.add_argument("--dataset", required=True)

    info = commands.add_parser("info", help="the dataset's manifest (brought up to date if stale)")
    info.add_argument("--dataset", required=True)

    export = commands.add_parser("export", help="dataset rows -> CalculationResult JSONL or extended XYZ")
    export.add_argument("--dataset", required=True)
    export.add_argument("--out", help="write here instead of stdout")
    export.add_argument("--format", choices=("jsonl", "extxyz"), default="jsonl")
    export.add_argument("--split", choices=("all", "train", "test"), default="all")

    synth = commands.add_parser("synthesize", help="random dataset for benchmarks (not physical)")
    synth.add_argument("--out", required=True)
    synth.add_argument("--count", required=True, type=int)
    synth.add_argument("--atoms", type=int, default=64)
    synth.add_argument("--seed", type=int, default=0)
    synth.add_argument("--test-fraction", type=float, default=0.1)

    synth_results = commands.add_parser("synthesize-results", help="random CalculationResult JSONL for benchmarks")
    synth_results.add_argument("--out", required=True)
    synth_results.add_argument("--count", required=True, type=int)
    synth_results.add_argument("--atoms", type=int, default=64)
    synth_results.add_argument("--seed", type=int, default=0)

    label = commands.add_parser("label-emt", help="generate structures labelled by ASE's EMT calculator")
    label.add_argument("--out", required=True, help="output .jsonl")
    label.add_argument("--count", required=True, type=int)
    label.add_argument("--elements", default="Cu", help="comma-separated, e.g. Cu,Ni")
    label.add_argument("--seed", type=int, default=0)
    label.add_argument("--atoms", type=int, default=8, help="atoms per structure")

    pred = commands.add_parser("pred-metrics", help="RMSE/MAE of a pacemaker prediction pickle")
    pred.add_argument("--pred", required=True)
    return parser


def emit(payload: dict[str, Any]) -> None:
    print(json.dumps(payload), flush=True)


def _origin(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise BadInput("--origin must be a JSON object", [Problem(-1, "--origin", short_repr(text), str(exc))]) from None
    if not isinstance(value, dict):
        raise BadInput("--origin must be a JSON object", [Problem(-1, "--origin", short_repr(text), "not an object")])
    return value


def run(argv: Sequence[str]) -> dict[str, Any]:
    args = build_parser().parse_args(argv)
    if args.command == "append":
        elements = [e.strip() for e in args.elements.split(",") if e.strip()] if args.elements else None
        return command_append(args.dataset, args.results, elements, args.test_fraction, args.lock_timeout,
                              _origin(args.origin), args.reference_energy)
    if args.command == "summary":
        return command_summary(args.dataset)
    if args.command == "info":
        return command_info(args.dataset)
    if args.command == "export":
        return command_export(args.dataset, args.out, args.format, args.split)
    if args.command == "synthesize":
        return command_synthesize(args.out, args.count, args.atoms, args.seed, args.test_fraction)
    if args.command == "synthesize-results":
        return command_synthesize_results(args.out, args.count, args.atoms, args.seed)
    if args.command == "label-emt":
        elements = [e.strip() for e in args.elements.split(",") if e.strip()]
        return command_label_emt(args.out, args.count, elements, args.seed, args.atoms)
    if args.command == "pred-metrics":
        return command_pred_metrics(args.pred)
    raise AssertionError(f"unhandled command {args.command}")


def peak_rss_mb() -> float:
    """Peak resident memory of this process, MB (ru_maxrss is in KiB on Linux)."""
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0, 1)


def cpu_seconds() -> float:
    """User + system CPU time of this process and all its threads, s."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return round(usage.ru_utime + usage.ru_stime, 3)


def main(argv: Sequence[str] | None = None) -> int:
    try:
        result = run(sys.argv[1:] if argv is None else argv)
    except BadInput as exc:
        emit(exc.to_json())
        return 2
    except LockTimeout as exc:
        emit({"error": {"kind": "busy", "message": str(exc), "problems": []}})
        return 3
    emit({**result, "peakRssMb": peak_rss_mb(), "cpuSeconds": cpu_seconds()} if "error" not in result else result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
