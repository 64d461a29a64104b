"""Errors of a trained potential's predictions, from pacemaker's prediction pickles."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mlip_trainer.errors import BadInput, Problem


def _errors(de: Any, df_f: Any, structures: int) -> dict[str, Any]:
    return {
        "structures": structures,
        "energy_rmse_mev_per_atom": float(np.sqrt(np.mean(de**2)) * 1000),
        "force_rmse_mev_per_a": float(np.sqrt(np.mean(df_f**2)) * 1000) if df_f.size else 0.0,
        "energy_mae_mev_per_atom": float(np.mean(np.abs(de)) * 1000),
        "force_mae_mev_per_a": float(np.mean(np.abs(df_f)) * 1000) if df_f.size else 0.0,
    }


def prediction_errors(pred: str, by_category: bool = False) -> dict[str, Any]:
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
    per_structure = [
        np.asarray(p, float).reshape(-1) - np.asarray(r, float).reshape(-1)
        for p, r in zip(df["forces_pred"], df["forces"])
    ]
    answer = _errors(de, np.concatenate(per_structure) if per_structure else np.zeros(0), len(df))
    if by_category:
        # Names `<category>/<rest>` (the exploration pool's): errors per category, for a
        # benchmark that asks where a potential is poor, not only how poor on average.
        names = [str(n) for n in df["name"]] if "name" in df.columns else [""] * len(df)
        categories = [n.split("/", 1)[0] if "/" in n else "(none)" for n in names]
        answer["categories"] = {
            c: _errors(
                de[[i for i, k in enumerate(categories) if k == c]],
                np.concatenate([per_structure[i] for i, k in enumerate(categories) if k == c]),
                categories.count(c),
            )
            for c in sorted(set(categories))
        }
    return answer
