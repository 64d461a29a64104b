"""Simulator of pacemaker's programs, for tests and demos without a real pacemaker build.

Usage: ``python pacemaker_sim.py <program> [args...]`` where program is one of
``pacemaker``, ``pace_select``, ``pace_activeset``, ``pace_yaml2yace``, ``pace_info``
(``sim/bin/<program>`` wrappers call this file).

What is copied from upstream (ICAMS/python-ace master, bin/* and src/pyace/*): argument flags and
defaults, the names of every file written, the log format (console: stderr with
``%Y/%m/%d %H:%M:%S``; log file: ``YYYY-MM-DD HH:MM:SS,mmm``), the iteration line, the
INIT/FIT/TEST STATS and ``Cycle last iteration:`` blocks, the metrics tables, the traps
(``-p`` with ``-ip``; missing ``backend:``/``potential:``/``cutoff``; ``_fit_cycles`` in a
``-p`` potential; ``fit: ladder_step`` with ``-p``) and the exit codes.

What is simulated: the "potential" is a per-element energy model plus a force fraction.
Converged state: least-squares per-element energies on ``energy_corrected`` and forces equal
to 0.9 x the reference forces; each BFGS "iteration" i moves the parameters from the start
state towards the converged one by ``exp(-i/5)``. Losses and RMSEs are computed from these
predictions exactly as pacemaker computes them (so ``train_pred.pckl.gzip`` reproduces the
logged RMSE). Every potential file carries ``simulated: true``, a ``sim_state`` block and a
first comment line saying it is simulated. Same inputs give the same numbers (timestamps aside).

Fault injection, through environment variables (iteration numbers count the iterations this
process ran, 1-based, across fit cycles and ladder steps):
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
  PACEMAKER_SIM_EARLY_STOP_CRASH=1 with fit.min_relative_train_loss_per_iter or
                                   fit.early_stopping_patience set, crash after iteration 1 the
                                   way pacemaker did with scipy 1.10 (traceback, exit 1, no output
                                   potential).
  PACEMAKER_SIM_ITER_LOG=FILE      append ``iteration <n>`` per completed iteration, n counting on
                                   from ``sim_state.iterations_done`` of a ``-p`` potential.
  PACEMAKER_SIM_PIDFILE=FILE       write this process's pid at start.
  PACEMAKER_SIM_FAULT_ONCE=FILE    crash, hang and exit-code faults fire only while FILE does not
                                   exist, and create it when they fire: a retried run of the same
                                   environment then runs clean (as a node that crashed once).
SIGTERM keeps Python's default action (the process ends at once).
"""

from __future__ import annotations

import argparse
import getpass
import json
import logging
import math
import os
import shutil
import socket
import struct
import sys
import time
import zlib
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from itertools import combinations_with_replacement
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, NoReturn, Sequence

import numpy as np
import pandas as pd
import yaml

SIM_VERSION = "0.3.0+simulator"
SIM_COMMENT = "# SIMULATED by mlip-trainer's pacemaker simulator: not a real ACE potential"
LOG_FMT = "%(asctime)s %(levelname).1s - %(message)s"
CONSOLE_DATEFMT = "%Y/%m/%d %H:%M:%S"
DEFAULT_SEED = 42
TAU = 5.0
CONVERGED_FORCE_FRACTION = 0.9
MAX_FUNCTIONS_PER_BLOCK = 5000
MAX_FUNCTIONS_PER_ELEMENT = 2000
TARGET_POTENTIAL_YAML = "target_potential.yaml"
FITTING_DATA_INFO_FILENAME = "fitting_data_info.pckl.gzip"
TEST_DATA_INFO_FILENAME = "test_data_info.pckl.gzip"
FILES_TO_REMOVE = [
    "fitting_data_info.csv", "fitting_data_info.pckl.gzip", "test_data_info.pckl.gzip", "log.txt", "nohup.out",
    "target_potential.yaml", "current_extended_potential.yaml", "output_potential.yaml", "ladder_metrics.txt",
    "cycle_metrics.txt", "metrics.txt", "test_ladder_metrics.txt", "test_cycle_metrics.txt", "test_metrics.txt",
    "train_pred.pckl.gzip", "test_pred.pckl.gzip", "test_ef-distributions.png", "train_ef-distributions.png",
    "report",
]
REPORT_PLOTS = ["EF-pairplots", "E-dE-dist", "Fi-dFi-dist", "F-dF-dist", "E-dE-nn"]
METRICS_COLUMNS: list[str | tuple[str, int]] = [
    ("ladder_step", 11), ("cycle_step", 11), ("iter_num", 8),
    "loss", "e_loss_contrib", "f_loss_contrib", "reg_loss",
    "rmse_epa", "rmse_f_comp", "low_rmse_epa", "low_rmse_f_comp",
    "mae_f_comp", "low_mae_f_comp",
    ("nfuncs", 6), ("ncoefs", 6),
    "l1_reg_contrib", "l2_reg_contrib",
    "smooth_orth", "smooth_w1", "smooth_w2", "smooth_w3",
]

log = logging.getLogger()


# =============================================================================================
# Exceptions named like the real ones, so tracebacks end with the real type names
# =============================================================================================


class ResourceExhaustedError(Exception):
    """TensorFlow's out-of-memory error."""


ResourceExhaustedError.__module__ = "tensorflow.python.framework.errors_impl"


class TestLossChangeTooSmallException(StopIteration):
    """pacemaker's early-stopping signal (a StopIteration raised in the optimizer callback)."""


TestLossChangeTooSmallException.__module__ = "pyace.generalfit"


# =============================================================================================
# Environment: fault injection
# =============================================================================================


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
    early_stop_crash: bool = False
    iter_log: str | None = None
    pidfile: str | None = None
    once_file: str | None = None

    def fire_once(self) -> None:
        """Marks a one-shot fault as fired (PACEMAKER_SIM_FAULT_ONCE)."""
        if self.once_file:
            Path(self.once_file).write_text("fired\n")

    @staticmethod
    def from_env(env: Mapping[str, str]) -> Faults:
        once_file = env.get("PACEMAKER_SIM_FAULT_ONCE") or None
        if once_file and Path(once_file).exists():
            env = {k: v for k, v in env.items()
                   if k not in ("PACEMAKER_SIM_CRASH_AT_ITER", "PACEMAKER_SIM_HANG_AT_ITER", "PACEMAKER_SIM_EXIT_CODE")}
        return Faults(
            once_file=once_file,
            crash_at_iter=_env_number(env, "PACEMAKER_SIM_CRASH_AT_ITER", int),
            hang_at_iter=_env_number(env, "PACEMAKER_SIM_HANG_AT_ITER", int),
            iter_seconds=_env_number(env, "PACEMAKER_SIM_ITER_SECONDS", float) or 0.0,
            exit_code=_env_number(env, "PACEMAKER_SIM_EXIT_CODE", int),
            oom_above_batch=_env_number(env, "PACEMAKER_SIM_OOM_ABOVE_BATCH", int),
            early_stop_crash=env.get("PACEMAKER_SIM_EARLY_STOP_CRASH", "") not in ("", "0"),
            iter_log=env.get("PACEMAKER_SIM_ITER_LOG") or None,
            pidfile=env.get("PACEMAKER_SIM_PIDFILE") or None,
        )


# =============================================================================================
# Small helpers: logging, PNG, YAML, file sizes
# =============================================================================================


def setup_console_logging() -> None:
    """Like upstream's logging.basicConfig: INFO and above to stderr, date without milliseconds."""
    root = logging.getLogger()
    root.setLevel(logging.INFO)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter(LOG_FMT, datefmt=CONSOLE_DATEFMT))
    root.handlers[:] = [handler]


def add_log_file(path: str) -> None:
    handler = logging.FileHandler(path, "a")
    handler.setFormatter(logging.Formatter(LOG_FMT))
    logging.getLogger().addHandler(handler)


