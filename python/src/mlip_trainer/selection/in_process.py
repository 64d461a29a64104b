"""The whole selection in one process (the default path): pace_select's choice by its own code,
then the fill from the projections and active set it made."""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from mlip_trainer.errors import BadInput, Problem
from mlip_trainer.readers.ase_files import parse_type_map
from mlip_trainer.selection.fill import fill_selection
from mlip_trainer.selection.lazy_environments import environments_on_demand
from mlip_trainer.selection.memory import (
    environment_bytes_per_atom,
    environments_fit,
    memory_limit_bytes,
    resident_bytes,
)
from mlip_trainer.selection.pool import read_pool
from mlip_trainer.selection.projections import check_elements, pyace_projector
from mlip_trainer.selection.pyace_select import in_process_available, pyace_in_process
from mlip_trainer.selection.strategy import Strategy, candidates


class InProcessUnavailable(Exception):
    """This pyace has no ``pyace.aceselect.select_structures_maxvol`` (pace_select before Nov 2023
    kept its code in the program): the caller runs the pace_select program instead."""


def select_in_process(
    pool: str,
    potential: str,
    asi: str | None,
    n: int,
    out: str,
    batch_size: int,
    memory_limit: str,
    type_map: str | None = None,
    strategy: Strategy | None = None,
) -> dict[str, Any]:
    """The whole selection in one process: pace_select's choice by its own code, then the fill by
    gamma against the active set pace_select ended with, from the projections it already made.

    With a `strategy` (see :mod:`.strategy`): only the candidates under its gamma thresholds are
    selected from, and its ``random_count`` of the n are drawn at random after the rest."""
    if n <= 0:
        raise BadInput(f"n must be a positive integer (got {n})", [Problem(-1, "-n", str(n), "expected >= 1")])
    strategy = strategy or Strategy()
    strategy.check(n)
    started = time.monotonic()
    if not in_process_available():
        raise InProcessUnavailable("this pacemaker has no pyace.aceselect.select_structures_maxvol")
    before = resident_bytes()
    frame = read_pool(pool, parse_type_map(type_map))
    held = max(0, resident_bytes() - before)
    project, nfuncs = pyace_projector(potential)
    check_elements(frame, nfuncs, potential, pool)
    view, strategy_warnings = candidates(list(frame["ase_atoms"]), project, nfuncs, asi, strategy, batch_size)
    if view is not None:
        if len(view.positions) == 0:
            low, high = float(view.grades.min()), float(view.grades.max())
            raise BadInput(
                f"gamma thresholds: no structure of the pool {pool} has a grade within [{strategy.gamma_min},"
                f" {strategy.gamma_max}] (its grades: {low:.3g} to {high:.3g}); widen gammaMin/gammaMax",
                [Problem(-1, "--gamma-min/--gamma-max", f"{strategy.gamma_min}/{strategy.gamma_max}", "no candidates")],
            )
        frame = frame.iloc[view.positions].reset_index(drop=True)
    warnings = _environment_warnings(frame, potential, nfuncs, memory_limit, held)
    by_model = n - strategy.random_count
    if not warnings:
        indices, inverses, grades, batched = pyace_in_process(frame, potential, asi, by_model, memory_limit, nfuncs)
    else:
        with environments_on_demand():
            indices, inverses, grades, batched = pyace_in_process(frame, potential, asi, by_model, memory_limit, nfuncs)
    select_seconds = time.monotonic() - started
    result = fill_selection(
        frame, indices, inverses, grades, project, nfuncs, asi, n, out, batch_size, None, strategy, view
    )
    warnings = strategy_warnings + warnings
    result.update(
        {
            "mode": "in-process",
            "batched": batched,
            "underDetermined": indices is None,
            "environmentsOnDemand": bool(warnings),
            "warnings": warnings,
            "paceSelectSeconds": select_seconds,
            "seconds": time.monotonic() - started,
        }
    )
    return result


def _environment_warnings(
    frame: Any, potential: str, nfuncs: dict[str, int], memory_limit: str, held: int
) -> list[str]:
    """[] when the pool's atomic environments fit the memory limit all at once, as pyace makes
    them (see mlip_trainer.selection.memory); else the warning that they are made on demand."""
    limit = memory_limit_bytes(memory_limit)
    if limit is None:
        return []
    from ase.data import chemical_symbols
    from pyace import ACEBBasisSet, BBasisConfiguration

    per_atom = environment_bytes_per_atom(list(frame["ase_atoms"]), ACEBBasisSet(BBasisConfiguration(potential)))
    per_z = np.bincount(np.concatenate([a.numbers for a in frame["ase_atoms"]]))
    counts = {chemical_symbols[z]: int(c) for z, c in enumerate(per_z) if c}
    if environments_fit(limit, held, counts, nfuncs, per_atom):
        return []
    environments = per_atom * sum(counts.values()) / (1 << 20)
    return [
        f"the pool's atomic environments ({environments:.0f} MB, which pyace makes for every structure before"
        f" selecting) would not fit the memory limit {memory_limit}: they were made one structure at a time as"
        " pace_select's code went over the pool (the same choice; batch mode's passes convert again)"
    ]
