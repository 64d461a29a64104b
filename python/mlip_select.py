"""Selection side of mlip-trainer: pool conversion, extrapolation grades, reading pace_select.

Usage: ``python mlip_select.py <command> [options]``. Like mlip_bridge.py, every command prints
exactly one JSON object as the last line of stdout; bad input prints
``{"error": {"kind": "bad_input", ...}}`` and exits 2; anything else exits 1 with a traceback.

Commands
  prepare   a pool (results .json/.jsonl or a dataset .pckl.gzip/.pkl.gz) -> ``pool.pkl.gz``
            (gzip pickle, RangeIndex = position in the pool, the name pace_select accepts), and
            optionally a small unlabelled sample for ``pacemaker --dry-run`` (generation 0).
  inspect   reads a pool as ``prepare`` does and reports ``{rows, elements, natomsTotal}``,
            writing nothing: the cheap check a generation makes before it trains.
  select    the selection in one process (the default path): pace_select's own selection
            function (pyace.aceselect.select_structures_maxvol, or the simulator's) run with the
            program's arguments and observed, then the fill up to n by the largest
            extrapolation grade from the projections and active set it made; writes the selected
            structures as a dataset pickle and reports how each was chosen. Exit 3 when this
            pyace has no aceselect: the caller then runs the pace_select program and `run`.
  run       beside the pace_select program: projects the pool while it works, waits for the
            caller's marker, then fills up to n as `select` does.
  replicate benchmark helper: a big pool from a labelled one, rattled copies.

The extrapolation grade (pacemaker's D-optimality measure) of an atom with B-projection b is
``gamma = max_j |(b A^-1)_j|`` where A is the active set of its element (``[nfuncs, nfuncs]``);
a structure's grade is the largest over its atoms. gamma <= 1 interpolates.

"Current active set" for the fill: in `select`, the one pace_select's selection ended with (the
``.asi`` rows and the pool rows its MaxVol kept; in batch mode the pass it returns). In `run`,
which cannot see inside the program, the potential's ``.asi`` extended by the atoms of the
structures pace_select chose, reduced to ``nfuncs`` rows per element by a greedy maximum-volume
choice (pivoted QR); when fewer rows than functions exist the pseudo-inverse is used.

Two backends compute B-projections: ``pyace`` (the real pacemaker installation's library, the
same ``compute_B_projections`` pace_select and ``PyACECalculator``'s gamma use) and
``simulator`` (the simulator's deterministic stand-in, sim/src, for tests without pacemaker).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import math
import sys
import time
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from mlip_bridge import (  # noqa: E402  (import after the path set-up above)
    BadInput,
    JsonArgumentParser,
    emit,
    Problem,
    dataset_elements,
    load_dataset,
    read_results,
    results_to_dataframe,
    save_dataset,
)

SIMULATOR_SRC = Path(__file__).resolve().parent.parent / "sim" / "src"
POOL_SUFFIXES = (".pckl.gzip", ".pkl.gz")
RESULT_SUFFIXES = (".json", ".jsonl")

# Element -> B-projections [n_atoms(element), nfuncs(element)] and the pool position of each row.
Projections = dict[str, np.ndarray]
Owners = dict[str, np.ndarray]
ProjectFn = Callable[[Sequence[Any]], tuple[Projections, Owners]]


# ---------------------------------------------------------------------------------------------
# Pool
# ---------------------------------------------------------------------------------------------


def read_pool(path: str) -> pd.DataFrame:
    """A results file or a dataset pickle -> DataFrame with an ``ase_atoms`` column and RangeIndex."""
    file = Path(path)
    if not file.is_file():
        raise BadInput(f"pool: file not found: {path}", [Problem(-1, "--pool", path, "no such file")])
    if file.name.endswith(RESULT_SUFFIXES):
        frame = results_to_dataframe(read_results([path]))
    elif file.name.endswith(POOL_SUFFIXES):
        try:
            frame = load_dataset(file)
        except Exception as exc:  # noqa: BLE001  (any unreadable pickle is the caller's input)
            raise BadInput(f"pool: {path} is not a gzip-pickled pandas DataFrame: {exc}",
                           [Problem(-1, "--pool", path, str(exc))]) from None
        if not isinstance(frame, pd.DataFrame) or "ase_atoms" not in frame.columns:
            raise BadInput(f"pool: {path} has no ase_atoms column",
                           [Problem(-1, "--pool", path, "expected a pacemaker dataset with an ase_atoms column")])
    else:
        raise BadInput(
            f"pool: {path} is neither a results file (.json, .jsonl) nor a dataset pickle (.pckl.gzip, .pkl.gz)",
            [Problem(-1, "--pool", path, "unsupported file type")],
        )
    if len(frame) == 0:
        raise BadInput(f"pool: {path} holds no structures", [Problem(-1, "--pool", path, "empty pool")])
    return frame.reset_index(drop=True)


def dry_run_sample(frame: pd.DataFrame, size: int) -> pd.DataFrame:
    """The first structures with zero energies and forces: enough for ``pacemaker --dry-run`` to
    build the unfitted potential shape, which does not depend on the labels."""
    atoms = [a.copy() for a in frame["ase_atoms"].iloc[:size]]
    return pd.DataFrame({
        "name": [f"dry_run_{i}" for i in range(len(atoms))],
        "ase_atoms": atoms,
        "energy": [0.0] * len(atoms),
        "forces": [np.zeros((len(a), 3)) for a in atoms],
    })


def pool_summary(frame: pd.DataFrame) -> dict[str, Any]:
    return {
        "rows": len(frame),
        "elements": dataset_elements(frame),
        "natomsTotal": int(sum(len(a) for a in frame["ase_atoms"])),
    }


def command_prepare(pool: str, out: str, sample: str | None, sample_size: int) -> dict[str, Any]:
    frame = read_pool(pool)
    digest = save_dataset(frame, out)
    if sample is not None:
        save_dataset(dry_run_sample(frame, sample_size), sample)
    return {"path": out, **pool_summary(frame), "sha256": digest}


def command_inspect(pool: str) -> dict[str, Any]:
    """What a pool holds, read the way the selection reads it (missing, unreadable or empty pools
    are bad input); nothing is written."""
    return {"path": pool, **pool_summary(read_pool(pool))}


# ---------------------------------------------------------------------------------------------
# B-projections: pyace (real) or the simulator
# ---------------------------------------------------------------------------------------------


def pyace_projector(potential: str) -> tuple[ProjectFn, dict[str, int]]:
    from pyace import ACEBBasisSet, BBasisConfiguration
    from pyace.activelearning import compute_B_projections, compute_number_of_functions

    bbasis = ACEBBasisSet(BBasisConfiguration(potential))
    names = list(bbasis.elements_name)
    nfuncs = dict(zip(names, compute_number_of_functions(bbasis)))

    def project(atoms_list: Sequence[Any]) -> tuple[Projections, Owners]:
        proj, owners = compute_B_projections(bbasis, list(atoms_list), return_structure_ind_dict=True)
        return ({names[st]: np.asarray(m) for st, m in proj.items()},
                {names[st]: np.asarray(o, dtype=np.int64) for st, o in owners.items()})

    return project, nfuncs


def simulator_module() -> Any:
    """The simulator's descriptors (sim/src/pacemaker_sim/descriptors.py). sim/src goes first on
    sys.path, so `import pyace` then finds the simulator's stand-in pyace too."""
    if str(SIMULATOR_SRC) not in sys.path:
        sys.path.insert(0, str(SIMULATOR_SRC))
    return importlib.import_module("pacemaker_sim.descriptors")


