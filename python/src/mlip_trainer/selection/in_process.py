"""The whole selection in one process (the default path): pace_select's choice by its own code,
then the fill from the projections and active set it made."""

from __future__ import annotations

import time
from typing import Any

from mlip_trainer.errors import BadInput, Problem
from mlip_trainer.readers.ase_files import parse_type_map
from mlip_trainer.selection.fill import fill_selection
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
    frame = read_pool(pool, parse_type_map(type_map))
    project, nfuncs = pyace_projector(potential)
    check_elements(frame, nfuncs, potential, pool)
    indices, inverses, grades, batched = pyace_in_process(frame, potential, asi, n, memory_limit, nfuncs)
    select_seconds = time.monotonic() - started
    result = fill_selection(frame, indices, inverses, grades, project, nfuncs, asi, n, out, batch_size)
    result.update(
        {
            "mode": "in-process",
            "batched": batched,
            "underDetermined": indices is None,
            "paceSelectSeconds": select_seconds,
            "seconds": time.monotonic() - started,
        }
    )
    return result
