"""Errors of a trained potential's predictions, from pacemaker's prediction pickles."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mlip_trainer.errors import BadInput, Problem


def prediction_errors(pred: str) -> dict[str, Any]:
    """Errors of a prediction pickle (train_pred/test_pred.pckl.gzip) as pacemaker computes them.

    pacemaker's pyace evaluator leaves test_metrics.txt empty, so test errors come from here:
    energy per atom against energy_corrected, forces per component; meV/atom and meV/Å.
    """
    path = Path(pred)
    if not path.exists():
        raise BadInput(f"prediction file {pred} does not exist", [Problem(-1, "--pred", pred, "no such file")])
    df = pd.read_pickle(path, compression="gzip")
    missing = [c for c in ("energy_pred", "forces_pred", "forces", "NUMBER_OF_ATOMS") if c not in df.columns]
    ref_col = "energy_corrected" if "energy_corrected" in df.columns else "energy"
    if missing or len(df) == 0:
        raise BadInput(f"{pred} is not a pacemaker prediction pickle (missing {missing or 'rows'})")
    de = (df["energy_pred"].to_numpy(float) - df[ref_col].to_numpy(float)) / df["NUMBER_OF_ATOMS"].to_numpy(float)
    df_f = np.concatenate(
        [
            np.asarray(p, float).reshape(-1) - np.asarray(r, float).reshape(-1)
            for p, r in zip(df["forces_pred"], df["forces"])
        ]
    )
    return {
        "structures": len(df),
        "energy_rmse_mev_per_atom": float(np.sqrt(np.mean(de**2)) * 1000),
        "force_rmse_mev_per_a": float(np.sqrt(np.mean(df_f**2)) * 1000) if df_f.size else 0.0,
        "energy_mae_mev_per_atom": float(np.mean(np.abs(de)) * 1000),
        "force_mae_mev_per_a": float(np.mean(np.abs(df_f)) * 1000) if df_f.size else 0.0,
    }
