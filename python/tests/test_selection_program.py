"""The program path: `run` works beside the pace_select program and fills once its marker is there."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from mlip_trainer.atomic_io import save_dataset
from mlip_trainer.selection.pool import read_pool

from helpers import run_select


@pytest.fixture
def pool_pickle(tmp_path: Path, pool_jsonl: Path) -> Path:
    pool = tmp_path / "pool.pkl.gz"
    save_dataset(read_pool(str(pool_jsonl)), pool)
    return pool


def run_beside(capsys: pytest.CaptureFixture[str], pool: Path, potential: Path, n: int, *extra: str) -> dict[str, Any]:
    folder = pool.parent
    code, out = run_select(
        capsys, "run", "--pool", str(pool), "--selected", str(folder / "sel.pkl.gz"), "--done", str(folder / "done"),
        "--potential", str(potential), "-n", str(n), "--out", str(folder / "out.pckl.gzip"), "--batch-size", "5",
        *extra,
    )  # fmt: skip
    assert code == 0, out
    return out


@pytest.mark.parametrize("memory_limit", [[], ["--memory-limit-bytes", "1000"]])
def test_run_takes_pace_selects_choice_and_fills_whether_it_kept_the_projections_or_not(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, pool_pickle: Path, sim_potential: Path, memory_limit: list[str]
) -> None:
    frame = pd.read_pickle(pool_pickle, compression="gzip")
    frame.iloc[[5, 2]].to_pickle(tmp_path / "sel.pkl.gz")
    (tmp_path / "done").write_text(json.dumps({"ok": True, "returned": 2}))
    out = run_beside(capsys, pool_pickle, sim_potential, 6, *memory_limit)
    assert out["indices"][:2] == [5, 2] and len(set(out["indices"])) == 6
    assert out["chosenBy"] == ["pace_select"] * 2 + ["gamma"] * 4
    filled = out["gammaMax"][2:]
    assert filled == sorted(filled, reverse=True)
    assert list(pd.read_pickle(tmp_path / "out.pckl.gzip", compression="gzip").index) == out["indices"]


def test_run_after_a_failed_pace_select_ranks_the_whole_pool_by_gamma(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, pool_pickle: Path, sim_potential: Path
) -> None:
    frame = pd.read_pickle(pool_pickle, compression="gzip")
    frame.iloc[[1]].to_pickle(tmp_path / "sel.pkl.gz")  # left over, but pace_select did not end well
    (tmp_path / "done").write_text(json.dumps({"ok": False, "returned": 0}))
    out = run_beside(capsys, pool_pickle, sim_potential, 3)
    assert out["chosenBy"] == ["gamma"] * 3 and out["paceSelectReturned"] == 0
