"""mlip_select: pool conversion, the fill by extrapolation grade, reading pace_select's output."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

PYTHON_DIR = Path(__file__).resolve().parents[1]
ROOT = PYTHON_DIR.parent
sys.path.insert(0, str(PYTHON_DIR))

import mlip_bridge  # noqa: E402
import mlip_select  # noqa: E402


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, dict[str, Any]]:
    code = mlip_select.main(list(argv))
    lines = capsys.readouterr().out.strip().splitlines()
    return code, json.loads(lines[-1])


@pytest.fixture(scope="module")
def pool_jsonl(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("pool") / "pool.jsonl"
    mlip_bridge.command_label_emt(str(out), 16, ["Cu", "Ni"], seed=4, natoms=8)
    return out


@pytest.fixture(scope="module")
def sim_potential(tmp_path_factory: pytest.TempPathFactory, pool_jsonl: Path) -> Path:
    """An unfitted simulator potential from `pacemaker --dry-run` (Cu/Ni, 5 functions per element)."""
    folder = tmp_path_factory.mktemp("dry")
    frame = mlip_select.dry_run_sample(mlip_select.read_pool(str(pool_jsonl)), 5)
    mlip_bridge.save_dataset(frame, folder / "sample.pckl.gzip")
    (folder / "input.yaml").write_text(
        "cutoff: 5.0\nseed: 42\npotential:\n  deltaSplineBins: 0.001\n  elements: [Cu, Ni]\n"
        "  embeddings: {ALL: {npot: FinnisSinclairShiftedScaled, fs_parameters: [1, 1, 1, 0.5], ndensity: 2}}\n"
        "  bonds: {ALL: {radbase: SBessel, radparameters: [5.25], rcut: 5.0, dcut: 0.01, NameOfCutoffFunction: cos}}\n"
        "  functions: {number_of_functions_per_element: 5, ALL: {nradmax_by_orders: [8, 3], lmax_by_orders: [0, 2]}}\n"
        "data: {filename: sample.pckl.gzip, reference_energy: auto}\nfit: {maxiter: 1}\nbackend: {evaluator: pyace}\n"
    )
    subprocess.run([str(ROOT / "sim" / "bin" / "pacemaker"), "--dry-run", "input.yaml"], cwd=folder, check=True,
                   capture_output=True)
    return folder / "target_potential.yaml"


def test_prepare_turns_a_results_file_into_a_gzip_pool_with_positions_as_index(capsys, tmp_path, pool_jsonl):
    code, out = run(capsys, "prepare", "--pool", str(pool_jsonl), "--out", str(tmp_path / "pool.pkl.gz"),
                    "--sample", str(tmp_path / "sample.pckl.gzip"), "--sample-size", "3")
    assert code == 0
    assert out["rows"] == 16 and out["elements"] == ["Cu", "Ni"] and out["natomsTotal"] == 16 * 8
    frame = pd.read_pickle(tmp_path / "pool.pkl.gz", compression="gzip")
    assert list(frame.index) == list(range(16))
    sample = pd.read_pickle(tmp_path / "sample.pckl.gzip", compression="gzip")
    assert len(sample) == 3 and float(sample["energy"].abs().sum()) == 0.0


def test_prepare_accepts_a_dataset_pickle_and_resets_its_index(capsys, tmp_path, pool_jsonl):
    frame = mlip_select.read_pool(str(pool_jsonl))
    frame.index = range(100, 116)
    mlip_bridge.save_dataset(frame, tmp_path / "given.pckl.gzip")
    code, out = run(capsys, "prepare", "--pool", str(tmp_path / "given.pckl.gzip"), "--out", str(tmp_path / "p.pkl.gz"))
    assert code == 0 and out["rows"] == 16
    assert list(pd.read_pickle(tmp_path / "p.pkl.gz", compression="gzip").index) == list(range(16))


def test_inspect_reports_rows_elements_and_atoms_of_a_results_file_and_of_a_pickle(capsys, tmp_path):
    jsonl = tmp_path / "pool.jsonl"
    mlip_bridge.command_label_emt(str(jsonl), 5, ["Cu", "Al"], seed=4, natoms=6)
    before = sorted(p.name for p in tmp_path.iterdir())
    code, out = run(capsys, "inspect", "--pool", str(jsonl))
    assert code == 0
    assert out == {"path": str(jsonl), "rows": 5, "elements": ["Al", "Cu"], "natomsTotal": 30}
    assert sorted(p.name for p in tmp_path.iterdir()) == before, "inspect writes nothing"

    pickle = tmp_path / "pool.pckl.gzip"
    mlip_bridge.save_dataset(mlip_select.read_pool(str(jsonl)), pickle)
    code, out = run(capsys, "inspect", "--pool", str(pickle))
    assert code == 0
    assert (out["rows"], out["elements"], out["natomsTotal"]) == (5, ["Al", "Cu"], 30)


@pytest.mark.parametrize("command", ["prepare", "inspect"])
@pytest.mark.parametrize("name,content,reason", [
    ("empty.jsonl", "", "holds no structures"),
    ("broken.pkl.gz", "not a pickle", "is not a gzip-pickled pandas DataFrame"),
    ("pool.xyz", "2\n\nCu 0 0 0\nCu 1 1 1\n", "neither a results file"),
    ("missing.jsonl", None, "file not found"),
])
def test_prepare_and_inspect_reject_bad_pools_as_bad_input_naming_the_file(capsys, tmp_path, command, name, content,
                                                                           reason):
    path = tmp_path / name
    if content is not None:
        path.write_text(content)
    extra = ["--out", str(tmp_path / "p.pkl.gz")] if command == "prepare" else []
    code, out = run(capsys, command, "--pool", str(path), *extra)
    assert code == 2
    assert out["error"]["kind"] == "bad_input"
    assert reason in out["error"]["message"] and name in out["error"]["message"]
    assert not (tmp_path / "p.pkl.gz").exists()


def finish(pool_jsonl: Path, sim_potential: Path, out: Path, n: int, selected: Path | None,
           batch_size: int = 200) -> tuple[pd.DataFrame, dict[str, Any]]:
    """The program path's fill (what `run` does once pace_select has ended), on the simulator."""
    frame = mlip_select.read_pool(str(pool_jsonl))
    project, nfuncs = mlip_select.projector("simulator", str(sim_potential))
    return frame, mlip_select.finish_selection(frame, str(selected) if selected else None, project, nfuncs, None, n,
                                               str(out), batch_size, None)


