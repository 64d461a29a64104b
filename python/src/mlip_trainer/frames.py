"""CalculationResult records <-> rows of a pacemaker dataset (a pandas DataFrame).

The dataset is the DataFrame pacemaker reads, with columns ``name, ase_atoms, energy, forces,
stress, virial``. pacemaker fits ``energy_corrected``: a dataset written here needs
``data: {reference_energy: ...}`` in pacemaker's input.yaml, unless reference energies are
given here (:func:`with_energy_corrected`).
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

DATASET_COLUMNS = ("name", "ase_atoms", "energy", "forces", "stress", "virial")
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
        "energy": float(row["energy"]),
        "forces": np.asarray(row["forces"], dtype=np.float64).tolist(),
    }
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
