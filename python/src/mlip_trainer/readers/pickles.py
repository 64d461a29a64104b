"""pacemaker's dataset pickles: a pandas DataFrame (gzip or plain pickle) with ``ase_atoms``,
``forces`` and ``energy`` and/or ``energy_corrected``; ``pace_collect`` output and pacemaker's
examples among them. Some were pickled as pyace's own DataFrame subclass and load only where
pyace is importable: the pacemaker installation's Python. Unpickling runs code: read only
pickles you trust, as with pacemaker itself.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from mlip_trainer.errors import BadInput, Problem
from mlip_trainer.frames import structure_of

#: What to do when a pickle needs pacemaker's Python package to load.
NEEDS_PACEMAKER = (
    "read it with the pacemaker installation's Python: set MLIP_PACEMAKER to pacemaker's bin folder"
    " (or worker.pacemaker in temporal-dev.yml, --pacemaker for `worker` and `select`)"
)


def _compression(path: Path) -> Literal["gzip"] | None:
    with open(path, "rb") as handle:
        return "gzip" if handle.read(2) == b"\x1f\x8b" else None


def load_pickle_frame(path: Path, what: str) -> pd.DataFrame:
    """The DataFrame pickled in `path` (gzip or not, told from its first bytes); BadInput naming
    the file when it is not one, and saying what to do when it needs pyace to load."""
    try:
        frame = pd.read_pickle(path, compression=_compression(path))
    except ModuleNotFoundError as exc:
        module = exc.name or str(exc)
        if module.split(".")[0] in ("pyace", "tensorpotential"):
            raise BadInput(
                f"{what} {path} needs pacemaker's Python package to load (ModuleNotFoundError: No module"
                f" named {module!r}: it was pickled by pacemaker); {NEEDS_PACEMAKER}",
                [Problem(-1, "(file)", str(path), f"needs {module} to unpickle", str(path), None)],
            ) from None
        raise BadInput(f"{what} {path} needs the Python module {module!r} to load, which this Python lacks") from None
    except Exception as exc:  # gzip, pickle and pandas raise many kinds; all mean "not a DataFrame pickle"
        raise BadInput(
            f"{what} {path} is not a gzip-pickled pandas DataFrame ({type(exc).__name__}: {exc})",
            [Problem(-1, "(file)", str(path), f"{type(exc).__name__}: {exc}", str(path), None)],
        ) from None
    if not isinstance(frame, pd.DataFrame):
        raise BadInput(f"{what} {path} holds a pickled {type(frame).__name__}, not a pandas DataFrame")
    if "ase_atoms" not in frame.columns:
        raise BadInput(
            f"{what} {path} has no ase_atoms column (its columns: {', '.join(map(str, frame.columns))})",
            [
                Problem(
                    -1, "(file)", str(path), "expected a pacemaker dataset with an ase_atoms column", str(path), None
                )
            ],
        )
    return frame


def _number(value: Any) -> float | None:
    """A float for a finite or non-finite number (validation reports the latter), None for a
    missing one (None or NaN, pandas' "no value")."""
    if value is None or isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(number) else number


def _cell(value: Any) -> Any:
    """The cell as validation should see it: a float, or the value itself when it is no number
    (a string, NaN), so the error shows what the pickle holds."""
    number = _number(value)
    return number if number is not None else (None if value is None else value)


def _array(value: Any) -> Any:
    """A nested list for an array-like cell, None for a missing one."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    try:
        return np.asarray(value, dtype=np.float64).tolist()
    except (TypeError, ValueError):
        return value  # validation names it


def pickle_records(frame: pd.DataFrame, path: Path) -> Iterator[dict[str, Any]]:
    """The rows of a pacemaker dataset as CalculationResult records. A row with ``energy`` is a
    total-energy result (a ``energy_corrected`` beside it is not read: the campaign recomputes
    it from its own reference energies, as pacemaker does with ``data.reference_energy``); a row
    with only ``energy_corrected`` keeps it as such."""
    if "forces" not in frame.columns or not ({"energy", "energy_corrected"} & set(frame.columns)):
        missing = [c for c in ("forces", "energy or energy_corrected") if c.split(" ")[0] not in frame.columns]
        raise BadInput(
            f"{path}: a pacemaker dataset needs the columns ase_atoms, forces and energy or energy_corrected;"
            f" it lacks {', '.join(missing)} (its columns: {', '.join(map(str, frame.columns))})",
            [Problem(-1, "(file)", str(path), f"missing column(s) {missing}", str(path), None)],
        )
    columns = set(frame.columns)
    for position, (_, row) in enumerate(frame.iterrows()):
        atoms = row["ase_atoms"]
        energy = _number(row["energy"]) if "energy" in columns else None
        record: dict[str, Any] = {
            # Not an ase.Atoms: validation names the value the column holds.
            "structure": structure_of(atoms) if hasattr(atoms, "get_chemical_symbols") else atoms,
            "energy": energy,
            "forces": _array(row["forces"]),
        }
        corrected = _number(row["energy_corrected"]) if "energy_corrected" in columns else None
        if energy is None and corrected is not None:
            del record["energy"]
            record["energy_corrected"] = corrected
        elif energy is None and "energy" in columns:
            # Neither is a number: validation reports what the row holds (NaN, a string, nothing).
            record["energy"] = _cell(row["energy"])
        elif energy is None:
            del record["energy"]
            record["energy_corrected"] = _cell(row["energy_corrected"])
        for column in ("stress", "virial"):
            if column in columns and (value := _array(row[column])) is not None:
                record[column] = value
        name = row["name"] if "name" in columns else None
        record["name"] = name if isinstance(name, str) and name else f"{path.name}#{position}"
        yield record
