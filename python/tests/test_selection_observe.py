"""Observing pace_select's selection function: what it computed is kept, its module is left as it was."""

from __future__ import annotations

import types
from typing import Any

import numpy as np
import pandas as pd
import pytest

from mlip_trainer.selection.batch_grades import BatchGrades
from mlip_trainer.selection.pyace_select import inverses_from_active_set, observed_maxvol_selection


def fake_aceselect(batched: bool = False, fail: bool = False) -> Any:
    """A module shaped like pyace.aceselect: its selection looks its helpers up in the module."""
    module: Any = types.ModuleType("fake_aceselect")
    projections = ({0: np.eye(2), 1: np.ones((1, 2))}, {0: np.array([0, 1]), 1: np.array([1])})
    active = {0: np.eye(2), 1: np.ones((1, 2))}

    def select() -> pd.DataFrame:
        proj = module.compute_B_projections("basis", ["a", "b"], return_structure_ind_dict=True)
        if batched:
            module.compute_active_set_by_batches("basis", ["a", "b"])
        else:
            module.compute_active_set(proj[0])
        if fail:
            raise ValueError("system is under-determined")
        return pd.DataFrame({"name": ["b"]}, index=[1])

    module.select_structures_maxvol = select
    module.compute_B_projections = lambda *args, **kwargs: projections
    module.compute_active_set = lambda *args, **kwargs: (active, "inverse")
    module.compute_active_set_by_batches = lambda *args, **kwargs: ("inverse", active)
    return module


def helpers_of(module: Any) -> dict[str, Any]:
    return {
        name: getattr(module, name)
        for name in ("compute_B_projections", "compute_active_set", "compute_active_set_by_batches")
    }


def test_the_choice_is_the_functions_and_its_projections_and_active_set_are_kept() -> None:
    module = fake_aceselect()
    before = helpers_of(module)
    picked, seen = observed_maxvol_selection(module, module.select_structures_maxvol)
    assert list(picked.index) == [1]
    proj, owners = seen["projections"]
    assert set(proj) == {0, 1} and np.array_equal(owners[0], [0, 1])
    assert np.array_equal(seen["active_set"][0], np.eye(2))
    assert "batched" not in seen
    assert helpers_of(module) == before, "the module's functions are restored"


def test_batch_mode_is_noticed_and_its_returned_active_set_kept() -> None:
    module = fake_aceselect(batched=True)
    _, seen = observed_maxvol_selection(module, module.select_structures_maxvol)
    assert seen["batched"] is True and np.array_equal(seen["active_set"][1], np.ones((1, 2)))


def test_the_module_is_restored_when_the_selection_fails() -> None:
    module = fake_aceselect(fail=True)
    before = helpers_of(module)
    with pytest.raises(ValueError, match="under-determined"):
        observed_maxvol_selection(module, module.select_structures_maxvol)
    assert helpers_of(module) == before


def test_the_final_active_set_becomes_pseudo_inverses_by_element_name() -> None:
    active = {0: np.array([[2.0, 0.0], [0.0, 4.0]]), "Ni": np.array([[1.0, 1.0]]), 2: np.zeros((0, 2))}
    inverses = inverses_from_active_set(active, ["Cu", "Ni", "Al"], {"Cu": 2, "Ni": 2, "Al": 2, "Ag": 2})
    cu, ni = inverses["Cu"], inverses["Ni"]
    assert cu is not None and np.allclose(cu, [[0.5, 0.0], [0.0, 0.25]])
    assert ni is not None and ni.shape == (2, 1)
    assert inverses["Al"] is None and inverses["Ag"] is None


def test_batch_grades_keep_per_species_the_pass_whose_largest_grade_is_smallest() -> None:
    grades = BatchGrades(3)
    projections = {0: np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])}
    owners = {0: np.array([0, 1, 2])}
    grades.batch(projections, owners)  # outside a pass: ignored
    assert grades.structure_gamma() is None
    # The second pass wins (largest grade 0.5); the third ties it (its largest grade is 0.5 too,
    # its grades [0.5, 0.25, 0.5]) and loses, so the second pass's grades are kept.
    for inverse in (np.eye(2), np.eye(2) * 0.5, np.diag([0.5, 0.25]), np.eye(2) * 2.0):
        grades.begin({0: inverse})
        grades.batch({0: projections[0][:2]}, {0: owners[0][:2]})
        grades.batch({0: projections[0][2:]}, {0: owners[0][2:]})
        grades.end()
    assert grades.passes == 4
    gamma = grades.structure_gamma()
    assert gamma is not None and np.allclose(gamma, [0.5, 0.5, 0.5])
