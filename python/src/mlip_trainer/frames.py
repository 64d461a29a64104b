"""CalculationResult records <-> rows of a pacemaker dataset (a pandas DataFrame).

The dataset is the DataFrame pacemaker reads, with columns ``name, ase_atoms, energy, forces,
stress, virial`` and, when any record has it, ``energy_corrected``. pacemaker fits
``energy_corrected``: it computes it from ``energy`` with ``data: {reference_energy: ...}`` in its
input.yaml, or takes it as stored when that key is absent (see :mod:`mlip_trainer.store.energies`).
A result known only by its corrected energy has ``energy`` NaN.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from mlip_trainer.arrays import FloatArray
from mlip_trainer.validation import validate_results


def structure_of(atoms: Any) -> dict[str, Any]:
    """An ASE Atoms as a CalculationResult's ``structure``: symbols, positions, cell, pbc."""
    return {
        "symbols": atoms.get_chemical_symbols(),
        "positions": atoms.get_positions().tolist(),
        "cell": np.array(atoms.cell).tolist(),
        "pbc": [bool(x) for x in atoms.pbc],
    }


DATASET_COLUMNS = ("name", "ase_atoms", "energy", "forces", "stress", "virial")
#: pacemaker's column of the energy it fits: total energy minus single-atom reference energies, eV.
CORRECTED = "energy_corrected"
VOIGT_PAIRS = ((0, 0), (1, 1), (2, 2), (1, 2), (0, 2), (0, 1))


def voigt_to_matrix(voigt: Sequence[float] | FloatArray) -> FloatArray:
    """[6] Voigt (xx yy zz yz xz xy, ASE order) -> symmetric [3, 3]."""
    matrix = np.zeros((3, 3), dtype=np.float64)
    for value, (i, j) in zip(voigt, VOIGT_PAIRS):
        matrix[i, j] = matrix[j, i] = value
    return matrix


def matrix_to_voigt(matrix: FloatArray) -> FloatArray:
    """[3, 3] -> [6] Voigt (xx yy zz yz xz xy)."""
    return np.array([matrix[i, j] for i, j in VOIGT_PAIRS], dtype=np.float64)


def _as_3x3(value: Sequence[Any]) -> FloatArray:
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
    energy = record.get("energy")
    return {
        "name": record.get("name") or _default_name(record),
        "ase_atoms": atoms,
        "energy": float(energy) if energy is not None else np.nan,
        "forces": np.array(record["forces"], dtype=np.float64).reshape(len(atoms), 3),
        "stress": stress,
        "virial": virial,
        CORRECTED: float(record[CORRECTED]) if energy is None else np.nan,
    }


def results_to_dataframe(results: Sequence[dict[str, Any]], validate: bool = True) -> pd.DataFrame:
    """Validated CalculationResult records -> a pacemaker dataset DataFrame.

    Columns: name (str), ase_atoms (ase.Atoms with cell, pbc, positions; nothing attached),
    energy (float, eV, total; NaN for a result known only by its corrected energy), forces
    (float64 [natoms, 3], eV/Å), stress (float64 [6] Voigt eV/Å^3, or None), virial (float64
    [3, 3] eV, or None; from -stress*volume when only the stress is given and the cell has a
    volume), and energy_corrected (float, eV) when any record has only that.
    """
    if validate:
        validate_results(results)
    rows = [_record_to_row(r) for r in results]
    columns = DATASET_COLUMNS + ((CORRECTED,) if any(r.get("energy") is None for r in results) else ())
    frame = pd.DataFrame({column: [row[column] for row in rows] for column in columns})
    return frame


def _finite(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if np.isfinite(number) else None


def row_to_result(row: pd.Series[Any]) -> dict[str, Any]:
    """One dataset row -> CalculationResult JSON object (inverse of results_to_dataframe)."""
    atoms = row["ase_atoms"]
    result: dict[str, Any] = {
        "structure": {
            "symbols": atoms.get_chemical_symbols(),
            "positions": atoms.get_positions().tolist(),
            "cell": np.array(atoms.cell).tolist(),
            "pbc": [bool(x) for x in atoms.pbc],
        },
    }
    energy = _finite(row.get("energy"))
    if energy is not None:
        result["energy"] = energy
    else:
        result[CORRECTED] = _finite(row.get(CORRECTED))
    result["forces"] = np.asarray(row["forces"], dtype=np.float64).tolist()
    for column in ("stress", "virial"):
        value: Any = row.get(column)
        if isinstance(value, (np.ndarray, list)):
            result[column] = np.asarray(value, dtype=np.float64).tolist()
    name = row.get("name")
    if isinstance(name, str):
        result["name"] = name
    return result


def dataset_elements(df: pd.DataFrame) -> list[str]:
    """The chemical symbols present in a dataset, sorted."""
    symbols: set[str] = set()
    column: Iterable[Any] = df["ase_atoms"] if "ase_atoms" in df.columns else []
    for atoms in column:
        symbols.update(atoms.get_chemical_symbols())
    return sorted(symbols)
