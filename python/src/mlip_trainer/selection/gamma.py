"""Active sets and extrapolation grades (gamma)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from mlip_trainer.arrays import FloatArray, IndexArray
from mlip_trainer.errors import BadInput, Problem
from mlip_trainer.selection.types import Inverses, Owners, ProjectFn, Projections


def maxvol_rows(matrix: FloatArray, count: int) -> IndexArray:
    """Greedy maximum-volume choice of `count` rows (column-pivoted QR of the transpose)."""
    from scipy.linalg import qr

    _, _, pivots = qr(matrix.T, mode="economic", pivoting=True)
    return np.sort(pivots[:count])


def active_set_inverses(nfuncs: dict[str, int], asi: str | None, chosen: Projections) -> Inverses:
    """Per element, the (pseudo-)inverse of the current active set, ``[nfuncs, rows]``; None when
    the element has neither an ASI nor chosen atoms."""
    stored: dict[str, FloatArray] = {}
    if asi is not None:
        data = np.load(asi)
        for element in data:
            inverse = np.asarray(data[element], dtype=np.float64)
            if element in nfuncs and inverse.shape[0] != nfuncs[element]:
                raise BadInput(
                    f"active set {asi}: element {element} has shape {inverse.shape} but the potential has "
                    f"{nfuncs[element]} functions; recompute it with pace_activeset for this potential",
                    [Problem(-1, "--asi", asi, "does not match the potential")],
                )
            stored[element] = np.linalg.pinv(inverse)  # the active set rows themselves
    inverses: Inverses = {}
    for element, n in nfuncs.items():
        parts = [m for m in (stored.get(element), chosen.get(element)) if m is not None and len(m)]
        if not parts:
            inverses[element] = None
            continue
        rows = np.vstack(parts)
        if len(rows) > n:
            rows = rows[maxvol_rows(rows, n)]
        inverses[element] = np.linalg.pinv(rows)
    return inverses


def structure_gamma(
    proj: Projections, owners: Owners, inverses: Inverses, n_structures: int, offset: int = 0
) -> FloatArray:
    """Largest per-atom gamma of every structure (index - offset); inf where an element has no active set."""
    gamma = np.zeros(n_structures)
    for element, matrix in proj.items():
        if len(matrix) == 0:
            continue
        inverse = inverses.get(element)
        owner = np.asarray(owners[element]) - offset
        if inverse is None:
            np.maximum.at(gamma, owner, np.inf)
            continue
        for start in range(0, len(matrix), 65536):  # bounded temporary: 64k atoms at a time
            block = np.abs(np.asarray(matrix[start : start + 65536]) @ inverse).max(axis=1)
            np.maximum.at(gamma, owner[start : start + 65536], block)
    return gamma


def pool_gamma_by_batches(
    atoms_list: Sequence[Any], project: ProjectFn, inverses: Inverses, batch_size: int
) -> FloatArray:
    """Grades of every structure, projected `batch_size` structures at a time: memory is bounded
    by one batch of projections."""
    gamma = np.zeros(len(atoms_list))
    for start in range(0, len(atoms_list), batch_size):
        batch = atoms_list[start : start + batch_size]
        proj, owners = project(batch)
        gamma[start : start + len(batch)] = structure_gamma(proj, owners, inverses, len(batch))
    return gamma


def finite_or_none(value: float) -> float | None:
    """JSON has no infinity: an unbounded grade (no active set) is reported as null."""
    return float(value) if math.isfinite(value) else None


def gamma_stats(values: FloatArray) -> dict[str, Any] | None:
    """min, max, mean and median of grades (finite ones for the last two), how many exceed 1, how many are unbounded."""
    finite = values[np.isfinite(values)]
    if len(values) == 0:
        return None
    return {
        "min": finite_or_none(float(np.min(values))),
        "max": finite_or_none(float(np.max(values))),
        "mean": float(np.mean(finite)) if len(finite) else None,
        "median": float(np.median(finite)) if len(finite) else None,
        "aboveOne": int(np.sum(values > 1.0)),
        "noActiveSet": int(np.sum(~np.isfinite(values))),
    }
