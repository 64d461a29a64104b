"""pace_select's own selection function (pyace.aceselect.select_structures_maxvol), run in this
process and observed, so the fill reuses its projections and active set."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any, Callable

import numpy as np
import pandas as pd

from mlip_trainer.arrays import FloatArray
from mlip_trainer.selection.batch_grades import BatchGrades
from mlip_trainer.selection.gamma import structure_gamma
from mlip_trainer.selection.types import InProcessOutcome, Inverses

#: pace_select's (and pace_activeset's) message when the pool has too few atoms for the basis.
UNDER_DETERMINED = "system is under-determined"


def observed_maxvol_selection(
    module: Any, call: Callable[[], pd.DataFrame], batch_grades: BatchGrades | None = None
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Runs `call` (pace_select's selection function in `module`) while watching the functions it
    calls by name: the pool's B-projections it computed (single-shot mode) and the active set it
    ended with. The choice is exactly pace_select's, because it is pace_select's code; what is
    observed lets the gamma fill reuse its work instead of projecting the pool again."""
    seen: dict[str, Any] = {"batch_grades": batch_grades}
    originals = {
        name: getattr(module, name)
        for name in ("compute_B_projections", "compute_active_set", "compute_active_set_by_batches")
    }

    def projections(*args: Any, **kwargs: Any) -> Any:
        result = originals["compute_B_projections"](*args, **kwargs)
        if isinstance(result, tuple) and len(result) >= 2:
            # Shallow copies: compute_active_set replaces the dict's entries (the pool stacked
            # with the .asi rows); the arrays themselves are the pool's.
            seen["projections"] = (dict(result[0]), dict(result[1]))
        return result

    def active_set(*args: Any, **kwargs: Any) -> Any:
        result = originals["compute_active_set"](*args, **kwargs)
        seen["active_set"] = result[0] if isinstance(result, tuple) else result
        return result

    def active_set_by_batches(*args: Any, **kwargs: Any) -> Any:
        result = originals["compute_active_set_by_batches"](*args, **kwargs)
        seen["active_set"] = result[1]
        seen["batched"] = True
        return result

    restore: Callable[[], None] = lambda: None  # noqa: E731
    try:
        module.compute_B_projections = projections
        module.compute_active_set = active_set
        module.compute_active_set_by_batches = active_set_by_batches
        restore = watch_batch_grades(seen)
        return call(), seen
    finally:
        for name, fn in originals.items():
            setattr(module, name, fn)
        restore()


def watch_batch_grades(seen: dict[str, Any]) -> Callable[[], None]:
    """In pyace.activelearning (where batch mode's functions look their helpers up): each grade
    pass over the pool, and the projections of its batches, go to a BatchGrades in `seen`."""
    try:
        from pyace import activelearning
    except ImportError:
        return lambda: None
    names = ("compute_extrapolation_grade_by_batches", "compute_B_projections")
    if not all(hasattr(activelearning, name) for name in names):
        return lambda: None
    originals = {name: getattr(activelearning, name) for name in names}

    def grade_pass(*args: Any, **kwargs: Any) -> Any:
        grades: BatchGrades | None = seen.get("batch_grades")
        inverses = kwargs.get("A_active_set_inv_dict", args[2] if len(args) > 2 else None)
        if grades is not None and inverses is not None:
            grades.begin(inverses)
        try:
            return originals["compute_extrapolation_grade_by_batches"](*args, **kwargs)
        finally:
            if grades is not None and grades.inverses is not None:
                grades.end()

    def projections(*args: Any, **kwargs: Any) -> Any:
        result = originals["compute_B_projections"](*args, **kwargs)
        grades: BatchGrades | None = seen.get("batch_grades")
        if grades is not None and isinstance(result, tuple) and len(result) >= 2:
            grades.batch(result[0], result[1])
        return result

    for name, fn in (("compute_extrapolation_grade_by_batches", grade_pass), ("compute_B_projections", projections)):
        setattr(activelearning, name, fn)

    def restore() -> None:
        for name, fn in originals.items():
            setattr(activelearning, name, fn)

    return restore


def inverses_from_active_set(active: dict[Any, FloatArray], names: Sequence[str], nfuncs: dict[str, int]) -> Inverses:
    """pace_select's final active set (keyed by species type) -> pseudo-inverse per element name."""
    inverses: Inverses = dict.fromkeys(nfuncs)
    for key, matrix in active.items():
        element = names[int(key)] if isinstance(key, (int, np.integer)) else str(key)
        m = np.asarray(matrix, dtype=np.float64)
        if m.ndim == 2 and len(m):
            inverses[element] = np.linalg.pinv(m)
    return inverses


def in_process_available() -> bool:
    """Whether this pyace has pace_select's selection as a function (pyace since Nov 2023)."""
    try:
        from pyace import aceselect
    except ImportError:
        return False
    return all(
        hasattr(aceselect, name)
        for name in (
            "select_structures_maxvol",
            "compute_B_projections",
            "compute_active_set",
            "compute_active_set_by_batches",
        )
    )


def pyace_in_process(
    frame: pd.DataFrame, potential: str, asi: str | None, n: int, memory_limit: str, nfuncs: dict[str, int]
) -> InProcessOutcome:
    """pace_select's selection run by its own function (pyace.aceselect.select_structures_maxvol,
    which is all the pace_select program does between reading its arguments and writing -o).

    Returns (indices chosen by pace_select or None when under-determined, the inverses of the
    active set it ended with, grades of the pool from its projections when it kept them, batched)."""
    from pyace import BBasisConfiguration, aceselect
    from pyace.activelearning import compute_A_active_inverse, load_active_inverse_set

    bconf = BBasisConfiguration(potential)
    names = list(nfuncs)  # the basis's element order (pyace_projector built nfuncs from it)
    extra = compute_A_active_inverse(load_active_inverse_set(asi)) if asi is not None else None
    seen_grades = BatchGrades(len(frame))
    try:
        picked, seen = observed_maxvol_selection(
            aceselect,
            lambda: aceselect.select_structures_maxvol(
                frame, bconf, extra, "auto", 1.01, n, 300, 2, memory_limit, True
            ),
            seen_grades,
        )
    except ValueError as exc:
        if UNDER_DETERMINED not in str(exc):
            raise
        print(f"pace_select (in process): {exc}", file=sys.stderr, flush=True)
        return None, None, None, False
    indices = [int(i) for i in picked.index]
    inverses = inverses_from_active_set(seen.get("active_set") or {}, names, nfuncs)
    grades = None
    if "projections" in seen and not seen.get("batched"):
        proj_by_type, owners_by_type = seen["projections"]
        proj = {names[k]: np.asarray(v) for k, v in proj_by_type.items()}
        own = {names[k]: np.asarray(v, dtype=np.int64) for k, v in owners_by_type.items()}
        grades = lambda inv: structure_gamma(proj, own, inv, len(frame))  # noqa: E731
    elif seen.get("batched") and (batched_gamma := seen_grades.structure_gamma()) is not None:
        # The grades of the active set pace_select returned (its best pass per species, whose
        # inverses equal those of the active set observed above).
        grades = lambda _inv: batched_gamma  # noqa: E731
    return indices, inverses, grades, bool(seen.get("batched"))
