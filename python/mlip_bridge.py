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
import gzip
import hashlib
import json
import math
import os
import pickle
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, NoReturn, Sequence

import numpy as np
import pandas as pd

DATASET_COLUMNS = ("name", "ase_atoms", "energy", "forces", "stress", "virial")
EMT_ELEMENTS = ("Al", "Cu", "Ag", "Au", "Ni", "Pd", "Pt")
VOIGT_PAIRS = ((0, 0), (1, 1), (2, 2), (1, 2), (0, 2), (0, 1))
MAX_VALUE_REPR = 80


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

    def to_json(self) -> dict[str, Any]:
        return {"index": self.index, "field": self.field, "value": self.value, "reason": self.reason}


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
    """Why `value` is not a finite [rows, cols] matrix (rows=None: any row count), or None."""
    if not isinstance(value, list):
        return f"expected a list of {cols}-vectors, got {type(value).__name__}"
    if rows is not None and len(value) != rows:
        return f"expected {rows} rows, got {len(value)}"
    for row in value:
        if not isinstance(row, list) or len(row) != cols:
            return f"expected every row to be a list of {cols} numbers, got {short_repr(row)}"
        if not all(_is_number(x) for x in row):
            return f"expected numbers, got {short_repr(row)}"
        if not all(math.isfinite(x) for x in row):
            return f"expected finite numbers, got {short_repr(row)}"
    return None


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


def record_problems(index: int, record: Any) -> list[Problem]:
    """Every defect of one CalculationResult record (empty list: the record is valid)."""
    if not isinstance(record, dict):
        return [Problem(index, "(record)", short_repr(record), "expected a JSON object")]
    problems = _structure_problems(index, record.get("structure"))
    structure = record.get("structure")
    symbols = structure.get("symbols") if isinstance(structure, dict) else None
    natoms = len(symbols) if isinstance(symbols, list) else None
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


def validate_results(results: Sequence[Any]) -> None:
    """Raise BadInput listing every problem of every record, or return if all are valid."""
    problems = [p for i, r in enumerate(results) for p in record_problems(i, r)]
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


def results_to_dataframe(results: Sequence[dict[str, Any]]) -> pd.DataFrame:
    """Validated CalculationResult records -> a pacemaker dataset DataFrame.

    Columns: name (str), ase_atoms (ase.Atoms with cell, pbc, positions; nothing attached),
    energy (float, eV, total), forces (float64 [natoms, 3], eV/Å), stress (float64 [6] Voigt
    eV/Å^3, or None), virial (float64 [3, 3] eV, or None; from -stress*volume when only the
    stress is given and the cell has a volume).
    """
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


