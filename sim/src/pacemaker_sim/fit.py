"""The fit: GeneralACEFit's single-shot, cycle and ladder fitting with the simulated model.

Converged state: least-squares per-element energies on ``energy_corrected`` and forces equal to
0.9 x the reference forces; each BFGS "iteration" i moves the parameters from the start state
towards the converged one by ``exp(-i/5)``. Losses and RMSEs are computed from these predictions
exactly as pacemaker computes them.
"""

from __future__ import annotations

import math
import os
import signal
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd

from pacemaker_sim.basis import extended_potential
from pacemaker_sim.errors import ResourceExhaustedError, TestLossChangeTooSmallException
from pacemaker_sim.faults import Faults
from pacemaker_sim.logs import log
from pacemaker_sim.metrics import (
    Evaluator,
    FitArrays,
    LossSpec,
    MetricsTables,
    format_detailed_metrics,
    format_extended_metrics,
)
from pacemaker_sim.potential import (
    coefficient_bases,
    copy_doc,
    functions_per_element,
    number_of_coefficients,
    potential_elements,
    total_functions,
    write_potential,
)
from pacemaker_sim.state import Params, SimState, get_state, set_state
from pacemaker_sim.util import as_float

TAU = 5.0
CONVERGED_FORCE_FRACTION = 0.9


@dataclass
class FitSettings:
    fit_config: dict[str, Any]
    backend_config: dict[str, Any]
    evaluator: str
    loss_spec: LossSpec
    display_step: int
    maxiter: int
    fit_cycles: int
    faults: Faults


@dataclass
class CycleResult:
    doc: dict[str, Any]
    metrics: dict[str, Any]
    loss: float


