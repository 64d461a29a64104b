"""The whole selection in one process (the default path): pace_select's choice by its own code,
then the fill from the projections and active set it made."""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from mlip_trainer.errors import BadInput, Problem
from mlip_trainer.readers.ase_files import parse_type_map
from mlip_trainer.selection.fill import fill_selection
from mlip_trainer.selection.memory import (
    environment_bytes_per_atom,
    memory_limit_bytes,
    pace_select_memory,
    resident_bytes,
)
from mlip_trainer.selection.pool import read_pool
from mlip_trainer.selection.projections import check_elements, pyace_projector
from mlip_trainer.selection.pyace_select import in_process_available, pyace_in_process


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
) -> dict[str, Any]:
    """The whole selection in one process: pace_select's choice by its own code, then the fill by
    gamma against the active set pace_select ended with, from the projections it already made."""
    if n <= 0:
        raise BadInput(f"n must be a positive integer (got {n})", [Problem(-1, "-n", str(n), "expected >= 1")])
    started = time.monotonic()
    if not in_process_available():
        raise InProcessUnavailable("this pacemaker has no pyace.aceselect.select_structures_maxvol")
    before = resident_bytes()
    frame = read_pool(pool, parse_type_map(type_map))
    held = max(0, resident_bytes() - before)
    project, nfuncs = pyace_projector(potential)
    check_elements(frame, nfuncs, potential, pool)
    used, warnings = _within_limit(frame, potential, nfuncs, memory_limit, held)
    indices, inverses, grades, batched = pyace_in_process(frame, potential, asi, n, used, nfuncs)
    select_seconds = time.monotonic() - started
    result = fill_selection(frame, indices, inverses, grades, project, nfuncs, asi, n, out, batch_size)
    result.update(
        {
            "mode": "in-process",
            "batched": batched,
            "underDetermined": indices is None,
            "paceSelectMemoryLimit": used,
            "warnings": warnings,
            "paceSelectSeconds": select_seconds,
            "seconds": time.monotonic() - started,
        }
    )
    return result


def _within_limit(
    frame: Any, potential: str, nfuncs: dict[str, int], memory_limit: str, held: int
) -> tuple[str, list[str]]:
    """pace_select's -mem, lowered when the pool's atomic environments would not fit in one shot
    (see mlip_trainer.selection.memory), and the warning that says so."""
    limit = memory_limit_bytes(memory_limit)
    if limit is None:
        return memory_limit, []
    from pyace import ACEBBasisSet, BBasisConfiguration

    per_atom = environment_bytes_per_atom(list(frame["ase_atoms"]), ACEBBasisSet(BBasisConfiguration(potential)))
    from ase.data import chemical_symbols

    per_z = np.bincount(np.concatenate([a.numbers for a in frame["ase_atoms"]]))
    counts = {chemical_symbols[z]: int(c) for z, c in enumerate(per_z) if c}
    mem = pace_select_memory(limit, held, counts, nfuncs, per_atom, len(frame))
    if mem is None:
        return memory_limit, []
    used = f"{max(1, mem >> 20)}MB"
    environments = per_atom * sum(counts.values()) / (1 << 20)
    return used, [
        f"the pool's atomic environments ({environments:.0f} MB) and projections would not fit the memory limit"
        f" {memory_limit} in one shot: pace_select ran with -mem {used}, in batches"
    ]
