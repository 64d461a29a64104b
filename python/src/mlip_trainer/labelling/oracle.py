"""The oracle: labels structures (a selection's pickle, or chosen positions of a pool) with a named
calculator and writes them as CalculationResult JSONL, the format every results reader takes.

Labels are what an active-learning loop pays for, so labelling is idempotent and durable:
- one labeller at a time per output (an fcntl lock: a retried attempt waits for a run its killed
  worker left behind instead of labelling the same structures beside it);
- a structure whose structure hash (species, positions, cell, pbc) is already in the output, or
  in any result file of the campaign's other generations (``ledger``), is skipped, so a retry,
  the same selection sent twice, or a structure selected again later, is never labelled again;
- the output is rewritten whole after every structure (temporary file, fsync, rename), so a kill
  loses at most the structure being computed, and never leaves a torn or duplicated record;
- every calculation is appended to an audit log (one JSON line each: when, which, how long).

With ``pool`` and ``remaining``, the pool without the structures just chosen is written to
``remaining`` (atomically, and the same for the same inputs): what the next selection chooses
from, so a closed loop never selects a labelled structure again.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mlip_trainer.atomic_io import load_dataset, save_dataset, write_atomically
from mlip_trainer.errors import BadInput, Problem
from mlip_trainer.frames import structure_of
from mlip_trainer.labelling.calculators import Calculator, calculator_named
from mlip_trainer.locking import dataset_lock
from mlip_trainer.selection.pool import POOL_SUFFIXES, read_pool
from mlip_trainer.store.hashing import atoms_hash, structure_hash

#: One structure to label: its position in the pool, the atoms, and its name there (if any).
Candidate = tuple[int, Any, "str | None"]


def read_candidates(path: str) -> list[Candidate]:
    """The structures of a pool file with their positions: a dataset pickle keeps its index (a
    selection's pickle is indexed by pool position), a results file counts its records from 0."""
    file = Path(path)
    if file.name.endswith(POOL_SUFFIXES) and file.is_file():
        try:
            frame = load_dataset(file)
        except Exception as exc:
            raise BadInput(
                f"structures: {path} is not a gzip-pickled pandas DataFrame: {exc}",
                [Problem(-1, "--structures", path, str(exc))],
            ) from None
        if not isinstance(frame, pd.DataFrame) or "ase_atoms" not in frame.columns:
            raise BadInput(
                f"structures: {path} has no ase_atoms column",
                [Problem(-1, "--structures", path, "expected a dataset with an ase_atoms column")],
            )
        integer_index = all(isinstance(i, (int, np.integer)) for i in frame.index)
        positions = [int(i) for i in frame.index] if integer_index else list(range(len(frame)))
    else:
        frame = read_pool(path)
        positions = list(range(len(frame)))
    names = list(frame["name"]) if "name" in frame.columns else [None] * len(frame)
    return [
        (position, atoms, name if isinstance(name, str) and name else None)
        for position, atoms, name in zip(positions, frame["ase_atoms"], names)
    ]


def _choose(candidates: list[Candidate], indices: Sequence[int] | None) -> list[Candidate]:
    """The candidates at `indices` (positions in the pool), in that order; all when None."""
    if indices is None:
        return candidates
    by_position = {c[0]: c for c in candidates}
    missing = [i for i in indices if i not in by_position]
    if missing:
        raise BadInput(
            f"indices: {len(missing)} position(s) not in the structures file, e.g. {missing[:5]}",
            [Problem(-1, "--indices", str(missing[:5]), f"positions run from {min(by_position, default=0)}")],
        )
    return [by_position[i] for i in indices]


def _check_elements(candidates: list[Candidate], calculator: Calculator) -> None:
    problems = []
    for position, atoms, _ in candidates:
        outside = sorted(set(atoms.get_chemical_symbols()) - set(calculator.elements))
        if outside:
            problems.append(
                Problem(
                    position,
                    "structure.symbols",
                    ",".join(outside),
                    f"calculator {calculator.name} covers {', '.join(calculator.elements)} only",
                )
            )
    if problems:
        raise BadInput(
            f"structures: {len(problems)} structure(s) have elements calculator {calculator.name} cannot label",
            problems,
        )


def _existing(out: Path) -> list[dict[str, Any]]:
    """The records an earlier attempt wrote (whole: every write replaced the file atomically)."""
    if not out.exists():
        return []
    records = []
    for number, line in enumerate(out.read_text(encoding="utf-8").splitlines(), start=1):
        if line.strip():
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError as exc:
                raise BadInput(
                    f"out: {out} line {number} is not JSON ({exc}); it was not written by this labeller",
                    [Problem(-1, "--out", str(out), f"line {number}: {exc}")],
                ) from None
    return records


def _record_structure_hash(record: dict[str, Any]) -> str:
    s = record["structure"]
    return structure_hash(s["symbols"], s["positions"], s["cell"], s["pbc"])


def _ledger_hashes(ledger: Path, out: Path) -> set[str]:
    """Structure hashes of every result file (``generation_*/*.json[l]``) under `ledger` but `out`."""
    hashes: set[str] = set()
    if not ledger.is_dir():
        return hashes
    for file in sorted(ledger.glob("generation_*/*.json*")):
        if file.resolve() == out.resolve() or not file.name.endswith((".json", ".jsonl")):
            continue
        text = file.read_text(encoding="utf-8").strip()
        if not text:
            continue
        try:
            records = (
                json.loads(text)
                if file.name.endswith(".json")
                else [json.loads(x) for x in text.splitlines() if x.strip()]
            )
            hashes.update(_record_structure_hash(r) for r in (records if isinstance(records, list) else [records]))
        except (json.JSONDecodeError, KeyError, TypeError):
            # Not CalculationResults (another stage's file): the dataset update validates it, not us.
            continue
    return hashes


def write_remaining_pool(pool: str, chosen: list[Candidate], remaining: str) -> dict[str, Any]:
    """The pool without the chosen structures (matched by structure hash), written to `remaining`
    with the pool's own columns; the same inputs always give the same bytes."""
    file = Path(pool)
    frame = load_dataset(file) if file.name.endswith(POOL_SUFFIXES) else read_pool(pool)
    taken = {atoms_hash(atoms) for _, atoms, _ in chosen}
    keep = [atoms_hash(atoms) not in taken for atoms in frame["ase_atoms"]]
    rest = frame[keep].reset_index(drop=True)
    sha = save_dataset(rest, remaining)
    return {"path": remaining, "rows": len(rest), "removed": len(frame) - len(rest), "sha256": sha}


def label_one(atoms: Any, calc: Any, name: str) -> dict[str, Any]:
    """A CalculationResult of `atoms` from `calc` (stress only for periodic cells with a volume)."""
    atoms = atoms.copy()
    atoms.calc = calc
    energy = float(atoms.get_potential_energy())
    forces = np.asarray(atoms.get_forces(), dtype=np.float64)
    record: dict[str, Any] = {
        "structure": structure_of(atoms),
        "energy": energy,
        "forces": forces.tolist(),
        "name": name,
    }
    if all(atoms.pbc) and abs(atoms.cell.volume) > 0:
        record["stress"] = np.asarray(atoms.get_stress(voigt=True), dtype=np.float64).tolist()
    return record


def _append_log(log: Path, entry: dict[str, Any]) -> None:
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "a", encoding="utf-8") as handle:
        handle.write(json.dumps(entry) + "\n")
        handle.flush()
        os.fsync(handle.fileno())