def test_finish_fills_to_n_by_decreasing_gamma_after_pace_selects_choice(tmp_path, pool_jsonl, sim_potential):
    frame = mlip_select.read_pool(str(pool_jsonl))
    # What pace_select writes: the chosen rows, index = pool position, uncompressed unless .gz.
    frame.iloc[[5, 2]].to_pickle(tmp_path / "sel.pkl.gz")
    _, out = finish(pool_jsonl, sim_potential, tmp_path / "out.pckl.gzip", 7, tmp_path / "sel.pkl.gz", batch_size=3)
    assert out["indices"][:2] == [5, 2]
    assert out["chosenBy"] == ["pace_select"] * 2 + ["gamma"] * 5
    filled = out["gammaMax"][2:]
    assert filled == sorted(filled, reverse=True)
    assert out["counts"] == {"pace_select": 2, "gamma": 5}
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
    inverses = mlip_select.active_set_inverses({"Cu": 2}, None, {"Cu": np.array([[1.0, 0.0], [0.0, 1.0]])})
    gamma = mlip_select.structure_gamma(proj, owners, inverses, 2)
    assert gamma.tolist() == pytest.approx([1.0, 3.0])


def test_gamma_with_pyace_equals_pyacecalculators_gamma_when_pacemaker_is_installed(tmp_path):
    """Cross-check with a real installation's Python: our batched gamma against the potential's
    .asi equals PyACECalculator's per-atom gamma (max over atoms)."""
    bin_dir = os.environ.get("MLIP_PACEMAKER")
    python = Path(bin_dir) / "python" if bin_dir else None
    if python is None or not python.exists():
        print("skipped: no pacemaker (set MLIP_PACEMAKER to its bin folder)")
        pytest.skip("no pacemaker")
    script = tmp_path / "check.py"
    script.write_text(f"""
import sys, json, subprocess, numpy as np, pandas as pd
sys.path.insert(0, {str(PYTHON_DIR)!r})
import mlip_bridge, mlip_select
from pyace import PyACECalculator
work = {str(tmp_path)!r}
mlip_bridge.command_label_emt(work + "/p.jsonl", 12, ["Cu", "Ni"], seed=9, natoms=8)
frame = mlip_select.read_pool(work + "/p.jsonl")
mlip_bridge.save_dataset(frame, work + "/pool.pkl.gz")
mlip_bridge.save_dataset(mlip_select.dry_run_sample(frame, 5), work + "/sample.pckl.gzip")
open(work + "/input.yaml", "w").write('''cutoff: 5.0
potential: {{deltaSplineBins: 0.001, elements: [Cu, Ni], embeddings: {{ALL: {{npot: FinnisSinclairShiftedScaled, fs_parameters: [1, 1, 1, 0.5], ndensity: 2}}}}, bonds: {{ALL: {{radbase: SBessel, radparameters: [5.25], rcut: 5.0, dcut: 0.01, NameOfCutoffFunction: cos}}}}, functions: {{number_of_functions_per_element: 5, ALL: {{nradmax_by_orders: [8, 3], lmax_by_orders: [0, 2]}}}}}}
data: {{filename: sample.pckl.gzip, reference_energy: auto}}
fit: {{maxiter: 1}}
backend: {{evaluator: pyace}}
''')
bin_dir = {str(bin_dir)!r}
subprocess.run([bin_dir + "/pacemaker", "--dry-run", "input.yaml"], cwd=work, check=True, capture_output=True)
subprocess.run([bin_dir + "/pace_activeset", "target_potential.yaml", "-d", "pool.pkl.gz", "-a"], cwd=work, check=True, capture_output=True)
project, nfuncs = mlip_select.pyace_projector(work + "/target_potential.yaml")
inverses = mlip_select.active_set_inverses(nfuncs, work + "/target_potential.asi", {{}})
ours = mlip_select.pool_gamma_by_batches(list(frame["ase_atoms"]), project, inverses, 5)
calc = PyACECalculator(work + "/target_potential.yaml")
calc.set_active_set(work + "/target_potential.asi")
theirs = []
for atoms in frame["ase_atoms"]:
    a = atoms.copy(); a.calc = calc; a.get_potential_energy()
    theirs.append(float(np.max(calc.results["gamma"])))
print(json.dumps({{"ours": ours.tolist(), "theirs": theirs}}))
""")
    result = subprocess.run([str(python), str(script)], capture_output=True, text=True, check=True)
    data = json.loads(result.stdout.strip().splitlines()[-1])
    assert np.allclose(data["ours"], data["theirs"], rtol=1e-6, atol=1e-9)


