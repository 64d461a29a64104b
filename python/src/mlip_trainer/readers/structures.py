"""Pools of structures, labelled or not: what selection chooses from.

A pool is any file ASE reads as structures (extended XYZ, .traj, POSCAR/CONTCAR/XDATCAR, LAMMPS
dump or data with a type map, CIF, ...), JSON/JSONL of ``Structure`` (or of CalculationResult:
its labels are not read), or a dataset pickle. Exploration makes 10^5 to 10^6 candidates, so
files are read one structure at a time and each is kept as a lean ``ase.Atoms`` (numbers,
positions, cell, pbc; no calculator, info or constraints, about 2.4 kB for 32 atoms), which is
all pace_select's selection reads.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from mlip_trainer.errors import BadInput, Problem, short_repr
from mlip_trainer.readers.ase_files import ase_frames
from mlip_trainer.readers.files import check_input_file, is_json
from mlip_trainer.readers.json_text import json_array_records, jsonl_records

#: Problems listed before a bad pool is refused (the rest are counted).
MAX_PROBLEMS = 50


def lean_atoms(numbers: Any, positions: Any, cell: Any, pbc: Any) -> Any:
    """An ase.Atoms with only what selection reads."""
    from ase import Atoms

    return Atoms(
        numbers=np.asarray(numbers, dtype=np.int64),
        positions=np.asarray(positions, dtype=np.float64),
        cell=np.asarray(cell, dtype=np.float64),
        pbc=np.asarray(pbc, dtype=bool),
    )


def _structure_of(record: Any) -> Any:
    """A Structure, or the structure of a CalculationResult."""
    if isinstance(record, dict) and isinstance(record.get("structure"), dict):
        return record["structure"]
    return record


def _json_structures(path: Path, records: Iterator[Any]) -> Iterator[tuple[Any, str]]:
    from ase.data import atomic_numbers

    from mlip_trainer.validation import structure_problems

    problems: list[Problem] = []
    count = 0
    for position, record in enumerate(records):
        count += 1
        structure = _structure_of(record)
        found = structure_problems(position, structure)
        if found:
            for p in found:
                p.file, p.record = str(path), position
            problems.extend(found)
            if len(problems) >= MAX_PROBLEMS:
                break
            continue
        if problems:
            continue
        name = record.get("name") if isinstance(record, dict) else None
        numbers = [atomic_numbers[s] for s in structure["symbols"]]
        atoms = lean_atoms(numbers, structure["positions"], structure["cell"], structure["pbc"])
        yield atoms, name if isinstance(name, str) and name else f"{path.name}#{position}"
    if problems:
        bad = len({p.record for p in problems})
        raise BadInput(f"pool {path}: {bad} of {count} structure(s) read are invalid", problems)


def _ase_structures(path: Path, type_map: dict[int, str] | None) -> Iterator[tuple[Any, str]]:
    for position, atoms in enumerate(ase_frames(path, type_map)):
        if len(atoms) == 0:
            raise BadInput(
                f"pool {path}: frame {position} has no atoms",
                [
                    Problem(
                        position, "(structure)", "0 atoms", "a structure needs at least one atom", str(path), position
                    )
                ],
            )
        if (atoms.numbers <= 0).any():
            raise BadInput(
                f"pool {path}: frame {position} has atoms of no known element (numbers"
                f" {short_repr(sorted(set(atoms.numbers.tolist())))})",
                [Problem(position, "(structure)", str(path), "unknown element", str(path), position)],
            )
        name = atoms.info.get("name")
        yield (
            lean_atoms(atoms.numbers, atoms.positions, atoms.cell.array, atoms.pbc),
            name if isinstance(name, str) and name else f"{path.name}#{position}",
        )


def pool_structures(path: Path, type_map: dict[int, str] | None = None) -> Iterator[tuple[Any, str]]:
    """Every structure of a pool file that is not a pickle, one at a time, with a name (its own,
    else ``<file>#<position>``). Bad structures are reported together, as bad input."""
    check_input_file(path, "pool")
    if path.suffix.lower() == ".json":
        yield from _json_structures(path, iter(json_array_records(path, 0)))
    elif is_json(path):
        yield from _json_structures(path, jsonl_records(path, 0))
    else:
        yield from _ase_structures(path, type_map)
