"""CalculationResults <-> pacemaker dataset rows: columns, types, shapes, exact round trips."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mlip_trainer.atomic_io import load_dataset, save_dataset, sha256_of_file
from mlip_trainer.frames import results_to_dataframe, voigt_to_matrix
from mlip_trainer.results import read_results

from helpers import cu_record, run_dataset


def test_dataset_columns_have_pacemaker_types_and_shapes(
    tmp_path: Path, emt_results: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    dataset = tmp_path / "data.pckl.gzip"
    run_dataset(capsys, "append", "--dataset", str(dataset), "--results", str(emt_results))
    df = pd.read_pickle(dataset, compression="gzip")
    assert list(df.columns) == ["name", "ase_atoms", "energy", "forces", "stress", "virial", "mlip_hash", "mlip_split"]
    for _, row in df.iterrows():
        natoms = len(row["ase_atoms"])
        assert row["ase_atoms"].calc is None
        assert row["forces"].shape == (natoms, 3) and row["forces"].dtype == np.float64
        assert row["stress"].shape == (6,)
        assert row["virial"].shape == (3, 3)
        volume = row["ase_atoms"].get_volume()
        np.testing.assert_allclose(row["virial"], -voigt_to_matrix(row["stress"]) * volume)
        assert isinstance(row["energy"], float)


def test_save_dataset_and_results_to_dataframe_are_importable_building_blocks(tmp_path: Path) -> None:
    df = results_to_dataframe([cu_record(virial=[1, 2, 3, 4, 5, 6]), cu_record("no-stress", stress=None)])
    assert df["virial"][0].shape == (3, 3) and df["virial"][0][1, 2] == 4
    assert df["stress"][1] is None and df["virial"][1] is None
    digest = save_dataset(df, tmp_path / "x.pckl.gzip")
    assert digest == sha256_of_file(tmp_path / "x.pckl.gzip")
    assert len(pd.read_pickle(tmp_path / "x.pckl.gzip", compression="gzip")) == 2


def test_dummy_results_become_a_dataframe_with_energy_forces_and_virial_of_the_right_shapes() -> None:
    records = [
        cu_record("a"),
        cu_record("b", stress=[[0.01, 0.0, 0.0], [0.0, 0.02, 0.0], [0.0, 0.0, 0.03]]),
        cu_record("c", stress=None, virial=[[1.0, 0, 0], [0, 2.0, 0], [0, 0, 3.0]]),
    ]
    df = results_to_dataframe(records)
    assert len(df) == 3
    for _, row in df.iterrows():
        assert isinstance(row["energy"], float)
        assert row["forces"].shape == (len(row["ase_atoms"]), 3)
        assert row["virial"].shape == (3, 3)
    assert df["stress"][0].shape == (6,) and df["stress"][2] is None


def test_save_and_load_round_trip_exactly(tmp_path: Path, emt_results: Path) -> None:
    df = results_to_dataframe(read_results([str(emt_results)]))
    path = tmp_path / "x.pckl.gzip"
    save_dataset(df, path)
    back = load_dataset(path)
    assert list(back.columns) == list(df.columns) and len(back) == len(df)
    for (_, a), (_, b) in zip(df.iterrows(), back.iterrows()):
        assert a["name"] == b["name"] and a["energy"] == b["energy"]
        assert a["ase_atoms"] == b["ase_atoms"]  # numbers, positions, cell, pbc
        assert np.array_equal(a["forces"], b["forces"]) and np.array_equal(a["stress"], b["stress"])
        assert np.array_equal(a["virial"], b["virial"])
