"""Made-up data: EMT-labelled structures."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from helpers import run_dataset


def test_label_emt_is_deterministic_for_a_seed(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    paths = [tmp_path / f"{i}.jsonl" for i in range(3)]
    for path, seed in zip(paths, ("1", "1", "2")):
        code, result, _ = run_dataset(
            capsys,
            "label-emt",
            "--out",
            str(path),
            "--count",
            "3",
            "--elements",
            "Cu,Ni",
            "--seed",
            seed,
            "--atoms",
            "8",
        )
        assert code == 0 and result["count"] == 3
    assert paths[0].read_bytes() == paths[1].read_bytes() != paths[2].read_bytes()
    record = json.loads(paths[0].read_text().splitlines()[0])
    assert len(record["structure"]["symbols"]) == 8 and len(record["stress"]) == 6


def test_label_emt_rejects_elements_emt_cannot_label(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, result, _ = run_dataset(
        capsys, "label-emt", "--out", str(tmp_path / "x.jsonl"), "--count", "1", "--elements", "Cu,Fe"
    )
    assert code == 2 and result["error"]["problems"][0]["value"] == "Fe"


def test_a_synthesized_dataset_is_a_store_as_append_leaves_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    dataset = tmp_path / "synth" / "accumulated.pckl.gzip"
    code, made, _ = run_dataset(capsys, "synthesize", "--out", str(dataset), "--count", "40", "--atoms", "4")
    assert code == 0 and made["out"] == str(dataset) and made["count"] == 40
    code, info, _ = run_dataset(capsys, "info", "--dataset", str(dataset))
    assert code == 0 and info["total"] == 40 and info["history"][0]["synthetic"] is True
    assert info["structures"]["test"] > 0 and info["testPath"] is not None
    # Its index is current: appending the same rows again finds them all.
    exported = tmp_path / "rows.jsonl"
    run_dataset(capsys, "export", "--dataset", str(dataset), "--out", str(exported))
    code, again, _ = run_dataset(capsys, "append", "--dataset", str(dataset), "--results", str(exported))
    assert code == 0 and again["added"] == 0 and again["duplicates"] == 40 and again["indexRebuilt"] is False


def test_synthesized_results_are_valid_records(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "results.jsonl"
    code, made, _ = run_dataset(capsys, "synthesize-results", "--out", str(out), "--count", "5", "--atoms", "8")
    assert code == 0 and made["count"] == 5
    records = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(records) == 5 and all(len(r["structure"]["symbols"]) == 8 for r in records)
    code, added, _ = run_dataset(capsys, "append", "--dataset", str(tmp_path / "d.pckl.gzip"), "--results", str(out))
    assert code == 0 and added["added"] == 5