def simulator_projector(potential: str) -> tuple[ProjectFn, dict[str, int]]:
    return simulator_module().selection_projector(potential)


def projector(backend: str, potential: str) -> tuple[ProjectFn, dict[str, int]]:
    return pyace_projector(potential) if backend == "pyace" else simulator_projector(potential)


def check_elements(frame: pd.DataFrame, nfuncs: dict[str, int], potential: str, pool: str = "the pool") -> None:
    missing = sorted(set(dataset_elements(frame)) - set(nfuncs))
    if missing:
        raise BadInput(
            f"pool: {pool} has element(s) {', '.join(missing)} that the potential lacks (it has "
            f"{', '.join(sorted(nfuncs))}); select with a potential that covers them",
            [Problem(-1, "--pool", ",".join(missing), "elements not in the potential")],
        )


# ---------------------------------------------------------------------------------------------
# Active set and gamma
# ---------------------------------------------------------------------------------------------


def maxvol_rows(matrix: np.ndarray, count: int) -> np.ndarray:
    """Greedy maximum-volume choice of `count` rows (column-pivoted QR of the transpose)."""
    from scipy.linalg import qr

    _, _, pivots = qr(matrix.T, mode="economic", pivoting=True)
    return np.sort(pivots[:count])


def active_set_inverses(nfuncs: dict[str, int], asi: str | None, chosen: Projections) -> dict[str, np.ndarray | None]:
    """Per element, the (pseudo-)inverse of the current active set, ``[nfuncs, rows]``; None when
    the element has neither an ASI nor chosen atoms."""
    stored: dict[str, np.ndarray] = {}
    if asi is not None:
        data = np.load(asi)
        for element in data.keys():
            inverse = np.asarray(data[element], dtype=np.float64)
            if element in nfuncs and inverse.shape[0] != nfuncs[element]:
                raise BadInput(f"active set {asi}: element {element} has shape {inverse.shape} but the potential has "
                               f"{nfuncs[element]} functions; recompute it with pace_activeset for this potential",
                               [Problem(-1, "--asi", asi, "does not match the potential")])
            stored[element] = np.linalg.pinv(inverse)  # the active set rows themselves
    inverses: dict[str, np.ndarray | None] = {}
    for element, n in nfuncs.items():
        parts = [m for m in (stored.get(element), chosen.get(element)) if m is not None and len(m)]
        if not parts:
            inverses[element] = None
            continue
        rows = np.vstack(parts)
        if len(rows) > n:
            rows = rows[maxvol_rows(rows, n)]
        inverses[element] = np.linalg.pinv(rows)
    return inverses


