"""A prediction pickle as the arrays a report plots: parity, error distributions, per element."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from ase import Atoms

from mlip_trainer.cli import dataset as dataset_cli
from mlip_trainer.metrics import prediction_errors
from mlip_trainer.predictions import prediction_arrays
from mlip_trainer.store.hashing import HASH_COLUMN


def write_pair(tmp_path: Path) -> tuple[Path, Path]:
    """A data set of two structures (CuNi and Ni3) and the predictions made on it, in another order."""
    atoms = [Atoms("CuNi", positions=[[0, 0, 0], [2, 0, 0]]), Atoms("Ni3", positions=[[0, 0, 0], [2, 0, 0], [0, 2, 0]])]
    data = tmp_path / "test.pckl.gzip"
    pd.DataFrame({"ase_atoms": atoms, "energy": [-1.0, -3.0], HASH_COLUMN: ["a", "b"]}).to_pickle(
        data, compression="gzip"
    )
    pred = tmp_path / "test_pred.pckl.gzip"
    pd.DataFrame(
        {
            HASH_COLUMN: ["b", "a"],
            "energy_corrected": [-3.0, -1.0],
            "energy_pred": [-3.003, -0.998],  # -1 meV/atom, +1 meV/atom
            "NUMBER_OF_ATOMS": [3, 2],
            "forces": [np.zeros((3, 3)), np.zeros((2, 3))],
            # Ni atoms off by 0.002 eV/Å per component, the Cu atom by 0.004.
            "forces_pred": [np.full((3, 3), 0.002), np.array([[0.004] * 3, [0.002] * 3])],
        }
    ).to_pickle(pred, compression="gzip")
    return pred, data


def test_arrays_hold_parity_pairs_and_per_element_errors_joined_by_hash(tmp_path: Path) -> None:
    pred, data = write_pair(tmp_path)
    out = tmp_path / "arrays.json"
    reply = prediction_arrays(str(pred), str(out), str(data))
    doc = json.loads(out.read_text())
    assert reply["elements"] == ["Cu", "Ni"] and reply["elementsKnown"] is True
    assert doc["energy"]["natoms"] == [3, 2]
    assert doc["energy"]["reference"] == pytest.approx([-1.0, -0.5])
    assert doc["energy"]["predicted"] == pytest.approx([-1.001, -0.499])
    # Rows in the prediction's order: Ni Ni Ni, then Cu Ni, three components each.
    assert doc["forces"]["element"] == ["Ni"] * 9 + ["Cu"] * 3 + ["Ni"] * 3
    per = doc["errors"]["perElement"]
    assert per["Cu"]["force_rmse_mev_per_a"] == pytest.approx(4.0) and per["Cu"]["atoms"] == 1
    assert per["Ni"]["force_rmse_mev_per_a"] == pytest.approx(2.0) and per["Ni"]["atoms"] == 4
    # The overall errors are those the artifact's recomputed test metrics come from.
    overall = prediction_errors(str(pred))
    for key in ("energy_rmse_mev_per_atom", "force_rmse_mev_per_a"):
        assert doc["errors"][key] == overall[key] == reply[key]


def test_without_the_data_set_elements_are_unknown_and_many_forces_are_sampled(tmp_path: Path) -> None:
    pred, _ = write_pair(tmp_path)
    out = tmp_path / "arrays.json"
    reply = prediction_arrays(str(pred), str(out), None, max_points=5)
    doc = json.loads(out.read_text())
    assert reply["elementsKnown"] is False and reply["elements"] == ["?"]
    assert doc["forces"]["sampled"] == 5 and doc["forces"]["total"] == 15 and len(doc["forces"]["reference"]) == 5
    # Errors still come from every component, not the sample.
    assert doc["errors"]["force_rmse_mev_per_a"] == pytest.approx(prediction_errors(str(pred))["force_rmse_mev_per_a"])


def test_the_command_answers_by_the_helper_protocol(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pred, data = write_pair(tmp_path)
    out = tmp_path / "a.json"
    code = dataset_cli.main(["pred-arrays", "--pred", str(pred), "--out", str(out), "--structures", str(data)])
    reply = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert code == 0 and reply["out"] == str(out.resolve()) and reply["structures"] == 2
    code = dataset_cli.main(["pred-arrays", "--pred", str(tmp_path / "missing.pckl.gzip"), "--out", str(out)])
    assert (
        code == 2
        and "does not exist" in json.loads(capsys.readouterr().out.strip().splitlines()[-1])["error"]["message"]
    )
