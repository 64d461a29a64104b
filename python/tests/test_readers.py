"""The one reader of labelled data: every format in, the same records out; bad files refused
with the file, the record and the value named, never a crash."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from input_files import emt_frames, write_labelled
from mlip_trainer.errors import BadInput
from mlip_trainer.readers import json_text
from mlip_trainer.results import read_results_with_origins

from helpers import SRC, append, cu_record, run_dataset, write_jsonl


def test_every_labelled_format_reads_with_its_energies_and_forces(tmp_path: Path) -> None:
    counts = write_labelled(tmp_path)
    files = [str(tmp_path / name) for name in counts]
    records, origins = read_results_with_origins(files)
    assert len(records) == sum(counts.values())
    assert [f for f, _ in origins] == [str(tmp_path / n) for n, c in counts.items() for _ in range(c)]
    for record in records:
        assert isinstance(record["energy"], float) and np.isfinite(record["energy"])
        assert np.shape(record["forces"]) == (len(record["structure"]["symbols"]), 3)


def test_outcar_and_vasprun_give_vasps_energy_and_forces(tmp_path: Path) -> None:
    write_labelled(tmp_path)
    for name in ("OUTCAR", "vasprun.xml"):
        (record,), _ = read_results_with_origins([str(tmp_path / name)])
        assert record["structure"]["symbols"][:1] == ["Cu"] or record["structure"]["symbols"][:1] == ["Ni"]
        assert len(record["forces"]) == 8


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (lambda p: p.mkdir(), "is a directory, not a file"),
        (lambda p: p.write_text(""), "is empty"),
        (lambda p: p.write_bytes(bytes(range(256)) * 4), "not a file format ASE reads"),
        (lambda p: None, "file not found"),
    ],
)
def test_bad_files_are_named_with_what_is_wrong(tmp_path: Path, make, reason: str) -> None:
    path = tmp_path / "results.bin"
    make(path)
    with pytest.raises(BadInput) as caught:
        read_results_with_origins([str(path)])
    assert reason in caught.value.message and str(path) in caught.value.message


@pytest.mark.parametrize("name", ["deep.json", "deep.jsonl"])
def test_json_nested_too_deeply_is_bad_input_not_a_crash(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    path.write_text("[" * 200_000 + "]" * 200_000 + "\n")
    with pytest.raises(BadInput) as caught:
        read_results_with_origins([str(path)])
    text = caught.value.message + " ".join(p.reason for p in caught.value.problems)
    assert "nested too deeply" in text and name in text


def test_a_json_array_too_large_is_refused_with_the_size_and_what_to_do(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(json_text, "MAX_JSON_ARRAY_BYTES", 1000)
    path = tmp_path / "big.json"
    path.write_text(json.dumps([cu_record(f"r{i}") for i in range(10)]))
    with pytest.raises(BadInput, match=r"big\.json: .* is too large for a JSON array .* write JSONL instead"):
        read_results_with_origins([str(path)])


def test_binary_garbage_in_a_jsonl_file_is_listed_line_by_line(tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    path.write_bytes(b"\xff\xfe\x00garbage\n" + json.dumps(cu_record()).encode() + b"\n")
    with pytest.raises(BadInput) as caught:
        read_results_with_origins([str(path)])
    assert "1 line(s) that are not valid JSON" in caught.value.message
    assert caught.value.problems[0].file == str(path) and "not UTF-8" in caught.value.problems[0].reason


def test_an_energy_far_beyond_physics_is_refused_naming_file_record_and_value(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from ase.io import write

    frames = emt_frames(3, 1)
    frames[2].calc.results["energy"] = 1e30
    xyz = tmp_path / "frames.extxyz"
    write(xyz, frames, format="extxyz")
    code, result = append(capsys, tmp_path / "d.pckl.gzip", xyz)
    assert code == 2
    (problem,) = result["error"]["problems"]
    assert (problem["file"], problem["record"], problem["field"], problem["value"]) == (str(xyz), 2, "energy", "1e+30")
    assert "exceeds the limit of 1000 eV/atom" in problem["reason"] and "max_energy_per_atom_ev" in problem["reason"]
    assert not (tmp_path / "d.pckl.gzip").exists()


def test_a_force_beyond_the_limit_is_refused_and_the_limit_can_be_raised(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    record = cu_record(forces=[[0.1, 1500.0, 0.3], [-0.1, -1500.0, -0.3]])
    results = write_jsonl(tmp_path / "r.jsonl", [record])
    dataset = tmp_path / "d.pckl.gzip"
    code, result = append(capsys, dataset, results)
    assert code == 2
    (problem,) = result["error"]["problems"]
    assert (problem["field"], problem["value"]) == ("forces[0][1]", "1500.0")
    assert "exceeds the limit of 1000 eV/Å" in problem["reason"]
    code, result, _ = run_dataset(
        capsys, "append", "--dataset", str(dataset), "--results", str(results), "--max-force", "2000"
    )
    assert code == 0 and result["added"] == 1


def test_a_bad_limit_is_a_usage_error_naming_the_flag(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    results = write_jsonl(tmp_path / "r.jsonl", [cu_record()])
    with pytest.raises(SystemExit) as exited:
        run_dataset(capsys, "check", "--results", str(results), "--max-force", "nan")
    assert exited.value.code == 2
    message = json.loads(capsys.readouterr().out.splitlines()[-1])["error"]["message"]
    assert "--max-force must be a positive number, got 'nan'" in message


def test_check_reads_and_validates_every_format_and_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    counts = write_labelled(tmp_path / "in")
    before = sorted(p.name for p in (tmp_path / "in").iterdir())
    argv = ["check", "--elements", "Cu,Ni"]
    for name in counts:
        argv += ["--results", str(tmp_path / "in" / name)]
    code, result, _ = run_dataset(capsys, *argv)
    assert code == 0 and result["records"] == sum(counts.values())
    assert {Path(f["path"]).name: f["records"] for f in result["files"]} == counts
    assert sorted(p.name for p in (tmp_path / "in").iterdir()) == before


PYACE_PICKLE = """
import sys, types, pandas as pd
pyace = types.ModuleType("pyace"); prep = types.ModuleType("pyace.preparedata")
class DataFrameWithMetadata(pd.DataFrame):
    pass
