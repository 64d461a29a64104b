"""Corrected energies keep their meaning: a pickle with only energy_corrected is stored and fitted
as such; mixing with total energies is exact (through given reference energies) or refused; and
every export reads back as the same results."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from input_files import REFERENCE, dataset_frame, emt_frames
from mlip_trainer.atomic_io import load_dataset, save_dataset

from helpers import all_files, append, run_dataset


def _append(capsys: pytest.CaptureFixture[str], dataset: Path, *files: Path, reference: Any = None) -> tuple[int, Any]:
    argv = ["append", "--dataset", str(dataset), "--test-fraction", "0.3"]
    for f in files:
        argv += ["--results", str(f)]
    if reference is not None:
        argv += ["--reference-energy", json.dumps(reference)]
    code, result, _ = run_dataset(capsys, *argv)
    return code, result


@pytest.fixture
def corrected_pickle(tmp_path: Path) -> Path:
    """pacemaker's example layout: name, ase_atoms, energy_corrected, forces, energy_corrected_per_atom."""
    path = tmp_path / "old.pckl.gzip"
    save_dataset(dataset_frame(emt_frames(6, 31), corrected_only=True), path)
    return path


@pytest.fixture
def totals(tmp_path: Path) -> Path:
    from ase.io import write

    path = tmp_path / "new.extxyz"
    write(path, emt_frames(4, 32), format="extxyz")
    return path


def test_a_pickle_with_only_energy_corrected_is_stored_and_fitted_as_corrected_energy(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], corrected_pickle: Path
) -> None:
    dataset = tmp_path / "d" / "accumulated.pckl.gzip"
    code, result = _append(capsys, dataset, corrected_pickle)
    assert code == 0 and result["added"] == 6 and result["fittedEnergy"] == "energy_corrected"
    stored = load_dataset(dataset)
    given = pd.read_pickle(corrected_pickle, compression="gzip")
    assert stored["energy"].isna().all()
    assert stored["energy_corrected"].tolist() == given["energy_corrected"].tolist(), "exactly as given"
    manifest = json.loads((dataset.parent / "manifest.json").read_text())
    assert (manifest["fittedEnergy"], manifest["correctedOnly"], manifest["referenceEnergy"]) == (
        "energy_corrected",
        6,
        None,
    )


def test_total_energies_join_corrected_ones_only_with_their_reference_energies(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], corrected_pickle: Path, totals: Path
) -> None:
    dataset = tmp_path / "d" / "accumulated.pckl.gzip"
    assert _append(capsys, dataset, corrected_pickle)[0] == 0
    before = all_files(dataset.parent)
    code, result = _append(capsys, dataset, totals)
    assert code == 2
    message = result["error"]["message"]
    assert "the dataset has corrected energies only" in message and str(totals) in message
    assert "reference_energy in the config" in message and "--reference-energy" in message
    assert all_files(dataset.parent) == before, "nothing was written"

    code, result = _append(capsys, dataset, totals, reference=REFERENCE)
    assert code == 0 and result["added"] == 4 and result["referenceEnergy"] == REFERENCE
    stored = load_dataset(dataset)
    new = stored[stored["energy"].notna()]
    sums = np.array([sum(REFERENCE[s] for s in a.get_chemical_symbols()) for a in new["ase_atoms"]])
    np.testing.assert_array_equal(new["energy_corrected"].to_numpy(), new["energy"].to_numpy() - sums)

    from ase.io import write

    more = tmp_path / "more.extxyz"
    write(more, emt_frames(2, 35), format="extxyz")
    code, result = _append(capsys, dataset, more, reference={"Cu": -0.3, "Ni": -0.5})
    assert (
        code == 2
        and "differ from those the dataset's corrected energies were recorded with" in result["error"]["message"]
    )


def test_corrected_energies_join_a_dataset_of_total_energies_with_the_reference_given(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], corrected_pickle: Path, totals: Path
) -> None:
    dataset = tmp_path / "d" / "accumulated.pckl.gzip"
    assert _append(capsys, dataset, totals)[1]["fittedEnergy"] == "energy"
    code, result = _append(capsys, dataset, corrected_pickle)
    assert code == 2 and f"{corrected_pickle} has corrected energies only" in result["error"]["message"]
    code, result = _append(capsys, dataset, corrected_pickle, reference=REFERENCE)
    assert code == 0 and result["fittedEnergy"] == "energy_corrected" and result["total"] == 10
    assert not load_dataset(dataset)["energy_corrected"].isna().any()


def test_a_pace_collect_pickle_with_energy_is_read_as_total_energies(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    collected = tmp_path / "collected.pckl.gzip"
    save_dataset(dataset_frame(emt_frames(3, 33)), collected)
    dataset = tmp_path / "d" / "accumulated.pckl.gzip"
    code, result = _append(capsys, dataset, collected)
    assert code == 0 and result["fittedEnergy"] == "energy"
    stored = load_dataset(dataset)
    assert "energy_corrected" not in stored.columns, "recomputed by pacemaker from the config's reference_energy"
    assert stored["energy"].tolist() == pd.read_pickle(collected, compression="gzip")["energy"].tolist()


def test_corrected_energies_outside_pacemakers_range_are_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    frame = dataset_frame(emt_frames(2, 34), corrected_only=True)
    frame.loc[1, "energy_corrected"] = -30.0 * len(frame["ase_atoms"].iloc[1])
    path = tmp_path / "extreme.pckl.gzip"
    save_dataset(frame, path)
    code, result = _append(capsys, tmp_path / "d.pckl.gzip", path)
    assert code == 2
    assert "outside [-20, 250] eV/atom: dft_1 (-30 eV/atom)" in result["error"]["message"]


def _hashes(dataset: Path) -> list[str]:
    return list(load_dataset(dataset)["mlip_hash"])


@pytest.mark.parametrize("kind", ["total", "corrected"])
@pytest.mark.parametrize("fmt", ["pacemaker", "extxyz", "jsonl"])
def test_an_export_added_to_a_fresh_campaign_gives_the_same_results(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], corrected_pickle: Path, totals: Path, kind: str, fmt: str
) -> None:
    first = tmp_path / "a" / "accumulated.pckl.gzip"
    source = corrected_pickle if kind == "corrected" else totals
    assert _append(capsys, first, source, reference=REFERENCE)[0] == 0
    out = tmp_path / f"export.{ {'pacemaker': 'pckl.gzip'}.get(fmt, fmt) }"
    code, exported, _ = run_dataset(capsys, "export", "--dataset", str(first), "--out", str(out), "--format", fmt)
    assert code == 0 and exported["rows"] == len(_hashes(first))
    second = tmp_path / "b" / "accumulated.pckl.gzip"
    code, result = _append(capsys, second, out, reference=REFERENCE)
    assert code == 0, result
    assert _hashes(second) == _hashes(first), "the same content hashes, in the same order"
    if fmt == "pacemaker":
        manifest = json.loads((first.parent / "manifest.json").read_text())
        assert result["sha256"] == manifest["sha256"], "the same dataset version, byte for byte"
    code, again = append(capsys, first, out)
    assert code == 0 and again["added"] == 0