def structure_gamma(proj: Projections, owners: Owners, inverses: dict[str, np.ndarray | None],
                    n_structures: int, offset: int = 0) -> np.ndarray:
    """Largest per-atom gamma of every structure (index - offset); inf where an element has no active set."""
    gamma = np.zeros(n_structures)
    for element, matrix in proj.items():
        if len(matrix) == 0:
            continue
        inverse = inverses.get(element)
        owner = np.asarray(owners[element]) - offset
        if inverse is None:
            np.maximum.at(gamma, owner, np.inf)
            continue
        for start in range(0, len(matrix), 65536):  # bounded temporary: 64k atoms at a time
            block = np.abs(np.asarray(matrix[start:start + 65536]) @ inverse).max(axis=1)
            np.maximum.at(gamma, owner[start:start + 65536], block)
    return gamma


def pool_gamma_by_batches(atoms_list: Sequence[Any], project: ProjectFn, inverses: dict[str, np.ndarray | None],
                          batch_size: int) -> np.ndarray:
    gamma = np.zeros(len(atoms_list))
    for start in range(0, len(atoms_list), batch_size):
        batch = atoms_list[start:start + batch_size]
        proj, owners = project(batch)
        gamma[start:start + len(batch)] = structure_gamma(proj, owners, inverses, len(batch))
    return gamma


def _finite_or_none(value: float) -> float | None:
    return float(value) if math.isfinite(value) else None


def gamma_stats(values: np.ndarray) -> dict[str, Any] | None:
    finite = values[np.isfinite(values)]
    if len(values) == 0:
        return None
    return {
        "min": _finite_or_none(float(np.min(values))),
        "max": _finite_or_none(float(np.max(values))),
        "mean": float(np.mean(finite)) if len(finite) else None,
        "median": float(np.median(finite)) if len(finite) else None,
        "aboveOne": int(np.sum(values > 1.0)),
        "noActiveSet": int(np.sum(~np.isfinite(values))),
    }


def finish_selection(frame: pd.DataFrame, selected: str | None, project: ProjectFn, nfuncs: dict[str, int],
                     asi: str | None, n: int, out: str, batch_size: int,
                     pool_gamma_of: Callable[[dict[str, np.ndarray | None]], np.ndarray] | None) -> dict[str, Any]:
    """pace_select's choice (its -o file `selected`, or nothing), filled up to n by the largest gamma.

    `pool_gamma_of(inverses)` computes the pool's grades from projections already made; without
    it they are computed here, batch by batch."""
    if n <= 0:
        raise BadInput(f"n must be a positive integer (got {n})", [Problem(-1, "-n", str(n), "expected >= 1")])
    # No file: pace_select could not choose (e.g. under-determined); everything is ranked by gamma.
    picked = pd.read_pickle(selected, compression="infer") if selected is not None else pd.DataFrame()
    by_pace = [int(i) for i in picked.index]
    return fill_selection(frame, by_pace, None, pool_gamma_of, project, nfuncs, asi, n, out, batch_size, selected)


