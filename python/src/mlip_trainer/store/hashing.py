"""Content hashes of results and the stable train/test split they decide."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

import numpy as np

from mlip_trainer.arrays import FloatArray

#: Extra columns this project keeps in the dataset: the content hash and the side of the split.
#: pacemaker carries extra columns without fitting them.
HASH_COLUMN = "mlip_hash"
SPLIT_COLUMN = "mlip_split"
#: Numbers enter the content hash rounded to this many decimals (Å, eV, eV/Å): the precision
#: of extended XYZ files (ASE writes %16.8f), so a structure exported and re-imported hashes alike.
HASH_DECIMALS = 8


def _quantise(values: Any) -> bytes:
    """Values rounded to HASH_DECIMALS decimals as int64 bytes (-0.0 and 0.0 hash alike)."""
    scaled: FloatArray = np.rint(np.asarray(values, dtype=np.float64) * 10.0**HASH_DECIMALS)
    return scaled.astype(np.int64).tobytes()


def content_hash(
    symbols: Sequence[str],
    positions: Any,
    cell: Any,
    pbc: Sequence[bool],
    energy: float,
    forces: Any,
    corrected: bool = False,
) -> str:
    """sha256 of species, positions (Å), cell (Å), pbc, energy (eV) and forces (eV/Å), numbers
    rounded to HASH_DECIMALS (8) decimals: results that print the same at that precision are the
    same result (an exact re-send always is). `corrected`: `energy` is a corrected energy (a
    result known only by its energy_corrected), which never equals a total energy's hash."""
    digest = hashlib.sha256(b"mlip-result-v1\0")
    if corrected:
        digest.update(b"energy_corrected\0")
    digest.update(",".join(symbols).encode())
    digest.update(bytes(bool(x) for x in pbc))
    for part in (cell, positions, [energy], forces):
        digest.update(_quantise(part))
    return digest.hexdigest()


def structure_hash(symbols: Sequence[str], positions: Any, cell: Any, pbc: Sequence[bool]) -> str:
    """sha256 of a structure alone (species, positions, cell, pbc; rounded as content_hash rounds):
    the identity of a pool candidate before and after it is labelled, whatever its labels."""
    digest = hashlib.sha256(b"mlip-structure-v1\0")
    digest.update(",".join(symbols).encode())
    digest.update(bytes(bool(x) for x in pbc))
    for part in (cell, positions):
        digest.update(_quantise(part))
    return digest.hexdigest()


def atoms_hash(atoms: Any) -> str:
    """structure_hash of an ase.Atoms."""
    return structure_hash(atoms.get_chemical_symbols(), atoms.get_positions(), np.array(atoms.cell), atoms.pbc)


def record_hash(record: dict[str, Any]) -> str:
    """The content hash of a CalculationResult record (by its energy, or its energy_corrected
    when it has no energy)."""
    s = record["structure"]
    energy: Any = record.get("energy")
    corrected = energy is None
    value: float = record["energy_corrected"] if corrected else energy
    return content_hash(s["symbols"], s["positions"], s["cell"], s["pbc"], value, record["forces"], corrected)


def row_hash(row: Any) -> str:
    """The content hash of a dataset row (equal to its record's: same numbers, same rounding)."""
    atoms = row["ase_atoms"]
    energy = row.get("energy")
    corrected = energy is None or not np.isfinite(energy)
    return content_hash(
        atoms.get_chemical_symbols(),
        atoms.get_positions(),
        np.array(atoms.cell),
        atoms.pbc,
        row["energy_corrected"] if corrected else energy,
        row["forces"],
        corrected,
    )


def split_for(digest: str, test_fraction: float) -> str:
    """'test' for a fixed, hash-determined share `test_fraction` of structures, else 'train'.
    The first 52 bits of the hash as a number in [0, 1): independent of order and batch."""
    return "test" if int(digest[:13], 16) / float(1 << 52) < test_fraction else "train"
