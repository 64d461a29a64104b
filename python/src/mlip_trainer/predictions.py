"""A potential's predictions on a data set, as arrays a report can plot: parity and error
distributions, overall and per element.

pacemaker's prediction pickles (``train_pred.pckl.gzip``, ``test_pred.pckl.gzip``) hold the
data set's columns without ``ase_atoms``, plus ``energy_pred`` and ``forces_pred``. The element
of each force row therefore comes from the data set the predictions were made on (the dataset
store's ``mlip_hash`` column joins the two), or, when that is not at hand, stays unknown.

Errors are computed from every row, as :func:`mlip_trainer.metrics.prediction_errors` computes
them (so they match the artifact's recomputed test errors); the plotted force components are a
deterministic sample when there are more than ``max_points`` of them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mlip_trainer.arrays import FloatArray
from mlip_trainer.atomic_io import load_dataset, write_json_atomically
from mlip_trainer.errors import BadInput, Problem
from mlip_trainer.metrics import prediction_errors
from mlip_trainer.store.hashing import HASH_COLUMN

#: Label of force rows whose element is not known (no data set to join with).
UNKNOWN_ELEMENT = "?"


def _symbols_by_row(pred: pd.DataFrame, structures: str | None) -> list[list[str]] | None:
    """Per prediction row, the chemical symbols of its atoms, from the data set; None if unknown."""
    if structures is None or not Path(structures).exists():
        return None
    data = load_dataset(structures)
    if "ase_atoms" not in data.columns:
        return None
    if HASH_COLUMN in pred.columns and HASH_COLUMN in data.columns:
        by_hash = dict(zip(data[HASH_COLUMN], data["ase_atoms"]))
        found = [by_hash.get(h) for h in pred[HASH_COLUMN]]
        if any(a is None for a in found):
            return None
        return [list(a.get_chemical_symbols()) for a in found if a is not None]
    # No hash column: the rows are the data set's own rows, in order, only if the sizes agree.
    if len(data) == len(pred) and all(len(a) == int(n) for a, n in zip(data["ase_atoms"], pred["NUMBER_OF_ATOMS"])):
        return [list(a.get_chemical_symbols()) for a in data["ase_atoms"]]
    return None


def _rms(values: FloatArray) -> float:
    return float(np.sqrt(np.mean(values**2))) if values.size else 0.0


def prediction_arrays(
    pred: str, out: str, structures: str | None = None, max_points: int = 20000, seed: int = 0
) -> dict[str, Any]:
    """Writes ``out`` (JSON) with the parity and error arrays of a prediction pickle; returns a
    summary of it.

    ``out`` holds ``energy`` (per structure: reference and predicted energy, eV/atom, and atom
    count; reference = ``energy_corrected`` when present, as pacemaker fits it), ``forces`` (per
    sampled component: element, reference and predicted force, eV/Å) and ``errors`` (RMSE and
    MAE from all rows, meV/atom and meV/Å, also per element)."""
    errors = prediction_errors(pred)  # also checks the file and its columns
    if max_points < 1:
        raise BadInput("--max-points must be >= 1", [Problem(-1, "--max-points", str(max_points), "expected >= 1")])
    frame = pd.read_pickle(pred, compression="gzip")
    ref_col = "energy_corrected" if "energy_corrected" in frame.columns else "energy"
    natoms = frame["NUMBER_OF_ATOMS"].to_numpy(float)
    e_ref = frame[ref_col].to_numpy(float) / natoms
    e_pred = frame["energy_pred"].to_numpy(float) / natoms
    symbols = _symbols_by_row(frame, structures)
    f_ref_rows = [np.asarray(f, float).reshape(-1, 3) for f in frame["forces"]]
    f_pred_rows = [np.asarray(f, float).reshape(-1, 3) for f in frame["forces_pred"]]
    f_ref = np.concatenate([r.reshape(-1) for r in f_ref_rows]) if f_ref_rows else np.zeros(0)
    f_pred = np.concatenate([r.reshape(-1) for r in f_pred_rows]) if f_pred_rows else np.zeros(0)
    if symbols is not None:
        element = np.array([s for row in symbols for s in row for _ in range(3)], dtype=object)
    else:
        element = np.full(f_ref.size, UNKNOWN_ELEMENT, dtype=object)
    if element.size != f_ref.size:
        element = np.full(f_ref.size, UNKNOWN_ELEMENT, dtype=object)

    per_element: dict[str, dict[str, float | int]] = {}
    for el in sorted(set(element.tolist())):
        mask = element == el
        diff = f_pred[mask] - f_ref[mask]
        per_element[str(el)] = {
            "force_rmse_mev_per_a": _rms(diff) * 1000,
            "force_mae_mev_per_a": float(np.mean(np.abs(diff)) * 1000) if diff.size else 0.0,
            "components": int(mask.sum()),
            "atoms": int(mask.sum() // 3),
        }

    picked = np.arange(f_ref.size)
    if f_ref.size > max_points:
        picked = np.sort(np.random.default_rng(seed).choice(f_ref.size, size=max_points, replace=False))
    errors_out: dict[str, Any] = {
        "energy_rmse_mev_per_atom": errors["energy_rmse_mev_per_atom"],
        "energy_mae_mev_per_atom": errors["energy_mae_mev_per_atom"],
        "force_rmse_mev_per_a": errors["force_rmse_mev_per_a"],
        "force_mae_mev_per_a": errors["force_mae_mev_per_a"],
    }
    document: dict[str, Any] = {
        "source": str(Path(pred).resolve()),
        "reference": ref_col,
        "structures": len(frame),
        "atoms": int(natoms.sum()),
        "elementsKnown": symbols is not None,
        "energy": {
            "reference": e_ref.tolist(),
            "predicted": e_pred.tolist(),
            "natoms": [int(n) for n in natoms],
        },
        "forces": {
            "element": [str(e) for e in element[picked]],
            "reference": f_ref[picked].tolist(),
            "predicted": f_pred[picked].tolist(),
            "sampled": int(picked.size),
            "total": int(f_ref.size),
        },
        "errors": {**errors_out, "perElement": per_element},
    }
    write_json_atomically(Path(out), document)
    return {
        "out": str(Path(out).resolve()),
        "structures": document["structures"],
        "atoms": document["atoms"],
        "elements": sorted(per_element),
        "elementsKnown": symbols is not None,
        "forcesSampled": int(picked.size),
        "forcesTotal": int(f_ref.size),
        **errors_out,
    }
