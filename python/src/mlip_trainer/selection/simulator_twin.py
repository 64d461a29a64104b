"""The simulator's twin of the in-process selection: the simulator's pace_select code
(``select_structures`` in sim/pacemaker_sim.py), observed as :mod:`.pyace_select` observes
pyace's, for tests and CI without a real pacemaker.

Everything that knows the simulator is here, so that once the simulator provides a stand-in
``pyace`` package (and the production path runs through it), removing this module and the
``simulator`` backend is all it takes. Until then the simulator is loaded from the checkout by
file path: it is a script, not an installed package.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mlip_trainer.arrays import FloatArray, IndexArray
from mlip_trainer.selection.batch_grades import BatchGrades
from mlip_trainer.selection.gamma import structure_gamma
from mlip_trainer.selection.pyace_select import UNDER_DETERMINED
from mlip_trainer.selection.types import InProcessOutcome, Inverses, ProjectFn

#: sim/pacemaker_sim.py of this checkout (python/src/mlip_trainer/selection/ -> the project root).
SIMULATOR_FILE = Path(__file__).resolve().parents[4] / "sim" / "pacemaker_sim.py"


def simulator_module() -> Any:
    """sim/pacemaker_sim.py as the module ``pacemaker_sim`` (loaded once, by file path)."""
    if "pacemaker_sim" in sys.modules:
        return sys.modules["pacemaker_sim"]
    spec = importlib.util.spec_from_file_location("pacemaker_sim", SIMULATOR_FILE)
    assert spec is not None
    assert spec.loader is not None
    sim = importlib.util.module_from_spec(spec)
    sys.modules["pacemaker_sim"] = sim  # dataclasses look their module up while the file loads
    spec.loader.exec_module(sim)
    return sim


def simulator_projector(potential: str) -> tuple[ProjectFn, dict[str, int]]:
    """The simulator's B-projections of `potential`, as :func:`.projections.pyace_projector` gives pyace's."""
    made: tuple[ProjectFn, dict[str, int]] = simulator_module().selection_projector(potential)
    return made


def simulator_in_process(
    frame: pd.DataFrame, potential: str, asi: str | None, n: int, memory_limit: str, nfuncs: dict[str, int]
) -> InProcessOutcome:
    """The simulator's pace_select selection (sim/pacemaker_sim.py select_structures), observed the
    same way: the pool's projections of single-shot mode and the rows its last MaxVol per species
    kept (the active set it ends with)."""
    sim = simulator_module()
    sim.setup_console_logging()  # its log lines to stderr, as the program writes them
    doc = sim.load_potential(potential)
    elements = list(sim.potential_elements(doc))
    extra = sim.load_asi(asi, sim.potential_dims(doc, full=False)) if asi is not None else None
    seen: dict[str, Any] = {"active": {}}
    grades = BatchGrades(len(frame))
    grade_batches: dict[str, Any] = {}
    originals = {
        name: getattr(sim, name)
        for name in ("atom_projections", "maxvol_rows", "active_set_by_batches", "_gamma_by_batches")
    }

    def projections(*args: Any, **kwargs: Any) -> Any:
        result = originals["atom_projections"](*args, **kwargs)
        if not seen.get("batched"):
            seen["projections"] = result
        elif grades.inverses is not None:
            # The k-th projection of a grade pass is of its k-th batch: local rows -> pool positions.
            indices = grade_batches["batches"][grade_batches["k"]]
            grade_batches["k"] += 1
            grades.batch(result[0], {e: np.asarray(indices)[o] for e, o in result[1].items()})
        return result

    def grade_pass(
        atoms_list: Any, batches: Any, elements_: Any, dims: Any, cutoff: Any, inverses: Any, *rest: Any
    ) -> Any:
        grade_batches.update(batches=batches, k=0)
        grades.begin(inverses)
        try:
            return originals["_gamma_by_batches"](atoms_list, batches, elements_, dims, cutoff, inverses, *rest)
        finally:
            grades.end()

    def maxvol(matrix: FloatArray, species: str) -> IndexArray:
        rows: IndexArray = originals["maxvol_rows"](matrix, species)
        seen["active"][elements[int(species)]] = np.asarray(matrix)[rows]
        return rows

    def by_batches(*args: Any, **kwargs: Any) -> Any:
        seen["batched"] = True
        return originals["active_set_by_batches"](*args, **kwargs)

    try:
        sim.atom_projections, sim.maxvol_rows, sim.active_set_by_batches = projections, maxvol, by_batches
        sim._gamma_by_batches = grade_pass
        picked = sim.select_structures(frame, doc, extra, n, "auto", memory_limit)
    except ValueError as exc:
        if UNDER_DETERMINED not in str(exc):
            raise
        print(f"pace_select (simulator, in process): {exc}", file=sys.stderr, flush=True)
        return None, None, None, False
    finally:
        for name, fn in originals.items():
            setattr(sim, name, fn)
    inverses: Inverses = dict.fromkeys(nfuncs)
    for element, matrix in seen["active"].items():
        if len(matrix):
            inverses[element] = np.linalg.pinv(matrix)
    pool_grades = None
    if "projections" in seen and not seen.get("batched"):
        proj, own = seen["projections"]
        pool_grades = lambda inv: structure_gamma(proj, own, inv, len(frame))  # noqa: E731
    elif seen.get("batched") and (batched_gamma := grades.structure_gamma()) is not None:
        # The active set the simulator returns is the best pass's, not necessarily its last MaxVol's.
        inverses.update(grades.best_inverses())
        pool_grades = lambda _inv: batched_gamma  # noqa: E731
    return [int(i) for i in picked.index], inverses, pool_grades, bool(seen.get("batched"))
