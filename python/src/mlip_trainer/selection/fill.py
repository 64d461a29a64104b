"""The fill: pace_select's choice, completed up to n by the largest extrapolation grade."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mlip_trainer.arrays import FloatArray
from mlip_trainer.atomic_io import save_dataset, write_json_atomically
from mlip_trainer.errors import BadInput, Problem
from mlip_trainer.selection.gamma import (
    active_set_inverses,
    finite_or_none,
    gamma_stats,
    pool_gamma_by_batches,
    structure_gamma,
)
from mlip_trainer.selection.strategy import Candidates, Strategy, random_picks
from mlip_trainer.selection.types import Inverses, Owners, PoolGammaFn, ProjectFn, Projections


def finish_selection(
    frame: pd.DataFrame,
    selected: str | None,
    project: ProjectFn,
    nfuncs: dict[str, int],
    asi: str | None,
    n: int,
    out: str,
    batch_size: int,
    pool_gamma_of: PoolGammaFn | None,
    strategy: Strategy | None = None,
) -> dict[str, Any]:
    """pace_select's choice (its -o file `selected`, or nothing), filled up to n by the largest gamma.

    `pool_gamma_of(inverses)` computes the pool's grades from projections already made; without
    it they are computed here, batch by batch."""
    if n <= 0:
        raise BadInput(f"n must be a positive integer (got {n})", [Problem(-1, "-n", str(n), "expected >= 1")])
    # No file: pace_select could not choose (e.g. under-determined); everything is ranked by gamma.
    picked = pd.read_pickle(selected, compression="infer") if selected is not None else pd.DataFrame()
    by_pace = [int(i) for i in picked.index]
    return fill_selection(
        frame, by_pace, None, pool_gamma_of, project, nfuncs, asi, n, out, batch_size, selected, strategy
    )


def fill_selection(
    frame: pd.DataFrame,
    by_pace: list[int] | None,
    inverses: Inverses | None,
    pool_gamma_of: PoolGammaFn | None,
    project: ProjectFn,
    nfuncs: dict[str, int],
    asi: str | None,
    n: int,
    out: str,
    batch_size: int,
    source: str | None = None,
    strategy: Strategy | None = None,
    view: Candidates | None = None,
) -> dict[str, Any]:
    """pace_select's choice `by_pace` (pool positions; None or [] when it chose nothing), filled up
    to n by the largest extrapolation grade against `inverses` (the active set pace_select ended
    with) or, when those are unknown, against the .asi extended by the chosen structures' atoms.

    With a `strategy`, ``random_count`` of the n are drawn at random from what is left (the rest,
    n - random_count, by pace_select and the fill). With a `view`, `frame` holds only the
    candidates under the gamma thresholds (``view.positions``: their pool positions): what is
    returned and written is in pool positions, and the pool's grades cover the whole pool (those
    left out: their grade before selecting)."""
    started = time.monotonic()
    strategy = strategy or Strategy()  # checked by the callers (select_in_process, run_beside_program)
    n_random = strategy.random_count
    n = n - n_random
    n_pool = len(frame)
    by_pace = list(by_pace or [])
    bad = [i for i in by_pace if not 0 <= i < n_pool]
    if bad:
        raise ValueError(
            f"{source or 'pace_select'}: pace_select returned indices {bad[:5]} outside the pool of {n_pool}"
        )
    returned = len(by_pace)
    by_pace = list(dict.fromkeys(by_pace))[:n]
    atoms_list = list(frame["ase_atoms"])
    chosen: tuple[Projections, Owners] | None = None
    if inverses is None:
        chosen = project([atoms_list[i] for i in by_pace]) if by_pace else ({}, {})
        inverses = active_set_inverses(nfuncs, asi, chosen[0])

    fill: list[int] = []
    pool_gamma: FloatArray | None = None
    if len(by_pace) < min(n, n_pool):
        if pool_gamma_of is not None:
            grades = pool_gamma_of(inverses)
        else:
            grades = pool_gamma_by_batches(atoms_list, project, inverses, batch_size)
        pool_gamma = grades
        taken = set(by_pace)
        # Largest gamma first; ties (e.g. equal grades) by pool position, so the choice is stable.
        order = sorted((i for i in range(n_pool) if i not in taken), key=lambda i: (-grades[i], i))
        fill = order[: min(n, n_pool) - len(by_pace)]

    randomly = random_picks(n_pool, by_pace + fill, n_random, strategy.seed)
    indices = by_pace + fill + randomly
    if pool_gamma is None and pool_gamma_of is not None:
        pool_gamma = pool_gamma_of(inverses)  # projections already at hand: no new work
    if pool_gamma is None and randomly:
        pool_gamma = pool_gamma_by_batches(atoms_list, project, inverses, batch_size)
    if pool_gamma is not None:
        gamma = pool_gamma[indices]
    else:
        if chosen is None:
            chosen = project([atoms_list[i] for i in by_pace]) if by_pace else ({}, {})
        gamma = structure_gamma(chosen[0], chosen[1], inverses, len(by_pace))
    chosen_by = ["pace_select"] * len(by_pace) + ["gamma"] * len(fill) + ["random"] * len(randomly)
    selected_rows = frame.iloc[indices]
    if view is not None:
        # Back to pool positions: the candidates were a part of the pool.
        indices = [int(view.positions[i]) for i in indices]
        selected_rows = selected_rows.copy()
        selected_rows.index = pd.Index(indices)
        if pool_gamma is not None:
            whole = np.array(view.grades, dtype=np.float64)
            whole[view.positions] = pool_gamma
            pool_gamma = whole
        n_pool = len(view.grades)
    digest = save_dataset(selected_rows, out)
    gamma_file = write_pool_gamma(out, pool_gamma, indices, chosen_by) if pool_gamma is not None else None
    return {
        "indices": indices,
        "chosenBy": chosen_by,
        "gammaMax": [finite_or_none(g) for g in gamma],
        "counts": {"pace_select": len(by_pace), "gamma": len(fill), "random": len(randomly)},
        "candidates": None if view is None else {"kept": len(view.positions), "below": view.below, "above": view.above},
        "paceSelectReturned": returned,
        "gamma": gamma_stats(np.asarray(gamma, dtype=np.float64)),
        "poolGamma": gamma_stats(pool_gamma) if pool_gamma is not None else None,
        "poolGammaFile": gamma_file,
        "poolSize": n_pool,
        "out": out,
        "sha256": digest,
        "seconds": time.monotonic() - started,
    }


def write_pool_gamma(out: str, pool_gamma: FloatArray, indices: list[int], chosen_by: list[str]) -> str:
    """``pool_gamma.json`` beside the selected structures: every pool structure's largest grade
    against the active set the selection ended with (null: an element without an active set), and
    which were chosen how, so a report can show the pool against the selected structures."""
    path = Path(out).parent / "pool_gamma.json"
    write_json_atomically(
        path,
        {
            "gammaMax": [finite_or_none(g) for g in pool_gamma],
            "selected": [int(i) for i in indices],
            "chosenBy": chosen_by,
        },
    )
    return str(path)