DataFrameWithMetadata.__module__ = "pyace.preparedata"
prep.DataFrameWithMetadata = DataFrameWithMetadata
sys.modules["pyace"] = pyace; sys.modules["pyace.preparedata"] = prep
frame = DataFrameWithMetadata({"ase_atoms": [None], "forces": [None], "energy_corrected": [0.0]})
frame.to_pickle(sys.argv[1], compression="gzip", protocol=4)
"""


def test_a_pickle_that_needs_pyace_says_so_and_what_to_do(tmp_path: Path) -> None:
    # pacemaker's examples are pickled as pyace's own DataFrame subclass.
    path = tmp_path / "Cu_df1.pckl.gzip"
    subprocess.run([sys.executable, "-c", PYACE_PICKLE, str(path)], check=True)
    process = subprocess.run(
        [sys.executable, "-m", "mlip_trainer.cli.dataset", "check", "--results", str(path)],
        capture_output=True,
        text=True,
        env={"PYTHONPATH": str(SRC), "PATH": "/usr/bin:/bin"},
        check=False,
    )
    assert process.returncode == 2, process.stderr
    message = json.loads(process.stdout.splitlines()[-1])["error"]["message"]
    assert str(path) in message and "No module named 'pyace" in message
    assert "pacemaker installation's Python" in message and "MLIP_PACEMAKER" in message


def _pickle(path: Path, **columns: list[Any]) -> Path:
    import pandas as pd
    from ase.build import bulk

    rows = len(next(iter(columns.values())))
    frame = {"name": [f"r{i}" for i in range(rows)], "ase_atoms": [bulk("Cu", "fcc", a=3.6, cubic=True)] * rows}
    frame.update(columns)
    pd.DataFrame(frame).to_pickle(path, compression="gzip")
    return path


FOUR = np.zeros((4, 3))


@pytest.mark.parametrize(
    ("columns", "field", "value", "reason"),
    [
        ({"energy": ["abc"], "forces": [FOUR]}, "energy", "'abc'", "expected a finite number (eV)"),
        ({"energy": [float("nan")], "forces": [FOUR]}, "energy", "nan", "expected a finite number (eV)"),
        ({"energy_corrected": ["x"], "forces": [FOUR]}, "energy_corrected", "'x'", "expected a finite number"),
        ({"energy": [-1.0], "forces": [np.zeros((3, 3))]}, "forces", None, "expected 4 rows, got 3"),
        ({"energy": [-1.0], "forces": [np.zeros((4, 2))]}, "forces", None, "a list of 3 numbers"),
        ({"energy": [-1.0], "forces": ["zeros"]}, "forces", "'zeros'", "expected a list of 3-vectors, got str"),
        ({"energy": [-1.0], "forces": [FOUR], "ase_atoms": ["not atoms"]}, "structure", "'not atoms'", "ase.Atoms"),
    ],
)
def test_a_pickle_row_of_the_wrong_type_or_shape_names_row_field_and_value_and_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], columns: dict[str, list[Any]], field: str, value, reason: str
) -> None:
    dataset = tmp_path / "d.pckl.gzip"
    code, result = append(capsys, dataset, write_jsonl(tmp_path / "ok.jsonl", [cu_record()]))
    assert code == 0
    before = dataset.read_bytes()
    bad = _pickle(tmp_path / "bad.pckl.gzip", **columns)
    code, result = append(capsys, dataset, bad)
    assert code == 2
    (problem,) = result["error"]["problems"]
    assert (problem["file"], problem["record"], problem["field"]) == (str(bad), 0, field)
    assert reason in problem["reason"]
    if value is not None:
        assert problem["value"] == value
    assert dataset.read_bytes() == before, "the dataset is unchanged"


def test_an_unknown_element_in_an_ase_file_is_named_with_the_frame(tmp_path: Path) -> None:
    path = tmp_path / "bad.extxyz"
    path.write_text('1\nLattice="3 0 0 0 3 0 0 0 3" Properties=species:S:1:pos:R:3 energy=-1.0 pbc="T T T"\nXx 0 0 0\n')
    with pytest.raises(BadInput) as caught:
        read_results_with_origins([str(path)])
    assert caught.value.message == f"{path}: frame 0 has an unknown chemical symbol 'Xx'"


def test_a_truncated_gzip_pickle_is_named_not_a_crash(tmp_path: Path) -> None:
    whole = _pickle(tmp_path / "whole.pckl.gzip", energy=[-1.0], forces=[FOUR]).read_bytes()
    path = tmp_path / "cut.pckl.gzip"
    path.write_bytes(whole[: len(whole) // 2])
    with pytest.raises(BadInput) as caught:
        read_results_with_origins([str(path)])
    assert f"{path} is not a gzip-pickled pandas DataFrame (EOFError" in caught.value.message


@pytest.mark.parametrize("energy", [float("nan"), float("inf")])
def test_a_non_finite_energy_in_an_extxyz_frame_names_the_frame_and_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], energy: float
) -> None:
    from ase.io import write

    frames = emt_frames(2, 3)
    frames[1].calc.results["energy"] = energy
    xyz = tmp_path / "md.extxyz"
    write(xyz, frames, format="extxyz")
    code, result = append(capsys, tmp_path / "d.pckl.gzip", xyz)
    assert code == 2
    (problem,) = result["error"]["problems"]
    assert (problem["file"], problem["record"], problem["field"], problem["value"]) == (
        str(xyz),
        1,
        "energy",
        str(energy),
    )
    assert "expected a finite number (eV)" in problem["reason"]
    assert not (tmp_path / "d.pckl.gzip").exists()