def fill_selection(frame: pd.DataFrame, by_pace: list[int] | None, inverses: dict[str, np.ndarray | None] | None,
                   pool_gamma_of: Callable[[dict[str, np.ndarray | None]], np.ndarray] | None, project: ProjectFn,
                   nfuncs: dict[str, int], asi: str | None, n: int, out: str, batch_size: int,
                   source: str | None = None) -> dict[str, Any]:
    """pace_select's choice `by_pace` (pool positions; None or [] when it chose nothing), filled up
    to n by the largest extrapolation grade against `inverses` (the active set pace_select ended
    with) or, when those are unknown, against the .asi extended by the chosen structures' atoms."""
    started = time.monotonic()
    n_pool = len(frame)
    by_pace = list(by_pace or [])
    bad = [i for i in by_pace if not 0 <= i < n_pool]
    if bad:
        raise ValueError(f"{source or 'pace_select'}: pace_select returned indices {bad[:5]} outside the pool of {n_pool}")
    returned = len(by_pace)
    by_pace = list(dict.fromkeys(by_pace))[:n]
    atoms_list = list(frame["ase_atoms"])
    chosen: tuple[Projections, Owners] | None = None
    if inverses is None:
        chosen = project([atoms_list[i] for i in by_pace]) if by_pace else ({}, {})
        inverses = active_set_inverses(nfuncs, asi, chosen[0])

    fill: list[int] = []
    pool_gamma: np.ndarray | None = None
    if len(by_pace) < min(n, n_pool):
        if pool_gamma_of is not None:
            pool_gamma = pool_gamma_of(inverses)
        else:
            pool_gamma = pool_gamma_by_batches(atoms_list, project, inverses, batch_size)
        taken = set(by_pace)
        # Largest gamma first; ties (e.g. equal grades) by pool position, so the choice is stable.
        order = sorted((i for i in range(n_pool) if i not in taken), key=lambda i: (-pool_gamma[i], i))
        fill = order[: min(n, n_pool) - len(by_pace)]

    indices = by_pace + fill
    if pool_gamma is None and pool_gamma_of is not None:
        pool_gamma = pool_gamma_of(inverses)  # projections already at hand: no new work
    if pool_gamma is not None:
        gamma = pool_gamma[indices]
    else:
        if chosen is None:
            chosen = project([atoms_list[i] for i in by_pace]) if by_pace else ({}, {})
        gamma = structure_gamma(chosen[0], chosen[1], inverses, len(by_pace))
    chosen_by = ["pace_select"] * len(by_pace) + ["gamma"] * len(fill)
    digest = save_dataset(frame.iloc[indices], out)
    return {
        "indices": indices,
        "chosenBy": chosen_by,
        "gammaMax": [_finite_or_none(g) for g in gamma],
        "counts": {"pace_select": len(by_pace), "gamma": len(fill)},
        "paceSelectReturned": returned,
        "gamma": gamma_stats(np.asarray(gamma, dtype=np.float64)),
        "poolGamma": gamma_stats(pool_gamma) if pool_gamma is not None else None,
        "poolSize": n_pool,
        "out": out,
        "sha256": digest,
        "seconds": time.monotonic() - started,
    }


def wait_for(marker: Path) -> dict[str, Any] | None:
    """The marker's JSON once the caller has written it (atomically), else None."""
    if not marker.exists():
        return None
    return json.loads(marker.read_text())


