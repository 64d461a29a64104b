"""The production in-process selection (`pyace_in_process`) runs against the simulator's stand-in
pyace (sim/src/pyace), found through PYTHONPATH as the simulator toolchain sets it: its choice is
the simulator's pace_select program's, and it observes what it observes on the real pyace (the
pool's projections, the active set, the batch mode's grade passes)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from pyace import BBasisConfiguration, aceselect, activelearning

from mlip_trainer.cli import dataset as dataset_cli
from mlip_trainer.synthetic import label_emt

from helpers import SIM_BIN, SIM_SRC, helper_env

# Runs `mlip-select select` in a process of its own, watching what pyace_in_process observed and
# every projection the simulator made; prints them as a JSON line after the reply.
DRIVER = """
import json, sys
import pyace
from pacemaker_sim import descriptors
from mlip_trainer.cli import select as select_cli
from mlip_trainer.selection import pyace_select

record = {"pyace": pyace.__file__, "projected": []}
project = descriptors.atom_projections

def counting(atoms_list, *args, **kwargs):
    record["projected"].append(len(atoms_list))
    return project(atoms_list, *args, **kwargs)

descriptors.atom_projections = counting
observe = pyace_select.observed_maxvol_selection

def observing(module, call, batch_grades=None):
    picked, seen = observe(module, call, batch_grades)
    record["module"] = module.__name__
    record["projections"] = ({str(k): list(v.shape) for k, v in seen["projections"][0].items()}
                             if "projections" in seen else None)
    record["activeSet"] = {str(k): list(v.shape) for k, v in (seen.get("active_set") or {}).items()}
    record["batched"] = bool(seen.get("batched"))
    record["gradePasses"] = batch_grades.passes if batch_grades is not None else None
    return picked, seen

pyace_select.observed_maxvol_selection = observing
code = select_cli.main(sys.argv[1:])
print(json.dumps(record))
sys.exit(code)
"""


@pytest.fixture(scope="module")
def work(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A pool (16 Cu/Ni structures of 8 atoms), an unfitted simulator potential (5 functions per
    element) and its active set on another 8 structures, from the simulator's own programs."""
    folder = tmp_path_factory.mktemp("stand_in")
    for name, count, seed in (("pool", 16, 4), ("train", 8, 5)):
        results = folder / f"{name}.jsonl"
        label_emt(str(results), count, ["Cu", "Ni"], seed=seed, natoms=8)
        dataset_cli.run(["append", "--dataset", str(folder / f"{name}.pckl.gzip"), "--results", str(results)])
    (folder / "input.yaml").write_text(
        "cutoff: 5.0\nseed: 42\npotential:\n  deltaSplineBins: 0.001\n  elements: [Cu, Ni]\n"
        "  embeddings: {ALL: {npot: FinnisSinclairShiftedScaled, fs_parameters: [1, 1, 1, 0.5], ndensity: 2}}\n"
        "  bonds: {ALL: {radbase: SBessel, radparameters: [5.25], rcut: 5.0, dcut: 0.01, NameOfCutoffFunction: cos}}\n"
        "  functions: {number_of_functions_per_element: 5, ALL: {nradmax_by_orders: [8, 3], lmax_by_orders: [0, 2]}}\n"
        "data: {filename: train.pckl.gzip, reference_energy: auto}\nfit: {maxiter: 1}\nbackend: {evaluator: pyace}\n"
    )
    subprocess.run([str(SIM_BIN / "pacemaker"), "--dry-run", "input.yaml"], cwd=folder, check=True, capture_output=True)
    (folder / "asi").mkdir()
    (folder / "asi" / "pot.yaml").write_bytes((folder / "target_potential.yaml").read_bytes())
    subprocess.run(
        [str(SIM_BIN / "pace_activeset"), "pot.yaml", "-d", str(folder / "train.pckl.gzip"), "-a"],
        cwd=folder / "asi",
        check=True,
        capture_output=True,
    )
    assert (folder / "asi" / "pot.asi").is_file()
    return folder


