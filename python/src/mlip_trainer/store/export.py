"""Dataset rows out again, each format read back by `append` as the same results (same content
hashes): CalculationResult JSONL, extended XYZ, or a pacemaker dataset pickle (which, added to a
fresh campaign with the same test_size, gives the same dataset file, byte for byte)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mlip_trainer.atomic_io import load_dataset, save_dataset, write_atomically
from mlip_trainer.errors import BadInput, Problem
from mlip_trainer.frames import CORRECTED, row_to_result
from mlip_trainer.store.hashing import HASH_COLUMN, SPLIT_COLUMN

#: `--format` values: CalculationResult JSONL, extended XYZ, pacemaker's gzip pickle.
FORMATS = ("jsonl", "extxyz", "pacemaker")


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
    when None), extended XYZ or a pacemaker pickle."""
    path = Path(dataset)
    if not path.is_file():
        raise BadInput(f"dataset not found: {path}", [Problem(-1, "--dataset", str(path), "no such file")])
    if out is not None and Path(out).is_dir():
        raise BadInput(f"--out {out} is a directory; give a file name", [Problem(-1, "--out", out, "is a directory")])
    frame = _rows_of_split(load_dataset(path), split)
    if fmt in ("extxyz", "pacemaker"):
        if out is None:
            raise BadInput(f"--format {fmt} needs --out FILE", [Problem(-1, "--out", "None", f"required for {fmt}")])
        rows = _export_extxyz(frame, Path(out)) if fmt == "extxyz" else _export_pickle(frame, Path(out))
        return {"rows": rows, "out": out, "format": fmt}
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
        results: dict[str, Any] = {"forces": np.asarray(row["forces"], dtype=np.float64)}
        energy = float(row["energy"])
        if np.isfinite(energy):
            results["energy"] = energy
        else:
            # Known only by its corrected energy: not a calculator's energy, so it goes in the
            # frame's info, where `dataset add` reads it back as energy_corrected.
            atoms.info[CORRECTED] = float(row[CORRECTED])
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


def _export_pickle(frame: pd.DataFrame, out: Path) -> int:
    """Rows -> pacemaker's dataset pickle: name, ase_atoms, energy (when any row has it), forces,
    stress, virial, energy_corrected (when the dataset has it), without this project's hash and
    split columns; gzip, protocol 4, as pacemaker writes and reads it."""
    columns = [c for c in frame.columns if c not in (HASH_COLUMN, SPLIT_COLUMN)]
    if frame["energy"].isna().all():
        columns.remove("energy")
    save_dataset(frame[columns].reset_index(drop=True), out)
    return len(frame)
