"""Dataset rows out again: CalculationResult JSONL (the inverse of append) or extended XYZ."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mlip_trainer.atomic_io import load_dataset, write_atomically
from mlip_trainer.errors import BadInput, Problem
from mlip_trainer.frames import row_to_result
from mlip_trainer.store.hashing import SPLIT_COLUMN


def _rows_of_split(frame: pd.DataFrame, split: str) -> pd.DataFrame:
    if split == "all":
        return frame
    if SPLIT_COLUMN not in frame.columns:
        raise BadInput(
            "the dataset has no recorded split; use --split all", [Problem(-1, "--split", split, "no split column")]
        )
    return frame[frame[SPLIT_COLUMN] == split]


def export_rows(dataset: str, out: str | None, fmt: str = "jsonl", split: str = "all") -> dict[str, Any]:
    """The rows of one side of the split (or all) as CalculationResult JSONL (to `out`, or stdout
    when None) or extended XYZ."""
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
        results: dict[str, Any] = {
            "energy": float(row["energy"]),
            "forces": np.asarray(row["forces"], dtype=np.float64),
        }
        stress: Any = row.get("stress")
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