def select_in_process(
    work: Path, run: str, n: int, memory_limit: str, asi: Path | None
) -> tuple[dict[str, Any], dict[str, Any]]:
    """`select` as TypeScript runs it with the simulator; (its reply, what it observed)."""
    folder = work / run
    folder.mkdir()
    args = [
        "select",
        "--pool",
        str(work / "pool.pckl.gzip"),
        "--potential",
        str(work / "target_potential.yaml"),
        "-n",
        str(n),
        "--out",
        str(folder / "selected.pckl.gzip"),
        "--memory-limit",
        memory_limit,
        *(["--asi", str(asi)] if asi else []),
    ]
    done = subprocess.run(
        [sys.executable, "-c", DRIVER, *args],
        cwd=folder,
        env=helper_env(simulator=True),
        check=False,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr + done.stdout
    lines = done.stdout.strip().splitlines()
    return json.loads(lines[-2]), json.loads(lines[-1])


def program_choice(work: Path, run: str, n: int, memory_limit: str, asi: Path | None) -> list[int]:
    """The simulator's pace_select program on the same inputs: the pool positions it chose."""
    folder = work / f"{run}-program"
    folder.mkdir()
    (folder / "pot.yaml").write_bytes((work / "target_potential.yaml").read_bytes())
    args = [
        "-p",
        "pot.yaml",
        "-m",
        str(n),
        "-mem",
        memory_limit,
        "-o",
        "selected.pkl.gz",
        *(["-a", str(asi)] if asi else []),
        str(work / "pool.pckl.gzip"),
    ]
    done = subprocess.run(
        [str(SIM_BIN / "pace_select"), *args], cwd=folder, capture_output=True, text=True, timeout=300, check=False
    )
    assert done.returncode == 0, done.stderr
    return [int(i) for i in pd.read_pickle(folder / "selected.pkl.gz").index]


def test_the_single_shot_selection_runs_pyaces_function_on_the_stand_in_and_chooses_as_pace_select(work):
    reply, seen = select_in_process(work, "single", 12, "8GB", None)
    assert Path(seen["pyace"]).parent == SIM_SRC / "pyace", "import pyace found the stand-in through PYTHONPATH"
    assert seen["module"] == "pyace.aceselect" and seen["batched"] is False and reply["batched"] is False
    assert reply["mode"] == "in-process" and reply["underDetermined"] is False
    chosen = program_choice(work, "single", 12, "8GB", None)
    assert 0 < len(chosen) < 12
    assert reply["indices"][: reply["counts"]["pace_select"]] == chosen
    # Observed: the pool's projections (128 atoms of 2 elements, 5 functions each) and the square
    # active sets; the fill took its grades from them, so the pool was projected once.
    assert seen["projections"] is not None
    assert sum(shape[0] for shape in seen["projections"].values()) == 16 * 8
    assert {shape[1] for shape in seen["projections"].values()} == {5}
    assert seen["activeSet"] == {"0": [5, 5], "1": [5, 5]}
    assert seen["projected"] == [16]
    assert len(reply["indices"]) == 12 and reply["poolGamma"] is not None


def test_with_an_active_set_the_stand_in_stacks_its_rows_and_still_chooses_as_pace_select(work):
    asi = work / "asi" / "pot.asi"
    reply, seen = select_in_process(work, "with-asi", 12, "8GB", asi)
    assert reply["batched"] is False
    assert reply["indices"][: reply["counts"]["pace_select"]] == program_choice(work, "with-asi", 12, "8GB", asi)
    # The pool's projections as computed, without the .asi rows compute_active_set stacks onto them.
    assert sum(shape[0] for shape in seen["projections"].values()) == 16 * 8
    assert seen["activeSet"] == {"0": [5, 5], "1": [5, 5]}
    assert seen["projected"] == [16]


def test_in_batch_mode_the_stand_in_is_observed_through_pyace_activelearning_and_chooses_as_pace_select(work):
    # 5 kB: below twice the pool's projections (2 x 5,120 B) plus the active sets, so two batches.
    reply, seen = select_in_process(work, "batched", 12, "0.005MB", None)
    assert seen["batched"] is True and reply["batched"] is True
    chosen = program_choice(work, "batched", 12, "0.005MB", None)
    assert reply["indices"][: reply["counts"]["pace_select"]] == chosen
    # Observed: the active set compute_active_set_by_batches returned, and each of its grade passes
    # over the pool (pyace.activelearning.compute_extrapolation_grade_by_batches).
    assert seen["projections"] is None
    assert seen["activeSet"] == {"0": [5, 5], "1": [5, 5]}
    assert seen["gradePasses"] >= 1
    # Stage 1 and every grade pass project the pool batch by batch; the fill projects nothing more.
    assert all(count == 8 for count in seen["projected"])
    assert len(seen["projected"]) == 2 * (1 + seen["gradePasses"])
    filled = reply["gammaMax"][reply["counts"]["pace_select"] :]
    assert filled and filled == sorted(filled, reverse=True)
    assert reply["poolGamma"]["max"] >= filled[0]


def test_the_stand_in_keeps_the_real_call_structure(work, monkeypatch):
    """select_structures_maxvol finds its helpers by name in pyace.aceselect at call time, and the
    batch functions theirs in pyace.activelearning, as in the real package."""
    monkeypatch.chdir(work)
    calls: list[str] = []

    def recording(original: Any, label: str) -> Any:
        def call(*args: Any, **kwargs: Any) -> Any:
            calls.append(label)
            return original(*args, **kwargs)

        return call

    for module, name in (
        (aceselect, "compute_B_projections"),
        (aceselect, "compute_active_set"),
        (aceselect, "compute_active_set_by_batches"),
        (activelearning, "compute_B_projections"),
        (activelearning, "compute_active_set"),
        (activelearning, "compute_extrapolation_grade_by_batches"),
    ):
        label = f"{module.__name__.split('.')[-1]}.{name}"
        monkeypatch.setattr(module, name, recording(getattr(module, name), label))
    pool = pd.read_pickle(work / "pool.pckl.gzip", compression="gzip")
    bconf = BBasisConfiguration(str(work / "target_potential.yaml"))
    aceselect.select_structures_maxvol(pool, bconf, None, "auto", 1.01, 12, 300, 2, "8GB", False)
    assert calls == ["aceselect.compute_B_projections", "aceselect.compute_active_set"]
    calls.clear()
    aceselect.select_structures_maxvol(pool, bconf, None, "8", 1.01, 12, 300, 2, "8GB", False)
    assert calls[0] == "aceselect.compute_active_set_by_batches"
    assert calls[1:3] == ["activelearning.compute_B_projections", "activelearning.compute_active_set"]
    assert "activelearning.compute_extrapolation_grade_by_batches" in calls
    assert "aceselect.compute_B_projections" not in calls and "aceselect.compute_active_set" not in calls
    # Keyed by species type, shapes [atoms, functions], as the real ones.
    projections, owners = activelearning.compute_B_projections(
        bconf, list(pool["ase_atoms"]), return_structure_ind_dict=True
    )
    assert sorted(projections) == [0, 1] and all(m.shape[1] == 5 for m in projections.values())
    assert sum(len(o) for o in owners.values()) == 16 * 8 and np.max(np.hstack(list(owners.values()))) == 15
