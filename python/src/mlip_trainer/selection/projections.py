"""B-projections of structures by pyace (a pacemaker installation's, or the simulator's stand-in),
and the element check."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from mlip_trainer.errors import BadInput, Problem
from mlip_trainer.frames import dataset_elements
from mlip_trainer.selection.types import Owners, ProjectFn, Projections


def pyace_projector(potential: str) -> tuple[ProjectFn, dict[str, int]]:
    """(project, functions per element) with the installation's pyace: the same
    ``compute_B_projections`` pace_select and ``PyACECalculator``'s gamma use."""
    from pyace import ACEBBasisSet, BBasisConfiguration
    from pyace.activelearning import compute_B_projections, compute_number_of_functions

    bbasis = ACEBBasisSet(BBasisConfiguration(potential))
    names = list(bbasis.elements_name)
    nfuncs = dict(zip(names, compute_number_of_functions(bbasis)))

    def project(atoms_list: Sequence[Any]) -> tuple[Projections, Owners]:
        proj, owners = compute_B_projections(bbasis, list(atoms_list), return_structure_ind_dict=True)
        return (
            {names[st]: np.asarray(m) for st, m in proj.items()},
            {names[st]: np.asarray(o, dtype=np.int64) for st, o in owners.items()},
        )

    return project, nfuncs


def check_elements(frame: pd.DataFrame, nfuncs: dict[str, int], potential: str, pool: str = "the pool") -> None:
    """Bad input unless the potential has functions for every element of the pool."""
    missing = sorted(set(dataset_elements(frame)) - set(nfuncs))
    if missing:
        raise BadInput(
            f"pool: {pool} has element(s) {', '.join(missing)} that the potential lacks (it has "
            f"{', '.join(sorted(nfuncs))}); select with a potential that covers them",
            [Problem(-1, "--pool", ",".join(missing), "elements not in the potential")],
        )
