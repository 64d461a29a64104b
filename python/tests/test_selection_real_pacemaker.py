"""Checks against a real pacemaker installation (MLIP_PACEMAKER=its bin folder)."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import numpy as np
import pytest

from helpers import SRC


def test_gamma_with_pyace_equals_pyacecalculators_gamma_when_pacemaker_is_installed(tmp_path):
    """Cross-check with a real installation's Python: our batched gamma against the potential's
    .asi equals PyACECalculator's per-atom gamma (max over atoms)."""
    bin_dir = os.environ.get("MLIP_PACEMAKER")
    python = Path(bin_dir) / "python" if bin_dir else None
    if python is None or not python.exists():
        print("skipped: no pacemaker (set MLIP_PACEMAKER to its bin folder)")
        pytest.skip("no pacemaker")
    (tmp_path / "input.yaml").write_text(
        "cutoff: 5.0\npotential:\n  deltaSplineBins: 0.001\n  elements: [Cu, Ni]\n"
        "  embeddings: {ALL: {npot: FinnisSinclairShiftedScaled, fs_parameters: [1, 1, 1, 0.5], ndensity: 2}}\n"
        "  bonds: {ALL: {radbase: SBessel, radparameters: [5.25], rcut: 5.0, dcut: 0.01, NameOfCutoffFunction: cos}}\n"
        "  functions: {number_of_functions_per_element: 5, ALL: {nradmax_by_orders: [8, 3], lmax_by_orders: [0, 2]}}\n"
        "data: {filename: sample.pckl.gzip, reference_energy: auto}\nfit: {maxiter: 1}\nbackend: {evaluator: pyace}\n"
    )
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
