"""Errors of a prediction pickle, in pacemaker's units (meV/atom, meV/Å)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mlip_trainer.errors import BadInput
from mlip_trainer.metrics import prediction_errors


def test_energy_errors_are_per_atom_against_energy_corrected_and_force_errors_per_component(tmp_path: Path) -> None:
    pred = tmp_path / "test_pred.pckl.gzip"
    pd.DataFrame(
        {
            "energy": [-100.0, -200.0],  # ignored: energy_corrected is what pacemaker fits
            "energy_corrected": [-1.0, -2.0],
            "energy_pred": [-0.998, -2.004],  # +2 meV over 2 atoms, -4 meV over 4 atoms
            "NUMBER_OF_ATOMS": [2, 4],
            "forces": [np.zeros((2, 3)), np.zeros((4, 3))],
            "forces_pred": [np.full((2, 3), 0.003), np.full((4, 3), -0.003)],
        }
    ).to_pickle(pred, compression="gzip")
    errors = prediction_errors(str(pred))
    assert errors["structures"] == 2
    assert errors["energy_rmse_mev_per_atom"] == pytest.approx(1.0)
    assert errors["energy_mae_mev_per_atom"] == pytest.approx(1.0)
    assert errors["force_rmse_mev_per_a"] == pytest.approx(3.0)
    assert errors["force_mae_mev_per_a"] == pytest.approx(3.0)


def test_without_energy_corrected_the_energy_is_the_reference(tmp_path: Path) -> None:
    pred = tmp_path / "pred.pckl.gzip"
    pd.DataFrame(
        {
            "energy": [-1.0],
            "energy_pred": [-1.01],
            "NUMBER_OF_ATOMS": [1],
            "forces": [np.zeros((1, 3))],
            "forces_pred": [np.zeros((1, 3))],
        }
    ).to_pickle(pred, compression="gzip")
    errors = prediction_errors(str(pred))
    assert errors["energy_rmse_mev_per_atom"] == pytest.approx(10.0)
    assert errors["force_rmse_mev_per_a"] == 0.0


def test_a_missing_file_or_a_pickle_without_predictions_is_bad_input(tmp_path: Path) -> None:
    with pytest.raises(BadInput, match="does not exist"):
        prediction_errors(str(tmp_path / "none.pckl.gzip"))
    other = tmp_path / "data.pckl.gzip"
    pd.DataFrame({"energy": [1.0]}).to_pickle(other, compression="gzip")
    with pytest.raises(BadInput, match="not a pacemaker prediction pickle"):
        prediction_errors(str(other))


def test_by_category_splits_the_errors_by_the_name_before_its_first_slash(tmp_path: Path) -> None:
    pred = tmp_path / "test_pred.pckl.gzip"
    pd.DataFrame(
        {
            "name": ["bulk-md/0-0", "cluster/0-1", "bulk-md/1-0"],
            "energy": [-1.0, -1.0, -1.0],
            "energy_pred": [-1.0, -1.004, -1.0],
            "NUMBER_OF_ATOMS": [1, 1, 1],
            "forces": [np.zeros((1, 3))] * 3,
            "forces_pred": [np.zeros((1, 3)), np.full((1, 3), 0.002), np.zeros((1, 3))],
        }
    ).to_pickle(pred, compression="gzip")
    errors = prediction_errors(str(pred), by_category=True)
    assert set(errors["categories"]) == {"bulk-md", "cluster"}
    assert errors["categories"]["bulk-md"]["structures"] == 2
    assert errors["categories"]["bulk-md"]["force_rmse_mev_per_a"] == pytest.approx(0.0)
    assert errors["categories"]["cluster"]["force_rmse_mev_per_a"] == pytest.approx(2.0)
    assert errors["categories"]["cluster"]["energy_rmse_mev_per_atom"] == pytest.approx(4.0)
    assert "categories" not in prediction_errors(str(pred))
