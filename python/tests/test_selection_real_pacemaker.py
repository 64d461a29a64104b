"""Checks against a real pacemaker installation (MLIP_PACEMAKER=its bin folder)."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import numpy as np
import pytest

from helpers import SRC


def installation_or_skip() -> tuple[str, Path]:
    """The real pacemaker's bin folder and Python (MLIP_PACEMAKER), or one skip line."""
    bin_dir = os.environ.get("MLIP_PACEMAKER")
    python = Path(bin_dir) / "python" if bin_dir else None
    if bin_dir is None or python is None or not python.exists():
        print("skipped: no pacemaker (set MLIP_PACEMAKER to its bin folder)")
        pytest.skip("no pacemaker")
    return bin_dir, python


def write_dry_run_input(folder: Path, functions: int) -> None:
    """A Cu/Ni input.yaml for `pacemaker --dry-run` on sample.pckl.gzip (the unfitted shape)."""
    (folder / "input.yaml").write_text(
        "cutoff: 5.0\npotential:\n  deltaSplineBins: 0.001\n  elements: [Cu, Ni]\n"
        "  embeddings: {ALL: {npot: FinnisSinclairShiftedScaled, fs_parameters: [1, 1, 1, 0.5], ndensity: 2}}\n"
        "  bonds: {ALL: {radbase: SBessel, radparameters: [5.25], rcut: 5.0, dcut: 0.01, NameOfCutoffFunction: cos}}\n"
        f"  functions: {{number_of_functions_per_element: {functions},"
        " ALL: {nradmax_by_orders: [8, 3], lmax_by_orders: [0, 2]}}\n"
        "data: {filename: sample.pckl.gzip, reference_energy: auto}\nfit: {maxiter: 1}\nbackend: {evaluator: pyace}\n"
    )


def test_gamma_with_pyace_equals_pyacecalculators_gamma_when_pacemaker_is_installed(tmp_path):
    """Cross-check with a real installation's Python: our batched gamma against the potential's
    .asi equals PyACECalculator's per-atom gamma (max over atoms)."""
    bin_dir, python = installation_or_skip()
    write_dry_run_input(tmp_path, functions=5)
    script = tmp_path / "check.py"
    script.write_text(f"""
import json, subprocess, numpy as np, pandas as pd
from mlip_trainer.atomic_io import save_dataset
from mlip_trainer.selection.gamma import active_set_inverses, pool_gamma_by_batches
from mlip_trainer.selection.pool import dry_run_sample, read_pool
from mlip_trainer.selection.projections import pyace_projector
from mlip_trainer.synthetic import label_emt
from pyace import PyACECalculator
work = {str(tmp_path)!r}
label_emt(work + "/p.jsonl", 12, ["Cu", "Ni"], seed=9, natoms=8)
frame = read_pool(work + "/p.jsonl")
save_dataset(frame, work + "/pool.pkl.gz")
save_dataset(dry_run_sample(frame, 5), work + "/sample.pckl.gzip")
bin_dir = {str(bin_dir)!r}
subprocess.run([bin_dir + "/pacemaker", "--dry-run", "input.yaml"], cwd=work, check=True, capture_output=True)
activeset = [bin_dir + "/pace_activeset", "target_potential.yaml", "-d", "pool.pkl.gz", "-a"]
subprocess.run(activeset, cwd=work, check=True, capture_output=True)
project, nfuncs = pyace_projector(work + "/target_potential.yaml")
inverses = active_set_inverses(nfuncs, work + "/target_potential.asi", {{}})
ours = pool_gamma_by_batches(list(frame["ase_atoms"]), project, inverses, 5)
calc = PyACECalculator(work + "/target_potential.yaml")
calc.set_active_set(work + "/target_potential.asi")
theirs = []
for atoms in frame["ase_atoms"]:
    a = atoms.copy(); a.calc = calc; a.get_potential_energy()
    theirs.append(float(np.max(calc.results["gamma"])))
print(json.dumps({{"ours": ours.tolist(), "theirs": theirs}}))
""")
    # The installation's Python runs this package uninstalled, as TypeScript runs the helpers.
    inherited = os.environ.get("PYTHONPATH")
    env = {**os.environ, "PYTHONPATH": f"{SRC}{os.pathsep}{inherited}" if inherited else str(SRC)}
    result = subprocess.run([str(python), str(script)], capture_output=True, text=True, check=True, env=env)
    data = json.loads(result.stdout.strip().splitlines()[-1])
    assert np.allclose(data["ours"], data["theirs"], rtol=1e-6, atol=1e-9)


