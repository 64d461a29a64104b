"""The program path: the pace_select program runs, and this process works beside it."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import numpy as np

from mlip_trainer.arrays import FloatArray, IndexArray
from mlip_trainer.errors import BadInput, Problem
from mlip_trainer.selection.fill import finish_selection
from mlip_trainer.selection.gamma import structure_gamma
from mlip_trainer.selection.pool import read_pool
from mlip_trainer.selection.projections import check_elements, pyace_projector
from mlip_trainer.selection.strategy import Strategy


def wait_for(marker: Path) -> dict[str, Any] | None:
    """The marker's JSON once the caller has written it (atomically), else None."""
    if not marker.exists():
        return None
    status: dict[str, Any] = json.loads(marker.read_text())
    return status


def run_beside_program(
    pool: str,
    selected: str,
    done: str,
    potential: str,
    asi: str | None,
    n: int,
    out: str,
    batch_size: int,
    memory_limit: int | None = None,
    strategy: Strategy | None = None,
) -> dict[str, Any]:
    """Everything after pace_select in one process that runs beside it: load and check the pool,
    project it batch by batch while pace_select works (stopping early once the caller's marker
    says pace_select found enough), then wait for the marker and finish. One interpreter start,
    one pool load, and the projections overlap pace_select's own instead of following them."""
    strategy = strategy or Strategy()
    strategy.check(n)
    if strategy.thresholds:
        raise BadInput(
            "gamma thresholds need the in-process selection (the pace_select program reads the whole pool)",
            [Problem(-1, "--gamma-min/--gamma-max", f"{strategy.gamma_min}/{strategy.gamma_max}", "in-process only")],
        )
    frame = read_pool(pool)
    project, nfuncs = pyace_projector(potential)
    check_elements(frame, nfuncs, potential, pool)
    marker = Path(done)
    wanted = min(n - strategy.random_count, len(frame))
    atoms_list = list(frame["ase_atoms"])
    parts: dict[str, list[FloatArray]] = {e: [] for e in nfuncs}
    owner_parts: dict[str, list[IndexArray]] = {e: [] for e in nfuncs}
    # Keep the pool's projections only while they fit in a quarter of the memory limit (float64,
    # [atoms, functions] per element); above it the fill recomputes them batch by batch instead.
    counts: dict[str, int] = dict.fromkeys(nfuncs, 0)
    for atoms in atoms_list:
        for symbol in atoms.get_chemical_symbols():
            counts[symbol] += 1
    needed = sum(counts[e] * nfuncs[e] * 8 for e in nfuncs)
    complete = memory_limit is None or needed <= memory_limit // 4
    for start in range(0, len(atoms_list) if complete else 0, batch_size):
        status = wait_for(marker)
        if status is not None and status.get("ok") and int(status.get("returned", 0)) >= wanted:
            complete = False  # pace_select alone supplies n: the pool's grades are not needed
            break
        proj, owners = project(atoms_list[start : start + batch_size])
        for element, matrix in proj.items():
            parts[element].append(matrix)
            owner_parts[element].append(owners[element] + start)
    while (status := wait_for(marker)) is None:
        time.sleep(0.05)
    of = None
    if complete:
        proj_all = {e: np.vstack(v) if v else np.zeros((0, nfuncs[e])) for e, v in parts.items()}
        own_all = {e: np.hstack(v) if v else np.zeros(0, dtype=np.int64) for e, v in owner_parts.items()}
        del parts, owner_parts
        of = lambda inverses: structure_gamma(proj_all, own_all, inverses, len(frame))  # noqa: E731
    chosen = selected if status.get("ok") and Path(selected).exists() else None
    return finish_selection(frame, chosen, project, nfuncs, asi, n, out, batch_size, of, strategy)
