"""Reading results: CalculationResult JSON (an array) and JSONL, and any file ASE reads with
energies and forces (extended XYZ, VASP OUTCAR, ...), each record with the file and position it
came from, so validation problems name both."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np

from mlip_trainer.errors import BadInput, Problem, short_repr

#: Files read as JSON: ``.json`` holds one array, the others one record per line.
JSON_SUFFIXES = (".json", ".jsonl", ".ndjson")


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
            problems.append(
                Problem(offset + local, "(json)", short_repr(line), f"line {line_number}: {exc}", str(path), local)
            )
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
        raise BadInput(
            f"{path}: ASE cannot read it as a structure file ({type(exc).__name__}: {exc})",
            [Problem(offset, "(file)", str(path), f"{type(exc).__name__}: {exc}", str(path), 0)],
        ) from None
    if not isinstance(frames, list):
        frames = [frames]
    return [_atoms_to_record(atoms, f"{path.name}#{i}") for i, atoms in enumerate(frames)]


def read_results_with_origins(paths: Iterable[str]) -> tuple[list[Any], list[tuple[str, int]]]:
    """Records from every file, in order, and (file, position in file) for each."""
    records: list[Any] = []
    origins: list[tuple[str, int]] = []
    for name in paths:
        path = Path(name)
        if not path.is_file():
            raise BadInput(
                f"results file not found: {path}",
                [Problem(len(records), "(file)", str(path), "no such file", str(path), 0)],
            )
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
