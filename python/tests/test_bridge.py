"""mlip_bridge: CalculationResult JSON <-> pacemaker dataset (gzip pickle)."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
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
        "energy": -7.123456789012345,
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
    assert code == 0 and result == {"rows": 6, "out": str(out)}
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
    assert list(df.columns) == ["name", "ase_atoms", "energy", "forces", "stress", "virial"]
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
    code, result, _ = run_bridge(capsys, "append", "--dataset", str(dataset), "--results", str(emt_results))
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
    assert sorted(os.listdir(tmp_path)) == ["batch.jsonl", "data.pckl.gzip", "ok.jsonl"]


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
    assert os.listdir(dataset.parent) == ["data.pckl.gzip"]
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
    assert code == 0 and result == {"rows": 2}
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
