"""The pool: the structures a selection chooses from, read from a results file or a dataset pickle."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mlip_trainer.atomic_io import load_dataset, save_dataset
from mlip_trainer.errors import BadInput, Problem
from mlip_trainer.frames import dataset_elements, results_to_dataframe
from mlip_trainer.results import read_results

POOL_SUFFIXES = (".pckl.gzip", ".pkl.gz")
RESULT_SUFFIXES = (".json", ".jsonl")


def read_pool(path: str) -> pd.DataFrame:
    """A results file or a dataset pickle -> DataFrame with an ``ase_atoms`` column and RangeIndex."""
    file = Path(path)
    if not file.is_file():
        raise BadInput(f"pool: file not found: {path}", [Problem(-1, "--pool", path, "no such file")])
    if file.name.endswith(RESULT_SUFFIXES):
        frame = results_to_dataframe(read_results([path]))
    elif file.name.endswith(POOL_SUFFIXES):
        try:
            frame = load_dataset(file)
        except Exception as exc:
            raise BadInput(
                f"pool: {path} is not a gzip-pickled pandas DataFrame: {exc}", [Problem(-1, "--pool", path, str(exc))]
            ) from None
        if not isinstance(frame, pd.DataFrame) or "ase_atoms" not in frame.columns:
            raise BadInput(
                f"pool: {path} has no ase_atoms column",
                [Problem(-1, "--pool", path, "expected a pacemaker dataset with an ase_atoms column")],
            )
    else:
        raise BadInput(
            f"pool: {path} is neither a results file (.json, .jsonl) nor a dataset pickle (.pckl.gzip, .pkl.gz)",
            [Problem(-1, "--pool", path, "unsupported file type")],
        )
    if len(frame) == 0:
        raise BadInput(f"pool: {path} holds no structures", [Problem(-1, "--pool", path, "empty pool")])
    return frame.reset_index(drop=True)


def dry_run_sample(frame: pd.DataFrame, size: int) -> pd.DataFrame:
    """The first structures with zero energies and forces: enough for ``pacemaker --dry-run`` to
    build the unfitted potential shape, which does not depend on the labels."""
    atoms = [a.copy() for a in frame["ase_atoms"].iloc[:size]]
    return pd.DataFrame(
        {
            "name": [f"dry_run_{i}" for i in range(len(atoms))],
            "ase_atoms": atoms,
            "energy": [0.0] * len(atoms),
            "forces": [np.zeros((len(a), 3)) for a in atoms],
        }
    )


def pool_summary(frame: pd.DataFrame) -> dict[str, Any]:
    """What `prepare` and `inspect` report about a pool: rows, elements, atoms."""
    return {
        "rows": len(frame),
        "elements": dataset_elements(frame),
        "natomsTotal": int(sum(len(a) for a in frame["ase_atoms"])),
    }


def prepare_pool(pool: str, out: str, sample: str | None, sample_size: int) -> dict[str, Any]:
    """The pool as pace_select reads it (gzip pickle, RangeIndex = position), and optionally a
    dry-run sample for generation 0."""
    frame = read_pool(pool)
    digest = save_dataset(frame, out)
    if sample is not None:
        save_dataset(dry_run_sample(frame, sample_size), sample)
    return {"path": out, **pool_summary(frame), "sha256": digest}


def inspect_pool(pool: str) -> dict[str, Any]:
    """What a pool holds, read the way the selection reads it (missing, unreadable or empty pools
    are bad input); nothing is written."""
    return {"path": pool, **pool_summary(read_pool(pool))}


def replicate_pool(pool: str, copies: int, rattle: float, seed: int, out: str) -> dict[str, Any]:
    """Benchmark helper: a big pool from a labelled one, each structure repeated `copies` times with
    its positions rattled by `rattle` Å (labels are carried, not recomputed: selection ignores them)."""
    frame = read_pool(pool)
    rng = np.random.default_rng(seed)
    rows = []
    for copy in range(copies):
        part = frame.copy()
        atoms = [a.copy() for a in part["ase_atoms"]]
        if copy > 0:
            for a in atoms:
                a.positions += rng.normal(0.0, rattle, size=a.positions.shape)
        part["ase_atoms"] = atoms
        part["name"] = [f"{name}_copy{copy}" for name in part["name"]]
        rows.append(part)
    big = pd.concat(rows, ignore_index=True)
    return {"out": out, "rows": len(big), "sha256": save_dataset(big, out)}
