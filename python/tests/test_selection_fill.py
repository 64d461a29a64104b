"""The fill up to n by extrapolation grade, and the grade itself."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from mlip_trainer.selection.fill import finish_selection
from mlip_trainer.selection.gamma import active_set_inverses, structure_gamma
from mlip_trainer.selection.pool import read_pool
from mlip_trainer.selection.projections import pyace_projector


def finish(
    pool_jsonl: Path, sim_potential: Path, out: Path, n: int, selected: Path | None, batch_size: int = 200
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """The program path's fill (what `run` does once pace_select has ended), with the simulator's
    stand-in pyace."""
    frame = read_pool(str(pool_jsonl))
    project, nfuncs = pyace_projector(str(sim_potential))
    return frame, finish_selection(
        frame, str(selected) if selected else None, project, nfuncs, None, n, str(out), batch_size, None
    )


def test_finish_fills_to_n_by_decreasing_gamma_after_pace_selects_choice(tmp_path, pool_jsonl, sim_potential):
    frame = read_pool(str(pool_jsonl))
    # What pace_select writes: the chosen rows, index = pool position, uncompressed unless .gz.
    frame.iloc[[5, 2]].to_pickle(tmp_path / "sel.pkl.gz")
    _, out = finish(pool_jsonl, sim_potential, tmp_path / "out.pckl.gzip", 7, tmp_path / "sel.pkl.gz", batch_size=3)
    assert out["indices"][:2] == [5, 2]
    assert out["chosenBy"] == ["pace_select"] * 2 + ["gamma"] * 5
    filled = out["gammaMax"][2:]
    assert filled == sorted(filled, reverse=True)
    assert out["counts"] == {"pace_select": 2, "gamma": 5, "random": 0}
    back = pd.read_pickle(tmp_path / "out.pckl.gzip", compression="gzip")
    assert list(back.index) == out["indices"]
    assert list(back.columns) == list(frame.columns)


def test_finish_without_pace_select_output_ranks_everything_by_gamma(tmp_path, pool_jsonl, sim_potential):
    _, out = finish(pool_jsonl, sim_potential, tmp_path / "o.pckl.gzip", 3, None)
    assert out["chosenBy"] == ["gamma"] * 3 and out["paceSelectReturned"] == 0
    # No active set at all: every grade is unbounded (null), and the order falls back to pool position.
    assert out["indices"] == [0, 1, 2] and out["gammaMax"] == [None, None, None]


def test_gamma_against_an_active_set_is_max_abs_of_projection_times_inverse():
    proj = {"Cu": np.array([[1.0, 0.0], [0.0, 1.0], [2.0, -3.0]])}
    owners = {"Cu": np.array([0, 0, 1])}
    inverses = active_set_inverses({"Cu": 2}, None, {"Cu": np.array([[1.0, 0.0], [0.0, 1.0]])})
    gamma = structure_gamma(proj, owners, inverses, 2)
    assert gamma.tolist() == pytest.approx([1.0, 3.0])


def test_the_fill_writes_every_pool_structures_gamma_beside_the_selection(tmp_path, pool_jsonl, sim_potential):
    frame = read_pool(str(pool_jsonl))
    frame.iloc[[5, 2]].to_pickle(tmp_path / "sel.pkl.gz")
    _, out = finish(pool_jsonl, sim_potential, tmp_path / "out.pckl.gzip", 4, tmp_path / "sel.pkl.gz")
    assert out["poolGammaFile"] == str(tmp_path / "pool_gamma.json")
    written = json.loads((tmp_path / "pool_gamma.json").read_text())
    assert len(written["gammaMax"]) == len(frame)
    assert written["selected"] == out["indices"] and written["chosenBy"] == out["chosenBy"]
    # The selected structures' grades are the pool's grades at their positions.
    assert [written["gammaMax"][i] for i in out["indices"]] == out["gammaMax"]
