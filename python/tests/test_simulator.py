"""The simulator (sim/src/pacemaker_sim) keeps the contracts of pacemaker's real programs (flags, files, log formats,
exit codes)."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml

from mlip_trainer.cli import dataset as dataset_cli
from mlip_trainer.metrics import prediction_errors

PYTHON_DIR = Path(__file__).resolve().parents[1]
REPO = PYTHON_DIR.parent
SIM_SRC = REPO / "sim" / "src"
# `python -m pacemaker_sim <program>` with the simulator's sources first on PYTHONPATH.
SIM = ["-m", "pacemaker_sim"]
SIM_BIN = REPO / "sim" / "bin"

# The real line, copied from a pacemaker run, and a pattern for it.
REAL_ITERATION_LINE = (
    "2026-11-30 04:44:45,637 I - Iteration   #1    (454 evals):      Loss: 2.0918e-01 | RMSE "
    "Energy(low): 129.61 (129.61) meV/at | Forces(low): 468.36 (468.36) meV/A | Time/eval: 118.99 "
    "mcs/at"
)
ITERATION_LINE = re.compile(
    r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} I - Iteration   #(\d+) +\((\d+) evals\): +Loss: (\d\.\d{4}e[+-]\d\d) "
    r"\| RMSE Energy\(low\): (\d+\.\d\d) \((\d+\.\d\d)\) meV/at \| Forces\(low\): (\d+\.\d\d) \((\d+\.\d\d)\) meV/A "
    r"\| Time/eval: +(\d+\.\d\d) mcs/at$"
)
SIM_COMMENT = "# SIMULATED by mlip-trainer's pacemaker simulator: not a real ACE potential"

INPUT_YAML = """\
cutoff: 5.0
seed: 42
potential:
  deltaSplineBins: 0.001
  elements: [Cu, Ni]
  embeddings: {ALL: {npot: FinnisSinclairShiftedScaled, fs_parameters: [1, 1, 1, 0.5], ndensity: 2}}
  bonds: {ALL: {radbase: SBessel, radparameters: [5.25], rcut: 5.0, dcut: 0.01, NameOfCutoffFunction: cos}}
  functions:
    number_of_functions_per_element: 10
    ALL: {nradmax_by_orders: [8, 3, 2], lmax_by_orders: [0, 2, 1]}
data: {filename: data.pckl.gzip, test_size: 0.25, reference_energy: auto}
fit: {loss: {kappa: 0.3, L1_coeffs: 1e-8, L2_coeffs: 1e-8}, optimizer: BFGS, maxiter: MAXITER}
backend: {evaluator: pyace, parallel_mode: serial, display_step: 5}
"""


@dataclass
class Run:
    returncode: int
    stdout: str
    stderr: str
    cwd: Path

    def log(self) -> str:
        return (self.cwd / "log.txt").read_text()


def sim_env() -> dict[str, str]:
    """This process's environment without fault injection, with the simulator on PYTHONPATH."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PACEMAKER_SIM_")}
    env["PYTHONPATH"] = os.pathsep.join([str(SIM_SRC), *filter(None, [os.environ.get("PYTHONPATH")])])
    return env