@pytest.fixture
def counted_select(capsys, tmp_path, pool_jsonl, sim_potential, monkeypatch):
    """Runs `select` (simulator backend) on the pool as a pickle, counting the structures the
    simulator projects (a list, one entry a call); also returns a direct selection by the
    simulator's pace_select code at the same memory limit, counted the same way."""
    monkeypatch.chdir(tmp_path)
    pool = tmp_path / "pool.pkl.gz"
    mlip_bridge.save_dataset(mlip_select.read_pool(str(pool_jsonl)), pool)
    sim = mlip_select.simulator_module()
    projected: list[int] = []
    original = sim.atom_projections

    def counting(atoms_list, *args, **kwargs):
        projected.append(len(atoms_list))
        return original(atoms_list, *args, **kwargs)

    monkeypatch.setattr(sim, "atom_projections", counting)

    def select(n: int, memory_limit: str) -> tuple[int, dict[str, Any], list[int]]:
        projected.clear()
        code, out = run(capsys, "select", "--pool", str(pool), "--potential", str(sim_potential), "-n", str(n),
                        "--out", str(tmp_path / "selected.pckl.gzip"), "--backend", "simulator",
                        "--memory-limit", memory_limit)
        return code, out, list(projected)

    def direct(n: int, memory_limit: str) -> tuple[list[int], list[int]]:
        projected.clear()
        from pyace import BBasisConfiguration, aceselect  # the simulator's stand-in (sim/src is on sys.path)

        picked = aceselect.select_structures_maxvol(pd.read_pickle(pool, compression="gzip"),
                                                    BBasisConfiguration(str(sim_potential)), None, "auto", 1.01, n,
                                                    300, 2, memory_limit, True)
        return [int(i) for i in picked.index], list(projected)

    return select, direct


def test_select_in_process_runs_pace_selects_selection_and_fills_from_its_projections(counted_select, tmp_path):
    """`select` (simulator backend): pace_select's choice is the program's, the fill does not
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


def test_select_without_pyaces_aceselect_exits_3_so_the_caller_runs_the_program(capsys, tmp_path, pool_jsonl,
                                                                                 sim_potential, monkeypatch):
    monkeypatch.setattr(mlip_select, "in_process_available", lambda: False)
    code, out = run(capsys, "select", "--pool", str(pool_jsonl), "--potential", str(sim_potential), "-n", "2",
                    "--out", str(tmp_path / "s.pckl.gzip"), "--backend", "pyace")
    assert code == mlip_select.IN_PROCESS_UNAVAILABLE == 3
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
    filled = out["gammaMax"][out["counts"]["pace_select"]:]
    assert filled == sorted(filled, reverse=True)
    assert out["poolGamma"]["max"] >= filled[0]