def test_environments_made_on_demand_give_pace_selects_own_choice_in_one_shot_and_in_batches(tmp_path):
    """With a real pyace: pace_select's selection function run with atomic environments made one
    at a time chooses exactly what it chooses with all of them made first, in single-shot mode and
    in batch mode (memory limit below the projections), with the same active set; and it did make
    them on demand (pyace's own conversion was never handed the whole pool)."""
    bin_dir, python = installation_or_skip()
    write_dry_run_input(tmp_path, functions=8)
    script = tmp_path / "check.py"
    script.write_text(f"""
import json, subprocess
import numpy as np
from pyace import activelearning
from mlip_trainer.atomic_io import save_dataset
from mlip_trainer.selection.lazy_environments import environments_on_demand
from mlip_trainer.selection.pool import dry_run_sample, read_pool
from mlip_trainer.selection.projections import pyace_projector
from mlip_trainer.selection.pyace_select import pyace_in_process
from mlip_trainer.synthetic import label_emt
work = {str(tmp_path)!r}
label_emt(work + "/p.jsonl", 40, ["Cu", "Ni"], seed=5, natoms=8)
frame = read_pool(work + "/p.jsonl")
save_dataset(dry_run_sample(frame, 5), work + "/sample.pckl.gzip")
subprocess.run([{str(bin_dir)!r} + "/pacemaker", "--dry-run", "input.yaml"], cwd=work, check=True, capture_output=True)
pot = work + "/target_potential.yaml"
_, nfuncs = pyace_projector(pot)
original = activelearning.convert_to_atomic_env_list
largest = []
def watched(envs, pot):
    largest.append(len(envs))
    return original(envs, pot)
activelearning.convert_to_atomic_env_list = watched
out = {{}}
for mem in ("8GB", "0.01MB"):
    largest.clear()
    whole = pyace_in_process(frame, pot, None, 30, mem, nfuncs)
    out[mem + " whole"] = max(largest)
    largest.clear()
    with environments_on_demand() as active:
        lazy = pyace_in_process(frame, pot, None, 30, mem, nfuncs)
    out[mem + " lazy handed"] = max(largest) if largest else 0
    out[mem] = {{"active": active, "whole": whole[0], "lazy": lazy[0], "batched": [whole[3], lazy[3]],
        "same_inverses": all(np.allclose(whole[1][e], lazy[1][e]) for e in nfuncs)}}
print(json.dumps(out))
""")
    inherited = os.environ.get("PYTHONPATH")
    env = {**os.environ, "PYTHONPATH": f"{SRC}{os.pathsep}{inherited}" if inherited else str(SRC)}
    result = subprocess.run(
        [str(python), str(script)], capture_output=True, text=True, check=False, env=env, cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr[-3000:]
    data = json.loads(result.stdout.strip().splitlines()[-1])
    for mem, batched in (("8GB", False), ("0.01MB", True)):
        assert data[mem]["active"] is True
        assert data[mem]["batched"] == [batched, batched], mem
        assert data[mem]["whole"] == data[mem]["lazy"], f"same structures, same order at -mem {mem}"
        assert len(data[mem]["whole"]) > 0
        assert data[mem]["same_inverses"], mem
        assert data[mem + " whole"] == 40, "without it, pyace converts the whole pool at once"
        assert data[mem + " lazy handed"] == 0, "with it, pyace's own conversion never sees the pool"