def sim(program: str, *args: str, cwd: Path, env: dict[str, str] | None = None, timeout: float = 60) -> Run:
    full_env = sim_env()
    full_env.update(env or {})
    done = subprocess.run(
        [sys.executable, *SIM, program, *args],
        cwd=cwd,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    return Run(done.returncode, done.stdout, done.stderr, cwd)


def write_input(folder: Path, maxiter: int = 20, text: str = INPUT_YAML, name: str = "input.yaml") -> Path:
    path = folder / name
    path.write_text(text.replace("MAXITER", str(maxiter)))
    return path


def make_dataset(path: Path, count: int, seed: int) -> Path:
    results = path.with_suffix(".jsonl")
    dataset_cli.main(
        ["label-emt", "--out", str(results), "--count", str(count), "--elements", "Cu,Ni", "--seed", str(seed)]
    )
    dataset_cli.main(["append", "--dataset", str(path), "--results", str(results)])
    return path


@pytest.fixture(scope="module")
def datasets(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("data")
    return {
        "train": make_dataset(folder / "data.pckl.gzip", 8, seed=11),
        "pool": make_dataset(folder / "pool.pckl.gzip", 30, seed=12),
        "one": make_dataset(folder / "one.pckl.gzip", 1, seed=13),
    }


def workdir(tmp_path: Path, datasets: dict[str, Path], maxiter: int = 20) -> Path:
    shutil.copy(datasets["train"], tmp_path / "data.pckl.gzip")
    write_input(tmp_path, maxiter)
    return tmp_path


@pytest.fixture(scope="module")
def finished(tmp_path_factory: pytest.TempPathFactory, datasets: dict[str, Path]) -> Run:
    """One complete 20-iteration run, shared read-only by several tests."""
    folder = workdir(tmp_path_factory.mktemp("finished"), datasets)
    run = sim("pacemaker", "input.yaml", cwd=folder)
    assert run.returncode == 0, run.stderr
    return run


def metrics_table(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, sep=r"\s+")


def sim_state(path: Path) -> dict[str, Any]:
    state: dict[str, Any] = yaml.safe_load(path.read_text())["sim_state"]
    return state


# ------------------------------------------------------------------------------------------------


def test_the_iteration_pattern_matches_a_line_from_a_real_pacemaker_run() -> None:
    assert ITERATION_LINE.match(REAL_ITERATION_LINE)


def test_a_full_run_writes_every_file_pacemaker_writes(finished: Run) -> None:
    expected = [
        "target_potential.yaml",
        "fitting_data_info.pckl.gzip",
        "test_data_info.pckl.gzip",
        "interim_potential_0.yaml",
        "interim_potential_best_cycle.yaml",
        "output_potential.yaml",
        "metrics.txt",
        "test_metrics.txt",
        "cycle_metrics.txt",
        "test_cycle_metrics.txt",
        "train_pred.pckl.gzip",
        "test_pred.pckl.gzip",
        "train_ef-distributions.png",
        "log.txt",
    ]
    for name in expected:
        assert (finished.cwd / name).is_file(), name
    pngs = list((finished.cwd / "report").glob("*.png"))
    assert pngs and all(p.read_bytes().startswith(b"\x89PNG\r\n\x1a\n") for p in pngs)


def test_iteration_lines_have_the_real_format_and_fit_stats_replace_every_display_step(finished: Run) -> None:
    log = finished.log()
    numbers = [int(m.group(1)) for m in map(ITERATION_LINE.match, log.splitlines()) if m]
    assert numbers == [i for i in range(1, 21) if i % 5]
    assert log.count("-FIT STATS-") == 4 and log.count("-INIT STATS-") == 1
    assert "Cycle last iteration:" in log
    header = re.search(r"\n\s+Energy/at, meV/at\s+Energy_low/at, meV/at\s+Force, meV/A\s+Force_low, meV/A", log)
    assert header and re.search(r"\n\s+RMSE:\s+[\d.]+\s+[\d.]+\s+[\d.]+\s+[\d.]+\n\s+MAE:", log)
    assert "I - Iteration" in finished.stderr and "I - Iteration" not in finished.stdout
    assert re.search(r"^\d{4}/\d\d/\d\d \d\d:\d\d:\d\d I - Start pacemaker$", finished.stderr, re.M)


def test_metrics_tables_parse_and_the_loss_decreases(finished: Run) -> None:
    metrics = metrics_table(finished.cwd / "metrics.txt")
    assert list(metrics.columns[:12]) == [
        "ladder_step",
        "cycle_step",
        "iter_num",
        "loss",
        "e_loss_contrib",
        "f_loss_contrib",
        "reg_loss",
        "rmse_epa",
        "rmse_f_comp",
        "low_rmse_epa",
        "low_rmse_f_comp",
        "mae_f_comp",
    ]
    assert list(metrics["iter_num"]) == list(range(21))
    assert (np.diff(metrics["loss"]) < 0).all()
    cycle = metrics_table(finished.cwd / "cycle_metrics.txt")
    assert "iter_num" not in cycle.columns and len(cycle) == 1
    assert cycle["loss"][0] == pytest.approx(metrics["loss"].iloc[-1])
    assert len(metrics_table(finished.cwd / "test_metrics.txt")) == 0  # pyace evaluator: no test metrics


def test_predictions_reproduce_the_logged_rmse(finished: Run) -> None:
    pred = pd.read_pickle(finished.cwd / "train_pred.pckl.gzip", compression="gzip")
    assert {"energy_pred", "forces_pred", "NUMBER_OF_ATOMS", "energy_corrected"} <= set(pred.columns)
    assert "ase_atoms" not in pred.columns
    rmse_e = np.sqrt(np.mean(((pred["energy_pred"] - pred["energy_corrected"]) / pred["NUMBER_OF_ATOMS"]) ** 2))
    rmse_f = np.sqrt(np.mean((np.vstack(pred["forces_pred"]) - np.vstack(pred["forces"])) ** 2))
    cycle = metrics_table(finished.cwd / "cycle_metrics.txt")
    assert rmse_e == pytest.approx(cycle["rmse_epa"][0], rel=1e-9)
    assert rmse_f == pytest.approx(cycle["rmse_f_comp"][0], rel=1e-9)
    assert len(pd.read_pickle(finished.cwd / "test_pred.pckl.gzip", compression="gzip")) == 2


def test_every_potential_says_it_is_simulated_and_only_best_cycle_carries_fit_cycles(finished: Run) -> None:
    for name in (
        "target_potential.yaml",
        "interim_potential_0.yaml",
        "interim_potential_best_cycle.yaml",
        "output_potential.yaml",
    ):
        text = (finished.cwd / name).read_text()
        doc = yaml.safe_load(text)
        assert text.splitlines()[0] == SIM_COMMENT and doc["simulated"] is True, name
        assert {"metadata", "global", "species", "cutoff", "sim_state"} <= set(doc), name
    best = yaml.safe_load((finished.cwd / "interim_potential_best_cycle.yaml").read_text())
    assert best["metadata"]["_fit_cycles"] == 1
    for name in ("interim_potential_0.yaml", "output_potential.yaml"):
        assert "_fit_cycles" not in yaml.safe_load((finished.cwd / name).read_text())["metadata"]
    state = sim_state(finished.cwd / "output_potential.yaml")
    assert state["iterations_done"] == 20 and set(state["reference_energies"]) == {"Cu", "Ni"}
    assert sim_state(finished.cwd / "target_potential.yaml")["iterations_done"] == 0


def test_the_same_inputs_give_the_same_numbers(tmp_path: Path, datasets: dict[str, Path], finished: Run) -> None:
    run = sim("pacemaker", "input.yaml", cwd=workdir(tmp_path, datasets))
    assert run.returncode == 0
    assert (tmp_path / "metrics.txt").read_bytes() == (finished.cwd / "metrics.txt").read_bytes()


@pytest.mark.parametrize(
    ("edit", "args", "error"),
    [
        (None, ["-p", "x.yaml", "-ip", "y.yaml"], "ValueError: Couldn't combine `initial_potential`"),
        ("cutoff: 5.0\n", [], "ValueError: No 'cutoff' provided"),
        ("backend: {evaluator: pyace, parallel_mode: serial, display_step: 5}\n", [], "AttributeError:"),
        (None, ["-d", "missing.pckl.gzip"], "FileNotFoundError:"),
    ],
)
def test_input_traps_fail_like_the_real_program(
    tmp_path: Path, datasets: dict[str, Path], edit: str | None, args: list[str], error: str
) -> None:
    folder = workdir(tmp_path, datasets)
    if edit:
        (folder / "input.yaml").write_text((folder / "input.yaml").read_text().replace(edit, ""))
    run = sim("pacemaker", "input.yaml", *args, cwd=folder)
    assert run.returncode == 1
    assert run.stderr.strip().splitlines()[-1].startswith(error)


def test_a_yaml_without_potential_section_is_an_attribute_error(tmp_path: Path, datasets: dict[str, Path]) -> None:
    folder = workdir(tmp_path, datasets)
    text = (folder / "input.yaml").read_text()
    start, end = text.index("potential:"), text.index("data:")
    (folder / "input.yaml").write_text(text[:start] + text[end:])
    run = sim("pacemaker", cwd=folder)  # input.yaml is the default input
    assert run.returncode == 1 and "AttributeError" in run.stderr.splitlines()[-1]


def test_a_crash_then_a_resume_from_a_copy_of_the_interim_potential_completes_the_iterations(
    tmp_path: Path, datasets: dict[str, Path], finished: Run
) -> None:
    folder = workdir(tmp_path, datasets)
    iter_log = tmp_path / "iterations.log"
    env = {"PACEMAKER_SIM_ITER_LOG": str(iter_log)}
    crashed = sim("pacemaker", "input.yaml", cwd=folder, env={**env, "PACEMAKER_SIM_CRASH_AT_ITER": "7"})
    assert crashed.returncode == 1
    assert crashed.stderr.strip().splitlines()[-1] == "RuntimeError: simulated crash at iteration 7"
    assert not (folder / "output_potential.yaml").exists()
    assert sim_state(folder / "interim_potential_0.yaml")["iterations_done"] == 6
    assert iter_log.read_text().splitlines() == [f"iteration {i}" for i in range(1, 7)]

    shutil.copy(folder / "interim_potential_0.yaml", folder / "resume.yaml")
    write_input(folder, maxiter=20 - 6)
    resumed = sim("pacemaker", "input.yaml", "-p", "resume.yaml", cwd=folder, env=env)
    assert resumed.returncode == 0, resumed.stderr
    assert iter_log.read_text().splitlines() == [f"iteration {i}" for i in range(1, 21)]
    final, uninterrupted = (
        sim_state(folder / "output_potential.yaml"),
        sim_state(finished.cwd / "output_potential.yaml"),
    )
    assert final["iterations_done"] == 20
    assert final["loss"] == pytest.approx(uninterrupted["loss"], rel=1e-9)


def test_fine_tuning_starts_from_the_parents_final_loss(
    tmp_path: Path, datasets: dict[str, Path], finished: Run
) -> None:
    folder = workdir(tmp_path, datasets, maxiter=3)
    shutil.copy(finished.cwd / "output_potential.yaml", folder / "parent.yaml")
    run = sim("pacemaker", "input.yaml", "-p", "parent.yaml", "-o", "child.yaml", cwd=folder)
    assert run.returncode == 0, run.stderr
    first_loss = metrics_table(folder / "metrics.txt")["loss"][0]
    assert first_loss == pytest.approx(sim_state(folder / "parent.yaml")["loss"], rel=1e-12)
    assert sim_state(folder / "child.yaml")["iterations_done"] == 23


def test_restarting_from_the_best_cycle_potential_does_no_iterations(
    tmp_path: Path, datasets: dict[str, Path], finished: Run
) -> None:
    folder = workdir(tmp_path, datasets)
    shutil.copy(finished.cwd / "interim_potential_best_cycle.yaml", folder / "best.yaml")
    run = sim("pacemaker", "input.yaml", "-p", "best.yaml", cwd=folder)
    log = run.log()
    assert "Number of finished fit cycles (1) >= number of expected fit cycles (1)" in log
    assert not any(ITERATION_LINE.match(line) for line in log.splitlines())
    assert len(metrics_table(folder / "metrics.txt")) == 0
    assert (folder / "output_potential.yaml").is_file()
    # upstream then fails in the prediction step (its fit backend was never set up)
    assert run.returncode == 1 and "couldn't be None" in run.stderr.splitlines()[-1]
    assert sim("pacemaker", "input.yaml", "-p", "best.yaml", "--no-predict", cwd=folder).returncode == 0


def test_ladder_step_with_a_potential_file_silently_starts_from_an_empty_potential(
    tmp_path: Path, datasets: dict[str, Path], finished: Run
) -> None:
    folder = workdir(tmp_path, datasets)
    write_input(folder, text=INPUT_YAML.replace("maxiter: MAXITER", "maxiter: 2, ladder_step: 10"))
    shutil.copy(finished.cwd / "output_potential.yaml", folder / "parent.yaml")
    run = sim("pacemaker", "input.yaml", "-p", "parent.yaml", cwd=folder)
    assert run.returncode == 0, run.stderr
    assert "Initial potential is NOT provided, starting from empty potential" in run.log()
    assert "Current basis set size: 0 B-functions" in run.log()
    first_loss = metrics_table(folder / "metrics.txt")["loss"][0]
    assert first_loss > 10 * sim_state(folder / "parent.yaml")["loss"]
    # pyace grows every block by up to ladder_step functions per step: no block of this target has
    # more than 10, so one step fills it.
    assert len(metrics_table(folder / "ladder_metrics.txt")) == 1


def test_a_ladder_grows_every_block_by_ladder_step_and_saves_each_step(
    tmp_path: Path, datasets: dict[str, Path]
) -> None:
    # As a real pacemaker did (4 -> 8 -> 12 -> 16 functions in 4 blocks with ladder_step 1):
    # each step adds up to ladder_step functions to every block, fits, and saves
    # interim_potential_ladder_step_<k>.yaml without _fit_cycles; the extended basis takes the
    # target's metadata, and interim_potential_0.yaml is rewritten by every step.
    folder = workdir(tmp_path, datasets, maxiter=2)
    small = INPUT_YAML.replace("maxiter: MAXITER", "maxiter: 2").replace(
        "number_of_functions_per_element: 10", "number_of_functions_per_element: 3"
    )
    write_input(folder, text=small, name="parent.yaml")
    assert sim("pacemaker", "parent.yaml", "-o", "parent_out.yaml", cwd=folder).returncode == 0
    grow = (
        INPUT_YAML.replace("maxiter: MAXITER", "maxiter: 2, ladder_step: 1, fit_cycles: 2")
        .replace("number_of_functions_per_element: 10", "number_of_functions_per_element: 8")
        .replace("lmax_by_orders: [0, 2, 1]}", "lmax_by_orders: [0, 2, 1]}\n  initial_potential: parent_out.yaml")
    )
    write_input(folder, text=grow, name="grow.yaml")
    run = sim("pacemaker", "grow.yaml", "-l", "grow.log", cwd=folder)
    assert run.returncode == 0, run.stderr
    log = (folder / "grow.log").read_text()
    sizes = [int(m) for m in re.findall(r"Extended basis set size: (\d+) B-functions", log)]
    assert sizes[:3] == [10, 14, 16] and sizes[-1] == sizes[-2], sizes
    assert "No new function added after basis extension. Stopping" in log
    steps = metrics_table(folder / "ladder_metrics.txt")
    assert list(steps["ladder_step"]) == [0, 1, 2]
    rows = metrics_table(folder / "metrics.txt")
    assert [(int(r.ladder_step), int(r.cycle_step)) for r in rows.itertuples() if r.iter_num == 2] == [
        (0, 0),
        (0, 1),
        (1, 0),
        (1, 1),
        (2, 0),
        (2, 1),
    ]
    for k, n in enumerate([10, 14, 16]):
        step = yaml.safe_load((folder / f"interim_potential_ladder_step_{k}.yaml").read_text())
        assert "_fit_cycles" not in step["metadata"]
        assert sum(len(b["nbody"]) for b in step["species"]) == n
    assert yaml.safe_load((folder / "interim_potential_1.yaml").read_text())["metadata"]["_fit_cycles"] == 1


def test_a_potential_with_fit_cycles_c_resumes_at_cycle_c(tmp_path: Path, datasets: dict[str, Path]) -> None:
    # As with a real pacemaker: interim_potential_1.yaml of a 2-cycle fit carries _fit_cycles: 1;
    # -p with it runs cycle 1 only ("Number of fit attempts: 1/2"), from where it was.
    folder = workdir(tmp_path, datasets)
    write_input(folder, text=INPUT_YAML.replace("maxiter: MAXITER", "maxiter: 3, fit_cycles: 2"))
    run = sim("pacemaker", "input.yaml", cwd=folder, env={"PACEMAKER_SIM_CRASH_AT_ITER": "6"})
    assert run.returncode == 1
    interim = yaml.safe_load((folder / "interim_potential_1.yaml").read_text())
    assert interim["metadata"]["_fit_cycles"] == 1
    shutil.copy(folder / "interim_potential_1.yaml", folder / "resume.yaml")
    write_input(folder, text=INPUT_YAML.replace("maxiter: MAXITER", "maxiter: 1, fit_cycles: 2"))
    run = sim("pacemaker", "input.yaml", "-p", "resume.yaml", cwd=folder)
    assert run.returncode == 0, run.stderr
    log = run.log().split("Potential settings is overwritten from arguments: resume.yaml")[-1]
    assert "Number of fit attempts: 1/2" in log and "Number of fit attempts: 0/2" not in log
    rows = metrics_table(folder / "metrics.txt")
    assert list(zip(rows["cycle_step"], rows["iter_num"])) == [(1, 0), (1, 1)]
    assert rows["loss"][0] == pytest.approx(interim["sim_state"]["loss"], rel=1e-12)


def test_out_of_memory_injection_fails_before_the_first_iteration(tmp_path: Path, datasets: dict[str, Path]) -> None:
    folder = workdir(tmp_path, datasets)
    run = sim("pacemaker", "input.yaml", cwd=folder, env={"PACEMAKER_SIM_OOM_ABOVE_BATCH": "4"})
    assert run.returncode == 1
    assert "ResourceExhaustedError: OOM when allocating tensor with shape[" in run.stderr.splitlines()[-1]
    assert not (folder / "interim_potential_0.yaml").exists()


def test_tensorpot_recovers_from_out_of_memory_by_reducing_the_batch_size(
    tmp_path: Path, datasets: dict[str, Path]
) -> None:
    folder = workdir(tmp_path, datasets, maxiter=5)
    text = (
        (folder / "input.yaml")
        .read_text()
        .replace("evaluator: pyace, parallel_mode: serial", "evaluator: tensorpot, batch_size: 10")
    )
    (folder / "input.yaml").write_text(text)
    run = sim("pacemaker", "input.yaml", cwd=folder, env={"PACEMAKER_SIM_OOM_ABOVE_BATCH": "4"})
    assert run.returncode == 0, run.stderr
    assert "Decrease batch size (by factor 1.618): 10 -> 6" in run.log()
    assert "Decrease batch size (by factor 1.618): 6 -> 3" in run.log()
    assert list(metrics_table(folder / "test_metrics.txt")["iter_num"]) == [0, 5]


def test_early_stopping_crash_injection_leaves_no_output_potential(tmp_path: Path, datasets: dict[str, Path]) -> None:
    folder = workdir(tmp_path, datasets)
    write_input(folder, text=INPUT_YAML.replace("maxiter: MAXITER", "maxiter: 20, early_stopping_patience: 5"))
    run = sim("pacemaker", "input.yaml", cwd=folder, env={"PACEMAKER_SIM_EARLY_STOP_CRASH": "1"})
    assert run.returncode == 1 and "TestLossChangeTooSmallException" in run.stderr.splitlines()[-1]
    assert not (folder / "output_potential.yaml").exists()


def test_exit_code_injection_still_writes_the_outputs(tmp_path: Path, datasets: dict[str, Path]) -> None:
    folder = workdir(tmp_path, datasets, maxiter=2)
    run = sim("pacemaker", "input.yaml", cwd=folder, env={"PACEMAKER_SIM_EXIT_CODE": "3"})
    assert run.returncode == 3 and (folder / "output_potential.yaml").is_file()


def test_a_hung_run_writes_its_pid_and_dies_on_sigterm(tmp_path: Path, datasets: dict[str, Path]) -> None:
    folder = workdir(tmp_path, datasets)
    pidfile, iter_log = tmp_path / "pid", tmp_path / "iterations.log"
    env = {
        **os.environ,
        "MLIP_SIM_PYTHON": sys.executable,
        "PACEMAKER_SIM_HANG_AT_ITER": "3",
        "PACEMAKER_SIM_PIDFILE": str(pidfile),
        "PACEMAKER_SIM_ITER_LOG": str(iter_log),
    }
    process = subprocess.Popen(
        [str(SIM_BIN / "pacemaker"), "input.yaml"],
        cwd=folder,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not (iter_log.exists() and len(iter_log.read_text().split("\n")) > 2):
            time.sleep(0.05)
        time.sleep(0.2)
        assert process.poll() is None
        assert int(pidfile.read_text()) == process.pid  # the sh wrapper execs python
        assert iter_log.read_text().splitlines() == ["iteration 1", "iteration 2"]
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=5) == -signal.SIGTERM
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_dry_run_writes_an_unfitted_target_potential(tmp_path: Path, datasets: dict[str, Path]) -> None:
    folder = workdir(tmp_path, datasets)
    run = sim("pacemaker", "input.yaml", "--dry-run", cwd=folder)
    assert run.returncode == 0 and "Dry run is finished" in run.log()
    assert sim_state(folder / "target_potential.yaml")["iterations_done"] == 0
    assert not (folder / "interim_potential_0.yaml").exists() and not (folder / "output_potential.yaml").exists()


def test_no_fit_predicts_with_the_given_potential_and_writes_what_the_real_one_writes(
    tmp_path: Path, datasets: dict[str, Path], finished: Run
) -> None:
    # Observed with the real pacemaker (0.2.7+172.gd1c213a): `input.yaml -p ckpt.yaml --no-fit` exits 0 with
    # nothing on stdout, fits nothing, writes no output potential, leaves the metrics tables header-only and
    # writes train/test predictions of the given potential, plus the data, target and picture files.
    folder = workdir(tmp_path, datasets)
    shutil.copy(finished.cwd / "interim_potential_0.yaml", folder / "ckpt.yaml")
    run = sim("pacemaker", "input.yaml", "-p", "ckpt.yaml", "--no-fit", cwd=folder)
    assert run.returncode == 0 and run.stdout == "", run.stderr
    log = run.log()
    assert "Potential settings is overwritten from arguments: ckpt.yaml" in log
    assert "Target potential loaded from file 'ckpt.yaml'" in log
    assert not any(ITERATION_LINE.match(line) for line in log.splitlines())
    assert "Fitting" not in log and "Setting pyace backend for predicting" in log
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        [
            "ckpt.yaml",
            "data.pckl.gzip",
            "input.yaml",
            "log.txt",
            "target_potential.yaml",
            "fitting_data_info.pckl.gzip",
            "test_data_info.pckl.gzip",
            "train_ef-distributions.png",
            "test_ef-distributions.png",
            "metrics.txt",
            "test_metrics.txt",
            "cycle_metrics.txt",
            "test_cycle_metrics.txt",
            "test_ladder_metrics.txt",
            "train_pred.pckl.gzip",
            "test_pred.pckl.gzip",
            "report",
        ]
    )
    for table in ("metrics.txt", "test_metrics.txt", "cycle_metrics.txt"):
        assert len(metrics_table(folder / table)) == 0, table
    pred = prediction_errors(str(folder / "train_pred.pckl.gzip"))
    last = metrics_table(finished.cwd / "metrics.txt").iloc[-1]
    assert pred["energy_rmse_mev_per_atom"] == pytest.approx(last["rmse_epa"] * 1000, rel=1e-9)
    assert pred["force_rmse_mev_per_a"] == pytest.approx(last["rmse_f_comp"] * 1000, rel=1e-9)
    assert len(pd.read_pickle(folder / "test_pred.pckl.gzip", compression="gzip")) == 2


def test_version_says_simulator(tmp_path: Path) -> None:
    run = sim("pacemaker", "-v", cwd=tmp_path)
    assert run.returncode == 0 and "simulator" in run.stdout


def test_pace_activeset_writes_an_asi_with_one_square_matrix_per_element(
    tmp_path: Path, datasets: dict[str, Path], finished: Run
) -> None:
    shutil.copy(finished.cwd / "output_potential.yaml", tmp_path / "pot.yaml")
    run = sim("pace_activeset", "pot.yaml", "-d", str(datasets["pool"]), cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    asi = np.load(tmp_path / "pot.asi")
    assert {k: asi[k].shape for k in asi} == {"Cu": (10, 10), "Ni": (10, 10)}
    again = tmp_path / "again"
    again.mkdir()
    shutil.copy(tmp_path / "pot.yaml", again / "pot.yaml")
    sim("pace_activeset", "pot.yaml", "-d", str(datasets["pool"]), cwd=again)
    assert (again / "pot.asi").read_bytes() == (tmp_path / "pot.asi").read_bytes()


def test_pace_activeset_fails_when_an_element_has_fewer_atoms_than_functions(
    tmp_path: Path, datasets: dict[str, Path], finished: Run
) -> None:
    shutil.copy(finished.cwd / "output_potential.yaml", tmp_path / "pot.yaml")
    run = sim("pace_activeset", "pot.yaml", "-d", str(datasets["one"]), "-a", cwd=tmp_path)
    assert run.returncode == 1 and "under-determined" in run.stderr
    assert not (tmp_path / "pot.asi").exists()
    batch = sim("pace_activeset", "pot.yaml", "-d", str(datasets["pool"]), "-b", "5", cwd=tmp_path)
    assert batch.returncode == 1 and "Please use --all-atoms option" in batch.stderr


def test_pace_select_returns_at_most_the_active_set_size_and_at_most_the_cap(
    tmp_path: Path, datasets: dict[str, Path], finished: Run
) -> None:
    shutil.copy(finished.cwd / "output_potential.yaml", tmp_path / "pot.yaml")
    pool = pd.read_pickle(datasets["pool"], compression="gzip")
    run = sim(
        "pace_select", "-p", "pot.yaml", "-m", "1000", "-o", "selected.pkl.gz", str(datasets["pool"]), cwd=tmp_path
    )
    assert run.returncode == 0, run.stderr
    selected = pd.read_pickle(tmp_path / "selected.pkl.gz")
    assert 0 < len(selected) <= 2 * 10 and len(selected) < len(pool)
    assert list(selected.columns) == list(pool.columns)
    assert set(selected["name"]) <= set(pool["name"])
    capped = sim("pace_select", "-p", "pot.yaml", "-m", "3", "-o", "three.pkl.gz", str(datasets["pool"]), cwd=tmp_path)
    assert capped.returncode == 0 and len(pd.read_pickle(tmp_path / "three.pkl.gz")) == 3


def test_pace_select_uses_the_asi_next_to_the_potential_and_rejects_unknown_elements(
    tmp_path: Path, datasets: dict[str, Path], finished: Run
) -> None:
    shutil.copy(finished.cwd / "output_potential.yaml", tmp_path / "pot.yaml")
    assert sim("pace_activeset", "pot.yaml", "-d", str(datasets["train"]), "-a", cwd=tmp_path).returncode == 0
    run = sim("pace_select", "-p", "pot.yaml", "-o", "sel.pkl.gz", str(datasets["one"]), cwd=tmp_path)
    assert run.returncode == 0 and "Loading Active Set Inverted  from pot.asi" in run.stderr
    doc = yaml.safe_load((tmp_path / "pot.yaml").read_text())
    doc["species"] = [b for b in doc["species"] if "Ni" not in b["speciesblock"].split()]
    (tmp_path / "cu_only.yaml").write_text(yaml.safe_dump(doc))
    bad = sim("pace_select", "-p", "cu_only.yaml", "-o", "x.pkl.gz", str(datasets["pool"]), cwd=tmp_path)
    assert bad.returncode == 1 and "not in the potential" in bad.stderr


def sizeof_fmt(size: float) -> str:
    """pyace.preparedata.sizeof_fmt, which pace_select's memory lines use."""
    for unit in ["", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei", "Zi"]:
        if abs(size) < 1024.0:
            return f"{size:3.1f}{unit}B"
        size /= 1024.0
    return f"{size:.1f}YiB"


def projection_memory(pool: Path, functions: int) -> tuple[int, int, int]:
    """(structures, bytes of all projections, bytes of the active set) as pace_select computes them:
    atoms of each element x its functions x 8 B, and functions^2 x 8 B per element."""
    frame = pd.read_pickle(pool, compression="gzip")
    atoms: dict[str, int] = {}
    for structure in frame["ase_atoms"]:
        for symbol in structure.get_chemical_symbols():
            atoms[symbol] = atoms.get(symbol, 0) + 1
    return len(frame), sum(n * functions * 8 for n in atoms.values()), len(atoms) * functions**2 * 8


def real_batches(mem_lim: int, structures: int, projections: int, active: int) -> int | None:
    """Number of batches real pace_select uses for `-mem mem_lim` (pyace.aceselect.compute_batch_size)."""
    if 2 * projections + active < mem_lim:
        return None
    nsplits = int(np.ceil(2 * projections // (mem_lim - active)))
    return structures // int(np.round(structures / nsplits))


def test_pace_select_decides_single_shot_or_batches_from_the_memory_limit_like_the_real_one(
    tmp_path: Path, datasets: dict[str, Path], finished: Run
) -> None:
    shutil.copy(finished.cwd / "output_potential.yaml", tmp_path / "pot.yaml")
    pool = str(datasets["pool"])
    structures, projections, active = projection_memory(datasets["pool"], functions=10)

    single = sim("pace_select", "-p", "pot.yaml", "-m", "20", "-mem", "8GB", "-o", "single.pkl.gz", pool, cwd=tmp_path)
    assert single.returncode == 0, single.stderr
    for line in (
        f"Required memory to store complete dataset projections: {sizeof_fmt(projections)}",
        f"Required memory to store active set: {sizeof_fmt(active)}",
        "Automatic batch_size determination",
        "Memory limit: 8.0GiB",
        "Single-shot mode",
        "Compute B-projections",
        "Selecting structures",
    ):
        assert f" - root - INFO - {line}\n" in single.stderr, line
    assert "Batch mode" not in single.stderr and not (tmp_path / "interim_active_set.asi").exists()

    # A limit below twice the projections plus the active set: batches, as many as the real one uses.
    limit = active + 2 * projections // 3
    batches = real_batches(limit, structures, projections, active)
    assert batches == 3
    batched = sim(
        "pace_select", "-p", "pot.yaml", "-m", "20", "-mem", str(limit), "-o", "batched.pkl.gz", pool, cwd=tmp_path
    )
    assert batched.returncode == 0, batched.stderr
    for line in (
        f"Memory limit: {sizeof_fmt(limit)}",
        "Batch mode",
        "Number of batches: 3",
        "Selecting structures in batch mode",
    ):
        assert f" - root - INFO - {line}\n" in batched.stderr, line
    assert "Single-shot mode" not in batched.stderr
    assert [line for line in batched.stdout.splitlines() if line.startswith("Batch #")][:3] == [
        "Batch #1/3",
        "Batch #2/3",
        "Batch #3/3",
    ]
    assert "Stage 1. Cumulative MaxVol by batches" in batched.stdout
    asi = np.load(tmp_path / "interim_active_set.asi")  # written in batch mode, like upstream
    assert {k: asi[k].shape[0] for k in asi} == {"Cu": 10, "Ni": 10}
    frame = pd.read_pickle(datasets["pool"], compression="gzip")
    chosen = pd.read_pickle(tmp_path / "batched.pkl.gz")
    assert 0 < len(chosen) <= 20 and set(chosen["name"]) <= set(frame["name"])
    found = re.search(r"Overall (\d+) structures selected", batched.stderr)
    assert found, batched.stderr
    overall = int(found.group(1))
    assert len(chosen) == min(20, overall)

    # -b sets the batch size itself; more than the pool holds is upstream's "0 batches" failure.
    fixed = sim("pace_select", "-p", "pot.yaml", "-b", "7", "-o", "fixed.pkl.gz", pool, cwd=tmp_path)
    assert fixed.returncode == 0, fixed.stderr
    assert "Number of batches: 4" in fixed.stderr and "Automatic batch_size determination" not in fixed.stderr
    too_big = sim("pace_select", "-p", "pot.yaml", "-b", "500", "-o", "none.pkl.gz", pool, cwd=tmp_path)
    assert too_big.returncode == 1 and "number sections must be larger than 0" in too_big.stderr
    unbatched = sim(
        "pace_select", "-p", "pot.yaml", "-b", "none", "-mem", str(limit), "-o", "nb.pkl.gz", pool, cwd=tmp_path
    )
    assert unbatched.returncode == 0 and "Single-shot mode" in unbatched.stderr


# Started from a small parent of its own: a child forked from this test process counts the pages
# it shares with it until exec, so after a long session its peak is this process's size, not its own.
_MEASURE_PEAK = """
import os, subprocess, sys
with open(sys.argv[1], "w") as out, open(sys.argv[2], "w") as err:
    process = subprocess.Popen(sys.argv[3:], stdout=out, stderr=err)
    _, status, usage = os.wait4(process.pid, 0)
print(os.waitstatus_to_exitcode(status), usage.ru_maxrss)
"""


def peak_rss(program: str, *args: str, cwd: Path) -> tuple[int, str, int]:
    """Runs a simulator program; returns (exit code, stderr, its own peak resident memory in bytes)."""
    out, err = cwd / f"{program}.out", cwd / f"{program}.err"
    measured = subprocess.run(
        [sys.executable, "-c", _MEASURE_PEAK, str(out), str(err), sys.executable, *SIM, program, *args],
        cwd=cwd,
        env=sim_env(),
        capture_output=True,
        text=True,
        check=True,
    )
    code, peak_kb = measured.stdout.split()
    return int(code), err.read_text(), int(peak_kb) * 1024


def test_pace_select_in_batch_mode_holds_one_batch_of_projections_at_a_time(
    tmp_path: Path, datasets: dict[str, Path]
) -> None:
    # A basis of 200 functions per element (short cutoff, so projecting stays quick) and a pool of
    # 750 structures: the pool's projections take ~10 MB, which single-shot mode holds (more than)
    # at once and batch mode never does.
    folder = workdir(tmp_path, datasets)
    wide = (
        INPUT_YAML.replace("number_of_functions_per_element: 10", "number_of_functions_per_element: 200")
        .replace(
            "nradmax_by_orders: [8, 3, 2], lmax_by_orders: [0, 2, 1]",
            "nradmax_by_orders: [15, 6, 3], lmax_by_orders: [0, 3, 2]",
        )
        .replace("rcut: 5.0", "rcut: 3.0")
        .replace("cutoff: 5.0", "cutoff: 3.0")
    )
    write_input(folder, text=wide)
    assert sim("pacemaker", "input.yaml", "--dry-run", cwd=folder).returncode == 0
    frame = pd.read_pickle(datasets["pool"], compression="gzip")
    big = folder / "big_pool.pckl.gzip"
    pd.concat([frame] * 25, ignore_index=True).to_pickle(big, compression="gzip")
    structures, projections, active = projection_memory(big, functions=200)
    assert structures == 750 and projections > 8 * 2**20

    single_code, single_err, single_peak = peak_rss(
        "pace_select",
        "-p",
        "target_potential.yaml",
        "-m",
        "10",
        "-mem",
        "8GB",
        "-o",
        "single.pkl.gz",
        str(big),
        cwd=folder,
    )
    assert single_code == 0, single_err
    assert "Single-shot mode" in single_err
    limit = active + projections // 2
    # 4 splits of 188 structures, so 750 // 188 = 3 batches: upstream's rounding, kept.
    batches = real_batches(limit, structures, projections, active)
    assert batches == 3
    # -g: a tolerance no gamma reaches ends the selection after stage 1 (no refinement passes).
    batch_code, batch_err, batch_peak = peak_rss(
        "pace_select",
        "-p",
        "target_potential.yaml",
        "-m",
        "10",
        "-mem",
        str(limit),
        "-g",
        "1e9",
        "-o",
        "batched.pkl.gz",
        str(big),
        cwd=folder,
    )
    assert batch_code == 0, batch_err
    assert "Batch mode" in batch_err and f"Number of batches: {batches}" in batch_err
    assert len(pd.read_pickle(folder / "batched.pkl.gz")) == 10
    # Single shot holds every projection (and a copy); batches a third of them at a time.
    assert single_peak - batch_peak > projections, (single_peak, batch_peak, projections)


def test_pace_yaml2yace_and_pace_info(tmp_path: Path, finished: Run) -> None:
    shutil.copy(finished.cwd / "output_potential.yaml", tmp_path / "pot.yaml")
    run = sim("pace_yaml2yace", "pot.yaml", cwd=tmp_path)
    assert run.returncode == 0 and "Saving Ctilde-basis to 'pot.yace'" in run.stdout
    lines = (tmp_path / "pot.yace").read_text().splitlines()  # like real .yace files: `[0, 0]:` keys, no safe_load
    assert lines[:3] == [SIM_COMMENT, "simulated: true", "elements: [Cu, Ni]"]
    assert {"bonds:", "functions:", "embeddings:"} <= set(lines)
    assert sim("pace_yaml2yace", "pot.yaml", "-o", "other.yace", cwd=tmp_path).returncode == 0
    assert (tmp_path / "other.yace").is_file()
    assert sim("pace_yaml2yace", "missing.yaml", cwd=tmp_path).returncode == 1
    info = sim("pace_info", "pot.yaml", cwd=tmp_path)
    assert info.returncode == 0 and "Available element(s): Cu Ni" in info.stdout
    assert "Total number of functions:  20" in info.stdout


def test_the_sh_wrappers_are_executable_and_run_the_simulator(tmp_path: Path) -> None:
    for program in ("pacemaker", "pace_select", "pace_activeset", "pace_yaml2yace", "pace_info"):
        assert os.access(SIM_BIN / program, os.X_OK), program
    env = {**os.environ, "MLIP_SIM_PYTHON": sys.executable}
    done = subprocess.run(
        [str(SIM_BIN / "pacemaker"), "--version"], cwd=tmp_path, env=env, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0 and "simulator" in done.stdout
