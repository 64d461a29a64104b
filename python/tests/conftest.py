"""Fixtures shared by the test modules: labelled results, a pool and a simulator potential."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from mlip_trainer.atomic_io import save_dataset
from mlip_trainer.selection.pool import dry_run_sample, read_pool
from mlip_trainer.synthetic import label_emt

from helpers import ROOT


@pytest.fixture(scope="module")
def emt_results(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Six EMT-labelled Cu/Ni structures of 8 atoms, as JSONL."""
    out = tmp_path_factory.mktemp("emt") / "results.jsonl"
    assert label_emt(str(out), 6, ["Cu", "Ni"], seed=5, natoms=8)["count"] == 6
    return out


@pytest.fixture(scope="module")
def pool_jsonl(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A pool of 16 EMT-labelled Cu/Ni structures of 8 atoms, as JSONL."""
    out = tmp_path_factory.mktemp("pool") / "pool.jsonl"
    label_emt(str(out), 16, ["Cu", "Ni"], seed=4, natoms=8)
    return out


@pytest.fixture(scope="module")
def sim_potential(tmp_path_factory: pytest.TempPathFactory, pool_jsonl: Path) -> Path:
    """An unfitted simulator potential from `pacemaker --dry-run` (Cu/Ni, 5 functions per element)."""
    folder = tmp_path_factory.mktemp("dry")
    frame = dry_run_sample(read_pool(str(pool_jsonl)), 5)
    save_dataset(frame, folder / "sample.pckl.gzip")
    (folder / "input.yaml").write_text(
        "cutoff: 5.0\nseed: 42\npotential:\n  deltaSplineBins: 0.001\n  elements: [Cu, Ni]\n"
        "  embeddings: {ALL: {npot: FinnisSinclairShiftedScaled, fs_parameters: [1, 1, 1, 0.5], ndensity: 2}}\n"
        "  bonds: {ALL: {radbase: SBessel, radparameters: [5.25], rcut: 5.0, dcut: 0.01, NameOfCutoffFunction: cos}}\n"
        "  functions: {number_of_functions_per_element: 5, ALL: {nradmax_by_orders: [8, 3], lmax_by_orders: [0, 2]}}\n"
        "data: {filename: sample.pckl.gzip, reference_energy: auto}\nfit: {maxiter: 1}\nbackend: {evaluator: pyace}\n"
    )
    subprocess.run(
        [str(ROOT / "sim" / "bin" / "pacemaker"), "--dry-run", "input.yaml"],
        cwd=folder,
        check=True,
        capture_output=True,
    )
    return folder / "target_potential.yaml"
