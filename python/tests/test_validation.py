"""A bad record rejects the whole batch, every problem named, and touches no file."""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

import pytest

from helpers import all_files, append, cu_record, run_dataset, write_jsonl


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
    tmp_path: Path, capsys: pytest.CaptureFixture[str], bad: dict[str, Any], field: str
) -> None:
    dataset = tmp_path / "data.pckl.gzip"
    run_dataset(
        capsys, "append", "--dataset", str(dataset), "--results", str(write_jsonl(tmp_path / "ok.jsonl", [cu_record()]))
    )
    before = dataset.read_bytes()
    batch = write_jsonl(tmp_path / "batch.jsonl", [cu_record("good"), cu_record("bad", **bad), cu_record("good2")])
    code, result, _ = run_dataset(capsys, "append", "--dataset", str(dataset), "--results", str(batch))
    assert code == 2
    assert result["error"]["kind"] == "bad_input"
    problems = result["error"]["problems"]
    assert {(p["index"], p["field"]) for p in problems} == {(1, field)}
    assert all(isinstance(p["value"], str) and p["reason"] for p in problems)
    assert dataset.read_bytes() == before
    names = sorted(os.listdir(tmp_path))
    assert [n for n in names if not n.endswith(".bin")] == [
        "batch.jsonl",
        "data.index.json",
        "data.lock",
        "data.pckl.gzip",
        "manifest.json",
        "ok.jsonl",
    ]
    assert len([n for n in names if n.startswith("data.index.") and n.endswith(".bin")]) == 1


def test_every_problem_of_every_record_is_listed(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    records = [
        cu_record("nan", forces=[[math.inf, 0, 0], [0, 0, 0]]),
        cu_record("count", forces=[[0, 0, 0]], energy="x"),
    ]
    code, result, _ = run_dataset(
        capsys,
        "append",
        "--dataset",
        str(tmp_path / "d.pckl.gzip"),
        "--results",
        str(write_jsonl(tmp_path / "r.jsonl", records)),
    )
    assert code == 2
    assert {(p["index"], p["field"]) for p in result["error"]["problems"]} == {
        (0, "forces"),
        (1, "forces"),
        (1, "energy"),
    }
    assert not (tmp_path / "d.pckl.gzip").exists()


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
        (
            lambda r: {**r, "structure": {**r["structure"], "positions": [[0.0, 0.0, 0.0], [0.0, 0.0, 0.05]]}},
            "structure.positions",
            "on top of each other",
        ),
        # On top of each other through the periodic boundary: 3.6 Å apart in space, 0.01 Å as images.
        (
            lambda r: {**r, "structure": {**r["structure"], "positions": [[0.0, 0.0, 0.0], [3.60, 0.0, 0.0]]}},
            "structure.positions",
            "on top of each other",
        ),
    ],
)
def test_every_bad_input_case_leaves_every_file_byte_identical(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], bad: Any, field: str, reason: str
) -> None:
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