def tiny_png(width: int = 16, height: int = 8, rgb: tuple[int, int, int] = (70, 130, 180)) -> bytes:
    """A valid RGB PNG filled with one colour, built by hand (no plotting library)."""

    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)

    rows = b"".join(b"\x00" + bytes(rgb) * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


def write_png(path: str | Path) -> None:
    Path(path).write_bytes(tiny_png())


_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _Dumper(getattr(yaml, "CSafeDumper", yaml.SafeDumper)):  # type: ignore[misc]
    """Block mappings, flow lists of scalars (`nr: [1, 2]`), like pacemaker's own YAML files."""


def _represent_list(dumper: yaml.SafeDumper, data: list[Any]) -> yaml.Node:
    flow = all(not isinstance(x, (dict, list)) for x in data) or all(
        isinstance(x, list) and all(not isinstance(y, (dict, list)) for y in x) for x in data)
    return dumper.represent_sequence("tag:yaml.org,2002:seq", data, flow_style=flow)


def _represent_dict(dumper: yaml.SafeDumper, data: dict[Any, Any]) -> yaml.Node:
    values = list(data.values())
    flat = all(not isinstance(v, dict) and not (isinstance(v, list) and any(isinstance(x, (dict, list)) for x in v))
               for v in values)
    return dumper.represent_mapping("tag:yaml.org,2002:map", data.items(),
                                    flow_style=flat and any(isinstance(v, list) for v in values))


_Dumper.add_representer(list, _represent_list)
_Dumper.add_representer(dict, _represent_dict)


def read_yaml(path: str | Path) -> Any:
    with open(path) as handle:
        return yaml.load(handle, Loader=_Loader)


def dump_yaml(data: Any) -> str:
    return yaml.dump(data, Dumper=_Dumper, sort_keys=False, default_flow_style=False, width=120)


def sizeof_fmt(file_name_or_size: str | float, suffix: str = "B") -> str:
    size = float(os.path.getsize(file_name_or_size) if isinstance(file_name_or_size, str) else file_name_or_size)
    for unit in ["", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei", "Zi"]:
        if abs(size) < 1024.0:
            return "%3.1f%s%s" % (size, unit, suffix)
        size /= 1024.0
    return "%.1f%s%s" % (size, "Yi", suffix)


def as_float(value: Any, name: str) -> float:
    """Numbers from YAML: PyYAML reads `1e-8` as a string, pacemaker's YAML 1.2 reader as a float."""
    try:
        return float(value)
    except (TypeError, ValueError):
        raise ValueError(f"'{name}' must be a number, got {value!r}") from None


def username() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no passwd entry in some containers
        return "unknown"


# =============================================================================================
# Potential files (pacemaker's B-basis YAML: metadata / global / species + simulator extras)
# =============================================================================================


@dataclass(frozen=True)
class FunctionSpec:
    """One B-basis function: central element, neighbour elements, radial (ns) and angular (ls) indices."""

    block: str
    central: str
    neighbours: tuple[str, ...]
    ns: tuple[int, ...]
    ls: tuple[int, ...]

    @property
    def rank(self) -> int:
        return len(self.ns)

    def order_key(self) -> tuple[Any, ...]:
        return (self.rank, sum(self.ns) + sum(self.ls), self.ns, self.ls, self.neighbours)

    def to_nbody(self, ndensity: int) -> dict[str, Any]:
        entry: dict[str, Any] = {
            "type": " ".join((self.central,) + self.neighbours),
            "nr": list(self.ns),
            "nl": list(self.ls),
        }
        if self.rank >= 4:
            entry["lint"] = list(self.ls[: self.rank - 2])
        entry["c"] = [0.0] * ndensity
        return entry


def nbody_order_key(entry: Mapping[str, Any]) -> tuple[Any, ...]:
    ns, ls = tuple(entry.get("nr", [])), tuple(entry.get("nl", []))
    return (len(ns), sum(ns) + sum(ls), ns, ls, tuple(str(entry.get("type", "")).split()[1:]))


def _merged(section: Mapping[str, Any], keys: Sequence[str]) -> dict[str, Any]:
    merged: dict[str, Any] = {}
    for key in keys:
        value = section.get(key)
        if isinstance(value, dict):
            merged.update(value)
    return merged


def _block_keys(block: tuple[str, ...], kind: str) -> list[str]:
    if len(block) == 1:
        return ["ALL", "UNARY", block[0]] if kind != "bonds" else ["ALL", "UNARY", block[0], f"{block[0]} {block[0]}"]
    return ["ALL", "BINARY", " ".join(block)]


def _angular_ok(ls: tuple[int, ...]) -> bool:
    if sum(ls) % 2:
        return False
    if len(ls) == 2:
        return ls[0] == ls[1]
    return max(ls) <= sum(ls) - max(ls)


def _neighbour_tuples(block: tuple[str, ...], rank: int) -> list[tuple[str, ...]]:
    if len(block) == 1:
        return [(block[0],) * rank]
    tuples = combinations_with_replacement(sorted(block), rank)
    return [t for t in tuples if block[1] in t]


def block_functions(block: tuple[str, ...], nradmax: Sequence[int], lmax: Sequence[int]) -> list[FunctionSpec]:
    """Candidate functions of one species block, in pacemaker-like order (rank, then n+l)."""
    specs: list[FunctionSpec] = []
    name = " ".join(block)
    for rank in range(1, len(nradmax) + 1):
        n_max, l_max = int(nradmax[rank - 1]), int(lmax[rank - 1]) if rank - 1 < len(lmax) else 0
        if n_max < 1:
            continue
        ls_options = [(0,)] if rank == 1 else [
            ls for ls in combinations_with_replacement(range(l_max + 1), rank) if _angular_ok(ls)
        ]
        for neighbours in _neighbour_tuples(block, rank):
            for ns in combinations_with_replacement(range(1, n_max + 1), rank):
                for ls in ls_options:
                    specs.append(FunctionSpec(name, block[0], neighbours, ns, ls))
                    if len(specs) >= MAX_FUNCTIONS_PER_BLOCK:
                        return sorted(specs, key=FunctionSpec.order_key)
    return sorted(specs, key=FunctionSpec.order_key)


def _block_dict(block: tuple[str, ...], config: Mapping[str, Any], cutoff: float) -> dict[str, Any]:
    bond = _merged(config.get("bonds", {}) or {}, _block_keys(block, "bonds"))
    funcs = _merged(config.get("functions", {}) or {}, _block_keys(block, "functions"))
    nradmax = [int(x) for x in funcs.get("nradmax_by_orders", [5, 2])]
    lmax = [int(x) for x in funcs.get("lmax_by_orders", [0, 1])]
    nradbase = nradmax[0] if nradmax else 1
    nradmaxi = max(nradmax[1:], default=0)
    lmaxi = max(lmax[1:], default=0)
    data: dict[str, Any] = {"speciesblock": " ".join(block)}
    if len(block) == 1:
        emb = _merged(config.get("embeddings", {}) or {}, _block_keys(block, "embeddings"))
        fs_parameters = [float(x) for x in emb.get("fs_parameters", [1, 1, 1, 0.5])]
        data.update({
            "ndensityi": int(emb.get("ndensity", max(1, len(fs_parameters) // 2))),
            "npoti": str(emb.get("npot", "FinnisSinclairShiftedScaled")),
            "parameters": fs_parameters,
            "rho_core_cut": float(emb.get("rho_core_cut", 200000)),
            "drho_core_cut": float(emb.get("drho_core_cut", 250)),
        })
    data.update({
        "nradmaxi": nradmaxi,
        "lmaxi": lmaxi,
        "rcutij": as_float(bond.get("rcut", cutoff), "bonds::rcut"),
        "dcutij": as_float(bond.get("dcut", 0.01), "bonds::dcut"),
        "NameOfCutoffFunctionij": str(bond.get("NameOfCutoffFunction", "cos")),
        "nradbaseij": nradbase,
        "radbase": str(bond.get("radbase", "SBessel")),
        "radparameters": [float(x) for x in bond.get("radparameters", [5.25])],
        "radcoefficients": [
            [[1.0 if n == k else 0.0 for k in range(nradbase)] for _ in range(lmaxi + 1)] for n in range(nradmaxi)
        ],
        "core-repulsion": [float(x) for x in bond.get("core-repulsion", [0.0, 5.0])],
        "nbody": [],
    })
    if "r_in" in bond:
        data["r_in"] = as_float(bond["r_in"], "bonds::r_in")
        data["delta_in"] = as_float(bond.get("delta_in", 0.1), "bonds::delta_in")
    data["_sim_candidates"] = (nradmax, lmax)
    return data


def build_potential(config: Mapping[str, Any], cutoff: float, metadata: Mapping[str, Any]) -> dict[str, Any]:
    """A potential shaped by an input.yaml `potential:` section (elements, embeddings, bonds, functions)."""
    if "elements" not in config:
        raise ValueError("'potential::elements' is not provided, please specify the list of elements")
    elements = sorted(str(e) for e in config["elements"])
    blocks = [(e,) for e in elements] + [(a, b) for a in elements for b in elements if a != b]
    block_dicts = [_block_dict(b, config, cutoff) for b in blocks]
    functions_config = config.get("functions", {}) or {}
    limit = functions_config.get("number_of_functions_per_element")
    limit = int(limit) if limit is not None else MAX_FUNCTIONS_PER_ELEMENT
    ndensity = {b["speciesblock"]: b["ndensityi"] for b in block_dicts if "ndensityi" in b}
    for element in elements:
        own = [(i, b) for i, b in enumerate(block_dicts) if b["speciesblock"].split()[0] == element]
        candidates = [
            (spec.order_key(), i, spec)
            for i, b in own
            for spec in block_functions(tuple(b["speciesblock"].split()), *b["_sim_candidates"])
        ]
        for _, i, spec in sorted(candidates, key=lambda t: (t[0], t[1]))[:limit]:
            block_dicts[i]["nbody"].append(spec.to_nbody(ndensity[element]))
    for b in block_dicts:
        del b["_sim_candidates"]
        b["nbody"].sort(key=nbody_order_key)
    return new_potential_doc(block_dicts, float(config.get("deltaSplineBins", 0.001)), cutoff, metadata)


def new_potential_doc(species: list[dict[str, Any]], delta_spline_bins: float, cutoff: float,
                      metadata: Mapping[str, Any]) -> dict[str, Any]:
    doc = {
        "metadata": dict(metadata),
        "global": {"DeltaSplineBins": delta_spline_bins},
        "species": species,
        "cutoff": cutoff,
        "simulated": True,
    }
    set_state(doc, SimState.initial(potential_elements(doc)))
    return doc


def load_potential(path: str) -> dict[str, Any]:
    if not os.path.isfile(path):
        raise RuntimeError(f"File '{path}' not found")
    doc = read_yaml(path)
    if not isinstance(doc, dict) or not isinstance(doc.get("species"), list):
        raise RuntimeError(f"'{path}' is not a B-basis potential YAML (no 'species' list)")
    doc.setdefault("metadata", {})
    doc.setdefault("global", {"DeltaSplineBins": 0.001})
    if "cutoff" not in doc:
        doc["cutoff"] = max((float(b.get("rcutij", 0.0)) for b in doc["species"]), default=0.0)
    if "sim_state" not in doc:
        log.warning(f"SIMULATOR: '{path}' carries no sim_state (not written by the simulator): starting from zero")
    return doc


def copy_doc(doc: Mapping[str, Any]) -> dict[str, Any]:
    return json.loads(json.dumps(doc))


def write_potential(doc: Mapping[str, Any], path: str | Path) -> None:
    body = {k: v for k, v in doc.items() if k != "simulated"}
    body["simulated"] = True
    Path(path).write_text(SIM_COMMENT + "\n" + dump_yaml(body))


def potential_elements(doc: Mapping[str, Any]) -> list[str]:
    names: set[str] = set()
    for block in doc.get("species", []):
        names.update(str(block.get("speciesblock", "")).split())
    return sorted(names)


def block_central(block: Mapping[str, Any]) -> str:
    return str(block.get("speciesblock", "")).split()[0]


def element_ndensity(doc: Mapping[str, Any]) -> dict[str, int]:
    result = {e: 1 for e in potential_elements(doc)}
    for block in doc.get("species", []):
        if len(str(block.get("speciesblock", "")).split()) == 1:
            result[block_central(block)] = int(block.get("ndensityi", 1))
    return result


def functions_per_element(doc: Mapping[str, Any]) -> dict[str, int]:
    counts = {e: 0 for e in potential_elements(doc)}
    for block in doc.get("species", []):
        counts[block_central(block)] += len(block.get("nbody", []) or [])
    return counts


def total_functions(doc: Mapping[str, Any]) -> int:
    return sum(functions_per_element(doc).values())


def coefficient_bases(doc: Mapping[str, Any]) -> np.ndarray:
    """Deterministic 'shape' of every function coefficient; the stored value is force_fraction x base."""
    ndens = element_ndensity(doc)
    count = sum(len(b.get("nbody", []) or []) * ndens[block_central(b)] for b in doc.get("species", []))
    return 0.1 * np.sin(np.arange(1, count + 1, dtype=np.float64))


def number_of_coefficients(doc: Mapping[str, Any]) -> int:
    radial = sum(int(np.size(b.get("radcoefficients", []))) for b in doc.get("species", []))
    return len(coefficient_bases(doc)) + radial


def clean_potential(doc: Mapping[str, Any]) -> dict[str, Any]:
    """An empty potential of the same shape (pacemaker's clean_bbasisconfig)."""
    empty = copy_doc(doc)
    for block in empty["species"]:
        block["nbody"] = []
    set_state(empty, SimState.initial(potential_elements(empty)))
    return empty


def extended_potential(target: Mapping[str, Any], current: Mapping[str, Any], step: int) -> dict[str, Any]:
    """pyace's extend_multispecies_basis: every block of `target` gets up to `step` more functions (in
    body order) than `current` has in it. Like pyace (`final_basis.copy()`), the metadata is the
    target's (so a `_fit_cycles` of `current` does not carry over); the state is `current`'s."""
    result = copy_doc(target)
    have = {str(b.get("speciesblock")): len(b.get("nbody") or []) for b in current.get("species", [])}
    for block in result["species"]:
        entries = sorted(block.get("nbody") or [], key=nbody_order_key)
        block["nbody"] = entries[:min(len(entries), have.get(str(block.get("speciesblock")), 0) + step)]
    result["sim_state"] = copy_doc(current.get("sim_state", {}))
    return result


# =============================================================================================
# Simulated model state
# =============================================================================================


@dataclass(frozen=True)
class Params:
    """Model parameters: per-element energies (eV/atom, predict energy_corrected) and force fraction."""

    energies: np.ndarray
    force_fraction: float

    def towards(self, target: Params, decay: float) -> Params:
        return Params(
            target.energies + (self.energies - target.energies) * decay,
            target.force_fraction + (self.force_fraction - target.force_fraction) * decay,
        )


@dataclass
class SimState:
    """What the simulator stores in a potential file under `sim_state`."""

    reference_energies: dict[str, float]
    force_fraction: float = 0.0
    iterations_done: int = 0
    loss: float | None = None
    rmse_e_mev: float | None = None
    rmse_f_mev: float | None = None
    # Functions of the basis the fit that wrote this state was growing towards (see SimulatedFit.converged).
    target_functions: int | None = None

    @staticmethod
    def initial(elements: Iterable[str]) -> SimState:
        return SimState({e: 0.0 for e in elements})

    def params(self, elements: Sequence[str]) -> Params:
        return Params(
            np.array([float(self.reference_energies.get(e, 0.0)) for e in elements], dtype=np.float64),
            float(self.force_fraction),
        )

    def to_yaml(self) -> dict[str, Any]:
        return {
            "loss": self.loss,
            "rmse_e_mev": self.rmse_e_mev,
            "rmse_f_mev": self.rmse_f_mev,
            "iterations_done": self.iterations_done,
            "reference_energies": {k: float(v) for k, v in self.reference_energies.items()},
            "force_fraction": float(self.force_fraction),
            **({"target_functions": self.target_functions} if self.target_functions is not None else {}),
        }


def get_state(doc: Mapping[str, Any]) -> SimState:
    raw = doc.get("sim_state") or {}
    energies = raw.get("reference_energies") or {}
    return SimState(
        reference_energies={str(k): float(v) for k, v in energies.items()},
        force_fraction=float(raw.get("force_fraction", 0.0) or 0.0),
        iterations_done=int(raw.get("iterations_done", 0) or 0),
        loss=raw.get("loss"),
        rmse_e_mev=raw.get("rmse_e_mev"),
        rmse_f_mev=raw.get("rmse_f_mev"),
        target_functions=int(raw["target_functions"]) if raw.get("target_functions") else None,
    )


def set_state(doc: dict[str, Any], state: SimState) -> None:
    """Store `state` and write the coefficients it implies into every function's `c`."""
    doc["sim_state"] = state.to_yaml()
    bases = iter(coefficient_bases(doc))
    ndens = element_ndensity(doc)
    for block in doc.get("species", []):
        for entry in block.get("nbody", []) or []:
            entry["c"] = [float(state.force_fraction * next(bases)) for _ in range(ndens[block_central(block)])]


# =============================================================================================
# Data (pacemaker's ACEDataset, simplified)
# =============================================================================================


def compute_compositions(df: pd.DataFrame) -> list[str]:
    df["comp_dict"] = df["ase_atoms"].map(lambda atoms: dict(Counter(atoms.get_chemical_symbols())))
    df["NUMBER_OF_ATOMS"] = df["ase_atoms"].map(len)
    elements = sorted({e for d in df["comp_dict"] for e in d})
    for element in elements:
        df["n_" + element] = df["comp_dict"].map(lambda d, e=element: d.get(e, 0))
        df["c_" + element] = df["n_" + element] / df["NUMBER_OF_ATOMS"]
    return elements


def compute_corrected_energy(df: pd.DataFrame, esa: Mapping[str, float]) -> None:
    elements = compute_compositions(df)
    correction = sum(df["n_" + e] * float(esa.get(e, 0.0)) for e in elements)
    df["energy_corrected"] = df["energy"] - correction
    df["energy_corrected"] += float(esa.get("shift", 0.0)) * df["NUMBER_OF_ATOMS"]
    df["energy_corrected_per_atom"] = df["energy_corrected"] / df["NUMBER_OF_ATOMS"]


def compute_auto_reference(df: pd.DataFrame) -> dict[str, float]:
    """data::reference_energy: auto — least-squares single-atom energies plus a shift."""
    elements = compute_compositions(df)
    comp = df[["n_" + e for e in elements]].values.astype(np.float64)
    energies = df["energy"].values.astype(np.float64)
    esa = np.linalg.pinv(comp, rcond=1e-10) @ energies
    df["energy_corrected"] = energies - comp @ esa
    df["energy_corrected_per_atom"] = df["energy_corrected"] / df["NUMBER_OF_ATOMS"]

    def volume_per_atom(atoms: Any) -> float:
        try:
            return float(atoms.get_volume()) / len(atoms)
        except Exception:
            return 0.0

    df["volume_per_atom"] = df["ase_atoms"].map(volume_per_atom)
    shift = 0.0
    if df["volume_per_atom"].max() > 0:
        shift = -float(df[df["volume_per_atom"] >= df["volume_per_atom"].max()].iloc[0]["energy_corrected_per_atom"])
    df["energy_corrected"] += shift * df["NUMBER_OF_ATOMS"]
    result = {e: float(v) for e, v in zip(elements, esa)}
    result["shift"] = shift
    return result


def big_warning(msg: str) -> None:
    lines = msg.split("\n")
    width = max(map(len, lines))
    body = "".join("# " + m + " " * (width - len(m)) + " #\n" for m in lines)
    log.warning("\n" + "#" * (width + 4) + "\n#" + " " * (width + 2) + "#\n" + body + "#" + " " * (width + 2)
                + "#\n" + "#" * (width + 4))


@dataclass
class DatasetLoader:
    """Loads, corrects, splits and weights the training data like pyace.preparedata.ACEDataset."""

    config: dict[str, Any]
    evaluator: str
    reference_energy: Any = None

    def __post_init__(self) -> None:
        self.reference_energy = self.config.get("reference_energy")

    def files(self, filenames: Any) -> list[str]:
        if filenames is None:
            raise ValueError("Dataset filename is not provided")
        if isinstance(filenames, str):
            filenames = [filenames]
        if not isinstance(filenames, list):
            raise ValueError(f"Non-supported type of filename: `{filenames}` (type: {type(filenames)})")
        datapath = self.config.get("datapath")
        return [f if os.path.isfile(f) or datapath is None else os.path.join(datapath, f) for f in filenames]

    def load(self, filenames: Any) -> pd.DataFrame:
        files = self.files(filenames)
        log.info("Search for dataset file(s): " + str(files))
        frames = []
        for i, name in enumerate(files):
            log.info(f"#{i + 1}/{len(files)}: try to load {name}")
            size = os.path.getsize(name)
            log.info("Loading dataframe from pickle file {} ({})".format(name, sizeof_fmt(size)))
            frame = pd.read_pickle(name, compression="gzip" if name.endswith(".gzip") else "infer")
            log.info(f" {len(frame)} structures found")
            if "name" not in frame.columns:
                frame["name"] = name + ":" + frame.index.map(str)
            frames.append(frame)
        return pd.concat(frames, axis=0).reset_index(drop=True)

    def correct_energies(self, df: pd.DataFrame) -> None:
        ref = self.reference_energy
        if ref is not None:
            log.info("Reference energy is provided, constructing 'energy_corrected'")
            if isinstance(ref, str):
                if ref != "auto":
                    raise ValueError(f"Unsupported data::reference_energy option ('{ref}')."
                                     "Must be dict like {Al: -0.123, Cu: -0.456} or one of ['auto']"
                                     " (the simulator knows no calculator presets)")
                log.info("Computing least-square energy shift and correction")
                self.reference_energy = compute_auto_reference(df)
                log.info(f"Computed single-atom reference energy: {self.reference_energy}")
            elif isinstance(ref, dict):
                log.info(f"Using {ref} as single-atom energies")
                compute_corrected_energy(df, {str(k): as_float(v, "reference_energy") for k, v in ref.items()})
            elif isinstance(ref, (int, float)):
                log.info(f"Using constant reference energy {ref}")
                self.reference_energy = {}  # upstream: defaultdict(...).get(e, 0) == 0 -> energy copied
                compute_corrected_energy(df, {})
        elif "energy_corrected" not in df.columns:
            raise ValueError("Neither 'energy_corrected' column nor 'data::reference_energy' option provided")

    def process(self, df: pd.DataFrame | None) -> pd.DataFrame | None:
        if df is None:
            return None
        if "ase_atoms" not in df.columns:
            raise ValueError("Dataframe is corrupted: no 'ase_atoms' column found")
        if "energy" not in df.columns and "energy_corrected" not in df.columns:
            raise ValueError("Column `energy` or `energy_corrected` not found in dataset")
        if "forces" not in df.columns:
            raise ValueError("Column `forces` not found in dataset")
        df["NUMBER_OF_ATOMS"] = df["ase_atoms"].map(len)
        shapes_ok = all(np.shape(f) == (n, 3) for f, n in zip(df["forces"], df["NUMBER_OF_ATOMS"]))
        assert shapes_ok, "forces has wrong shape. It should be [nat,3]"
        log.info(f"Processing structures dataframe. Shape: {df.shape}")
        log.info(f"Total number of atoms: {df['NUMBER_OF_ATOMS'].sum()}")
        log.info(f"Mean number of atoms per structure: {df['NUMBER_OF_ATOMS'].mean():.1f}")
        df["pbc"] = df["ase_atoms"].map(lambda atoms: bool(np.all(atoms.pbc)))
        self.correct_energies(df)
        assert not df["energy_corrected"].isna().any(), "energy_corrected contains NaNs"
        df["energy_corrected_per_atom"] = df["energy_corrected"] / df["NUMBER_OF_ATOMS"]
        assert not df["forces"].map(lambda f: np.any(np.isnan(f))).any(), "forces column contains NaN"
        epa_min, epa_max = df["energy_corrected_per_atom"].min(), df["energy_corrected_per_atom"].max()
        log.info(f"Min/max energy per atom: [{epa_min:.3f}, {epa_max:.3f}] eV/atom")
        abs_epa = df["energy_corrected_per_atom"].abs()
        log.info(f"Min/max abs energy per atom: [{abs_epa.min():.3f}, {abs_epa.max():.3f}] eV/atom")
        if epa_min < -20 or epa_max > 250:
            if self.reference_energy is None:
                big_warning(f"Some values of corrected energy (min={epa_min:.3g} eV/atom, max={epa_max:.3g} eV/atom)"
                            " are too extreme,\ni.e. <-20 eV/atom or >250 eV/atom\n"
                            "`reference_energy` will be computed automatically.")
                self.reference_energy = "auto"
                return self.process(df)
            big_warning(f"Some values of corrected energy (min={epa_min:.3g} eV/atom, max={epa_max:.3g} eV/atom)"
                        " are too extreme,\ni.e. <-20 eV/atom or >250 eV/atom\n"
                        "Correct your energy or use data::reference_energy: auto option !!!")
        self.attach_calculators(df)
        log.info("Construction of neighbour lists...")
        column = "atomic_env" if self.evaluator == "pyace" else "tp_atoms"
        log.info(f"Building '{column}' (dataset size {len(df)}, cutoff=(simulated))...")
        log.info("Dataframe size after transform: " + str(len(df)))
        return df

    @staticmethod
    def attach_calculators(df: pd.DataFrame) -> None:
        from ase.calculators.singlepoint import SinglePointCalculator

        for atoms, energy, forces in zip(df["ase_atoms"], df["energy_corrected"], df["forces"]):
            atoms.calc = SinglePointCalculator(atoms, energy=float(energy), forces=np.asarray(forces))
        log.info("Attaching SinglePointCalculator to ASE atoms...done")

    def prepare(self) -> tuple[pd.DataFrame, pd.DataFrame | None]:
        fitting = self.process(self.load(self.config.get("filename")))
        assert fitting is not None
        test: pd.DataFrame | None = None
        if "test_filename" in self.config:
            test = self.load(self.config["test_filename"])
        elif "test_size" in self.config:
            test_size = self.config["test_size"]
            log.info("Splitting out test dataset (test_size = {}) from main dataset({} samples)".format(
                test_size, len(fitting)))
            fitting, test = train_test_split(fitting, as_float(test_size, "data::test_size"))
        test = self.process(test) if test is not None and len(test) else None
        if test is not None:
            fitting["train"] = True
            test["train"] = False
            joint = apply_weights(pd.concat([fitting, test], axis=0).reset_index(drop=True), self.config)
            fitting = joint.query("train").reset_index(drop=True)
            test = joint.query("~train").reset_index(drop=True)
        else:
            fitting = apply_weights(fitting, self.config)
        normalize_weights(fitting)
        if test is not None:
            normalize_weights(test)
        return fitting, test


def train_test_split(df: pd.DataFrame, test_size: float) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Upstream's split: np.random.shuffle of the row indices (seeded by pacemaker's `seed`)."""
    n_samples = len(df)
    if test_size >= 1:
        train_size = n_samples - int(test_size)
    elif 0 < test_size < 1:
        train_size = n_samples - int(n_samples * test_size)
    else:
        raise UnboundLocalError("cannot access local variable 'train_size' where it is not associated with a value")
    indices = np.arange(n_samples)
    np.random.shuffle(indices)
    return df.iloc[sorted(indices[:train_size])].copy(), df.iloc[sorted(indices[train_size:])].copy()


def apply_weights(df: pd.DataFrame, data_config: Mapping[str, Any]) -> pd.DataFrame:
    if "w_energy" in df.columns and "w_forces" in df.columns and not data_config.get("ignore_weights"):
        log.info("Both weighting columns (w_energy and w_forces) are found, no another weighting policy will be applied")
        return df
    log.info("No weighting policy is specified, setting default weighting policy")
    log.info("Apply weights policy: UniformWeightingPolicy()")
    df["w_energy"] = 1.0 / len(df)
    df["w_forces"] = [np.ones(len(f)) / len(df) for f in df["forces"]]
    return df


def normalize_weights(df: pd.DataFrame) -> None:
    df["w_energy"] = df["w_energy"] / df["w_energy"].sum()
    total = sum(float(np.sum(w)) for w in df["w_forces"])
    df["w_forces"] = [np.asarray(w, dtype=np.float64) / total for w in df["w_forces"]]


# =============================================================================================
# Metrics (pyace.metrics_aggregator, copied formats)
# =============================================================================================


@dataclass(frozen=True)
class LossSpec:
    kappa: float = 0.0
    L1_coeffs: float = 0.0
    L2_coeffs: float = 0.0
    w0_rad: float = 0.0
    w1_rad: float = 0.0
    w2_rad: float = 0.0
    w_orth: float = 0.0

    def __str__(self) -> str:
        return (f"LossFunctionSpecification(kappa={self.kappa}, L1={self.L1_coeffs}, L2={self.L2_coeffs}, "
                f"DeltaRad=({self.w0_rad}, {self.w1_rad}, {self.w2_rad}), w_orth={self.w_orth})")


@dataclass(frozen=True)
class FitArrays:
    """A dataset flattened for fast loss evaluation."""

    counts: np.ndarray  # [nstruct, nelements]
    nat: np.ndarray  # [nstruct]
    e_corr: np.ndarray  # [nstruct], eV
    forces: np.ndarray  # [natoms, 3], eV/Å
    w_e: np.ndarray  # [nstruct]
    w_f: np.ndarray  # [natoms]
    low_mask: np.ndarray  # [nstruct] bool

    @staticmethod
    def from_frame(df: pd.DataFrame, elements: Sequence[str]) -> FitArrays:
        index = {e: i for i, e in enumerate(elements)}
        counts = np.zeros((len(df), len(elements)), dtype=np.float64)
        for row, atoms in enumerate(df["ase_atoms"]):
            for symbol, count in Counter(atoms.get_chemical_symbols()).items():
                if symbol not in index:
                    raise ValueError(f"Element '{symbol}' of the dataset is not in the potential (elements: "
                                     f"{list(elements)}); add it to potential::elements")
                counts[row, index[symbol]] = count
        nat = df["NUMBER_OF_ATOMS"].values.astype(np.float64)
        e_corr = df["energy_corrected"].values.astype(np.float64)
        epa = e_corr / nat
        return FitArrays(
            counts=counts, nat=nat, e_corr=e_corr,
            forces=np.vstack([np.asarray(f, dtype=np.float64).reshape(-1, 3) for f in df["forces"]]),
            w_e=df["w_energy"].values.astype(np.float64),
            w_f=np.hstack([np.asarray(w, dtype=np.float64) for w in df["w_forces"]]),
            low_mask=epa <= epa.min() + 1.0,
        )

    def predict(self, params: Params) -> tuple[np.ndarray, np.ndarray]:
        return self.counts @ params.energies, params.force_fraction * self.forces


def _error_stats(de_pa: np.ndarray, df: np.ndarray) -> dict[str, float]:
    return {
        "rmse_epa": float(np.sqrt(np.mean(de_pa ** 2))),
        "mae_epa": float(np.mean(np.abs(de_pa))),
        "max_abs_epa": float(np.max(np.abs(de_pa))),
        "rmse_f": float(np.sqrt(np.mean(np.sum(df ** 2, axis=1)))),
        "rmse_f_comp": float(np.sqrt(np.mean(df ** 2))),
        "mae_f": float(np.mean(np.linalg.norm(df, axis=1))),
        "mae_f_comp": float(np.mean(np.abs(df))),
        "max_abs_f": float(np.max(np.abs(df))),
        "max_abs_f_comp": float(np.max(np.abs(df))),
    }


@dataclass(frozen=True)
class Evaluator:
    """Loss and metrics of a Params on one dataset, as pyace.pyacefit.PyACEFit.loss computes them."""

    arrays: FitArrays
    loss_spec: LossSpec
    coef_l1: float  # sum |base coefficient|
    coef_l2: float  # sum base coefficient^2
    nfuncs: int
    ncoefs: int
    eval_time: float

    def metrics(self, params: Params) -> dict[str, Any]:
        a = self.arrays
        energy_pred, forces_pred = a.predict(params)
        de_pa = (energy_pred - a.e_corr) / a.nat
        df = a.forces - forces_pred
        e_loss = float(np.sum(a.w_e * de_pa ** 2))
        f_loss = float(np.sum(a.w_f * np.sum(df ** 2, axis=1)))
        l1 = abs(params.force_fraction) * self.coef_l1
        l2 = params.force_fraction ** 2 * self.coef_l2
        kappa = self.loss_spec.kappa
        loss = (1 - kappa) * e_loss + kappa * f_loss + self.loss_spec.L1_coeffs * l1 + self.loss_spec.L2_coeffs * l2
        stats = _error_stats(de_pa, df)
        mask_f = np.repeat(a.low_mask, a.nat.astype(int))
        low = _error_stats(de_pa[a.low_mask], df[mask_f])
        result: dict[str, Any] = {
            "loss": float(loss),
            "e_loss_contrib": e_loss * (1 - kappa),
            "f_loss_contrib": f_loss * kappa,
            "l1_reg_contrib": float(l1 * self.loss_spec.L1_coeffs),
            "l2_reg_contrib": float(l2 * self.loss_spec.L2_coeffs),
            "extra_regularization_contrib": [0.0, 0.0, 0.0],
            "e_loss": e_loss,
            "f_loss": f_loss,
            "e_scale": 1 - kappa,
            "f_scale": kappa,
            **stats,
            **{"low_" + k: v for k, v in low.items()},
            "eval_time": self.eval_time,
            "nat": int(a.nat.sum()),
            "ncoefs": self.ncoefs,
            "nfuncs": self.nfuncs,
        }
        return result


def format_detailed_metrics(m: Mapping[str, Any], title: str = "Iteration:") -> str:
    avg_t = m["eval_time"] / m["nat"]
    return ('{:<12}'.format(title) + "#{iter_num:<5}".format(iter_num=m["iter_num"])
            + '{:<14}'.format('({numeval} evals):'.format(numeval=m["eval_count"]))
            + '{:>10}'.format('Loss: ') + "{loss: >1.4e}".format(loss=m["loss"])
            + '{str1:>21}{rmse_epa:>.2f} ({low_rmse_e:>.2f}) meV/at'.format(
                str1=" | RMSE Energy(low): ", rmse_epa=1e3 * m["rmse_epa"], low_rmse_e=1e3 * m["low_rmse_epa"])
            + '{str3:>16}{rmse_f_comp:>.2f} ({low_rmse_f_comp:>.2f}) meV/A'.format(
                str3=" | Forces(low): ", rmse_f_comp=1e3 * m["rmse_f_comp"],
                low_rmse_f_comp=1e3 * m["low_rmse_f_comp"])
            + ' | Time/eval: {:>6.2f} mcs/at'.format(avg_t * 1e6))


def format_extended_metrics(m: Mapping[str, Any], title: str = "FIT_STATS") -> str:
    total_loss = m["loss"]

    def fraction(value: float) -> float:
        return value / total_loss * 100 if total_loss != 0 else 0

    text = '\n' + '-' * 44 + title + '-' * 44 + '\n'
    text += '{prefix:<11} #{iter_num:<4}'.format(prefix='Iteration:', iter_num=m["iter_num"])
    text += '{prefix:<8}'.format(prefix='Loss:')
    text += '{prefix:>8} {tot_loss:>1.4e} ({fr:3.0f}%) \n'.format(prefix='Total: ', tot_loss=total_loss, fr=100)
    text += '{prefix:>33} {v:>1.4e} ({fr:3.0f}%) \n'.format(
        prefix='Energy: ', v=m["e_loss_contrib"], fr=fraction(m["e_loss_contrib"]) if total_loss > 0 else 0)
    text += '{prefix:>33} {v:>1.4e} ({fr:3.0f}%) \n'.format(
        prefix='Force: ', v=m["f_loss_contrib"], fr=fraction(m["f_loss_contrib"]) if total_loss > 0 else 0)
    text += '{prefix:>33} {v:>1.4e} ({fr:3.0f}%) \n'.format(
        prefix='L1: ', v=m["l1_reg_contrib"], fr=fraction(m["l1_reg_contrib"]))
    text += '{prefix:>33} {v:>1.4e} ({fr:3.0f}%) \n'.format(
        prefix='L2: ', v=m["l2_reg_contrib"], fr=fraction(m["l2_reg_contrib"]))
    for i, comp in enumerate(m["extra_regularization_contrib"]):
        text += '{prefix:>33} {s1:>1.4e} ({fr:3.0f}%) \n'.format(
            prefix='Smooth_w{}: '.format(i + 1), s1=comp, fr=fraction(comp))
    text += '{prefix:>20}'.format(prefix='Number of params./funcs: ') + '{:>6d}'.format(m["ncoefs"])
    text += '/{nfuncs:<6d}'.format(nfuncs=m["nfuncs"])
    avg_t = m["eval_time"] / m["nat"]
    text += '{prefix:>42}'.format(prefix='Avg. time: ') + '{avg_t:>10.2f} {un:<6}'.format(avg_t=avg_t * 1e6,
                                                                                        un='mcs/at')
    text += '\n' + '-' * 97 + '\n'
    text += ('{:>9}'.format('') + '{:^22}'.format('Energy/at, meV/at') + '{:^22}'.format('Energy_low/at, meV/at')
             + '{:^22}'.format('Force, meV/A') + '{:^22}\n'.format('Force_low, meV/A'))
    for label, key in (("RMSE: ", "rmse"), ("MAE: ", "mae"), ("MAX_AE: ", "max_abs")):
        f_key = key + "_f_comp"
        text += '{prefix:>9} '.format(prefix=label)
        text += ('{:>14.2f}'.format(m[key + "_epa"] * 1e3) + '{:>21.2f}'.format(m["low_" + key + "_epa"] * 1e3)
                 + '{:>21.2f}'.format(m[f_key] * 1e3) + '{:>24.2f}\n'.format(m["low_" + f_key] * 1e3))
    return text + '-' * 97


def _columns_format(columns: Sequence[str | tuple[str, int]]) -> tuple[list[str], str]:
    names, formats = [], []
    for column in columns:
        if isinstance(column, str):
            names.append(column)
            formats.append("{:<22}")
        else:
            names.append(column[0])
            formats.append("{:<" + str(min(len(column[0]), column[1])) + "}")
    return names, " ".join(formats)


@dataclass
class MetricsTables:
    """metrics.txt and friends: whitespace tables, values in eV/atom and eV/Å."""

    ladder: bool

    def __post_init__(self) -> None:
        self.cycle_columns = METRICS_COLUMNS[:2] + METRICS_COLUMNS[3:]
        self.ladder_columns = METRICS_COLUMNS[:1] + METRICS_COLUMNS[3:]
        self._start("metrics.txt", METRICS_COLUMNS)
        self._start("test_metrics.txt", METRICS_COLUMNS, remove=False)
        if self.ladder:
            self._start("ladder_metrics.txt", self.ladder_columns)
        self._start("cycle_metrics.txt", self.cycle_columns)
        self._start("test_ladder_metrics.txt", self.ladder_columns)
        self._start("test_cycle_metrics.txt", self.cycle_columns)

    @staticmethod
    def _start(filename: str, columns: Sequence[str | tuple[str, int]], remove: bool = True) -> None:
        if remove and os.path.isfile(filename):
            os.remove(filename)
        names, fmt = _columns_format(columns)
        with open(filename, "w") as handle:
            print(fmt.format(*names), file=handle)

    @staticmethod
    def append(filename: str, m: Mapping[str, Any], columns: Sequence[str | tuple[str, int]] = METRICS_COLUMNS) -> None:
        row = dict(m)
        extra = list(row["extra_regularization_contrib"])
        row["reg_loss"] = row["l1_reg_contrib"] + row["l2_reg_contrib"] + sum(extra)
        smooth = [0.0] + extra if len(extra) == 3 else (extra + [0.0] * 4)[:4]
        row["smooth_orth"], row["smooth_w1"], row["smooth_w2"], row["smooth_w3"] = smooth
        names, fmt = _columns_format(columns)
        with open(filename, "a") as handle:
            print(fmt.format(*[row.get(c, 0) for c in names]), file=handle)


# =============================================================================================
# pacemaker: the fit
# =============================================================================================


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

    def __init__(self, settings: FitSettings, train: pd.DataFrame, test: pd.DataFrame | None,
                 target: dict[str, Any], tables: MetricsTables, ladder: bool = False) -> None:
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
        self.scale_functions = self.target_functions if ladder else (
            get_state(target).target_functions or self.target_functions)
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
        return Evaluator(arrays, self.s.loss_spec, float(np.sum(np.abs(bases))), float(np.sum(bases ** 2)),
                         total_functions(doc), number_of_coefficients(doc), per_atom_seconds * float(arrays.nat.sum()))

    def eval_count(self, iteration: int, ncoefs: int) -> int:
        if self.s.evaluator == "pyace":
            return (ncoefs + 1) * (iteration + 1) + iteration
        return 1 + iteration + iteration // 4

    def state_doc(self, doc: Mapping[str, Any], params: Params, m: Mapping[str, Any]) -> dict[str, Any]:
        result = copy_doc(doc)
        set_state(result, SimState(
            reference_energies={e: float(v) for e, v in zip(self.elements, params.energies)},
            force_fraction=params.force_fraction,
            iterations_done=self.global_iterations,
            loss=float(m["loss"]),
            rmse_e_mev=float(m["rmse_epa"] * 1e3),
            rmse_f_mev=float(m["rmse_f_comp"] * 1e3),
            target_functions=self.scale_functions,
        ))
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
                " and type double on /job:localhost/replica:0/task:0/device:CPU:0 by allocator cpu")
            if self.s.evaluator != "tensorpot":
                raise error
            try:
                raise error
            except ResourceExhaustedError as exc:
                log.error("{} errors encountered".format(exc))
                if not backend.get("batch_size_reduction", True):
                    log.error("Use `backend:batch_size_reduction` option for automatic batch size reduction")
                    raise RuntimeError("{} errors encountered. " + "Consider using `backend::{}=true` option for "
                                       "automatic batch size reduction".format(exc, "batch_size_reduction"))
                factor = float(backend.get("batch_size_reduction_factor", 1.618))
                new_batch = int(batch / factor)
                log.info("Decrease batch size (by factor {}): {} -> {}".format(factor, batch, new_batch))
                if new_batch < 1:
                    log.error("New batch size is too small, stopping")
                    raise RuntimeError("No further batch size reduction is possible, stopping")
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
                "EARLY STOPPING: Too small or even positive TRAIN loss change (simulated scipy 1.10 crash)")
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
            log.info(f"EARLY STOPPING: Too small or even positive TRAIN loss change (best={min(changes):+1.2e}  / iter, "
                     f"last={changes[-1]:+1.2e}/iter, threshold = {threshold:+1.2e}/iter) "
                     f"within last {patience} iterations. Stopping")
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
        options = {"maxiter": self.s.maxiter, "disp": True, **(self.s.fit_config.get("options") or {}),
                   "gtol": 1e-8}
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

    def iteration_metrics(self, evaluator: Evaluator, params: Params, iteration: int,
                          train: bool = True) -> dict[str, Any]:
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
        status, message = (99, "`callback` raised `StopIteration`.") if stopped else \
            (1, "Maximum number of iterations has been exceeded.")
        nfev, njev = m["eval_count"], m["iter_num"] + 1
        if self.s.evaluator == "pyace" and not stopped:
            print("Warning: " + message)
            print("         Current function value: {:f}".format(m["loss"]))
            print("         Iterations: {:d}".format(m["iter_num"]))
            print("         Function evaluations: {:d}".format(nfev))
            print("         Gradient evaluations: {:d}".format(njev), flush=True)
        log.info("Optimization result(success={success}, status={status}, message={message}, nfev={nfev}, "
                 "njev={njev})".format(success=False, status=status, message=message, nfev=nfev, njev=njev))

    # -- cycles and ladder (GeneralACEFit) ---------------------------------------------------

    def cycle_fitting(self, doc: dict[str, Any]) -> dict[str, Any]:
        current = copy_doc(doc)
        log.info("Cycle fitting loop")
        fit_cycles = self.s.fit_cycles
        finished = int(current.get("metadata", {}).get("_fit_cycles", 0) or 0)
        if finished >= fit_cycles:
            log.warning(("Number of finished fit cycles ({}) >= number of expected fit cycles ({}). "
                         "Use another potential or remove `{}` from potential metadata")
                        .format(finished, fit_cycles, "_fit_cycles"))
            return current
        attempts: list[CycleResult] = []
        while finished < fit_cycles:
            self.current_fit_cycle = finished
            log.info("Number of fit attempts: {}/{}".format(self.current_fit_cycle, fit_cycles))
            log.info("Total number of functions: {} / number of parameters: {}".format(
                total_functions(current), number_of_coefficients(current)))
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
    invalid = ValueError(f"Invalid ladder step parameter: {param}. Should be integer >= 1 or  0<float<1 or list of "
                         "both [int, float]")
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
        log.info('Ladder step parameter is None - all functions will be added')
    else:
        raise invalid
    frac_step = int(round(frac * current))
    step = max(discrete, frac_step, 1)
    log.info('Possible ladder steps: discrete - {}, fraction - {}. Selected maximum - {}'.format(discrete, frac_step,
                                                                                               step))
    if current + step > final:
        step = final - current
        log.info("Ladder step is too large and adjusted to {}".format(step))
    return step


# =============================================================================================
# pacemaker: main program
# =============================================================================================


def pacemaker_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="pacemaker", description="Fitting utility for atomic cluster expansion "
                                     "potentials.\nversion: {} (SIMULATOR)".format(SIM_VERSION))
    parser.add_argument("input", help="input YAML file, default: input.yaml", nargs='?', type=str, default="input.yaml")
    parser.add_argument("-c", "--clean", help="Remove all generated data/files", dest="clean", default=False,
                        action="store_true")
    parser.add_argument("-o", "--output", help="output B-basis YAML file name, default: output_potential.yaml",
                        default="output_potential.yaml", type=str)
    parser.add_argument("-p", "--potential", help="input potential YAML file name, will override input file "
                        "'potential' section", type=str, default=argparse.SUPPRESS)
    parser.add_argument("-ip", "--initial-potential", help="initial potential YAML file name, will override input "
                        "file 'potential::initial_potential' section", type=str, default=argparse.SUPPRESS)
    parser.add_argument("-d", "--data", help="data file, will override section 'YAML:fit:filename' from input file",
                        type=str, default=argparse.SUPPRESS)
    parser.add_argument("-l", "--log", help="log filename, default: log.txt", type=str, default="log.txt")
    parser.add_argument("-dr", "--dry-run", help="Dry run: performs all preprocessing and analysis, but do not do "
                        "the fitting", dest="dry_run", action="store_true", default=False)
    parser.add_argument("-t", "--template", help="Generate a template 'input.yaml' file by dialog", dest="template",
                        action="store_true", default=False)
    parser.add_argument("-v", "--version", help="Show version info", dest="version", action="store_true",
                        default=False)
    parser.add_argument("--no-fit", help="Do not fit the potential", dest="no_fit", action="store_true",
                        default=False)
    parser.add_argument("--no-predict", help="Do not compute and save the predictions", dest="no_predict",
                        action="store_true", default=False)
    parser.add_argument("--verbose-tf", help="Make tensorflow more verbose (off by default)", dest="verbose_tf",
                        action="store_true", default=False)
    return parser


def clean_working_directory() -> None:
    import glob

    print("Cleaning working directory. Removing files/folders:")
    interim = glob.glob("interim_potential*.yaml") + glob.glob("ensemble_potential*.yaml")
    for name in sorted(FILES_TO_REMOVE + interim):
        if os.path.isfile(name):
            os.remove(name)
            print(" - ", name)
        elif os.path.isdir(name):
            shutil.rmtree(name)
            print(" - ", name, "(folder)")
    print("Done")


@dataclass
class RunConfig:
    """input.yaml after pacemaker's main() has applied the command-line overrides."""

    seed: int
    data: dict[str, Any]
    backend: dict[str, Any]
    potential: Any
    fit: dict[str, Any]


def resolve_config(args: argparse.Namespace, args_yaml: dict[str, Any]) -> RunConfig:
    """The order and the traps of upstream's bin/pacemaker main()."""
    if "cutoff" not in args_yaml:
        log.warning("No 'cutoff' provided in YAML file, please specify it")
        raise ValueError("No 'cutoff' provided in YAML file, please specify it")
    if "seed" in args_yaml:
        seed = int(args_yaml["seed"])
    else:
        seed = DEFAULT_SEED
        log.warning("No 'seed' provided in YAML file, default value seed = {} will be used.".format(seed))
    if "data" in args:
        data = {"filename": args.data}
        log.info("Overwrite 'data' with " + str(data))
    elif "data" in args_yaml:
        data = args_yaml["data"]
        if isinstance(data, str):
            data = {"filename": data}
        data.setdefault("seed", seed)
    else:
        raise ValueError("'data' section is not provided neither in input file nor in arguments")
    env_data_path = os.environ.get("PACEMAKERDATAPATH")
    if env_data_path is not None and not data.get("datapath"):
        data["datapath"] = env_data_path
        log.info("Data path set to $PACEMAKERDATAPATH = {}".format(env_data_path))
    backend: dict[str, Any] = {}
    if "backend" in args_yaml:
        backend = args_yaml["backend"] or {}
    elif not args.query_data:  # upstream bug kept on purpose: AttributeError, as the real program
        backend = {"evaluator": "pyace", "parallel_mode": "process"}
    if "evaluator" not in backend:
        backend["evaluator"] = "pyace"
        log.info("Couldn't find evaluator ('pyace' or 'tensorpot').")
        log.info("Default evaluator `pyace` would be used,  otherwise please specify in YAML:backend:evaluator or as "
                 "-b <evaluator>")
    if "potential" in args:
        potential: Any = args.potential
        log.info("Potential settings is overwritten from arguments: " + str(potential))
    elif "potential" in args_yaml:
        potential = args_yaml["potential"]
        if isinstance(potential, dict) and "metadata" in args_yaml:
            potential["metadata"] = args_yaml["metadata"]
    elif not args.query_data:  # upstream bug kept on purpose: AttributeError
        raise ValueError("'potential' section is not given")
    if "initial_potential" in args:
        if not isinstance(potential, dict):
            raise ValueError("Couldn't combine `initial_potential` setting with non-dictionary `potential` setting")
        potential["initial_potential"] = args.initial_potential
    return RunConfig(seed=seed, data=data, backend=backend, potential=potential, fit=args_yaml.get("fit") or {})


def _metadata(extra: Mapping[str, Any], evaluator: str) -> dict[str, Any]:
    meta = {str(k): str(v) for k, v in (extra or {}).items()}
    meta.update({"starttime": str(datetime.now()), "user": username(), "pacemaker_version": SIM_VERSION})
    if evaluator == "tensorpot":
        meta["tensorpot_version"] = SIM_VERSION
    else:
        meta.update({"pyace_version": SIM_VERSION, "ace_evaluator_version": "simulator"})
    return meta


@dataclass
class Potentials:
    target: dict[str, Any]
    initial: dict[str, Any] | None
    ladder: bool


def _initial_from(value: Any) -> dict[str, Any]:
    paths = value if isinstance(value, list) else [value]
    docs = [load_potential(str(p)) for p in paths]
    merged = docs[0]
    for extra in docs[1:]:
        merged["species"].extend(extra["species"])
    return merged


def resolve_potentials(config: RunConfig, cutoff: float) -> Potentials:
    """Target (and, for ladder fitting, initial) potential, as GeneralACEFit.__init__ builds them."""
    potential, fit = config.potential, config.fit
    metadata = _metadata(potential.get("metadata", {}) if isinstance(potential, dict) else {},
                         config.backend["evaluator"])
    initial, ladder = None, False
    if isinstance(potential, dict):
        if "initial_potential" in potential:
            initial = _initial_from(potential["initial_potential"])
            log.info("Initial potential provided: {}, it contains {} functions".format(
                potential["initial_potential"], total_functions(initial)))
            ladder = True
            log.info("Ladder-scheme fitting is ON")
        elif "ladder_step" in fit:
            initial = clean_potential(build_potential(potential, cutoff, metadata))
            ladder = True
            log.info("Ladder-scheme fitting is ON")
            log.info("Initial potential is NOT provided, starting from empty potential")
        if "filename" in potential:
            target = load_potential(str(potential["filename"]))
            log.info("Target potential loaded from file '{}', it contains {} functions".format(
                potential["filename"], total_functions(target)))
            if potential.get("reset"):
                log.info("Reset target potential, set functions coefficient to zero and radial coefficients to delta_nk")
                set_state(target, SimState.initial(potential_elements(target)))
        else:
            target = build_potential(potential, cutoff, metadata)
            limit = (potential.get("functions") or {}).get("number_of_functions_per_element")
            if limit is not None:
                log.info("Number of functions in target potential is limited to maximum {} functions per element  "
                         "for {} elements ({} blocks)".format(limit, len(potential_elements(target)),
                                                               len(target["species"])))
                log.info("Resulted potential contains {} functions".format(total_functions(target)))
            log.info("Target potential shape constructed from dictionary, it contains {} functions".format(
                total_functions(target)))
    elif isinstance(potential, str):
        target = load_potential(potential)
        log.info("Target potential loaded from file '{}', it contains {} functions".format(
            potential, total_functions(target)))
    else:
        raise ValueError("Non-supported type: {}. Only dictionary (configuration), str (YAML file name) or "
                         "BBasisConfiguration are supported".format(type(potential)))
    target["metadata"].update({k: v for k, v in metadata.items() if k not in target["metadata"]})
    write_potential(target, TARGET_POTENTIAL_YAML)
    if "ladder_step" in fit and not ladder:
        initial = clean_potential(target)
        log.info("Initial potential is NOT provided, starting from empty potential")
        ladder = True
        log.info("Ladder-scheme fitting is ON")
    return Potentials(target=target, initial=initial, ladder=ladder)


def fit_settings(config: RunConfig, faults: Faults, train: pd.DataFrame) -> FitSettings:
    fit = config.fit
    if "optimizer" not in fit:
        fit["optimizer"] = "BFGS"
        log.warning("'optimizer' is not provided, switch to default value: BFGS")
    if "maxiter" not in fit:
        fit["maxiter"] = 100
        log.warning("'maxiter' is not provided, switch to default value: 100")
    if "options" in fit:
        log.info("optimizer options are provided: '{}'".format(fit["options"]))
    loss = dict(fit.get("loss") or {})
    if loss.get("kappa") == "auto":
        e_std = float(train["energy_corrected_per_atom"].std())
        f_std = float(np.std(np.linalg.norm(np.vstack(train["forces"]), axis=1)))
        loss["kappa"] = e_std ** 2 / (e_std ** 2 + f_std ** 2)
        log.info("LossFunctionSpecification:kappa automatically selected: kappa = {:.3f}".format(loss["kappa"]))
    known = LossSpec.__dataclass_fields__
    loss_spec = LossSpec(**{k: as_float(v, f"fit::loss::{k}") for k, v in loss.items() if k in known})
    return FitSettings(
        fit_config=fit, backend_config=config.backend, evaluator=str(config.backend["evaluator"]),
        loss_spec=loss_spec, display_step=int(config.backend.get("display_step", 20)),
        maxiter=int(fit["maxiter"]), fit_cycles=int(fit.get("fit_cycles", 1)), faults=faults,
    )


def save_dataset_info(df: pd.DataFrame, filename: str) -> None:
    columns = [c for c in df.columns if c not in ("tp_atoms", "atomic_env")]
    df[columns].to_pickle(filename, compression="gzip", protocol=4)
    log.info("Dataset saved into {}".format(filename))


def minimal_distances(df: pd.DataFrame) -> list[float]:
    from ase.neighborlist import neighbor_list

    result = []
    for atoms in df["ase_atoms"]:
        distances = neighbor_list("d", atoms, 5.0)
        result.append(float(distances.min()) if len(distances) else float("nan"))
    return result


def set_core_repulsion(doc: dict[str, Any], fit: Mapping[str, Any], train: pd.DataFrame) -> None:
    """fit: {repulsion: auto} -> ZBL inner core on every block, r_in = shortest distance in the data."""
    if fit.get("repulsion") != "auto":
        return
    log.info("Auto core-repulsion estimation. Minimal distance calculation...")
    r_min = float(np.nanmin(minimal_distances(train)))
    log.info("Minimal distance per bonds = {} A ".format({tuple(b["speciesblock"].split()): r_min
                                                         for b in doc["species"]}))
    for block in doc["species"]:
        block.update({"core-repulsion": [1.0, 1.0], "r_in": r_min, "delta_in": 0.1, "inner_cutoff_type": "zbl"})
        if len(block["speciesblock"].split()) == 1:
            block.update({"rho_core_cut": 1.0, "drho_core_cut": 1.0})
    log.info("Inner cutoff / core-repulsion initialized with ZBL")


def predict_and_save(df: pd.DataFrame, doc: Mapping[str, Any], evaluator: str, fname: str) -> pd.DataFrame:
    elements = potential_elements(doc)
    arrays = FitArrays.from_frame(df, elements)
    energy_pred, forces_pred = arrays.predict(get_state(doc).params(elements))
    splits = np.cumsum(df["NUMBER_OF_ATOMS"].values)[:-1]
    pred = df.drop(columns=[c for c in ("ase_atoms", "atomic_env", "tp_atoms") if c in df.columns]).copy()
    log.info("Computing nearest neighbours distances from '{}'".format(
        "atomic_env" if evaluator == "pyace" else "tp_atoms"))
    pred["nn_min"] = minimal_distances(df)
    pred["energy_pred"] = energy_pred
    pred["forces_pred"] = list(np.split(forces_pred, splits))
    pred.to_pickle(fname, compression="gzip", protocol=4)
    log.info("Predictions are saved into {} ({})".format(fname, sizeof_fmt(fname)))
    return pred


def write_validation_plots(prefix: str) -> None:
    log.info("Ploting validation graphs")
    os.makedirs("report", exist_ok=True)
    for plot in REPORT_PLOTS:
        write_png(os.path.join("report", prefix + plot + ".png"))


def run_predictions(fit: SimulatedFit | None, doc: Mapping[str, Any], train: pd.DataFrame,
                    test: pd.DataFrame | None, evaluator: str) -> None:
    log.info("Making predictions")
    for label, df, prefix in (("train", train, "train_"), ("test", test, "test_")):
        if df is None:
            continue
        log.info("For {} data".format(label))
        if fit is not None and not fit.fitted:
            raise ValueError("`bbasisconfig` couldn't be None for FitAdapter.setup_backend_for_predict")
        if fit is None and label == "train":
            log.info("Setting {} backend for predicting".format(evaluator))
        predict_and_save(df, doc, evaluator, prefix + "pred.pckl.gzip")
        write_validation_plots(prefix)


def pacemaker_main(argv: Sequence[str]) -> int:
    faults = Faults.from_env(os.environ)
    if faults.pidfile:
        Path(faults.pidfile).write_text(str(os.getpid()))
    args = pacemaker_parser().parse_args(argv)
    if args.version:
        print("pacemaker/pyace version: {}".format(SIM_VERSION))
        print("ace_evaluator   version: simulator (mlip-trainer pacemaker simulator, not a real pacemaker)")
        return 0
    if args.clean:
        clean_working_directory()
        return 0
    if args.template:
        print("SIMULATOR: the interactive template dialog (-t) is not simulated", file=sys.stderr)
        return 1
    if args.dry_run:
        log.info("====== DRY RUN ======")
    log.info("Redirecting log into file {}".format(args.log))
    add_log_file(args.log)
    log.info("Start pacemaker")
    log.info("Hostname: {}".format(socket.gethostname()))
    log.info("Username: {}".format(username()))
    log.info("pacemaker/pyace version: {}".format(SIM_VERSION))
    log.info("ace_evaluator   version: simulator")
    log.info("SIMULATOR: this is mlip-trainer's pacemaker simulator, not a real pacemaker")
    log.info("Loading {}... ".format(args.input))
    args_yaml = read_yaml(args.input)
    assert isinstance(args_yaml, dict)
    config = resolve_config(args, args_yaml)
    cutoff = as_float(args_yaml["cutoff"], "cutoff")
    return run_fit(args, config, cutoff, faults)


def run_fit(args: argparse.Namespace, config: RunConfig, cutoff: float, faults: Faults) -> int:
    log.info("Set numpy random seed to {}".format(config.seed))
    np.random.seed(config.seed)
    potentials = resolve_potentials(config, cutoff)
    target = potentials.target
    if potentials.ladder:
        log.info("Ladder_type: {} is selected".format(config.fit.get("ladder_type", "body_order")))
    evaluator = str(config.backend["evaluator"])
    if evaluator not in ("pyace", "tensorpot"):
        raise ValueError(f"Unknown evaluator type '{evaluator}', only 'tensorpot' is supported")
    tables = MetricsTables(ladder=potentials.ladder)
    log.info("{}_version: {}".format(evaluator, SIM_VERSION))
    if "reference_energy" in target["metadata"] and "reference_energy" not in config.data:
        stored = target["metadata"]["reference_energy"]
        config.data["reference_energy"] = json.loads(stored) if isinstance(stored, str) else stored
        log.info("Loading 'reference_energy' from potential metadata")
    loader = DatasetLoader(config.data, evaluator)
    train, test = loader.prepare()
    if loader.reference_energy is not None:
        target["metadata"]["reference_energy"] = json.dumps(loader.reference_energy)
        write_potential(target, TARGET_POTENTIAL_YAML)
        log.info("Saving 'reference_energy' to potential metadata")
    save_dataset_info(train, FITTING_DATA_INFO_FILENAME)
    if test is not None:
        save_dataset_info(test, TEST_DATA_INFO_FILENAME)
    log.info("Plotting train energy-forces distribution")
    write_png("train_ef-distributions.png")
    if test is not None:
        log.info("Plotting test energy-forces distribution")
        write_png("test_ef-distributions.png")
    settings = fit_settings(config, faults, train)
    if args.dry_run:
        log.info("Dry run is finished")
        return 0
    fit = SimulatedFit(settings, train, test, target, tables, ladder=potentials.ladder)
    fit.global_iterations = get_state(potentials.initial or target).iterations_done
    final = target
    if not args.no_fit:
        write_potential(target, TARGET_POTENTIAL_YAML)
        log.info("Fitting dataset size: {} structures / {} atoms".format(len(train), train["NUMBER_OF_ATOMS"].sum()))
        if test is not None:
            log.info("Test dataset size: {} structures / {} atoms".format(len(test), test["NUMBER_OF_ATOMS"].sum()))
        if potentials.ladder:
            log.info("'Ladder-scheme' fitting")
            final = fit.ladder_fitting(potentials.initial or clean_potential(target))
        else:
            log.info("'Single-shot' fitting")
            final = fit.cycle_fitting(target)
        log.info("Fitting done")
        set_core_repulsion(final, config.fit, train)
        final["metadata"].pop("_fit_cycles", None)
        write_potential(final, args.output)
        log.info("Final potential is saved to {}".format(args.output))
    if not args.no_predict:
        run_predictions(None if args.no_fit else fit, final, train, test, evaluator)
    if faults.exit_code is not None:
        faults.fire_once()
        log.info(f"SIMULATOR: PACEMAKER_SIM_EXIT_CODE={faults.exit_code}: exiting with code {faults.exit_code}")
        return faults.exit_code
    return 0


# =============================================================================================
# Descriptors and MaxVol-like selection (pace_activeset, pace_select)
# =============================================================================================


def atom_projections(atoms_list: Sequence[Any], elements: Sequence[str], dims: Mapping[str, int],
                     cutoff: float) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Per-element 'B-projections' [n_atoms(element), dims[element]] and the structure index of each row.

    Feature k of an atom: sum over neighbours j of w(species j) * exp(-((r_ij - mu_k)/sigma)^2) * fc(r_ij).
    """
    from ase.neighborlist import neighbor_list

    index = {e: i for i, e in enumerate(elements)}
    rows: dict[str, list[np.ndarray]] = {e: [] for e in elements}
    owners: dict[str, list[int]] = {e: [] for e in elements}
    for s, atoms in enumerate(atoms_list):
        symbols = atoms.get_chemical_symbols()
        species = np.array([index[x] for x in symbols], dtype=np.float64)
        i, j, d = neighbor_list("ijd", atoms, cutoff)
        weights = 1.0 + 0.37 * species[j]
        cut = 0.5 * (1.0 + np.cos(np.pi * d / cutoff)) * weights
        for element in elements:
            m = dims[element]
            centres = np.linspace(1.0, cutoff, m)
            sigma = max((cutoff - 1.0) / max(m, 1) * 1.5, 0.05)
            features = np.zeros((len(atoms), m))
            np.add.at(features, i, np.exp(-(((d[:, None] - centres[None, :]) / sigma) ** 2)) * cut[:, None])
            mine = [a for a, sym in enumerate(symbols) if sym == element]
            rows[element].append(features[mine])
            owners[element].extend([s] * len(mine))
    return ({e: np.vstack(rows[e]) if rows[e] else np.zeros((0, dims[e])) for e in elements},
            {e: np.array(owners[e], dtype=int) for e in elements})


def maxvol_rows(matrix: np.ndarray, species: str) -> np.ndarray:
    """Greedy maximum-volume choice of n_columns rows (pivoted QR); only rows that add volume."""
    from scipy.linalg import qr

    n_rows, n_cols = matrix.shape
    if n_rows < n_cols:
        raise ValueError("Insufficient atomic environments to determine active set for species type {}, "
                         "system is under-determined, projections shape={}".format(species, matrix.shape))
    _, r, pivots = qr(matrix.T, mode="economic", pivoting=True)
    diagonal = np.abs(np.diag(r))
    if not len(diagonal) or diagonal[0] == 0:
        return pivots[:0]
    contributing = diagonal > 1e-10 * diagonal[0]
    return pivots[: n_cols][contributing[: n_cols]]


def potential_dims(doc: Mapping[str, Any], full: bool) -> dict[str, int]:
    counts = functions_per_element(doc)
    ndens = element_ndensity(doc)
    return {e: max(1, counts[e] * (ndens[e] if full else 1)) for e in counts}


def potential_cutoff(doc: Mapping[str, Any]) -> float:
    return max([float(b.get("rcutij", 0.0)) for b in doc.get("species", [])] + [float(doc.get("cutoff", 0.0) or 0.0)])


def check_pool_elements(atoms_list: Sequence[Any], elements: Sequence[str]) -> None:
    present = {s for atoms in atoms_list for s in atoms.get_chemical_symbols()}
    missing = sorted(present - set(elements))
    if missing:
        log.error(f"Element(s) {missing} found in the structures are not in the potential (elements: "
                  f"{list(elements)}); use a potential that has them")
        raise KeyError(missing[0])


def quiet_if(not_verbose: bool) -> None:
    """-V: upstream guards its info messages with `if verbose`; warnings and errors still show."""
    if not_verbose:
        logging.getLogger().setLevel(logging.WARNING)


def memory_limit(option: str) -> int:
    if option == "auto":
        pages = os.sysconf("SC_AVPHYS_PAGES") if hasattr(os, "sysconf") else 1 << 20
        return int(0.8 * pages * os.sysconf("SC_PAGE_SIZE"))
    text = option.strip().upper()
    for suffix, factor in (("GB", 2 ** 30), ("MB", 2 ** 20), ("KB", 2 ** 10)):
        if text.endswith(suffix):
            return int(float(text[: -len(suffix)]) * factor)
    return int(float(text))


def batch_size_for(option: str, mem_lim: int, num_structures: int, active_mem: int, proj_mem: int) -> int | None:
    """pyace.aceselect.compute_batch_size, its traps included: a limit at or below the active set's
    memory divides by zero or gives a batch size <= 0, which the callers then fail on."""
    if option == "auto":
        log.info("Automatic batch_size determination")
        log.info("Memory limit: {}".format(sizeof_fmt(mem_lim)))
        if 2 * proj_mem + active_mem < mem_lim:
            return None
        nsplits = int(np.ceil(2 * proj_mem // (mem_lim - active_mem)))
        return int(np.round(num_structures / nsplits))
    if option in ("None", "none"):
        return None
    return int(option)


def required_memory(counts: Mapping[str, int], dims: Mapping[str, int], nfuncs: Mapping[str, int]) -> tuple[int, int]:
    entries, active = 0, 0
    for element, count in counts.items():
        log.info("\tElement: {}, # atoms: {}, # B-func: {}, # projections: {}".format(element, count, nfuncs[element],
                                                                                    dims[element]))
        entries += count * dims[element]
        active += dims[element] ** 2
    return active * 8, entries * 8


def load_pickles(filenames: Sequence[str], data_path: str = "", pool: bool = False) -> pd.DataFrame:
    """pace_activeset's load_datasets (any name, gzip) or, with pool=True, pace_select's
    load_multiple_datasets (only .pckl.gzip / .pkl.gz)."""
    frames = []
    for i, name in enumerate(filenames):
        if not os.path.isfile(name) and data_path and os.path.isfile(os.path.join(data_path, name)):
            name = os.path.join(data_path, name)
        if not os.path.isfile(name):
            raise RuntimeError("File {} not found".format(name))
        log.info("Loading dataset #{}/{} from {}".format(i + 1, len(filenames), name))
        if pool and not (name.endswith(".pckl.gzip") or name.endswith(".pkl.gz")):
            raise ValueError(f"Unsupported file type: {name}")
        frame = pd.read_pickle(name, compression="gzip")
        log.info("Number of structures: {}".format(len(frame)))
        frames.append(frame)
    return pd.concat(frames, axis=0).reset_index(drop=True)


# =============================================================================================
# pace_activeset
# =============================================================================================


def activeset_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="pace_activeset",
                                     description="Utility to compute active set for PACE (.yaml) potential (SIMULATOR)")
    parser.add_argument("potential_file", help="B-basis file name (.yaml)", type=str)
    parser.add_argument("-d", "--dataset", action='append', required=True, type=str,
                        help="Dataset file name(s), ex.: -d filename.pckl.gzip [-d filename2.pckl.gzip]")
    parser.add_argument("-q", "--query", type=str, default=None, help="pd.query argument for further filtering")
    parser.add_argument("-f", "--full", help="Compute active set on full (linearized) design matrix",
                        action='store_true')
    parser.add_argument("-b", "--batch_size", default="auto", type=str,
                        help="Batch size (number of structures) considered simultaneously.")
    parser.add_argument("-g", "--gamma_tolerance", help="Gamma tolerance", default=1.01, type=float)
    parser.add_argument("-i", "--maxvol_iters", help="Number of maximum iteration in MaxVol algorithm", default=300,
                        type=int)
    parser.add_argument("-r", "--maxvol_refinement", help="Number of refinements (epochs)", default=5, type=int)
    parser.add_argument("-m", "--memory-limit", help="Memory limit (i.e. 1GB, 500MB or 'auto')", default="auto",
                        type=str)
    parser.add_argument("-e", "--error-force-threshold", default=0, type=float, dest="error_based_threshold",
                        help="Include into active set only atoms with force RMSE error lower than provided.")
    parser.add_argument("-a", "--all-atoms", help="Consider all atoms for construction of active set",
                        dest="all_atoms", default=False, action="store_true")
    parser.add_argument("-V", help="suppress verbosity of numerical procedures", dest="not_verbose", default=False,
                        action="store_true")
    return parser


def select_by_force_error(df: pd.DataFrame, doc: Mapping[str, Any], projections: dict[str, np.ndarray],
                          threshold: float) -> dict[str, np.ndarray]:
    """Drop atoms whose (simulated) force error is above Q3+1.5*IQR (or the -e threshold)."""
    log.info("Select atomic environments with force error below threshold")
    if threshold == 0:
        log.info("Automatic force error threshold determination(Q3+1.5*IQR)")
    else:
        log.info("Force error threshold: {:.3f} eV/A".format(threshold))
    fraction = get_state(doc).force_fraction
    cropped = {}
    for st, element in enumerate(projections):
        errors = np.hstack([
            np.linalg.norm((1 - fraction) * np.asarray(f)[np.array(a.get_chemical_symbols()) == element], axis=1)
            for a, f in zip(df["ase_atoms"], df["forces"])
        ] + [np.zeros(0)])
        if len(errors) == 0:
            cropped[element] = projections[element]
            continue
        q1, _, q3 = np.quantile(errors, q=[0.25, 0.5, 0.75])
        upper = q3 + 1.5 * (q3 - q1) if threshold <= 0 else threshold
        mask = errors <= upper
        log.info("\tElement: {}, specie type: {}".format(element, st))
        log.info("\t\tForce error upper bound: {:.3f} meV/A".format(1e3 * upper))
        log.info("\t\tNumber/fraction of selected atoms: {} ({:.1f}%)".format(np.sum(mask), 1e2 * np.mean(mask)))
        cropped[element] = projections[element][mask]
    return cropped


def pace_activeset_main(argv: Sequence[str]) -> int:
    args = activeset_parser().parse_args(argv)
    quiet_if(args.not_verbose)
    mem_lim = memory_limit(args.memory_limit)
    df = load_pickles(args.dataset, os.environ.get("PACEMAKERDATAPATH", ""))
    log.info("Total number of structures: {}".format(len(df)))
    if args.query is None and "name" in df.columns:
        size_before = len(df)
        df = df[~df["name"].astype(str).str.startswith("augmented")].reset_index(drop=True)
        if len(df) < size_before:
            log.info(f"AUGMENTED STRUCTURES: {size_before - len(df)} structure(s) were dropped, new dataset size: "
                     f"{len(df)}")
    if args.query is not None and not args.all_atoms:
        log.info(f"Applying query ``{args.query}``")
        df = df.query(args.query).reset_index(drop=True)
    log.info("Potential file: {}".format(args.potential_file))
    doc = load_potential(args.potential_file)
    elements = potential_elements(doc)
    check_pool_elements(list(df["ase_atoms"]), elements)
    dims = potential_dims(doc, args.full)
    cutoff = potential_cutoff(doc)
    log.info("Constructing atomic_env column, cutoffmax={}, elements_to_index_map={}".format(
        cutoff, {e: i for i, e in enumerate(elements)}))
    counts = Counter(s for atoms in df["ase_atoms"] for s in atoms.get_chemical_symbols())
    active_mem, proj_mem = required_memory({e: counts.get(e, 0) for e in elements}, dims,
                                           functions_per_element(doc))
    log.info("Required memory to store complete dataset projections: {}".format(sizeof_fmt(proj_mem)))
    log.info("Required memory to store active set: {}".format(sizeof_fmt(active_mem)))
    batch_size = batch_size_for(args.batch_size, mem_lim, len(df), active_mem, proj_mem)
    suffix = ".asi.nonlinear" if args.full else ".asi"
    out_name = args.potential_file.replace(".yaml", suffix)
    log.info("FULL (non-linear) matrix will be used for active set calculation" if args.full else
             "LINEAR matrix will be used for active set calculation")
    if batch_size is None:
        log.info("Single-run (no batch_size is provided)")
        log.info("Compute B-projections")
    else:
        log.info("Approximated MaxVol by batches")
        log.info("Batch size: {}".format(batch_size))
        if not args.all_atoms:
            log.error('WARNING! Error-based selection of atoms in batch mode is not implemented. Please use '
                      '--all-atoms option')
            return 1
        log.info("Number of batches: {}".format(len(df) // batch_size))
    projections, _ = atom_projections(list(df["ase_atoms"]), elements, dims, cutoff)
    log.info("B-projections computed:")
    for element, matrix in projections.items():
        log.info("\tElement: {}, B-projections shape: {}".format(element, matrix.shape))
    if batch_size is None and not args.all_atoms:
        projections = select_by_force_error(df, doc, projections, args.error_based_threshold)
    log.info("Compute active set (using MaxVol algorithm)")
    inverses = {}
    for st, (element, matrix) in enumerate(projections.items()):
        rows = maxvol_rows(matrix, str(st))
        active = matrix[rows] if len(rows) == matrix.shape[1] else _padded_active_set(matrix, rows)
        inverses[element] = np.linalg.pinv(active)
    log.info("Compute pseudoinversion of active set")
    for element, inverse in inverses.items():
        gamma = np.max(np.abs(projections[element] @ inverse)) if len(projections[element]) else 0.0
        log.info("\tElement: {}, Active set inv. shape: {}, gamma_max: {:.3f}".format(element, inverse.shape, gamma))
    log.info("Saving Active Set Inversion (ASI) to {}".format(out_name))
    with open(out_name, "wb") as handle:
        np.savez(handle, **inverses)
    log.info("Saving  done to {} ({})".format(out_name, sizeof_fmt(out_name)))
    return 0


def _padded_active_set(matrix: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """A square active set when fewer rows add volume: fill up with the remaining rows in order."""
    chosen = list(rows)
    for row in range(matrix.shape[0]):
        if len(chosen) == matrix.shape[1]:
            break
        if row not in chosen:
            chosen.append(row)
    return matrix[chosen]


# =============================================================================================
# pace_select
# =============================================================================================


def select_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="pace_select", description="Utility to select structures for training se "
                                     "based on D-optimality criterion (SIMULATOR)")
    parser.add_argument("dataset", nargs='+', type=str,
                        help="Dataset file name(s), ex.: filename.pckl.gzip [extrapolative_structures.dat]")
    parser.add_argument("-p", "--potential_file", help="B-basis file name (.yaml)", type=str, required=True)
    parser.add_argument("-a", "--active-set-inv", default=None, type=str, dest="active_set_inv_fname",
                        help="Active Set Inverted (ASI) filename, considered as extra B-projections")
    parser.add_argument("-e", "--elements", type=str, help='List of elements, used in LAMMPS, i.e. "Ni Nb O"')
    parser.add_argument("-m", "--max-structures", type=int, dest="max_structures", default=-1,
                        help="Maximum number of structures to select (default -1 = all)")
    parser.add_argument("-o", "--output", dest="selected_structures_filename", type=str, default="selected.pkl.gz",
                        help="Selected structures filename: selected.pkl.gz or structures/POSCAR "
                             "(default: selected.pkl.gz)")
    parser.add_argument("-b", "--batch_size", default="auto", type=str,
                        help="Batch size (number of structures) considered simultaneously.")
    parser.add_argument("-g", "--gamma_tolerance", help="Gamma tolerance", default=1.01, type=float)
    parser.add_argument("-i", "--maxvol_iters", help="Number of maximum iteration in MaxVol algorithm", default=300,
                        type=int)
    parser.add_argument("-r", "--maxvol_refinement", help="Number of refinements (epochs)", default=2, type=int)
    parser.add_argument("-mem", "--memory-limit", help="Memory limit (i.e. 1GB, 500MB or 'auto')", default="auto",
                        type=str)
    parser.add_argument("-V", help="suppress verbosity of numerical procedures", dest="not_verbose", default=False,
                        action="store_true")
    return parser


def load_asi(path: str, dims: Mapping[str, int]) -> dict[str, np.ndarray]:
    """The active set (inverse of the stored ASI) per element, checked against the potential's shape."""
    data = np.load(path)
    active = {}
    for element in sorted(data.keys()):
        matrix = np.linalg.pinv(data[element])
        if element in dims and matrix.shape[1] != dims[element]:
            raise ValueError(f"ASI {path}: element {element} has {matrix.shape[1]} projections, the potential has "
                             f"{dims[element]}; recompute it with pace_activeset for this potential")
        active[element] = matrix
    return active


def select_structures(df: pd.DataFrame, doc: Mapping[str, Any], extra: Mapping[str, np.ndarray] | None,
                      max_structures: int, batch_size_option: str = "auto", mem_lim_option: str = "auto",
                      gamma_tolerance: float = 1.01, maxvol_refinement: int = 2) -> pd.DataFrame:
    """pyace.aceselect.select_structures_maxvol with the simulated projections: the memory the
    pool's projections need decides between one shot and batches (-mem, -b), as upstream."""
    elements = potential_elements(doc)
    atoms_list = list(df["ase_atoms"])
    check_pool_elements(atoms_list, elements)
    dims = potential_dims(doc, full=False)
    cutoff = potential_cutoff(doc)
    counts = Counter(s for atoms in atoms_list for s in atoms.get_chemical_symbols())
    active_mem, proj_mem = required_memory({e: counts.get(e, 0) for e in elements}, dims, functions_per_element(doc))
    log.info("Required memory to store complete dataset projections: {}".format(sizeof_fmt(proj_mem)))
    log.info("Required memory to store active set: {}".format(sizeof_fmt(active_mem)))
    num_structures = len(atoms_list)
    mem_lim = memory_limit(mem_lim_option)
    batch_size = batch_size_for(batch_size_option, mem_lim, num_structures, active_mem, proj_mem)
    chosen: dict[str, np.ndarray] = {}
    if batch_size is None:
        log.info("Single-shot mode")
        log.info("Compute B-projections")
        projections, owners = atom_projections(atoms_list, elements, dims, cutoff)
        log.info("Selecting structures")
        for st, element in enumerate(elements):
            matrix, owner = projections[element], owners[element]
            if extra is not None and element in extra:
                matrix = np.vstack([matrix, extra[element]])
                owner = np.hstack([owner, -np.ones(len(extra[element]), dtype=int)])
            print("Species type:", st, flush=True)
            chosen[element] = owner[maxvol_rows(matrix, str(st))]
    else:
        log.info("Batch mode")
        n_batches = num_structures // batch_size
        log.info("Number of batches: {}".format(n_batches))
        log.info("Selecting structures in batch mode")
        chosen = active_set_by_batches(atoms_list, elements, dims, cutoff, n_batches, extra, gamma_tolerance,
                                       maxvol_refinement)
    selected: Counter[int] = Counter()
    for element in elements:
        selected.update(int(o) for o in chosen.get(element, []))
    selected.pop(-1, None)
    log.info(f"Overall {len(selected)} structures selected")
    indices = [i for i, _ in selected.most_common()]
    if max_structures > 0:
        log.info(f"Selection top {max_structures} structures")
        indices = indices[:max_structures]
    return df.iloc[indices].copy()


def _joint_maxvol(active: dict[str, np.ndarray], owners: dict[str, np.ndarray], rows: Mapping[str, np.ndarray],
                  row_owners: Mapping[str, np.ndarray], elements: Sequence[str]) -> None:
    """One MaxVol update of the current active set with new rows (upstream's joint dictionaries)."""
    for st, element in enumerate(elements):
        joint = np.vstack([active[element], rows[element]])
        if not len(joint):
            continue
        joint_owner = np.hstack([owners[element], row_owners[element]])
        print("Species type:", st, flush=True)
        keep = maxvol_rows(joint, str(st))
        active[element], owners[element] = joint[keep], joint_owner[keep]


def _gamma_by_batches(atoms_list: Sequence[Any], batches: Sequence[np.ndarray], elements: Sequence[str],
                      dims: Mapping[str, int], cutoff: float, inverses: Mapping[str, np.ndarray],
                      gamma_tolerance: float) -> tuple[dict[int, float], dict[str, np.ndarray], dict[str, np.ndarray]]:
    """pyace's compute_extrapolation_grade_by_batches: max gamma per species type, and the rows (and
    their structures) above the tolerance; one batch's projections in memory at a time."""
    best = {st: 0.0 for st in range(len(elements))}
    outside: dict[str, list[np.ndarray]] = {e: [np.zeros((0, dims[e]))] for e in elements}
    outside_owners: dict[str, list[np.ndarray]] = {e: [np.zeros(0, dtype=int)] for e in elements}
    for number, indices in enumerate(batches):
        print("Batch #{}/{}".format(number + 1, len(batches)), flush=True)
        print("Compute B-projections", flush=True)
        projections, owners = atom_projections([atoms_list[i] for i in indices], elements, dims, cutoff)
        for st, element in enumerate(elements):
            matrix = projections[element]
            if not len(matrix):
                continue
            gamma = np.max(np.abs(matrix @ inverses[element]), axis=1)
            best[st] = max(best[st], float(gamma.max()))
            above = gamma > gamma_tolerance
            outside[element].append(matrix[above])
            outside_owners[element].append(indices[owners[element][above]])
        del projections
    return (best, {e: np.vstack(outside[e]) for e in elements},
            {e: np.hstack(outside_owners[e]).astype(int) for e in elements})


def active_set_by_batches(atoms_list: Sequence[Any], elements: Sequence[str], dims: Mapping[str, int], cutoff: float,
                          n_batches: int, extra: Mapping[str, np.ndarray] | None, gamma_tolerance: float,
                          n_refinement: int) -> dict[str, np.ndarray]:
    """pyace.activelearning.compute_active_set_by_batches with the simulated projections: a cumulative
    MaxVol over batches, then refinement with the atoms whose gamma exceeds the tolerance. Only one
    batch's projections are held at once (plus the active set and the atoms outside it), so memory
    stays bounded; the interim active set goes to interim_active_set.asi like upstream's.
    Returns the structure index of every active-set row per element (-1: rows of the given ASI)."""
    active = {e: np.asarray(extra[e]) if extra is not None and e in extra else np.zeros((0, dims[e]))
              for e in elements}
    owners = {e: -np.ones(len(active[e]), dtype=int) for e in elements}
    batches = np.array_split(np.arange(len(atoms_list)), n_batches)  # n_batches <= 0 fails here, as upstream
    print("Stage 1. Cumulative MaxVol by batches", flush=True)
    for number, indices in enumerate(batches):
        print("Batch #{}/{}".format(number + 1, n_batches), flush=True)
        print("Compute B-projections", flush=True)
        projections, local = atom_projections([atoms_list[i] for i in indices], elements, dims, cutoff)
        print("Update active set (MaxVol)", flush=True)
        _joint_maxvol(active, owners, projections, {e: indices[local[e]] for e in elements}, elements)
        del projections
        print("Done", flush=True)

    def invert_and_save() -> dict[str, np.ndarray]:
        print("Inverting current active set", flush=True)
        inverses = {e: np.linalg.pinv(active[e]) for e in elements}
        print("Save current active set to interim_active_set.asi", flush=True)
        with open("interim_active_set.asi", "wb") as handle:
            np.savez(handle, **inverses)
        return inverses

    inverses = invert_and_save()
    print("Compute extrapolation grade for whole dataset by batches", flush=True)
    best_gamma, outside, outside_owners = _gamma_by_batches(atoms_list, batches, elements, dims, cutoff, inverses,
                                                            gamma_tolerance)
    best = {e: owners[e] for e in elements}
    print("Current best gamma:", best_gamma, flush=True)
    if max(best_gamma.values(), default=0.0) <= gamma_tolerance:
        return best
    print("Stage 2. Refinement of active set", flush=True)
    for refinement in range(n_refinement):
        print(flush=True)
        print("Refinement iteration #{}/{}".format(refinement + 1, n_refinement), flush=True)
        for st, element in enumerate(elements):
            print("Species type: {}, atomic environments outside active set: {}".format(st, len(outside[element])),
                  flush=True)
        print("Update active set", flush=True)
        _joint_maxvol(active, owners, outside, outside_owners, elements)
        print("Done", flush=True)
        inverses = invert_and_save()
        print("Compute extrapolation grade for complete dataset by batches", flush=True)
        gamma, outside, outside_owners = _gamma_by_batches(atoms_list, batches, elements, dims, cutoff, inverses,
                                                           gamma_tolerance)
        print("Current gamma_max:", gamma, flush=True)
        for st, element in enumerate(elements):
            if gamma[st] < best_gamma[st]:
                best_gamma[st] = gamma[st]
                best[element] = owners[element]
                print("New best gamma({})={}".format(st, best_gamma[st]), flush=True)
        print("Current best gamma:", best_gamma, flush=True)
        if max(best_gamma.values(), default=0.0) <= gamma_tolerance:
            break
    return best


def save_selected(df: pd.DataFrame, filename: str) -> None:
    """Upstream writes `df.to_pickle(filename)`: compression inferred from the name (.gz -> gzip,
    .pckl.gzip -> none) or POSCAR files when the name contains POSCAR."""
    if "POSCAR" in filename:
        from ase.io import write

        log.info(f"Saving selected structures to {filename.replace('POSCAR', '*.POSCAR')}")
        os.makedirs(os.path.dirname(filename) or ".", exist_ok=True)
        for i, atoms in enumerate(df["ase_atoms"]):
            write(filename.replace("POSCAR", "{}.POSCAR".format(i)), atoms, format="vasp", sort=True)
    else:
        log.info(f"Saving selected structures to {filename} as pickled dataframe")
        df.to_pickle(filename)
    log.info("Done")


def selection_projector(potential_file: str) -> tuple[Callable[[Sequence[Any]], tuple[dict[str, np.ndarray],
                                                                              dict[str, np.ndarray]]], dict[str, int]]:
    """SIMULATOR-ONLY helper (no pacemaker program has it): the simulated B-projections that
    pace_select and pace_activeset use here, for python/mlip_select.py to compute deterministic
    extrapolation grades against the simulated active set when no real pyace is installed.
    Returns (project(atoms_list) -> (projections, structure index of each row), nfuncs)."""
    doc = load_potential(potential_file)
    elements = potential_elements(doc)
    dims = potential_dims(doc, full=False)
    cutoff = potential_cutoff(doc)

    def project(atoms_list: Sequence[Any]) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
        return atom_projections(list(atoms_list), elements, dims, cutoff)

    return project, dict(dims)


SELECT_LOG_FMT = "%(asctime)s - %(name)s - %(levelname)s - %(message)s"
MAXVOL_WARNING = "warning: fast C maxvol functions are not compiled, continue with python maxvol functions"


def pace_select_main(argv: Sequence[str]) -> int:
    # Observed with a real build: pace_select's log lines look like
    # `2026-11-30 05:06:17,858 - root - INFO - ...` (a library configures logging before it), and
    # stdout starts with the maxvol warning.
    print(MAXVOL_WARNING, flush=True)
    for handler in logging.getLogger().handlers:
        handler.setFormatter(logging.Formatter(SELECT_LOG_FMT))
    args = select_parser().parse_args(argv)
    quiet_if(args.not_verbose)
    asi_name = args.active_set_inv_fname
    if asi_name is None:
        asi_name = args.potential_file.replace(".yaml", ".asi")
    if not os.path.isfile(asi_name):
        log.info(f"No ASI file {asi_name} found")
        asi_name = None
    for name in args.dataset:
        if name.endswith(".dat") or name.endswith(".dump"):
            raise ValueError("SIMULATOR: LAMMPS extrapolation dumps (.dat/.dump) are not simulated")
    df = load_pickles(args.dataset, pool=True)
    log.info(f"{len(df['ase_atoms'])} structures in candidate list")
    log.info(f"Loading B-basis configuration from {args.potential_file}")
    doc = load_potential(args.potential_file)
    extra = None
    if asi_name:
        log.info(f"Loading Active Set Inverted  from {asi_name}")
        extra = load_asi(asi_name, potential_dims(doc, full=False))
    else:
        log.info("No Active Set Inverted provided")
    selected = select_structures(df, doc, extra, args.max_structures, args.batch_size, args.memory_limit,
                                 args.gamma_tolerance, args.maxvol_refinement)
    save_selected(selected, args.selected_structures_filename)
    return 0


# =============================================================================================
# pace_yaml2yace and pace_info
# =============================================================================================


def yace_text(doc: Mapping[str, Any]) -> str:
    """A .yace-shaped (Ctilde basis) document: elements, E0, deltaSplineBins, embeddings, bonds, functions."""
    elements = potential_elements(doc)
    index = {e: i for i, e in enumerate(elements)}
    unary = {block_central(b): b for b in doc["species"] if len(b["speciesblock"].split()) == 1}
    lines = [SIM_COMMENT, "simulated: true", f"elements: [{', '.join(elements)}]",
             f"E0: [{', '.join('0' for _ in elements)}]",
             f"deltaSplineBins: {doc.get('global', {}).get('DeltaSplineBins', 0.001)}", "embeddings:"]
    for e in elements:
        b = unary.get(e, {})
        emb = {"ndensity": b.get("ndensityi", 1), "FS_parameters": b.get("parameters", [1, 1]),
               "npoti": b.get("npoti", "FinnisSinclair"), "rho_core_cutoff": b.get("rho_core_cut", 100000),
               "drho_core_cutoff": b.get("drho_core_cut", 250)}
        lines.append(f"  {index[e]}: " + yaml.safe_dump(emb, default_flow_style=True, width=10 ** 6).strip())
    lines.append("bonds:")
    for b in doc["species"]:
        pair = b["speciesblock"].split()
        pair = pair * 2 if len(pair) == 1 else pair
        bond = {"nradmax": b.get("nradmaxi", 0), "lmax": b.get("lmaxi", 0), "nradbasemax": b.get("nradbaseij", 1),
                "radbasename": b.get("radbase", "SBessel"), "radparameters": b.get("radparameters", []),
                "radcoefficients": b.get("radcoefficients", []), "prehc": b.get("core-repulsion", [0, 0])[0],
                "lambdahc": b.get("core-repulsion", [0, 0])[1], "rcut": b.get("rcutij", 5.0),
                "dcut": b.get("dcutij", 0.01)}
        lines.append(f"  [{index[pair[0]]}, {index[pair[1]]}]: "
                     + yaml.safe_dump(bond, default_flow_style=True, width=10 ** 6).strip())
    lines.append("functions:")
    for e in elements:
        lines.append(f"  {index[e]}:")
        for b in doc["species"]:
            if block_central(b) != e:
                continue
            for entry in b.get("nbody", []) or []:
                mus = [index[x] for x in str(entry["type"]).split()[1:]]
                func = {"mu0": index[e], "rank": len(mus), "ndensity": len(entry.get("c", [1])),
                        "num_ms_combs": 1, "mus": mus, "ns": entry["nr"], "ls": entry["nl"],
                        "ms_combs": [0] * len(mus), "ctildes": entry.get("c", [])}
                lines.append("    - " + yaml.safe_dump(func, default_flow_style=True, width=10 ** 6).strip())
    return "\n".join(lines) + "\n"


def yace_name(input_name: str, output: str) -> str:
    """Upstream: str.replace('yaml', 'yace') on the whole path (every occurrence)."""
    if output:
        return output
    if input_name.endswith("yaml"):
        return input_name.replace("yaml", "yace")
    if input_name.endswith("yml"):
        return input_name.replace("yml", "yace")
    return input_name + ".yace"


def pace_yaml2yace_main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(prog="pace_yaml2yace", description="Conversion utility from B-basis (.yaml "
                                     "file) to new-style Ctilde-basis (.yace file) (SIMULATOR)")
    parser.add_argument("input", help="input B-basis file name (.yaml)", type=str, nargs='+', default=[])
    parser.add_argument("-o", "--output", help="output Ctilde-basis file name (.yace)", type=str, default="")
    args = parser.parse_args(argv)
    for input_name in args.input:
        output_name = yace_name(input_name, args.output)
        print("Loading B-basis from '{}'".format(input_name), flush=True)
        doc = load_potential(input_name)
        print("Converting to Ctilde-basis")
        print("Saving Ctilde-basis to '{}'".format(output_name), flush=True)
        Path(output_name).write_text(yace_text(doc))
    return 0


def pace_info_main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(prog="pace_info", description="Utility to analyze PACE (.yaml) potential shape "
                                     "and other parameters (SIMULATOR)")
    parser.add_argument("potential_file", help="B-basis file name (.yaml)", type=str, nargs='+', default=[])
    args = parser.parse_args(argv)
    for name in args.potential_file:
        print_potential_info(load_potential(name))
    return 0


def print_potential_info(doc: Mapping[str, Any]) -> None:
    elements = potential_elements(doc)
    unary = {block_central(b): b for b in doc["species"] if len(b["speciesblock"].split()) == 1}
    print("SIMULATED potential (mlip-trainer's pacemaker simulator)" if doc.get("simulated") else "")
    print("Available element(s):", " ".join(elements))
    print("=" * 80)
    print(" " * 10, "Embeddings")
    print("=" * 80)
    print("Element\tndens\tFSfunc\t\t\tFS_params")
    print("=" * 80)
    for e in elements:
        b = unary.get(e, {})
        print("{:3}\t{}\t{}\t{}".format(e, b.get("ndensityi", 1), b.get("npoti", ""), b.get("parameters", [])))
    print("=" * 80)
    print("Total number of functions: ", total_functions(doc))
    print()
    print("Maximum cutoff: ", potential_cutoff(doc), "Ang")
    print("=" * 40)
    print(" " * 10, "Functions (per element)")
    print("=" * 40)
    for e, count in functions_per_element(doc).items():
        print(f"{e}\tnfuncs : {count}")
    print("=" * 40)


# =============================================================================================
# Entry point
# =============================================================================================


PROGRAMS: dict[str, Callable[[Sequence[str]], int]] = {
    "pacemaker": pacemaker_main,
    "pace_select": pace_select_main,
    "pace_activeset": pace_activeset_main,
    "pace_yaml2yace": pace_yaml2yace_main,
    "pace_info": pace_info_main,
}


def usage_error(message: str) -> NoReturn:
    print(f"usage: pacemaker_sim.py <{'|'.join(PROGRAMS)}> [args...]\n{message}", file=sys.stderr)
    sys.exit(2)


def main(argv: Sequence[str]) -> int:
    if not argv:
        usage_error("missing program name")
    program = os.path.basename(argv[0])
    if program not in PROGRAMS:
        usage_error(f"unknown program {program!r}")
    setup_console_logging()
    return PROGRAMS[program](list(argv[1:]))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
