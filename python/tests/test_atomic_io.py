"""Writes that land whole: temporary files, modes, and the streamed gzip pickle."""

from __future__ import annotations

import gzip
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mlip_trainer import atomic_io
from mlip_trainer.atomic_io import atomic_file, load_dataset, save_dataset, sha256_of_file, write_atomically

from helpers import run_dataset


def test_atomic_write_leaves_no_temporary_files_and_a_readable_mode(
    tmp_path: Path, emt_results: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    dataset = tmp_path / "deep" / "er" / "data.pckl.gzip"
    run_dataset(capsys, "append", "--dataset", str(dataset), "--results", str(emt_results))
    names = sorted(os.listdir(dataset.parent))
    assert [n for n in names if not n.endswith(".bin")] == [
        "data.index.json",
        "data.lock",
        "data.pckl.gzip",
        "manifest.json",
    ]
    assert len(names) == 5 and not any(n.endswith(".tmp") for n in names)
    umask = os.umask(0)
    os.umask(umask)
    assert dataset.stat().st_mode & 0o777 == 0o666 & ~umask


def test_a_failed_write_leaves_the_old_file_and_no_temporary_file(tmp_path: Path) -> None:
    target = tmp_path / "file.bin"
    write_atomically(target, b"old")

    def fail_halfway() -> None:
        with atomic_file(target) as handle:
            handle.write(b"half of the new")
            raise RuntimeError("disk full")

    with pytest.raises(RuntimeError, match="disk full"):
        fail_halfway()
    assert target.read_bytes() == b"old"
    assert os.listdir(tmp_path) == ["file.bin"]


def test_a_pickle_of_many_gzip_members_reads_back_whole_and_the_same_rows_give_the_same_bytes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(atomic_io, "GZIP_CHUNK", 4096)  # many members, compressed on the pool
    rng = np.random.default_rng(1)
    frame = pd.DataFrame({"name": [f"s{i}" for i in range(50)], "forces": [rng.normal(size=(8, 3)) for _ in range(50)]})
    first, second = tmp_path / "a.pckl.gzip", tmp_path / "b.pckl.gzip"
    digest = save_dataset(frame, first)
    assert save_dataset(frame, second) == digest == sha256_of_file(first)
    assert first.read_bytes() == second.read_bytes()
    assert first.read_bytes().count(b"\x1f\x8b\x08") > 2, "several gzip members"
    back = load_dataset(first)
    assert list(back["name"]) == list(frame["name"])
    assert all(np.array_equal(a, b) for a, b in zip(back["forces"], frame["forces"]))
    with gzip.open(first) as stream:  # one gzip stream to every reader
        assert len(stream.read()) > 4096


def test_an_empty_frame_is_still_a_gzip_file_pandas_reads(tmp_path: Path) -> None:
    path = tmp_path / "empty.pckl.gzip"
    save_dataset(pd.DataFrame({"name": []}), path)
    assert path.read_bytes()[:2] == b"\x1f\x8b"
    assert len(load_dataset(path)) == 0
