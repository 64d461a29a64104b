"""Reading results: JSON arrays, JSONL, and files ASE reads."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from mlip_trainer.atomic_io import load_dataset

from helpers import append, cu_record, run_dataset


def test_a_json_array_file_is_accepted(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    results = tmp_path / "r.json"
    results.write_text(json.dumps([cu_record("a"), cu_record("b")]))
    code, result, _ = run_dataset(
        capsys, "append", "--dataset", str(tmp_path / "d.pckl.gzip"), "--results", str(results)
    )
    assert code == 0 and result["added"] == 2


def test_an_ase_extxyz_file_imports_with_the_right_energies_and_forces(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from ase.build import bulk
    from ase.calculators.emt import EMT
    from ase.io import write

    frames = []
    for i in range(4):
        atoms = bulk("Cu", "fcc", a=3.6).repeat((2, 2, 1))
        atoms.rattle(0.05, seed=i)
        atoms.calc = EMT()
        atoms.get_potential_energy()
        atoms.get_forces()
        atoms.get_stress()
        frames.append(atoms)
    xyz = tmp_path / "frames.extxyz"
    write(xyz, frames, format="extxyz")
    dataset = tmp_path / "accumulated.pckl.gzip"
    code, result = append(capsys, dataset, xyz, elements="Cu")
    assert code == 0 and result["added"] == 4
    df = load_dataset(dataset)
    for atoms, (_, row) in zip(frames, df.iterrows()):
        assert row["energy"] == pytest.approx(atoms.get_potential_energy(), abs=1e-10)
        np.testing.assert_allclose(row["forces"], atoms.get_forces(), atol=1e-8)
        np.testing.assert_allclose(row["ase_atoms"].positions, atoms.positions, atol=1e-8)
        np.testing.assert_allclose(row["stress"], atoms.get_stress(), atol=1e-8)
    # The dataset exported as extxyz and re-imported is recognised as the same results.
    out = tmp_path / "export.extxyz"
    code, exported, _ = run_dataset(
        capsys, "export", "--dataset", str(dataset), "--out", str(out), "--format", "extxyz"
    )
    assert code == 0 and exported["rows"] == 4
    code, again = append(capsys, dataset, out)
    assert code == 0 and again["added"] == 0 and again["duplicates"] == 4


def test_an_ase_file_without_forces_is_rejected_naming_the_frame(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from ase.build import bulk
    from ase.io import write

    xyz = tmp_path / "bare.extxyz"
    write(xyz, [bulk("Cu", "fcc", a=3.6)], format="extxyz")
    code, result = append(capsys, tmp_path / "d.pckl.gzip", xyz)
    assert code == 2
    assert {(p["file"], p["record"], p["field"]) for p in result["error"]["problems"]} == {
        (str(xyz), 0, "energy"),
        (str(xyz), 0, "forces"),
    }
    assert not (tmp_path / "d.pckl.gzip").exists()