def write_atomically(path: Path, payload: bytes) -> None:
    """Write `payload` to a temporary file next to `path`, fsync it, rename it onto `path`,
    fsync the folder: readers see the old file or the new one, never a torn one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, 0o666 & ~_current_umask())
        with os.fdopen(fd, "wb") as handle:
            handle.write(payload)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp_name, path)
    except BaseException:
        if os.path.exists(tmp_name):
            os.unlink(tmp_name)
        raise
    _fsync_directory(path.parent)


def save_dataset(df: pd.DataFrame, path: str | Path) -> str:
    """Write `df` atomically as a gzip pickle (protocol 4) and return the file's sha256.

    Equivalent to ``df.to_pickle(path, compression='gzip', protocol=4)`` (pacemaker reads it
    with ``pd.read_pickle(path, compression='gzip')``), but the gzip header carries no time
    stamp and no temporary file name, so the same rows always give the same bytes.
    """
    target = Path(path)
    payload = gzip.compress(pickle.dumps(df, protocol=4), mtime=0)
    write_atomically(target, payload)
    return hashlib.sha256(payload).hexdigest()


def load_dataset(path: str | Path) -> pd.DataFrame:
    return pd.read_pickle(path, compression="gzip")


def dataset_elements(df: pd.DataFrame) -> list[str]:
    symbols: set[str] = set()
    for atoms in df.get("ase_atoms", []):
        symbols.update(atoms.get_chemical_symbols())
    return sorted(symbols)


def _parse_json_array(path: Path, text: str, offset: int) -> list[Any]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise BadInput(
            f"{path} is not valid JSON: {exc}",
            [Problem(offset, "(json)", short_repr(text[max(0, exc.pos - 20) : exc.pos + 20]), str(exc))],
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
            index = offset + len(records) + len(problems)
            problems.append(Problem(index, "(json)", short_repr(line), f"{path}:{line_number}: {exc}"))
    if problems:
        raise BadInput(f"{path} has {len(problems)} line(s) that are not valid JSON", problems)
    return records


def read_results(paths: Iterable[str]) -> list[Any]:
    """Read CalculationResult records from .json (array) and .jsonl files, in order."""
    records: list[Any] = []
    for name in paths:
        path = Path(name)
        if not path.is_file():
            raise BadInput(f"results file not found: {path}")
        text = path.read_text(encoding="utf-8")
        if path.suffix == ".json":
            records.extend(_parse_json_array(path, text, len(records)))
        else:
            records.extend(_parse_jsonl(path, text, len(records)))
    return records


# ---------------------------------------------------------------------------------------------
# Commands
# ---------------------------------------------------------------------------------------------


def command_append(dataset: str, results_files: Sequence[str]) -> dict[str, Any]:
    records = read_results(results_files)
    if not records:
        raise BadInput(f"no CalculationResult records in {', '.join(results_files)}")
    new_rows = results_to_dataframe(records)
    path = Path(dataset)
    frame = new_rows
    if path.exists():
        frame = pd.concat([load_dataset(path), new_rows], ignore_index=True)
    digest = save_dataset(frame, path)
    return {
        "path": str(path),
        "added": len(new_rows),
        "total": len(frame),
        "sha256": digest,
        "elements": dataset_elements(frame),
    }


def _existing_dataset(dataset: str) -> tuple[Path, pd.DataFrame]:
    path = Path(dataset)
    if not path.is_file():
        raise BadInput(f"dataset not found: {path}")
    return path, load_dataset(path)


def command_summary(dataset: str) -> dict[str, Any]:
    path, frame = _existing_dataset(dataset)
    natoms = int(sum(len(a) for a in frame["ase_atoms"])) if "ase_atoms" in frame else 0
    return {
        "path": str(path),
        "rows": len(frame),
        "columns": [str(c) for c in frame.columns],
        "elements": dataset_elements(frame),
        "sha256": sha256_of_file(path),
        "natoms_total": natoms,
    }


def command_export(dataset: str, out: str | None) -> dict[str, Any]:
    _, frame = _existing_dataset(dataset)
    lines = [json.dumps(row_to_result(row)) for _, row in frame.iterrows()]
    if out is None:
        for line in lines:
            print(line)
        return {"rows": len(lines)}
    write_atomically(Path(out), "".join(line + "\n" for line in lines).encode("utf-8"))
    return {"rows": len(lines), "out": out}


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

    append = commands.add_parser("append", help="validate CalculationResults and append them to a dataset")
    append.add_argument("--dataset", required=True, help="dataset .pckl.gzip (created if missing)")
    append.add_argument("--results", required=True, action="append", help=".json array or .jsonl file (repeatable)")

    summary = commands.add_parser("summary", help="describe a dataset")
    summary.add_argument("--dataset", required=True)

    export = commands.add_parser("export", help="dataset rows -> CalculationResult JSONL")
    export.add_argument("--dataset", required=True)
    export.add_argument("--out", help="write JSONL here instead of stdout")

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


def run(argv: Sequence[str]) -> dict[str, Any]:
    args = build_parser().parse_args(argv)
    if args.command == "append":
        return command_append(args.dataset, args.results)
    if args.command == "summary":
        return command_summary(args.dataset)
    if args.command == "export":
        return command_export(args.dataset, args.out)
    if args.command == "label-emt":
        elements = [e.strip() for e in args.elements.split(",") if e.strip()]
        return command_label_emt(args.out, args.count, elements, args.seed, args.atoms)
    if args.command == "pred-metrics":
        return command_pred_metrics(args.pred)
    raise AssertionError(f"unhandled command {args.command}")


def main(argv: Sequence[str] | None = None) -> int:
    try:
        result = run(sys.argv[1:] if argv is None else argv)
    except BadInput as exc:
        emit(exc.to_json())
        return 2
    emit(result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
