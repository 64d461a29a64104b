"""The selection's options: a random share of the n (batch diversity) and gamma thresholds."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mlip_trainer.cli import select as select_cli
from mlip_trainer.errors import BadInput
from mlip_trainer.selection.fill import finish_selection
from mlip_trainer.selection.pool import read_pool
from mlip_trainer.selection.projections import pyace_projector
from mlip_trainer.selection.strategy import Strategy, candidates, random_picks, within


def test_random_picks_are_distinct_outside_the_taken_and_the_same_for_the_same_seed() -> None:
    first = random_picks(50, [1, 2, 3], 10, seed=7)
    assert len(first) == len(set(first)) == 10
    assert not set(first) & {1, 2, 3}
    assert all(0 <= i < 50 for i in first)
    assert random_picks(50, [1, 2, 3], 10, seed=7) == first
    assert random_picks(50, [1, 2, 3], 10, seed=8) != first
    # Fewer left than asked: all of them.
    assert sorted(random_picks(5, [0, 1], 10, seed=1)) == [2, 3, 4]


@pytest.mark.parametrize(
    ("strategy", "n", "message"),
    [
        (Strategy(random_count=5), 5, r"--random must be within \[0, n\) = \[0, 5\) \(got 5\)"),
        (Strategy(random_count=-1), 5, r"--random must be within"),
        (Strategy(gamma_min=-0.5), 5, r"--gamma-min must be a finite number >= 0 \(got -0.5\)"),
        (Strategy(gamma_max=float("nan")), 5, r"--gamma-max must be a finite number >= 0 \(got nan\)"),
        (Strategy(gamma_min=3.0, gamma_max=2.0), 5, r"--gamma-min \(3.0\) must be below --gamma-max \(2.0\)"),
    ],
)
def test_bad_options_name_the_option_and_the_value(strategy: Strategy, n: int, message: str) -> None:
    with pytest.raises(BadInput, match=message):
        strategy.check(n)


def test_the_fill_then_the_random_share(tmp_path: Path, pool_jsonl: Path, sim_potential: Path) -> None:
    """n = 7 with 3 at random: 4 by pace_select's choice and the fill, then 3 drawn from the rest;
    the 4 are what n = 4 alone gives; the pickle holds all 7 by pool position."""
    frame = read_pool(str(pool_jsonl))
    project, nfuncs = pyace_projector(str(sim_potential))
    frame.iloc[[5, 2]].to_pickle(tmp_path / "sel.pkl.gz")
    alone = finish_selection(
        frame, str(tmp_path / "sel.pkl.gz"), project, nfuncs, None, 4, str(tmp_path / "a.pckl.gzip"), 50, None
    )
    out = finish_selection(
        frame,
        str(tmp_path / "sel.pkl.gz"),
        project,
        nfuncs,
        None,
        7,
        str(tmp_path / "b.pckl.gzip"),
        50,
        None,
        Strategy(random_count=3, seed=11),
    )
    assert out["indices"][:4] == alone["indices"]
    assert out["chosenBy"] == ["pace_select"] * 2 + ["gamma"] * 2 + ["random"] * 3
    assert out["counts"] == {"pace_select": 2, "gamma": 2, "random": 3}
    assert len(set(out["indices"])) == 7
    assert len(out["gammaMax"]) == 7
    back = pd.read_pickle(tmp_path / "b.pckl.gzip", compression="gzip")
    assert list(back.index) == out["indices"]


def test_thresholds_without_an_active_set_are_not_applied_and_say_so(pool_jsonl: Path, sim_potential: Path) -> None:
    frame = read_pool(str(pool_jsonl))
    project, nfuncs = pyace_projector(str(sim_potential))
    view, warnings = candidates(list(frame["ase_atoms"]), project, nfuncs, None, Strategy(gamma_max=2.0), 50)
    assert view is None
    assert "not applied" in warnings[0]
    assert candidates(list(frame["ase_atoms"]), project, nfuncs, None, Strategy(), 50) == (None, [])


def test_the_program_path_refuses_thresholds(tmp_path: Path, pool_jsonl: Path, sim_potential: Path) -> None:
    args = ["run", "--pool", str(pool_jsonl), "--selected", str(tmp_path / "s.pkl.gz"), "--done", str(tmp_path / "d")]
    args += ["--potential", str(sim_potential), "-n", "3", "--out", str(tmp_path / "o.pckl.gzip"), "--gamma-max", "4"]
    with pytest.raises(BadInput, match="gamma thresholds need the in-process selection"):
        select_cli.run(args)
    with pytest.raises(BadInput, match=r"--random must be within \[0, n\) = \[0, 3\) \(got 3\)"):
        select_cli.run([*args[:-2], "--random", "3"])


def test_thresholds_are_inclusive_and_keep_what_cannot_be_graded() -> None:
    """An element without an active set grades inf: such a structure stays a candidate."""
    grades = np.array([0.5, 1.0, 3.0, np.inf, 1.5, 2.0])
    keep, below, above = within(grades, Strategy(gamma_min=1.0, gamma_max=2.0))
    assert np.flatnonzero(keep).tolist() == [1, 3, 4, 5]
    assert (below, above) == (1, 1)
    keep, below, above = within(grades, Strategy(gamma_max=1.0))
    assert np.flatnonzero(keep).tolist() == [0, 1, 3]
    assert (below, above) == (0, 3)