def command_run(pool: str, selected: str, done: str, potential: str, asi: str | None, n: int, out: str,
                backend: str, batch_size: int, memory_limit: int | None = None) -> dict[str, Any]:
    """Everything after pace_select in one process that runs beside it: load and check the pool,
    project it batch by batch while pace_select works (stopping early once the caller's marker
    says pace_select found enough), then wait for the marker and finish. One interpreter start,
    one pool load, and the projections overlap pace_select's own instead of following them."""
    frame = read_pool(pool)
    project, nfuncs = projector(backend, potential)
    check_elements(frame, nfuncs, potential, pool)
    marker = Path(done)
    wanted = min(n, len(frame))
    atoms_list = list(frame["ase_atoms"])
    parts: dict[str, list[np.ndarray]] = {e: [] for e in nfuncs}
    owner_parts: dict[str, list[np.ndarray]] = {e: [] for e in nfuncs}
    # Keep the pool's projections only while they fit in a quarter of the memory limit (float64,
    # [atoms, functions] per element); above it the fill recomputes them batch by batch instead.
    counts: dict[str, int] = {e: 0 for e in nfuncs}
    for atoms in atoms_list:
        for symbol in atoms.get_chemical_symbols():
            counts[symbol] += 1
    needed = sum(counts[e] * nfuncs[e] * 8 for e in nfuncs)
    complete = memory_limit is None or needed <= memory_limit // 4
    for start in range(0, len(atoms_list) if complete else 0, batch_size):
        status = wait_for(marker)
        if status is not None and status.get("ok") and int(status.get("returned", 0)) >= wanted:
            complete = False  # pace_select alone supplies n: the pool's grades are not needed
            break
        proj, owners = project(atoms_list[start:start + batch_size])
        for element, matrix in proj.items():
            parts[element].append(matrix)
            owner_parts[element].append(owners[element] + start)
    while (status := wait_for(marker)) is None:
        time.sleep(0.05)
    of = None
    if complete:
        proj_all = {e: np.vstack(v) if v else np.zeros((0, nfuncs[e])) for e, v in parts.items()}
        own_all = {e: np.hstack(v) if v else np.zeros(0, dtype=np.int64) for e, v in owner_parts.items()}
        del parts, owner_parts
        of = lambda inverses: structure_gamma(proj_all, own_all, inverses, len(frame))  # noqa: E731
    chosen = selected if status.get("ok") and Path(selected).exists() else None
    return finish_selection(frame, chosen, project, nfuncs, asi, n, out, batch_size, of)


# ---------------------------------------------------------------------------------------------
# In-process selection: pace_select's own function, observed
# ---------------------------------------------------------------------------------------------

UNDER_DETERMINED = "system is under-determined"
IN_PROCESS_UNAVAILABLE = 3  # exit status of `select` when the caller must run the pace_select program


class InProcessUnavailable(Exception):
    """This pyace has no ``pyace.aceselect.select_structures_maxvol`` (pace_select before Nov 2023
    kept its code in the program): the caller runs the pace_select program instead."""


class BatchGrades:
    """The grades of every whole-pool pass pace_select's batch mode makes (its
    compute_extrapolation_grade_by_batches), per structure and species, computed from each batch's
    projections while pace_select holds them. Per species it keeps the pass whose largest grade is
    smallest, first on ties: the rule by which pace_select picks the active set it returns. So in
    batch mode too the fill needs no pass of its own over the pool."""

    def __init__(self, n_pool: int) -> None:
        self.n_pool = n_pool
        self.inverses: dict[Any, np.ndarray] | None = None
        self.current: dict[Any, np.ndarray] = {}
        self.best: dict[Any, tuple[float, np.ndarray, np.ndarray]] = {}
        self.passes = 0

    def begin(self, inverses: Mapping[Any, np.ndarray]) -> None:
        self.inverses = {k: np.asarray(v) for k, v in inverses.items()}
        self.current = {}

    def batch(self, projections: Mapping[Any, np.ndarray], owners: Mapping[Any, np.ndarray]) -> None:
        if self.inverses is None:
            return
        for key, matrix in projections.items():
            inverse = self.inverses.get(key)
            if inverse is None or len(matrix) == 0:
                continue
            grades = np.abs(np.asarray(matrix) @ inverse).max(axis=1)
            into = self.current.setdefault(key, np.zeros(self.n_pool))
            np.maximum.at(into, np.asarray(owners[key]).astype(np.int64), grades)

    def end(self) -> None:
        assert self.inverses is not None
        for key, per_structure in self.current.items():
            top = float(per_structure.max())
            if key not in self.best or top < self.best[key][0]:
                self.best[key] = (top, per_structure, self.inverses[key])
        self.inverses = None
        self.current = {}
        self.passes += 1

    def structure_gamma(self) -> np.ndarray | None:
        if not self.best:
            return None
        out = np.zeros(self.n_pool)
        for _, per_structure, _ in self.best.values():
            np.maximum(out, per_structure, out=out)
        return out

    def best_inverses(self) -> dict[Any, np.ndarray]:
        """The inverted active set of the pass kept per species (the one pace_select returns)."""
        return {key: inverse for key, (_, _, inverse) in self.best.items()}


