"""The pool: the structures a selection chooses from, labelled or not (see
:mod:`mlip_trainer.readers.structures` for the formats).

A dataset pickle is read as it is (pace_select reads it the same way). Every other file is read
one structure at a time into a lean frame of two columns, ``name`` and ``ase_atoms``, the least
pace_select's selection function needs: a pool's labels, if it has any, are not read.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mlip_trainer.atomic_io import save_dataset
from mlip_trainer.errors import BadInput, Problem, short_repr
from mlip_trainer.readers.ase_files import parse_type_map
from mlip_trainer.readers.files import check_input_file, is_pickle
from mlip_trainer.readers.pickles import load_pickle_frame
from mlip_trainer.readers.structures import lean_atoms, pool_structures

#: Kept for callers that named the pickle suffixes from here.
POOL_SUFFIXES = (".pckl.gzip", ".pkl.gz")


def _empty(path: str) -> BadInput:
    return BadInput(f"pool: {path} holds no structures", [Problem(-1, "--pool", path, "empty pool")])


def read_pool(path: str, type_map: dict[int, str] | None = None) -> pd.DataFrame:
    """A pool file -> DataFrame with an ``ase_atoms`` column and RangeIndex (a pickle keeps its
    columns; any other file gives ``name`` and lean ``ase_atoms``)."""
    file = Path(path)
    if is_pickle(file):
        check_input_file(file, "pool")
        frame = load_pickle_frame(file, "pool")
        _check_pickled_structures(frame, path)
    else:
        names: list[str] = []
        atoms: list[Any] = []
        for structure, name in pool_structures(file, type_map):
            atoms.append(structure)
            names.append(name)
        frame = pd.DataFrame({"name": names, "ase_atoms": atoms})
    if len(frame) == 0:
        raise _empty(path)
    return frame.reset_index(drop=True)


def _check_pickled_structures(frame: pd.DataFrame, path: str) -> None:
    """Every ase_atoms cell of a pickled pool is an ase.Atoms with atoms of known elements."""
    problems: list[Problem] = []
    for position, atoms in enumerate(frame["ase_atoms"]):
        if not hasattr(atoms, "numbers") or not hasattr(atoms, "cell"):
            reason = "expected an ase.Atoms"
        elif len(atoms) == 0:
            reason = "a structure needs at least one atom"
        elif (np.asarray(atoms.numbers) <= 0).any():
            reason = "atoms of no known element"
        else:
            continue
        problems.append(Problem(position, "ase_atoms", short_repr(atoms), reason, path, position))
        if len(problems) >= 50:
            break
    if problems:
        first = problems[0]
        raise BadInput(
            f"pool {path}: ase_atoms of row {first.index}: {first.reason} (got {first.value})"
            + (f"; {len(problems) - 1} more row(s) like it" if len(problems) > 1 else ""),
            problems,
        )


def _summary(atoms: Iterable[Any]) -> dict[str, Any]:
    """Rows, elements and atoms of a stream of structures, holding none of them."""
    from ase.data import chemical_symbols

    rows = natoms = 0
    numbers: set[int] = set()
    for a in atoms:
        rows += 1
        natoms += len(a)
        numbers.update(np.unique(a.numbers).tolist())
    return {"rows": rows, "elements": sorted(chemical_symbols[z] for z in numbers), "natomsTotal": natoms}


def dry_run_sample(frame: pd.DataFrame, size: int) -> pd.DataFrame:
    """The first structures with zero energies and forces: enough for ``pacemaker --dry-run`` to
    build the unfitted potential shape, which does not depend on the labels."""
    atoms = [lean_atoms(a.numbers, a.positions, a.cell.array, a.pbc) for a in frame["ase_atoms"].iloc[:size]]
    return pd.DataFrame(
        {
            "name": [f"dry_run_{i}" for i in range(len(atoms))],
            "ase_atoms": atoms,
            "energy": [0.0] * len(atoms),
            "forces": [np.zeros((len(a), 3)) for a in atoms],
        }
    )


def pool_summary(frame: pd.DataFrame) -> dict[str, Any]:
    """What `prepare` reports about a pool: rows, elements, atoms."""
    return _summary(frame["ase_atoms"])


def prepare_pool(
    pool: str, out: str, sample: str | None, sample_size: int, type_map: str | None = None
) -> dict[str, Any]:
    """The pool as pace_select reads it (gzip pickle, RangeIndex = position), and optionally a
    dry-run sample for generation 0."""
    frame = read_pool(pool, parse_type_map(type_map))
    digest = save_dataset(frame, out)
    if sample is not None:
        save_dataset(dry_run_sample(frame, sample_size), sample)
    return {"path": out, **pool_summary(frame), "sha256": digest}


def inspect_pool(pool: str, type_map: str | None = None, limit: int | None = None) -> dict[str, Any]:
    """What a pool holds, read the way the selection reads it but streamed (a pool of a million
    structures is never held); missing, unreadable, invalid or empty pools are bad input, and
    nothing is written. `limit`: read only the first structures (a quick look: is it a pool at all)."""
    file = Path(pool)
    if is_pickle(file):
        summary = pool_summary(read_pool(pool))
    else:
        stream = (a for a, _ in pool_structures(file, parse_type_map(type_map)))
        if limit is not None:
            stream = (a for i, a in zip(range(limit), stream))
        summary = _summary(stream)
    if summary["rows"] == 0:
        raise _empty(pool)
    return {"path": pool, **summary}


def replicate_pool(pool: str, copies: int, rattle: float, seed: int, out: str) -> dict[str, Any]:
    """Benchmark helper: a big pool from a small one, each structure repeated `copies` times with
    its positions rattled by `rattle` Å. Written as a pickle, or, for an ``.extxyz`` or ``.xyz``
    `out`, as unlabelled extended XYZ frames, streamed (exploration output as it comes)."""
    frame = read_pool(pool)
    rng = np.random.default_rng(seed)
    if out.endswith((".extxyz", ".xyz")):
        return {"out": out, "rows": _replicate_extxyz(frame, copies, rattle, rng, Path(out)), "sha256": ""}
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


def _replicate_extxyz(frame: pd.DataFrame, copies: int, rattle: float, rng: np.random.Generator, out: Path) -> int:
    from ase.io import write

    rows = 0
    tmp = out.with_name(out.name + ".tmp")
    with open(tmp, "w") as handle:
        for copy in range(copies):
            chunk = []
            for a in frame["ase_atoms"]:
                positions = a.positions + (rng.normal(0.0, rattle, size=a.positions.shape) if copy else 0.0)
                chunk.append(lean_atoms(a.numbers, positions, a.cell.array, a.pbc))
            write(handle, chunk, format="extxyz")
            rows += len(chunk)
    tmp.replace(out)
    return rows
