"""The simulated descriptors: per-atom "B-projections" and a maximum-volume choice of rows.

Every projection the simulator makes, in its programs and in its stand-in pyace, is made by
``atom_projections`` looked up in this module at call time, so one wrapper here observes them all.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from pacemaker_sim.logs import log


def atom_projections(
    atoms_list: Sequence[Any], elements: Sequence[str], dims: Mapping[str, int], cutoff: float
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Per-element 'B-projections' [n_atoms(element), dims[element]] and the structure index of each row.

    Feature k of an atom: sum over neighbours j of w(species j) * exp(-((r_ij - mu_k)/sigma)^2) * fc(r_ij).
    """
    from ase.neighborlist import neighbor_list

    index = {e: i for i, e in enumerate(elements)}
    rows: dict[str, list[np.ndarray]] = {e: [] for e in elements}
    owners: dict[str, list[int]] = {e: [] for e in elements}
    for s, atoms in enumerate(atoms_list):
        symbols = atoms.get_chemical_symbols()
        species = np.array([index[x] for x in symbols], dtype=np.float64)
        i, j, d = neighbor_list("ijd", atoms, cutoff)
        weights = 1.0 + 0.37 * species[j]
        cut = 0.5 * (1.0 + np.cos(np.pi * d / cutoff)) * weights
        for element in elements:
            m = dims[element]
            centres = np.linspace(1.0, cutoff, m)
            sigma = max((cutoff - 1.0) / max(m, 1) * 1.5, 0.05)
            features = np.zeros((len(atoms), m))
            np.add.at(features, i, np.exp(-(((d[:, None] - centres[None, :]) / sigma) ** 2)) * cut[:, None])
            mine = [a for a, sym in enumerate(symbols) if sym == element]
            rows[element].append(features[mine])
            owners[element].extend([s] * len(mine))
    return (
        {e: np.vstack(rows[e]) if rows[e] else np.zeros((0, dims[e])) for e in elements},
        {e: np.array(owners[e], dtype=int) for e in elements},
    )


def maxvol_rows(matrix: np.ndarray, species: str) -> np.ndarray:
    """Greedy maximum-volume choice of n_columns rows (pivoted QR); only rows that add volume."""
    from scipy.linalg import qr

    n_rows, n_cols = matrix.shape
    if n_rows < n_cols:
        raise ValueError(
            "Insufficient atomic environments to determine active set for species type {}, "
            "system is under-determined, projections shape={}".format(species, matrix.shape)
        )
    _, r, pivots = qr(matrix.T, mode="economic", pivoting=True)
    diagonal = np.abs(np.diag(r))
    if not len(diagonal) or diagonal[0] == 0:
        return np.asarray(pivots[:0])
    contributing = diagonal > 1e-10 * diagonal[0]
    return np.asarray(pivots[:n_cols][contributing[:n_cols]])


def check_pool_elements(atoms_list: Sequence[Any], elements: Sequence[str]) -> None:
    present = {s for atoms in atoms_list for s in atoms.get_chemical_symbols()}
    missing = sorted(present - set(elements))
    if missing:
        log.error(
            f"Element(s) {missing} found in the structures are not in the potential (elements: "
            f"{list(elements)}); use a potential that has them"
        )
        raise KeyError(missing[0])