def observed_maxvol_selection(module: Any, call: Callable[[], pd.DataFrame],
                              batch_grades: BatchGrades | None = None) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Runs `call` (pace_select's selection function in `module`) while watching the functions it
    calls by name: the pool's B-projections it computed (single-shot mode) and the active set it
    ended with. The choice is exactly pace_select's, because it is pace_select's code; what is
    observed lets the gamma fill reuse its work instead of projecting the pool again."""
    seen: dict[str, Any] = {"batch_grades": batch_grades}
    originals = {name: getattr(module, name) for name in
                 ("compute_B_projections", "compute_active_set", "compute_active_set_by_batches")}

    def projections(*args: Any, **kwargs: Any) -> Any:
        result = originals["compute_B_projections"](*args, **kwargs)
        if isinstance(result, tuple) and len(result) >= 2:
            # Shallow copies: compute_active_set replaces the dict's entries (the pool stacked
            # with the .asi rows); the arrays themselves are the pool's.
            seen["projections"] = (dict(result[0]), dict(result[1]))
        return result

    def active_set(*args: Any, **kwargs: Any) -> Any:
        result = originals["compute_active_set"](*args, **kwargs)
        seen["active_set"] = result[0] if isinstance(result, tuple) else result
        return result

    def active_set_by_batches(*args: Any, **kwargs: Any) -> Any:
        result = originals["compute_active_set_by_batches"](*args, **kwargs)
        seen["active_set"] = result[1]
        seen["batched"] = True
        return result

    restore: Callable[[], None] = lambda: None  # noqa: E731
    try:
        setattr(module, "compute_B_projections", projections)
        setattr(module, "compute_active_set", active_set)
        setattr(module, "compute_active_set_by_batches", active_set_by_batches)
        restore = watch_batch_grades(seen)
        return call(), seen
    finally:
        for name, fn in originals.items():
            setattr(module, name, fn)
        restore()


def watch_batch_grades(seen: dict[str, Any]) -> Callable[[], None]:
    """In pyace.activelearning (where batch mode's functions look their helpers up): each grade
    pass over the pool, and the projections of its batches, go to a BatchGrades in `seen`."""
    try:
        from pyace import activelearning
    except ImportError:
        return lambda: None
    names = ("compute_extrapolation_grade_by_batches", "compute_B_projections")
    if not all(hasattr(activelearning, name) for name in names):
        return lambda: None
    originals = {name: getattr(activelearning, name) for name in names}

    def grade_pass(*args: Any, **kwargs: Any) -> Any:
        grades: BatchGrades | None = seen.get("batch_grades")
        inverses = kwargs.get("A_active_set_inv_dict", args[2] if len(args) > 2 else None)
        if grades is not None and inverses is not None:
            grades.begin(inverses)
        try:
            return originals["compute_extrapolation_grade_by_batches"](*args, **kwargs)
        finally:
            if grades is not None and grades.inverses is not None:
                grades.end()

    def projections(*args: Any, **kwargs: Any) -> Any:
        result = originals["compute_B_projections"](*args, **kwargs)
        grades: BatchGrades | None = seen.get("batch_grades")
        if grades is not None and isinstance(result, tuple) and len(result) >= 2:
            grades.batch(result[0], result[1])
        return result

    for name, fn in (("compute_extrapolation_grade_by_batches", grade_pass), ("compute_B_projections", projections)):
        setattr(activelearning, name, fn)

    def restore() -> None:
        for name, fn in originals.items():
            setattr(activelearning, name, fn)

    return restore


def inverses_from_active_set(active: dict[Any, np.ndarray], names: Sequence[str],
                             nfuncs: dict[str, int]) -> dict[str, np.ndarray | None]:
    """pace_select's final active set (keyed by species type) -> pseudo-inverse per element name."""
    inverses: dict[str, np.ndarray | None] = {e: None for e in nfuncs}
    for key, matrix in active.items():
        element = names[key] if isinstance(key, (int, np.integer)) else str(key)
        m = np.asarray(matrix, dtype=np.float64)
        if m.ndim == 2 and len(m):
            inverses[element] = np.linalg.pinv(m)
    return inverses


def in_process_available() -> bool:
    try:
        from pyace import aceselect
    except ImportError:
        return False
    return all(hasattr(aceselect, name) for name in ("select_structures_maxvol", "compute_B_projections",
                                                     "compute_active_set", "compute_active_set_by_batches"))


def pyace_in_process(frame: pd.DataFrame, potential: str, asi: str | None, n: int, memory_limit: str,
                     nfuncs: dict[str, int]) -> tuple[list[int] | None, dict[str, np.ndarray | None] | None,
                                                      Callable[[dict[str, np.ndarray | None]], np.ndarray] | None,
                                                      bool]:
    """pace_select's selection run by its own function (pyace.aceselect.select_structures_maxvol,
    which is all the pace_select program does between reading its arguments and writing -o).

    Returns (indices chosen by pace_select or None when under-determined, the inverses of the
    active set it ended with, grades of the pool from its projections when it kept them, batched)."""
    from pyace import aceselect
    from pyace import BBasisConfiguration
    from pyace.activelearning import compute_A_active_inverse, load_active_inverse_set

    bconf = BBasisConfiguration(potential)
    names = list(nfuncs)  # the basis's element order (pyace_projector built nfuncs from it)
    extra = compute_A_active_inverse(load_active_inverse_set(asi)) if asi is not None else None
    seen_grades = BatchGrades(len(frame))
    try:
        picked, seen = observed_maxvol_selection(aceselect, lambda: aceselect.select_structures_maxvol(
            frame, bconf, extra, "auto", 1.01, n, 300, 2, memory_limit, True), seen_grades)
    except ValueError as exc:
        if UNDER_DETERMINED not in str(exc):
            raise
        print(f"pace_select (in process): {exc}", file=sys.stderr, flush=True)
        return None, None, None, False
    indices = [int(i) for i in picked.index]
    inverses = inverses_from_active_set(seen.get("active_set") or {}, names, nfuncs)
    grades = None
    if "projections" in seen and not seen.get("batched"):
        proj_by_type, owners_by_type = seen["projections"]
        proj = {names[k]: np.asarray(v) for k, v in proj_by_type.items()}
        own = {names[k]: np.asarray(v, dtype=np.int64) for k, v in owners_by_type.items()}
        grades = lambda inv: structure_gamma(proj, own, inv, len(frame))  # noqa: E731
    elif seen.get("batched") and (batched_gamma := seen_grades.structure_gamma()) is not None:
        # The grades of the active set pace_select returned (its best pass per species, whose
        # inverses equal those of the active set observed above).
        grades = lambda _inv: batched_gamma  # noqa: E731
    return indices, inverses, grades, bool(seen.get("batched"))


def simulator_in_process(frame: pd.DataFrame, potential: str, asi: str | None, n: int, memory_limit: str,
                         nfuncs: dict[str, int]) -> tuple[list[int] | None, dict[str, np.ndarray | None] | None,
                                                          Callable[[dict[str, np.ndarray | None]], np.ndarray] | None,
                                                          bool]:
    """The simulator's pace_select selection, observed. The simulator's pace_select is built on its
    stand-in pyace (sim/src/pyace: the same module layout, names and call graph as the real one),
    so this is `pyace_in_process` run against that stand-in."""
    simulator_module()  # sim/src first on sys.path: `import pyace` finds the stand-in
    return pyace_in_process(frame, potential, asi, n, memory_limit, nfuncs)


def command_select(pool: str, potential: str, asi: str | None, n: int, out: str, backend: str, batch_size: int,
                   memory_limit: str) -> dict[str, Any]:
    """The whole selection in one process: pace_select's choice by its own code, then the fill by
    gamma against the active set pace_select ended with, from the projections it already made."""
    if n <= 0:
        raise BadInput(f"n must be a positive integer (got {n})", [Problem(-1, "-n", str(n), "expected >= 1")])
    started = time.monotonic()
    if backend == "pyace" and not in_process_available():
        raise InProcessUnavailable("this pacemaker has no pyace.aceselect.select_structures_maxvol")
    frame = read_pool(pool)
    project, nfuncs = projector(backend, potential)
    check_elements(frame, nfuncs, potential, pool)
    run_selection = pyace_in_process if backend == "pyace" else simulator_in_process
    indices, inverses, grades, batched = run_selection(frame, potential, asi, n, memory_limit, nfuncs)
    select_seconds = time.monotonic() - started
    result = fill_selection(frame, indices, inverses, grades, project, nfuncs, asi, n, out, batch_size)
    result.update({"mode": "in-process", "batched": batched, "underDetermined": indices is None,
                   "paceSelectSeconds": select_seconds, "seconds": time.monotonic() - started})
    return result


def command_replicate(pool: str, copies: int, rattle: float, seed: int, out: str) -> dict[str, Any]:
    """Benchmark helper: a big pool from a labelled one, each structure repeated `copies` times with
    its positions rattled by `rattle` Å (labels are carried, not recomputed: selection ignores them)."""
    frame = read_pool(pool)
    rng = np.random.default_rng(seed)
    rows = []
    for copy in range(copies):
        part = frame.copy()
        atoms = [a.copy() for a in part["ase_atoms"]]
        if copy > 0:
            for a in atoms:
                a.positions += rng.normal(0.0, rattle, size=a.positions.shape)
        part["ase_atoms"] = atoms
        part["name"] = [f"{name}_copy{copy}" for name in part["name"]]
        rows.append(part)
    big = pd.concat(rows, ignore_index=True)
    return {"out": out, "rows": len(big), "sha256": save_dataset(big, out)}


# ---------------------------------------------------------------------------------------------
# CLI
# ---------------------------------------------------------------------------------------------


def _add_fill_arguments(p: argparse.ArgumentParser) -> None:
    """What `select` and `run` both need to fill the selection up to n by gamma."""
    p.add_argument("--potential", required=True)
    p.add_argument("--asi")
    p.add_argument("-n", type=int, required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--backend", choices=("pyace", "simulator"), required=True)
    p.add_argument("--batch-size", type=int, default=500)


def build_parser() -> argparse.ArgumentParser:
    parser = JsonArgumentParser(prog="mlip_select", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True, parser_class=JsonArgumentParser)

    prepare = commands.add_parser("prepare", help="pool file -> pool.pkl.gz")
    prepare.add_argument("--pool", required=True)
    prepare.add_argument("--out", required=True, help="output .pkl.gz")
    prepare.add_argument("--sample", help="also write a dry-run sample here")
    prepare.add_argument("--sample-size", type=int, default=10)

    inspect = commands.add_parser("inspect", help="a pool's structure count, elements and atom count (writes nothing)")
    inspect.add_argument("--pool", required=True)

    replicate = commands.add_parser("replicate", help="benchmark helper: pool x copies, rattled")
    replicate.add_argument("--pool", required=True)
    replicate.add_argument("--copies", type=int, required=True)
    replicate.add_argument("--rattle", type=float, default=0.02)
    replicate.add_argument("--seed", type=int, default=0)
    replicate.add_argument("--out", required=True)

    runner = commands.add_parser("run", help="beside pace_select: project the pool, wait for its marker, finish")
    runner.add_argument("--pool", required=True, help="the pool pace_select reads (.pckl.gzip/.pkl.gz)")
    runner.add_argument("--selected", required=True, help="pace_select's -o file")
    runner.add_argument("--done", required=True, help='marker the caller writes when pace_select ended: {"ok", "returned"}')
    _add_fill_arguments(runner)
    runner.add_argument("--memory-limit-bytes", type=int, help="keep projections only below a quarter of this")

    select = commands.add_parser("select", help="in one process: pace_select's own selection function, then the fill")
    select.add_argument("--pool", required=True, help="the pool (.pckl.gzip/.pkl.gz, or a results file)")
    _add_fill_arguments(select)
    select.add_argument("--memory-limit", default="auto", help="pace_select's -mem (e.g. 8GB)")
    return parser


def run(argv: Sequence[str]) -> dict[str, Any]:
    args = build_parser().parse_args(argv)
    if getattr(args, "batch_size", 1) < 1:
        raise BadInput(f"--batch-size must be >= 1 (got {args.batch_size})")
    if args.command == "prepare":
        return command_prepare(args.pool, args.out, args.sample, args.sample_size)
    if args.command == "inspect":
        return command_inspect(args.pool)
    if args.command == "replicate":
        return command_replicate(args.pool, args.copies, args.rattle, args.seed, args.out)
    if args.command == "run":
        return command_run(args.pool, args.selected, args.done, args.potential, args.asi, args.n, args.out,
                           args.backend, args.batch_size, args.memory_limit_bytes)
    if args.command == "select":
        return command_select(args.pool, args.potential, args.asi, args.n, args.out, args.backend, args.batch_size,
                              args.memory_limit)
    raise AssertionError(f"unhandled command {args.command}")


def main(argv: Sequence[str] | None = None) -> int:
    try:
        result = run(sys.argv[1:] if argv is None else argv)
    except BadInput as exc:
        emit(exc.to_json())
        return 2
    except InProcessUnavailable as exc:
        emit({"unavailable": str(exc)})
        return IN_PROCESS_UNAVAILABLE
    emit(result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
