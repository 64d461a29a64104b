"""Pools: results files and dataset pickles read, converted and inspected as the selection reads them."""

from __future__ import annotations

import pandas as pd
import pytest

from mlip_trainer.atomic_io import save_dataset
from mlip_trainer.selection.pool import read_pool
from mlip_trainer.synthetic import label_emt

from helpers import run_select


def test_prepare_turns_a_results_file_into_a_gzip_pool_with_positions_as_index(capsys, tmp_path, pool_jsonl):
    code, out = run_select(
        capsys,
        "prepare",
        "--pool",
        str(pool_jsonl),
        "--out",
        str(tmp_path / "pool.pkl.gz"),
        "--sample",
        str(tmp_path / "sample.pckl.gzip"),
        "--sample-size",
        "3",
    )
    assert code == 0
    assert out["rows"] == 16 and out["elements"] == ["Cu", "Ni"] and out["natomsTotal"] == 16 * 8
    frame = pd.read_pickle(tmp_path / "pool.pkl.gz", compression="gzip")
    assert list(frame.index) == list(range(16))
    sample = pd.read_pickle(tmp_path / "sample.pckl.gzip", compression="gzip")
    assert len(sample) == 3 and float(sample["energy"].abs().sum()) == 0.0


def test_prepare_accepts_a_dataset_pickle_and_resets_its_index(capsys, tmp_path, pool_jsonl):
    frame = read_pool(str(pool_jsonl))
    frame.index = pd.RangeIndex(100, 116)
    save_dataset(frame, tmp_path / "given.pckl.gzip")
    code, out = run_select(
        capsys, "prepare", "--pool", str(tmp_path / "given.pckl.gzip"), "--out", str(tmp_path / "p.pkl.gz")
    )
    assert code == 0 and out["rows"] == 16
    assert list(pd.read_pickle(tmp_path / "p.pkl.gz", compression="gzip").index) == list(range(16))


def test_inspect_reports_rows_elements_and_atoms_of_a_results_file_and_of_a_pickle(capsys, tmp_path):
    jsonl = tmp_path / "pool.jsonl"
    label_emt(str(jsonl), 5, ["Cu", "Al"], seed=4, natoms=6)
    before = sorted(p.name for p in tmp_path.iterdir())
    code, out = run_select(capsys, "inspect", "--pool", str(jsonl))
    assert code == 0
    assert out == {"path": str(jsonl), "rows": 5, "elements": ["Al", "Cu"], "natomsTotal": 30}
    assert sorted(p.name for p in tmp_path.iterdir()) == before, "inspect writes nothing"

    pickle = tmp_path / "pool.pckl.gzip"
    save_dataset(read_pool(str(jsonl)), pickle)
    code, out = run_select(capsys, "inspect", "--pool", str(pickle))
    assert code == 0
    assert (out["rows"], out["elements"], out["natomsTotal"]) == (5, ["Al", "Cu"], 30)


@pytest.mark.parametrize("command", ["prepare", "inspect"])
@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("empty.jsonl", "", "holds no structures"),
        ("broken.pkl.gz", "not a pickle", "is not a gzip-pickled pandas DataFrame"),
        # An XYZ file is a pool now (any file of structures is); a file no reader knows is not.
        ("pool.bin", "\x00\x01binary\xff", "not a file format ASE reads"),
        ("missing.jsonl", None, "file not found"),
    ],
)
def test_prepare_and_inspect_reject_bad_pools_as_bad_input_naming_the_file(
    capsys, tmp_path, command, name, content, reason
):
    path = tmp_path / name
    if content is not None:
        path.write_text(content)
    extra = ["--out", str(tmp_path / "p.pkl.gz")] if command == "prepare" else []
    code, out = run_select(capsys, command, "--pool", str(path), *extra)
    assert code == 2
    assert out["error"]["kind"] == "bad_input"
    assert reason in out["error"]["message"] and name in out["error"]["message"]
    assert not (tmp_path / "p.pkl.gz").exists()
