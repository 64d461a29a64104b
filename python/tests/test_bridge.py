"""mlip_bridge: CalculationResult JSON <-> pacemaker dataset (gzip pickle)."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import zlib
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

PYTHON_DIR = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PYTHON_DIR))

import mlip_bridge  # noqa: E402


def run_bridge(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, dict[str, Any], list[str]]:
    """Run the CLI in-process; return exit code, the last stdout line as JSON, and all stdout lines."""
    code = mlip_bridge.main(list(argv))
    lines = capsys.readouterr().out.strip().splitlines()
    return code, json.loads(lines[-1]), lines


def cu_record(name: str = "r0", **overrides: Any) -> dict[str, Any]:
    record: dict[str, Any] = {
        "structure": {
            "symbols": ["Cu", "Cu"],
            "positions": [[0.0, 0.0, 0.0], [1.805, 1.805, 0.1]],
            "cell": [[3.61, 0.0, 0.0], [0.0, 3.61, 0.0], [0.0, 0.0, 3.61]],
            "pbc": [True, True, True],
        },
        # Distinct names give distinct results (the name is not part of the content hash).
        "energy": -7.123456789012345 - (zlib.crc32(name.encode()) % 100_000) * 1e-6,
        "forces": [[0.1, -0.2, 0.3], [-0.1, 0.2, -0.3]],
        "stress": [0.01, 0.02, 0.03, 0.001, 0.002, 0.003],
        "name": name,
    }
    record.update(overrides)
    return record


def write_jsonl(path: Path, records: list[Any]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return path


@pytest.fixture(scope="module")
def emt_results(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("emt") / "results.jsonl"
    assert mlip_bridge.main(["label-emt", "--out", str(out), "--count", "6", "--elements", "Cu,Ni", "--seed", "5"]) == 0
    return out


def test_append_then_export_round_trips_every_number_exactly(tmp_path: Path, emt_results: Path,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    dataset = tmp_path / "store" / "data.pckl.gzip"
    code, result, _ = run_bridge(capsys, "append", "--dataset", str(dataset), "--results", str(emt_results))
    assert code == 0
    assert result["added"] == 6 and result["total"] == 6 and result["elements"] == ["Cu", "Ni"]

    out = tmp_path / "export.jsonl"
    code, result, _ = run_bridge(capsys, "export", "--dataset", str(dataset), "--out", str(out))
    assert code == 0 and result["rows"] == 6 and result["out"] == str(out)
    original = [json.loads(line) for line in emt_results.read_text().splitlines()]
    exported = [json.loads(line) for line in out.read_text().splitlines()]
    for before, after in zip(original, exported, strict=True):
        assert after["structure"] == before["structure"]
        assert after["energy"] == before["energy"]
        assert after["forces"] == before["forces"]
        assert after["stress"] == before["stress"]
        assert after["name"] == before["name"]
        assert np.array(after["virial"]).shape == (3, 3)


def test_dataset_columns_have_pacemaker_types_and_shapes(tmp_path: Path, emt_results: Path,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    dataset = tmp_path / "data.pckl.gzip"
    run_bridge(capsys, "append", "--dataset", str(dataset), "--results", str(emt_results))
    df = pd.read_pickle(dataset, compression="gzip")
    assert list(df.columns) == ["name", "ase_atoms", "energy", "forces", "stress", "virial", "mlip_hash", "mlip_split"]
    for _, row in df.iterrows():
        natoms = len(row["ase_atoms"])
        assert row["ase_atoms"].calc is None
        assert row["forces"].shape == (natoms, 3) and row["forces"].dtype == np.float64
        assert row["stress"].shape == (6,)
        assert row["virial"].shape == (3, 3)
        volume = row["ase_atoms"].get_volume()
        np.testing.assert_allclose(row["virial"], -mlip_bridge.voigt_to_matrix(row["stress"]) * volume)
        assert isinstance(row["energy"], float)


def test_append_concatenates_and_reports_the_sha256_of_the_file(tmp_path: Path, emt_results: Path,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    dataset = tmp_path / "data.pckl.gzip"
    run_bridge(capsys, "append", "--dataset", str(dataset), "--results", str(emt_results))
    more = tmp_path / "more.jsonl"
    assert mlip_bridge.main(["label-emt", "--out", str(more), "--count", "6", "--elements", "Cu,Ni", "--seed", "6"]) == 0
    capsys.readouterr()
    code, result, _ = run_bridge(capsys, "append", "--dataset", str(dataset), "--results", str(more))
    assert code == 0 and result["added"] == 6 and result["total"] == 12
    assert result["sha256"] == mlip_bridge.sha256_of_file(dataset)
    code, summary, _ = run_bridge(capsys, "summary", "--dataset", str(dataset))
    assert summary["rows"] == 12 and summary["natoms_total"] == 96 and summary["sha256"] == result["sha256"]


def test_same_rows_give_the_same_file_bytes(tmp_path: Path, emt_results: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    first, second = tmp_path / "a" / "d.pckl.gzip", tmp_path / "b" / "d.pckl.gzip"
    _, one, _ = run_bridge(capsys, "append", "--dataset", str(first), "--results", str(emt_results))
    _, two, _ = run_bridge(capsys, "append", "--dataset", str(second), "--results", str(emt_results))
    assert one["sha256"] == two["sha256"]


@pytest.mark.parametrize(
    ("bad", "field"),
    [
        ({"forces": [[float("nan"), 0.0, 0.0], [0.0, 0.0, 0.0]]}, "forces"),
        ({"forces": [[0.0, 0.0, 0.0]]}, "forces"),
        ({"structure": {**cu_record()["structure"], "symbols": ["Cu", "Qq"]}}, "structure.symbols"),
        ({"energy": None}, "energy"),
        ({"stress": [1.0, 2.0]}, "stress"),
        ({"structure": {**cu_record()["structure"], "pbc": [True, "yes", True]}}, "structure.pbc"),
    ],
)
def test_a_bad_record_rejects_the_whole_batch_and_leaves_the_dataset_byte_identical(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], bad: dict[str, Any], field: str) -> None:
    dataset = tmp_path / "data.pckl.gzip"
    run_bridge(capsys, "append", "--dataset", str(dataset), "--results", str(write_jsonl(tmp_path / "ok.jsonl",
                                                                                         [cu_record()])))
    before = dataset.read_bytes()
    batch = write_jsonl(tmp_path / "batch.jsonl", [cu_record("good"), cu_record("bad", **bad), cu_record("good2")])
    code, result, _ = run_bridge(capsys, "append", "--dataset", str(dataset), "--results", str(batch))
    assert code == 2
    assert result["error"]["kind"] == "bad_input"
    problems = result["error"]["problems"]
    assert {(p["index"], p["field"]) for p in problems} == {(1, field)}
    assert all(isinstance(p["value"], str) and p["reason"] for p in problems)
    assert dataset.read_bytes() == before
    names = sorted(os.listdir(tmp_path))
    assert [n for n in names if not n.endswith(".bin")] == ["batch.jsonl", "data.index.json", "data.lock",
                                                            "data.pckl.gzip", "manifest.json", "ok.jsonl"]
    assert len([n for n in names if n.startswith("data.index.") and n.endswith(".bin")]) == 1


def test_every_problem_of_every_record_is_listed(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    records = [
        cu_record("nan", forces=[[math.inf, 0, 0], [0, 0, 0]]),
        cu_record("count", forces=[[0, 0, 0]], energy="x"),
    ]
    code, result, _ = run_bridge(capsys, "append", "--dataset", str(tmp_path / "d.pckl.gzip"), "--results",
                                 str(write_jsonl(tmp_path / "r.jsonl", records)))
    assert code == 2
    assert {(p["index"], p["field"]) for p in result["error"]["problems"]} == {(0, "forces"), (1, "forces"),
                                                                               (1, "energy")}
    assert not (tmp_path / "d.pckl.gzip").exists()


def test_atomic_write_leaves_no_temporary_files_and_a_readable_mode(tmp_path: Path, emt_results: Path,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    dataset = tmp_path / "deep" / "er" / "data.pckl.gzip"
    run_bridge(capsys, "append", "--dataset", str(dataset), "--results", str(emt_results))
    names = sorted(os.listdir(dataset.parent))
    assert [n for n in names if not n.endswith(".bin")] == ["data.index.json", "data.lock", "data.pckl.gzip",
                                                            "manifest.json"]
    assert len(names) == 5 and not any(n.endswith(".tmp") for n in names)
    umask = os.umask(0)
    os.umask(umask)
    assert dataset.stat().st_mode & 0o777 == 0o666 & ~umask


def test_save_dataset_and_results_to_dataframe_are_importable_building_blocks(tmp_path: Path) -> None:
    df = mlip_bridge.results_to_dataframe([cu_record(virial=[1, 2, 3, 4, 5, 6]), cu_record("no-stress", stress=None)])
    assert df["virial"][0].shape == (3, 3) and df["virial"][0][1, 2] == 4
    assert df["stress"][1] is None and df["virial"][1] is None
    digest = mlip_bridge.save_dataset(df, tmp_path / "x.pckl.gzip")
    assert digest == mlip_bridge.sha256_of_file(tmp_path / "x.pckl.gzip")
    assert len(pd.read_pickle(tmp_path / "x.pckl.gzip", compression="gzip")) == 2


def test_a_json_array_file_is_accepted(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    results = tmp_path / "r.json"
    results.write_text(json.dumps([cu_record("a"), cu_record("b")]))
    code, result, _ = run_bridge(capsys, "append", "--dataset", str(tmp_path / "d.pckl.gzip"), "--results",
                                 str(results))
    assert code == 0 and result["added"] == 2


def test_label_emt_is_deterministic_for_a_seed(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    paths = [tmp_path / f"{i}.jsonl" for i in range(3)]
    for path, seed in zip(paths, ("1", "1", "2")):
        code, result, _ = run_bridge(capsys, "label-emt", "--out", str(path), "--count", "3", "--elements", "Cu,Ni",
                                     "--seed", seed, "--atoms", "8")
        assert code == 0 and result["count"] == 3
    assert paths[0].read_bytes() == paths[1].read_bytes() != paths[2].read_bytes()
    record = json.loads(paths[0].read_text().splitlines()[0])
    assert len(record["structure"]["symbols"]) == 8 and len(record["stress"]) == 6


def test_label_emt_rejects_elements_emt_cannot_label(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, result, _ = run_bridge(capsys, "label-emt", "--out", str(tmp_path / "x.jsonl"), "--count", "1",
                                 "--elements", "Cu,Fe")
    assert code == 2 and result["error"]["problems"][0]["value"] == "Fe"


def test_export_to_stdout_ends_with_the_row_count(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    dataset = tmp_path / "d.pckl.gzip"
    run_bridge(capsys, "append", "--dataset", str(dataset), "--results",
               str(write_jsonl(tmp_path / "r.jsonl", [cu_record("a"), cu_record("b")])))
    code, result, lines = run_bridge(capsys, "export", "--dataset", str(dataset))
    assert code == 0 and result["rows"] == 2
    assert [json.loads(line)["name"] for line in lines[:-1]] == ["a", "b"]


def test_the_command_line_prints_json_and_uses_exit_codes_0_and_2(tmp_path: Path) -> None:
    script = str(PYTHON_DIR / "mlip_bridge.py")
    ok = subprocess.run([sys.executable, script, "append", "--dataset", str(tmp_path / "d.pckl.gzip"), "--results",
                         str(write_jsonl(tmp_path / "r.jsonl", [cu_record()]))], capture_output=True, text=True)
    assert ok.returncode == 0 and json.loads(ok.stdout.splitlines()[-1])["total"] == 1
    usage = subprocess.run([sys.executable, script, "append"], capture_output=True, text=True)
    assert usage.returncode == 2 and json.loads(usage.stdout.splitlines()[-1])["error"]["kind"] == "bad_input"
    missing = subprocess.run([sys.executable, script, "summary", "--dataset", str(tmp_path / "none.pckl.gzip")],
                             capture_output=True, text=True)
    assert missing.returncode == 2 and "dataset not found" in missing.stdout


# ---------------------------------------------------------------------------------------------
# Issue 3: deduplication, stable split, index, manifest, validation, imports and exports
# ---------------------------------------------------------------------------------------------


def all_files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


def append(capsys: pytest.CaptureFixture[str], dataset: Path, *files: Path, fraction: float = 0.0,
           elements: str | None = None) -> tuple[int, dict[str, Any]]:
    argv = ["append", "--dataset", str(dataset), "--test-fraction", str(fraction)]
    for f in files:
        argv += ["--results", str(f)]
    if elements:
        argv += ["--elements", elements]
    code, result, _ = run_bridge(capsys, *argv)
    return code, result


def test_dummy_results_become_a_dataframe_with_energy_forces_and_virial_of_the_right_shapes() -> None:
    records = [cu_record("a"), cu_record("b", stress=[[0.01, 0.0, 0.0], [0.0, 0.02, 0.0], [0.0, 0.0, 0.03]]),
               cu_record("c", stress=None, virial=[[1.0, 0, 0], [0, 2.0, 0], [0, 0, 3.0]])]
    df = mlip_bridge.results_to_dataframe(records)
    assert len(df) == 3
    for _, row in df.iterrows():
        assert isinstance(row["energy"], float)
        assert row["forces"].shape == (len(row["ase_atoms"]), 3)
        assert row["virial"].shape == (3, 3)
    assert df["stress"][0].shape == (6,) and df["stress"][2] is None


def test_save_and_load_round_trip_exactly(tmp_path: Path, emt_results: Path) -> None:
    df = mlip_bridge.results_to_dataframe(mlip_bridge.read_results([str(emt_results)]))
    path = tmp_path / "x.pckl.gzip"
    mlip_bridge.save_dataset(df, path)
    back = mlip_bridge.load_dataset(path)
    assert list(back.columns) == list(df.columns) and len(back) == len(df)
    for (_, a), (_, b) in zip(df.iterrows(), back.iterrows()):
        assert a["name"] == b["name"] and a["energy"] == b["energy"]
        assert a["ase_atoms"] == b["ase_atoms"]  # numbers, positions, cell, pbc
        assert np.array_equal(a["forces"], b["forces"]) and np.array_equal(a["stress"], b["stress"])
        assert np.array_equal(a["virial"], b["virial"])


def test_a_resent_batch_and_duplicates_within_a_batch_add_nothing(tmp_path: Path, emt_results: Path,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    dataset = tmp_path / "data" / "accumulated.pckl.gzip"
    code, first = append(capsys, dataset, emt_results, fraction=0.3)
    assert code == 0 and first["added"] == 6 and first["duplicates"] == 0
    before = all_files(dataset.parent)
    code, again = append(capsys, dataset, emt_results, emt_results, fraction=0.3)
    assert code == 0 and again["added"] == 0 and again["duplicates"] == 12 and again["total"] == 6
    assert again["sha256"] == first["sha256"]
    after = all_files(dataset.parent)
    assert {k: v for k, v in after.items() if k != "manifest.json"} == \
        {k: v for k, v in before.items() if k != "manifest.json"}
    history = json.loads((dataset.parent / "manifest.json").read_text())["history"]
    assert [(h["added"], h["duplicates"]) for h in history] == [(6, 0), (0, 12)]
    # A copy that differs only in its name is the same result.
    renamed = write_jsonl(tmp_path / "renamed.jsonl", [{**json.loads(line), "name": "other"}
                                                       for line in emt_results.read_text().splitlines()])
    assert append(capsys, dataset, renamed)[1]["added"] == 0


def test_the_split_of_old_structures_never_changes_after_appends(tmp_path: Path,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    dataset = tmp_path / "accumulated.pckl.gzip"
    batches = []
    for seed in (1, 2, 3):
        path = tmp_path / f"b{seed}.jsonl"
        assert mlip_bridge.main(["label-emt", "--out", str(path), "--count", "30", "--elements", "Cu,Ni",
                                 "--seed", str(seed), "--atoms", "4"]) == 0
        batches.append(path)
    capsys.readouterr()
    sides_after: list[dict[str, str]] = []
    for batch, fraction in zip(batches, (0.3, 0.5, 0.0)):
        code, result = append(capsys, dataset, batch, fraction=fraction)
        assert code == 0 and result["added"] == 30
        train = mlip_bridge.load_dataset(result["trainPath"])
        test = mlip_bridge.load_dataset(result["testPath"])
        assert set(train["mlip_split"]) == {"train"} and set(test["mlip_split"]) == {"test"}
        assert not set(train["mlip_hash"]) & set(test["mlip_hash"])
        assert len(train) + len(test) == result["total"] == result["structures"]["train"] + result["structures"]["test"]
        sides_after.append({**dict.fromkeys(train["mlip_hash"], "train"), **dict.fromkeys(test["mlip_hash"], "test")})
    for earlier, later in zip(sides_after, sides_after[1:]):
        assert all(later[h] == side for h, side in earlier.items())
    # The last batch was added with fraction 0: all train; the first two kept their test share.
    assert 10 <= sum(side == "test" for side in sides_after[-1].values()) <= 35


def test_a_missing_or_stale_index_is_rebuilt_from_the_dataset(tmp_path: Path, emt_results: Path,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    dataset = tmp_path / "accumulated.pckl.gzip"
    append(capsys, dataset, emt_results, fraction=0.5)
    index = tmp_path / "accumulated.index.json"
    def sides() -> dict[str, str]:
        state = mlip_bridge.load_state(mlip_bridge.DatasetFiles(dataset))
        assert state is not None
        return state.entries.as_dict()

    original = sides()
    assert len(original) == 6 and set(original.values()) == {"train", "test"}
    index.unlink()
    code, result = append(capsys, dataset, emt_results, fraction=0.0)
    assert code == 0 and result["added"] == 0 and result["duplicates"] == 6
    assert sides() == original  # sides kept, not re-decided at 0.0
    # Stale: the dataset replaced behind the index's back by a plain pandas write of 3 rows.
    df = mlip_bridge.load_dataset(dataset).iloc[:3].drop(columns=["mlip_hash", "mlip_split"])
    df.to_pickle(dataset, compression="gzip", protocol=4)
    code, result = append(capsys, dataset, emt_results, fraction=0.5)
    assert code == 0 and result["added"] == 3 and result["duplicates"] == 3 and result["total"] == 6
    assert json.loads((tmp_path / "manifest.json").read_text())["history"][-1]["indexRebuilt"] is True


def _periodic(record: dict[str, Any], cell: list[list[float]]) -> dict[str, Any]:
    return {**record, "structure": {**record["structure"], "cell": cell}}


@pytest.mark.parametrize(
    ("bad", "field", "reason"),
    [
        (lambda r: {**r, "forces": [[float("nan"), 0.0, 0.0], [0.0, 0.0, 0.0]]}, "forces", "finite"),
        (lambda r: {**r, "forces": [[0.0, 0.0, 0.0]]}, "forces", "2 rows"),
        (lambda r: {**r, "energy": float("inf")}, "energy", "finite"),
        (lambda r: {**r, "stress": [1.0, 2.0, 3.0]}, "stress", "6 Voigt"),
        (lambda r: {**r, "virial": [[1.0, 2.0], [3.0, 4.0]]}, "virial", "3x3"),
        (lambda r: {**r, "structure": {**r["structure"], "symbols": ["Cu", "Au"]}}, "structure.symbols", "configured"),
        (lambda r: _periodic(r, [[3.61, 0, 0], [0, 0, 0], [0, 0, 3.61]]), "structure.cell", "zero"),
        (lambda r: _periodic(r, [[3.61, 0, 0], [7.22, 0, 0], [0, 0, 3.61]]), "structure.cell", "degenerate"),
        (lambda r: {**r, "structure": {**r["structure"], "positions": [[0.0, 0.0, 0.0], [0.0, 0.0, 0.05]]}},
         "structure.positions", "on top of each other"),
        # On top of each other through the periodic boundary: 3.6 Å apart in space, 0.01 Å as images.
        (lambda r: {**r, "structure": {**r["structure"], "positions": [[0.0, 0.0, 0.0], [3.60, 0.0, 0.0]]}},
         "structure.positions", "on top of each other"),
    ],
)
def test_every_bad_input_case_leaves_every_file_byte_identical(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                               bad: Any, field: str, reason: str) -> None:
    dataset = tmp_path / "data" / "accumulated.pckl.gzip"
    ok = write_jsonl(tmp_path / "ok.jsonl", [cu_record(f"ok{i}") for i in range(8)])
    assert append(capsys, dataset, ok, fraction=0.5, elements="Cu,Ni")[0] == 0
    before = all_files(dataset.parent)
    batch = write_jsonl(tmp_path / "batch.jsonl", [cu_record("good"), bad(cu_record("bad")), cu_record("good2")])
    code, result = append(capsys, dataset, batch, fraction=0.5, elements="Cu,Ni")
    assert code == 2
    problems = result["error"]["problems"]
    assert [(p["index"], p["field"], p["file"], p["record"]) for p in problems] == [(1, field, str(batch), 1)]
    assert reason in problems[0]["reason"], problems[0]
    assert all_files(dataset.parent) == before


def test_an_ase_extxyz_file_imports_with_the_right_energies_and_forces(tmp_path: Path,
                                                                      capsys: pytest.CaptureFixture[str]) -> None:
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
    df = mlip_bridge.load_dataset(dataset)
    for atoms, (_, row) in zip(frames, df.iterrows()):
        assert row["energy"] == pytest.approx(atoms.get_potential_energy(), abs=1e-10)
        np.testing.assert_allclose(row["forces"], atoms.get_forces(), atol=1e-8)
        np.testing.assert_allclose(row["ase_atoms"].positions, atoms.positions, atol=1e-8)
        np.testing.assert_allclose(row["stress"], atoms.get_stress(), atol=1e-8)
    # The dataset exported as extxyz and re-imported is recognised as the same results.
    out = tmp_path / "export.extxyz"
    code, exported, _ = run_bridge(capsys, "export", "--dataset", str(dataset), "--out", str(out), "--format", "extxyz")
    assert code == 0 and exported["rows"] == 4
    code, again = append(capsys, dataset, out)
    assert code == 0 and again["added"] == 0 and again["duplicates"] == 4


def test_an_ase_file_without_forces_is_rejected_naming_the_frame(tmp_path: Path,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    from ase.build import bulk
    from ase.io import write

    xyz = tmp_path / "bare.extxyz"
    write(xyz, [bulk("Cu", "fcc", a=3.6)], format="extxyz")
    code, result = append(capsys, tmp_path / "d.pckl.gzip", xyz)
    assert code == 2
    assert {(p["file"], p["record"], p["field"]) for p in result["error"]["problems"]} == {
        (str(xyz), 0, "energy"), (str(xyz), 0, "forces")}
    assert not (tmp_path / "d.pckl.gzip").exists()


def test_an_update_waits_for_the_lock_and_times_out_naming_the_holder(tmp_path: Path, emt_results: Path) -> None:
    dataset = tmp_path / "accumulated.pckl.gzip"
    holder = subprocess.Popen([sys.executable, "-c", (
        "import fcntl, os, sys, time\n"
        f"fd = os.open({str(tmp_path / 'accumulated.lock')!r}, os.O_RDWR | os.O_CREAT)\n"
        "fcntl.lockf(fd, fcntl.LOCK_EX)\n"
        "os.pwrite(fd, b'{\"host\": \"elsewhere\", \"pid\": 1}', 0)\n"
        "print('locked', flush=True)\n"
        "time.sleep(60)\n")], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        script = str(PYTHON_DIR / "mlip_bridge.py")
        busy = subprocess.run([sys.executable, script, "append", "--dataset", str(dataset), "--results", str(emt_results),
                               "--lock-timeout", "0.5"], capture_output=True, text=True)
        assert busy.returncode == 3
        error = json.loads(busy.stdout.splitlines()[-1])["error"]
        assert error["kind"] == "busy" and "elsewhere" in error["message"]
        assert not dataset.exists()
    finally:
        holder.kill()
        holder.wait()
    # The holder died without unlocking: the kernel released its lock, nothing is stale.
    done = subprocess.run([sys.executable, str(PYTHON_DIR / "mlip_bridge.py"), "append", "--dataset", str(dataset),
                           "--results", str(emt_results), "--lock-timeout", "5"], capture_output=True, text=True)
    assert done.returncode == 0 and json.loads(done.stdout.splitlines()[-1])["added"] == 6


def test_info_reports_counts_per_split_and_element_and_the_history(tmp_path: Path, emt_results: Path,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    dataset = tmp_path / "accumulated.pckl.gzip"
    code, result, _ = run_bridge(capsys, "append", "--dataset", str(dataset), "--results", str(emt_results),
                                 "--test-fraction", "0.5", "--origin",
                                 json.dumps({"workflowId": "train-x-generation_003", "generation": 3}))
    assert code == 0
    code, info, _ = run_bridge(capsys, "info", "--dataset", str(dataset))
    assert code == 0 and info["sha256"] == result["sha256"] == mlip_bridge.sha256_of_file(dataset)
    df = mlip_bridge.load_dataset(dataset)
    for element in ("Cu", "Ni"):
        for side in ("train", "test"):
            rows = df[df["mlip_split"] == side]
            atoms = sum(a.get_chemical_symbols().count(element) for a in rows["ase_atoms"])
            assert info["elements"][element]["atoms"][side] == atoms
    entry = info["history"][-1]
    assert entry["workflowId"] == "train-x-generation_003" and entry["generation"] == 3 and entry["added"] == 6
    assert entry["sources"] == [str(emt_results.resolve())]


def test_the_hash_index_finds_every_entry_by_binary_search_and_nothing_else() -> None:
    import hashlib as h

    digests = [h.sha256(str(i).encode()).hexdigest() for i in range(500)]
    index = mlip_bridge.HashIndex()
    for i, d in enumerate(digests[:300]):
        index.add(d, "test" if i % 7 == 0 else "train")
    stored = mlip_bridge.HashIndex(index.to_bytes())
    assert len(stored) == 300
    assert all(stored.side(d) == ("test" if i % 7 == 0 else "train") for i, d in enumerate(digests[:300]))
    assert not any(d in stored for d in digests[300:])
    stored.add(digests[0], "train")  # already known: the first side wins
    stored.add(digests[400], "test")
    assert stored.side(digests[0]) == "test" and stored.side(digests[400]) == "test" and len(stored) == 301


def test_known_reference_energies_give_energy_corrected_for_every_row(tmp_path: Path, emt_results: Path,
                                                                     capsys: pytest.CaptureFixture[str]) -> None:
    dataset = tmp_path / "accumulated.pckl.gzip"
    reference = {"Cu": -0.5, "Ni": -0.25}
    more = write_jsonl(tmp_path / "more.jsonl", [cu_record("x")])
    for batch in (emt_results, more):
        code, _, _ = run_bridge(capsys, "append", "--dataset", str(dataset), "--results", str(batch),
                                "--reference-energy", json.dumps(reference))
        assert code == 0
    df = mlip_bridge.load_dataset(dataset)
    assert len(df) == 7 and not df["energy_corrected"].isna().any()
    for _, row in df.iterrows():
        expected = row["energy"] - sum(reference[s] for s in row["ase_atoms"].get_chemical_symbols())
        assert row["energy_corrected"] == pytest.approx(expected, abs=1e-12)
    before = dataset.read_bytes()
    code, result, _ = run_bridge(capsys, "append", "--dataset", str(dataset), "--results",
                                 str(write_jsonl(tmp_path / "y.jsonl", [cu_record("y")])), "--reference-energy", '{"Ni": -0.25}')
    assert code == 2 and "no value for ['Cu']" in result["error"]["problems"][0]["reason"]
    assert dataset.read_bytes() == before
