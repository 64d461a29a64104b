"""The selection in one process: pace_select's own selection code, observed, then the fill."""

from __future__ import annotations

from typing import Any

import pandas as pd
import pytest
from pacemaker_sim import descriptors
from pyace import BBasisConfiguration, aceselect

from mlip_trainer.atomic_io import save_dataset
from mlip_trainer.cli import select as select_cli
from mlip_trainer.selection import in_process
from mlip_trainer.selection.pool import read_pool

from helpers import run_select


@pytest.fixture
def counted_select(capsys, tmp_path, pool_jsonl, sim_potential, monkeypatch):
    """Runs `select` on the pool as a pickle with the simulator's stand-in pyace, counting the
    structures the simulator projects (a list, one entry a call: every projection of the stand-in
    is made by pacemaker_sim.descriptors.atom_projections); also returns a direct selection by
    pace_select's selection function (the stand-in's select_structures_maxvol, called as the
    pace_select program calls it) at the same memory limit, counted the same way."""
    monkeypatch.chdir(tmp_path)
    pool = tmp_path / "pool.pkl.gz"
    save_dataset(read_pool(str(pool_jsonl)), pool)
    projected: list[int] = []
    original = descriptors.atom_projections

    def counting(atoms_list, *args, **kwargs):
        projected.append(len(atoms_list))
        return original(atoms_list, *args, **kwargs)

    monkeypatch.setattr(descriptors, "atom_projections", counting)

    def select(n: int, memory_limit: str) -> tuple[int, dict[str, Any], list[int]]:
        projected.clear()
        code, out = run_select(
            capsys,
            "select",
            "--pool",
            str(pool),
            "--potential",
            str(sim_potential),
            "-n",
            str(n),
            "--out",
            str(tmp_path / "selected.pckl.gzip"),
            "--memory-limit",
            memory_limit,
        )
        return code, out, list(projected)

    def direct(n: int, memory_limit: str) -> tuple[list[int], list[int]]:
        projected.clear()
        picked = aceselect.select_structures_maxvol(
            pd.read_pickle(pool, compression="gzip"),
            BBasisConfiguration(str(sim_potential)),
            None,
            "auto",
            1.01,
            n,
            300,
            2,
            memory_limit,
            True,
        )
        return [int(i) for i in picked.index], list(projected)

    return select, direct


def test_select_in_process_runs_pace_selects_selection_and_fills_from_its_projections(counted_select, tmp_path):
    """`select` (on the stand-in pyace): pace_select's choice is the program's, the fill does not
    project the pool a second time, and every chosen structure is recorded."""
    select, direct = counted_select
    code, out, projected = select(12, "8GB")
    assert code == 0, out
    assert out["mode"] == "in-process" and out["batched"] is False
    assert len(out["indices"]) == 12 and len(set(out["indices"])) == 12
    assert 0 < out["counts"]["pace_select"] < 12 and out["counts"]["gamma"] == 12 - out["counts"]["pace_select"]
    assert projected == [16], "the pool was projected once, by pace_select's selection"
    assert out["indices"][: out["counts"]["pace_select"]] == direct(12, "8GB")[0]
    saved = pd.read_pickle(tmp_path / "selected.pckl.gzip", compression="gzip")
    assert list(saved.index) == out["indices"]


def test_select_without_pyaces_aceselect_exits_3_so_the_caller_runs_the_program(
    capsys, tmp_path, pool_jsonl, sim_potential, monkeypatch
):
    monkeypatch.setattr(in_process, "in_process_available", lambda: False)
    code, out = run_select(
        capsys,
        "select",
        "--pool",
        str(pool_jsonl),
        "--potential",
        str(sim_potential),
        "-n",
        "2",
        "--out",
        str(tmp_path / "s.pckl.gzip"),
    )
    assert code == select_cli.IN_PROCESS_UNAVAILABLE == 3
    assert "aceselect" in out["unavailable"]
    assert not (tmp_path / "s.pckl.gzip").exists()


def test_select_in_batch_mode_takes_the_fills_grades_from_pace_selects_own_passes(counted_select):
    """Under a memory limit that forces pace_select's batch mode, the fill's grades come from the
    grade passes pace_select makes anyway: the pool is projected exactly as often as by
    pace_select's selection alone, and the grades equal those against the active set it returns."""
    select, direct = counted_select
    code, out, projected = select(12, "0.01MB")
    assert code == 0, out
    assert out["mode"] == "in-process" and out["batched"] is True
    assert len(out["indices"]) == 12 and out["counts"]["gamma"] > 0
    chosen, projected_direct = direct(12, "0.01MB")
    assert sum(projected) == sum(projected_direct) > 16, "no projection beyond pace_select's own passes"
    assert out["indices"][: out["counts"]["pace_select"]] == chosen
    # The recorded grades are against the active set the batch mode kept.
    filled = out["gammaMax"][out["counts"]["pace_select"] :]
    assert filled == sorted(filled, reverse=True)
    assert out["poolGamma"]["max"] >= filled[0]