def label_structures(
    structures: str,
    out: str,
    calculator: str,
    indices: Sequence[int] | None,
    lock: str,
    log: str,
    lock_timeout: float,
    seconds_per_structure: float = 0.0,
    ledger: str | None = None,
    pool: str | None = None,
    remaining: str | None = None,
) -> dict[str, Any]:
    """Labels the structures of `structures` (at `indices`, or all) not yet in `out` (nor under
    `ledger`) with the registry's `calculator`; see the module's notes on idempotency.
    `seconds_per_structure` adds a wait before each calculation, standing in for DFT's cost in
    tests and demos."""
    if (pool is None) != (remaining is None):
        raise BadInput(
            "pool and remaining go together",
            [Problem(-1, "--pool" if pool is None else "--remaining", "(missing)", "give both or neither")],
        )
    spec = calculator_named(calculator)
    chosen = _choose(read_candidates(structures), indices)
    _check_elements(chosen, spec)
    started = time.monotonic()
    out_path = Path(out)
    labelled: list[int] = []
    skipped: list[int] = []
    with dataset_lock(Path(lock), lock_timeout) as waited:
        records = _existing(out_path)
        done = {_record_structure_hash(r) for r in records}
        elsewhere = _ledger_hashes(Path(ledger), out_path) if ledger is not None else set()
        calc = None
        for position, atoms, name in chosen:
            digest = atoms_hash(atoms)
            if digest in done or digest in elsewhere:
                skipped.append(position)
                continue
            if seconds_per_structure > 0:
                time.sleep(seconds_per_structure)
            calc = calc if calc is not None else spec.make()
            t0 = time.monotonic()
            record = label_one(atoms, calc, name or f"pool_{position}")
            seconds = time.monotonic() - t0
            records.append(record)
            done.add(digest)
            write_atomically(out_path, "".join(json.dumps(r) + "\n" for r in records).encode())
            labelled.append(position)
            _append_log(
                Path(log),
                {
                    "time": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                    "position": position,
                    "structureHash": digest,
                    "name": record["name"],
                    "calculator": spec.name,
                    "seconds": round(seconds, 6),
                    "pid": os.getpid(),
                },
            )
        rest = write_remaining_pool(pool, chosen, remaining) if pool is not None and remaining is not None else None
    return {
        "out": str(out_path),
        "calculator": spec.name,
        "labelled": labelled,
        "skipped": skipped,
        "records": len(records),
        "lockWaitSeconds": round(waited, 3),
        "seconds": round(time.monotonic() - started, 3),
        "remaining": rest,
    }
