"""Fault injection through PACEMAKER_SIM_* environment variables.

Iteration numbers count the iterations this process ran, 1-based, across fit cycles and ladder steps.
  PACEMAKER_SIM_CRASH_AT_ITER=k    after iteration k-1 is complete (interim potential written),
                                   raise ``RuntimeError: simulated crash at iteration k`` (Python
                                   traceback on stderr, exit 1).
  PACEMAKER_SIM_HANG_AT_ITER=k     at iteration k, sleep until killed.
  PACEMAKER_SIM_ITER_SECONDS=s     sleep s seconds (float) in every iteration.
  PACEMAKER_SIM_EXIT_CODE=n        after writing every output, log a line and exit with n.
  PACEMAKER_SIM_OOM_ABOVE_BATCH=b  backend.batch_size (default 10) > b runs out of memory before
                                   the first iteration: ``tensorflow...ResourceExhaustedError: OOM
                                   when allocating tensor with shape[...]``. With
                                   ``evaluator: tensorpot`` and ``batch_size_reduction`` not false,
                                   pacemaker's own recovery is simulated (batch size divided by
                                   1.618 until it fits, then the fit runs); otherwise exit 1.
  PACEMAKER_SIM_KILLED_ABOVE_BATCH=b  backend.batch_size > b: at iteration 3 the process is killed
                                   with SIGKILL and no message, as the kernel's out-of-memory killer
                                   (or a batch system's memory limit) ends a CPU fit that does not
                                   fit in memory.
  PACEMAKER_SIM_EARLY_STOP_CRASH=1 with fit.min_relative_train_loss_per_iter or
                                   fit.early_stopping_patience set, crash after iteration 1 the
                                   way pacemaker did with scipy 1.10 (traceback, exit 1, no output
                                   potential).
  PACEMAKER_SIM_ITER_LOG=FILE      append ``iteration <n>`` per completed iteration, n counting on
                                   from ``sim_state.iterations_done`` of a ``-p`` potential.
  PACEMAKER_SIM_PIDFILE=FILE       write this process's pid at start.
  PACEMAKER_SIM_ENV_LOG=FILE       append one JSON line per start: the pid, the arguments and the
                                   environment settings a worker's training slot gives a run
                                   (ENV_REPORTED), so GPU pinning and thread counts are checked
                                   without a GPU.
  PACEMAKER_SIM_FAULT_ONCE=FILE    crash, hang and exit-code faults fire only while FILE does not
                                   exist, and create it when they fire: a retried run of the same
                                   environment then runs clean (as a node that crashed once).
SIGTERM keeps Python's default action (the process ends at once).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

#: What a worker's training slot sets: the GPU a run sees and its threads (see src/process/slots.ts).
ENV_REPORTED = (
    "CUDA_VISIBLE_DEVICES",
    "TF_FORCE_GPU_ALLOW_GROWTH",
    "TF_NUM_INTRAOP_THREADS",
    "TF_NUM_INTEROP_THREADS",
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
)


def _env_number(env: Mapping[str, str], name: str, kind: Callable[[str], Any]) -> Any:
    raw = env.get(name)
    if raw is None or raw == "":
        return None
    try:
        return kind(raw)
    except ValueError:
        raise ValueError(f"{name} must be a {kind.__name__}, got {raw!r}") from None


@dataclass(frozen=True)
class Faults:
    """Faults requested through PACEMAKER_SIM_* environment variables (see module docstring)."""

    crash_at_iter: int | None = None
    hang_at_iter: int | None = None
    iter_seconds: float = 0.0
    exit_code: int | None = None
    oom_above_batch: int | None = None
    killed_above_batch: int | None = None
    early_stop_crash: bool = False
    iter_log: str | None = None
    pidfile: str | None = None
    env_log: str | None = None
    once_file: str | None = None

    def fire_once(self) -> None:
        """Marks a one-shot fault as fired (PACEMAKER_SIM_FAULT_ONCE)."""
        if self.once_file:
            Path(self.once_file).write_text("fired\n")

    @staticmethod
    def from_env(env: Mapping[str, str]) -> Faults:
        once_file = env.get("PACEMAKER_SIM_FAULT_ONCE") or None
        if once_file and Path(once_file).exists():
            env = {
                k: v
                for k, v in env.items()
                if k not in ("PACEMAKER_SIM_CRASH_AT_ITER", "PACEMAKER_SIM_HANG_AT_ITER", "PACEMAKER_SIM_EXIT_CODE")
            }
        return Faults(
            once_file=once_file,
            crash_at_iter=_env_number(env, "PACEMAKER_SIM_CRASH_AT_ITER", int),
            hang_at_iter=_env_number(env, "PACEMAKER_SIM_HANG_AT_ITER", int),
            iter_seconds=_env_number(env, "PACEMAKER_SIM_ITER_SECONDS", float) or 0.0,
            exit_code=_env_number(env, "PACEMAKER_SIM_EXIT_CODE", int),
            oom_above_batch=_env_number(env, "PACEMAKER_SIM_OOM_ABOVE_BATCH", int),
            killed_above_batch=_env_number(env, "PACEMAKER_SIM_KILLED_ABOVE_BATCH", int),
            early_stop_crash=env.get("PACEMAKER_SIM_EARLY_STOP_CRASH", "") not in ("", "0"),
            iter_log=env.get("PACEMAKER_SIM_ITER_LOG") or None,
            pidfile=env.get("PACEMAKER_SIM_PIDFILE") or None,
            env_log=env.get("PACEMAKER_SIM_ENV_LOG") or None,
        )

    def report_env(self, env: Mapping[str, str], argv: Sequence[str]) -> None:
        """Appends what this run saw to PACEMAKER_SIM_ENV_LOG (one JSON line), when set."""
        if not self.env_log:
            return
        seen = {name: env.get(name) for name in ENV_REPORTED}
        with open(self.env_log, "a") as handle:
            handle.write(json.dumps({"pid": os.getpid(), "argv": list(argv), "env": seen}) + "\n")