class SimulatedFit:
    """GeneralACEFit.fit / cycle_fitting / ladder_fitting with the simulated model."""

    def __init__(
        self,
        settings: FitSettings,
        train: pd.DataFrame,
        test: pd.DataFrame | None,
        target: dict[str, Any],
        tables: MetricsTables,
        ladder: bool = False,
    ) -> None:
        self.s = settings
        self.target = target
        self.elements = potential_elements(target)
        self.tables = tables
        self.train = FitArrays.from_frame(train, self.elements)
        self.test = FitArrays.from_frame(test, self.elements) if test is not None else None
        self.converged_energies = np.linalg.lstsq(self.train.counts, self.train.e_corr, rcond=None)[0]
        self.target_functions = total_functions(target)
        # The basis size the converged state is scaled to: a ladder's target, or, for a potential fitted
        # on its own (-p), the target of the ladder that grew it. So a basis converges to the same state
        # whether it is fitted inside a ladder or resumed from its interim file with -p, as in pacemaker,
        # whose optimum of a basis does not depend on where a ladder is heading.
        self.scale_functions = (
            self.target_functions if ladder else (get_state(target).target_functions or self.target_functions)
        )
        self.local_iterations = 0
        self.global_iterations = 0
        self.fitted = False
        self.train_losses: list[float] = []
        self.current_fit_cycle = 0
        self.current_ladder_step = 0
        self.last_metrics: dict[str, Any] = {}
        self.last_test_metrics: dict[str, Any] | None = None
        self.train_shape = train.shape

    # -- model ------------------------------------------------------------------------------

    def converged(self, doc: Mapping[str, Any]) -> Params:
        fraction = min(1.0, math.sqrt(total_functions(doc) / self.scale_functions)) if self.scale_functions else 0.0
        return Params(self.converged_energies.copy(), CONVERGED_FORCE_FRACTION * fraction)

    def evaluator(self, doc: Mapping[str, Any], arrays: FitArrays) -> Evaluator:
        bases = coefficient_bases(doc)
        per_atom_seconds = (50.0 + 2.0 * max(functions_per_element(doc).values(), default=0)) * 1e-6
        return Evaluator(
            arrays,
            self.s.loss_spec,
            float(np.sum(np.abs(bases))),
            float(np.sum(bases**2)),
            total_functions(doc),
            number_of_coefficients(doc),
            per_atom_seconds * float(arrays.nat.sum()),
        )

    def eval_count(self, iteration: int, ncoefs: int) -> int:
        if self.s.evaluator == "pyace":
            return (ncoefs + 1) * (iteration + 1) + iteration
        return 1 + iteration + iteration // 4

    def state_doc(self, doc: Mapping[str, Any], params: Params, m: Mapping[str, Any]) -> dict[str, Any]:
        result = copy_doc(doc)
        set_state(
            result,
            SimState(
                reference_energies={e: float(v) for e, v in zip(self.elements, params.energies)},
                force_fraction=params.force_fraction,
                iterations_done=self.global_iterations,
                loss=float(m["loss"]),
                rmse_e_mev=float(m["rmse_epa"] * 1e3),
                rmse_f_mev=float(m["rmse_f_comp"] * 1e3),
                target_functions=self.scale_functions,
            ),
        )
        return result

    # -- faults -----------------------------------------------------------------------------

    def check_oom(self) -> None:
        faults, backend = self.s.faults, self.s.backend_config
        if faults.oom_above_batch is None:
            return
        while int(backend.get("batch_size", 10)) > faults.oom_above_batch:
            batch = int(backend.get("batch_size", 10))
            error = ResourceExhaustedError(
                f"OOM when allocating tensor with shape[{batch * 64},{max(1, number_of_coefficients(self.target))}]"
                " and type double on /job:localhost/replica:0/task:0/device:CPU:0 by allocator cpu"
            )
            if self.s.evaluator != "tensorpot":
                raise error
            try:
                raise error
            except ResourceExhaustedError as exc:
                log.error("{} errors encountered".format(exc))
                if not backend.get("batch_size_reduction", True):
                    log.error("Use `backend:batch_size_reduction` option for automatic batch size reduction")
                    # upstream's message, its misplaced .format() included; raised inside the handler, as there
                    raise RuntimeError(  # noqa: B904
                        "{} errors encountered. "
                        + "Consider using `backend::{}=true` option for automatic batch size reduction".format(
                            exc,
                        )
                    )
                factor = float(backend.get("batch_size_reduction_factor", 1.618))
                new_batch = int(batch / factor)
                log.info("Decrease batch size (by factor {}): {} -> {}".format(factor, batch, new_batch))
                if new_batch < 1:
                    log.error("New batch size is too small, stopping")
                    raise RuntimeError("No further batch size reduction is possible, stopping")  # noqa: B904
                backend["batch_size"] = new_batch
                log.info("Attempt to get last version of potential")
                log.info("Last version of potential is extracted")
                log.info("Batch size: {}".format(new_batch))

    def before_iteration(self) -> None:
        faults = self.s.faults
        self.local_iterations += 1
        k = self.local_iterations
        if faults.hang_at_iter is not None and k == faults.hang_at_iter:
            faults.fire_once()
            while True:
                time.sleep(3600)
        killed_above = faults.killed_above_batch
        if killed_above is not None and k == 3 and int(self.s.backend_config.get("batch_size", 10)) > killed_above:
            os.kill(os.getpid(), signal.SIGKILL)
        if faults.crash_at_iter is not None and k == faults.crash_at_iter:
            faults.fire_once()
            raise RuntimeError(f"simulated crash at iteration {k}")
        if faults.iter_seconds > 0:
            time.sleep(faults.iter_seconds)

    def early_stop_crash_requested(self) -> bool:
        fit = self.s.fit_config
        wants = fit.get("min_relative_train_loss_per_iter") is not None or "early_stopping_patience" in fit
        return self.s.faults.early_stop_crash and wants

    # -- metrics callbacks (GeneralACEFit.fit_metric_callback + MetricsAggregator) -----------

    def fit_metric_callback(self, m: dict[str, Any]) -> bool:
        """Log and tabulate one iteration; True when early stopping fires."""
        m["cycle_step"], m["ladder_step"] = self.current_fit_cycle, self.current_ladder_step
        self.tables.append("metrics.txt", m)
        i = m["iter_num"]
        if i == 0:
            log.info(format_detailed_metrics(m, title="Initial state:"))
            log.info(format_extended_metrics(m, title="INIT STATS"))
        elif i % self.s.display_step == 0:
            log.info(format_extended_metrics(m, title="FIT STATS"))
        else:
            log.info(format_detailed_metrics(m, title="Iteration"))
        self.train_losses.append(m["loss"])
        if i > 0 and i % self.s.display_step == 0 and len(self.train_losses) >= 2:
            change = (self.train_losses[-1] - self.train_losses[-2]) / self.train_losses[-2]
            log.info(f"Last relative TRAIN loss change {change:+1.2e}/iter (averaged over last 1 step(s))")
        if i == 1 and self.early_stop_crash_requested():
            raise TestLossChangeTooSmallException(
                "EARLY STOPPING: Too small or even positive TRAIN loss change (simulated scipy 1.10 crash)"
            )
        return self.detect_early_stopping()

    def detect_early_stopping(self) -> bool:
        threshold = self.s.fit_config.get("min_relative_train_loss_per_iter")
        if threshold is None:
            return False
        threshold = -abs(as_float(threshold, "fit::min_relative_train_loss_per_iter"))
        patience = int(self.s.fit_config.get("early_stopping_patience", 200))
        depth = max(patience, 2)
        if len(self.train_losses) - 1 < depth:
            return False
        losses = np.array(self.train_losses[-depth:])
        changes = (losses[1:] - losses[:-1]) / losses[:-1]
        if len(changes) and min(changes) > threshold:
            log.info(
                "EARLY STOPPING: Too small or even positive TRAIN loss change "
                f"(best={min(changes):+1.2e}  / iter, last={changes[-1]:+1.2e}/iter, "
                f"threshold = {threshold:+1.2e}/iter) within last {patience} iterations. Stopping"
            )
            return True
        return False

    def test_metric_callback(self, m: dict[str, Any]) -> None:
        m["cycle_step"], m["ladder_step"] = self.current_fit_cycle, self.current_ladder_step
        self.tables.append("test_metrics.txt", m)
        if m["iter_num"] == 0:
            log.info(format_detailed_metrics(m, title="Initial(TEST):"))
            log.info(format_extended_metrics(m, title="INIT TEST STATS"))
        else:
            log.info(format_extended_metrics(m, title="TEST STATS"))

    # -- one optimisation (FitBackendAdapter.fit) -------------------------------------------

    def log_backend_setup(self, doc: Mapping[str, Any], ncoefs: int) -> None:
        log.info("Trainable parameters: {}".format({e: ["func", "radial"] for e in self.elements}))
        log.info("Loss function specification: " + str(self.s.loss_spec))
        if self.s.evaluator == "tensorpot":
            log.info("Batch size: {}".format(self.s.backend_config.get("batch_size", 10)))
            return
        log.info("Data size:" + str(self.train_shape))
        log.info("Energy weights : True")
        log.info("Forces weights : True")
        log.info("Number of trainable parameters: {0}".format(ncoefs))
        options = {"maxiter": self.s.maxiter, "disp": True, **(self.s.fit_config.get("options") or {}), "gtol": 1e-8}
        log.info("Scipy minimize: method = {},  options = {}".format(self.s.fit_config.get("optimizer"), options))

    def optimise(self, doc: dict[str, Any]) -> CycleResult:
        self.fitted = True
        train_eval = self.evaluator(doc, self.train)
        test_eval = self.evaluator(doc, self.test) if self.test is not None else None
        self.log_backend_setup(doc, train_eval.ncoefs)
        self.check_oom()
        start = get_state(doc).params(self.elements)
        target = self.converged(doc)
        params, m, test_m = start, self.iteration_metrics(train_eval, start, 0), None
        self.fit_metric_callback(m)
        if test_eval is not None and self.s.evaluator == "tensorpot":
            test_m = self.iteration_metrics(test_eval, start, 0, train=False)
            self.test_metric_callback(test_m)
        stopped = False
        current = self.state_doc(doc, params, m)
        for i in range(1, self.s.maxiter + 1):
            self.before_iteration()
            params = start.towards(target, math.exp(-i / TAU))
            m = self.iteration_metrics(train_eval, params, i)
            self.global_iterations += 1
            stopped = self.fit_metric_callback(m)
            if test_eval is not None and self.s.evaluator == "tensorpot" and i % self.s.display_step == 0:
                test_m = self.iteration_metrics(test_eval, params, i, train=False)
                self.test_metric_callback(test_m)
            current = self.state_doc(doc, params, m)
            self.record_iteration(current)
            if stopped:
                break
        self.log_optimisation_result(m, stopped)
        self.last_test_metrics = test_m
        return CycleResult(current, m, m["loss"])

    def iteration_metrics(
        self, evaluator: Evaluator, params: Params, iteration: int, train: bool = True
    ) -> dict[str, Any]:
        m = evaluator.metrics(params)
        m["iter_num"] = iteration
        m["eval_count"] = self.eval_count(iteration, evaluator.ncoefs)
        if self.s.evaluator == "pyace" and train:
            # PyACEFit.loss(verbose=True) prints every evaluation to stdout, ended by \r, never by \n;
            # the simulator prints one such progress record per iteration.
            print("Eval {}: loss={}".format(m["eval_count"], m["loss"]) + " " * 40 + "\r", end="")
        return m

    def record_iteration(self, doc: dict[str, Any]) -> None:
        doc["metadata"]["intermediate_time"] = str(datetime.now())
        write_potential(doc, f"interim_potential_{self.current_fit_cycle}.yaml")
        if self.s.faults.iter_log:
            with open(self.s.faults.iter_log, "a") as handle:
                print(f"iteration {self.global_iterations}", file=handle)

    def log_optimisation_result(self, m: Mapping[str, Any], stopped: bool) -> None:
        status, message = (
            (99, "`callback` raised `StopIteration`.")
            if stopped
            else (1, "Maximum number of iterations has been exceeded.")
        )
        nfev, njev = m["eval_count"], m["iter_num"] + 1
        if self.s.evaluator == "pyace" and not stopped:
            print("Warning: " + message)
            print("         Current function value: {:f}".format(m["loss"]))
            print("         Iterations: {:d}".format(m["iter_num"]))
            print("         Function evaluations: {:d}".format(nfev))
            print("         Gradient evaluations: {:d}".format(njev), flush=True)
        log.info(
            "Optimization result(success={success}, status={status}, message={message}, nfev={nfev}, "
            "njev={njev})".format(success=False, status=status, message=message, nfev=nfev, njev=njev)
        )

    # -- cycles and ladder (GeneralACEFit) ---------------------------------------------------

    def cycle_fitting(self, doc: dict[str, Any]) -> dict[str, Any]:
        current = copy_doc(doc)
        log.info("Cycle fitting loop")
        fit_cycles = self.s.fit_cycles
        finished = int(current.get("metadata", {}).get("_fit_cycles", 0) or 0)
        if finished >= fit_cycles:
            log.warning(
                (
                    "Number of finished fit cycles ({}) >= number of expected fit cycles ({}). "
                    "Use another potential or remove `{}` from potential metadata"
                ).format(finished, fit_cycles, "_fit_cycles")
            )
            return current
        attempts: list[CycleResult] = []
        while finished < fit_cycles:
            self.current_fit_cycle = finished
            log.info("Number of fit attempts: {}/{}".format(self.current_fit_cycle, fit_cycles))
            log.info(
                "Total number of functions: {} / number of parameters: {}".format(
                    total_functions(current), number_of_coefficients(current)
                )
            )
            log.info("Running fit backend")
            self.train_losses = []
            result = self.optimise(current)
            log.info("Fitting cycle finished, final statistic:")
            self.cycle_step_metrics(result.metrics)
            finished = self.current_fit_cycle + 1
            result.doc["metadata"]["_fit_cycles"] = finished
            result.doc["metadata"]["_loss"] = result.loss
            attempts.append(result)
            best = int(np.argmin([a.loss for a in attempts]))
            log.info("Select best fit #{} among all available ({})".format(best + 1, len(attempts)))
            current = copy_doc(attempts[best].doc)
        best = int(np.argmin([a.loss for a in attempts]))
        log.info("Best fitting attempt is #{}".format(best + 1))
        self.last_metrics = attempts[best].metrics
        best_doc = copy_doc(attempts[best].doc)
        best_doc["metadata"]["intermediate_time"] = str(datetime.now())
        write_potential(best_doc, "interim_potential_best_cycle.yaml")
        log.info("Intermediate potential saved in interim_potential_best_cycle.yaml")
        return best_doc

    def cycle_step_metrics(self, m: dict[str, Any]) -> None:
        m["cycle_step"], m["ladder_step"] = self.current_fit_cycle, self.current_ladder_step
        log.info(format_extended_metrics(m, title="Cycle last iteration:"))
        self.tables.append("cycle_metrics.txt", m, self.tables.cycle_columns)
        test_m = self.last_test_metrics
        if test_m:
            test_m["cycle_step"], test_m["ladder_step"] = self.current_fit_cycle, self.current_ladder_step
            log.info(format_extended_metrics(test_m, title="TEST Cycle last iteration:"))
            self.tables.append("test_cycle_metrics.txt", test_m, self.tables.cycle_columns)

    def ladder_fitting(self, initial: dict[str, Any]) -> dict[str, Any]:
        total = self.target_functions
        step_param = self.s.fit_config.get("ladder_step")
        current = copy_doc(initial)
        self.current_ladder_step = 0
        while True:
            previous = total_functions(current)
            log.info("Current basis set size: {} B-functions".format(previous))
            step = actual_ladder_step(step_param, previous, total)
            log.info("Ladder step size: {}".format(step))
            extended = extended_potential(self.target, current, step)
            log.info("Extended basis set size: {} B-functions".format(total_functions(extended)))
            write_potential(extended, "current_extended_potential.yaml")
            log.info("Extended basis set saved to current_extended_potential.yaml")
            if total_functions(extended) <= previous:
                log.info("No new function added after basis extension. Stopping")
                break
            current = self.cycle_fitting(extended)
            current["metadata"].pop("_fit_cycles", None)
            if self.last_metrics:
                m = dict(self.last_metrics)
                m["ladder_step"] = self.current_ladder_step
                log.info(format_extended_metrics(m, title="LADDER STEP"))
                self.tables.append("ladder_metrics.txt", m, self.tables.ladder_columns)
            name = "interim_potential_ladder_step_{}.yaml".format(self.current_ladder_step)
            log.info("Save current ladder step potential to {}".format(name))
            current["metadata"]["intermediate_time"] = str(datetime.now())
            write_potential(current, name)
            log.info("Intermediate potential saved in {}".format(name))
            self.current_ladder_step += 1
        return current


def actual_ladder_step(param: Any, current: int, final: int) -> int:
    """pyace.basisextension.get_actual_ladder_step."""
    discrete, frac = 0, 0.0
    invalid = ValueError(
        f"Invalid ladder step parameter: {param}. Should be integer >= 1 or  0<float<1 or list of both [int, float]"
    )
    if isinstance(param, int) and not isinstance(param, bool) and param >= 1:
        discrete = param
    elif isinstance(param, float) and 0 < param < 1:
        frac = param
    elif isinstance(param, (list, tuple)):
        if len(param) > 2:
            raise invalid
        for p in param:
            if p >= 1:
                discrete = int(p)
            elif 0 < p < 1:
                frac = float(p)
            else:
                raise invalid
    elif param is None:
        discrete = final - current
        log.info("Ladder step parameter is None - all functions will be added")
    else:
        raise invalid
    frac_step = int(round(frac * current))
    step = max(discrete, frac_step, 1)
    log.info(
        "Possible ladder steps: discrete - {}, fraction - {}. Selected maximum - {}".format(discrete, frac_step, step)
    )
    if current + step > final:
        step = final - current
        log.info("Ladder step is too large and adjusted to {}".format(step))
    return step
