"""Made-up data for benchmarks and tests: random structures (not physical, for timing) and
structures labelled by ASE's EMT calculator (physical enough to fit)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mlip_trainer.atomic_io import write_atomically, write_json_atomically
from mlip_trainer.errors import BadInput, Problem
from mlip_trainer.frames import DATASET_COLUMNS, structure_of
from mlip_trainer.labelling.calculators import EMT_ELEMENTS
from mlip_trainer.locking import DEFAULT_LOCK_TIMEOUT, dataset_lock
from mlip_trainer.store.dataset import state_from_frame, with_split_columns, write_dataset_files
from mlip_trainer.store.files import DatasetFiles
from mlip_trainer.store.index import save_state
from mlip_trainer.store.manifest import build_manifest, now


def synthesize_dataset(out: str, count: int, natoms: int, seed: int, test_fraction: float) -> dict[str, Any]:
    """Benchmark data: `count` random Cu/Ni structures with random energies and forces, written
    as a dataset with index and manifest, as `append` would leave them. Not physical: for timing."""
    from ase import Atoms

    rng = np.random.default_rng(seed)
    nx, ny, nz = _grid_for(natoms)
    grid = np.array([[i, j, k] for i in range(nx) for j in range(ny) for k in range(nz)], dtype=np.float64) * 2.5
    cell = np.diag([nx * 2.5, ny * 2.5, nz * 2.5])
    rows = []
    for i in range(count):
        positions = grid + rng.normal(0.0, 0.05, size=grid.shape)
        symbols = rng.choice(["Cu", "Ni"], size=natoms).tolist()
        rows.append(
            {
                "name": f"synth_s{seed}_{i}",
                "ase_atoms": Atoms(symbols=symbols, positions=positions, cell=cell, pbc=True),
                "energy": float(rng.normal(-3.5 * natoms, 1.0)),
                "forces": rng.normal(0.0, 0.5, size=(natoms, 3)),
                "stress": rng.normal(0.0, 0.01, size=6),
                "virial": rng.normal(0.0, 1.0, size=(3, 3)),
            }
        )
    frame = pd.DataFrame({column: [row[column] for row in rows] for column in DATASET_COLUMNS})
    frame = with_split_columns(frame, test_fraction)
    files = DatasetFiles(out)
    with dataset_lock(files.lock, DEFAULT_LOCK_TIMEOUT):
        sha, _ = write_dataset_files(files, frame)
        state = state_from_frame(frame, sha)
        save_state(files, state)
        write_json_atomically(
            files.manifest,
            build_manifest(files, state, [{"time": now(), "synthetic": True, "added": count}], test_fraction),
        )
    return {"out": out, "count": count}


def synthesize_results(out: str, count: int, natoms: int, seed: int) -> dict[str, Any]:
    """Benchmark input: `count` random Cu/Ni CalculationResults as JSONL (not physical)."""
    rng = np.random.default_rng(seed)
    nx, ny, nz = _grid_for(natoms)
    grid = np.array([[i, j, k] for i in range(nx) for j in range(ny) for k in range(nz)], dtype=np.float64) * 2.5
    cell = np.diag([nx * 2.5, ny * 2.5, nz * 2.5]).tolist()
    lines = []
    for i in range(count):
        record = {
            "structure": {
                "symbols": rng.choice(["Cu", "Ni"], size=natoms).tolist(),
                "positions": (grid + rng.normal(0.0, 0.05, size=grid.shape)).tolist(),
                "cell": cell,
                "pbc": [True, True, True],
            },
            "energy": float(rng.normal(-3.5 * natoms, 1.0)),
            "forces": rng.normal(0.0, 0.5, size=(natoms, 3)).tolist(),
            "stress": rng.normal(0.0, 0.01, size=6).tolist(),
            "name": f"synth_r{seed}_{i}",
        }
        lines.append(json.dumps(record))
    write_atomically(Path(out), ("\n".join(lines) + "\n").encode())
    return {"out": out, "count": count}


def _grid_for(natoms: int) -> tuple[int, int, int]:
    """The most cubic (nx, ny, nz) with nx*ny*nz == natoms."""
    best = (natoms, 1, 1)
    for nx in range(1, natoms + 1):
        for ny in range(1, natoms // nx + 1):
            if natoms % (nx * ny) == 0:
                candidate = tuple(sorted((nx, ny, natoms // (nx * ny)), reverse=True))
                if max(candidate) - min(candidate) < max(best) - min(best):
                    best = candidate  # type: ignore[assignment]
    return best


def _emt_structure(rng: np.random.Generator, elements: Sequence[str], natoms: int) -> Any:
    from ase.build import bulk
    from ase.data import atomic_numbers, reference_states

    lattice = float(np.mean([reference_states[atomic_numbers[e]]["a"] for e in elements]))
    scale = rng.uniform(0.97, 1.03)
    atoms = bulk("Cu", "fcc", a=lattice * scale).repeat(_grid_for(natoms))
    atoms.set_chemical_symbols([str(rng.choice(list(elements))) for _ in range(len(atoms))])
    atoms.positions += rng.normal(0.0, 0.05, size=atoms.positions.shape)
    return atoms


def _emt_result(atoms: Any, name: str) -> dict[str, Any]:
    from ase.calculators.emt import EMT

    atoms.calc = EMT()
    energy = float(atoms.get_potential_energy())
    forces = atoms.get_forces().tolist()
    stress = atoms.get_stress(voigt=True).tolist()
    atoms.calc = None
    return {
        "structure": structure_of(atoms),
        "energy": energy,
        "forces": forces,
        "stress": stress,
        "name": name,
    }


def label_emt(out: str, count: int, elements: Sequence[str], seed: int, natoms: int) -> dict[str, Any]:
    """`count` random structures of `elements` (a perturbed fcc lattice of `natoms` atoms)
    labelled by ASE's EMT calculator, as CalculationResult JSONL: deterministic for a seed."""
    problems = [
        Problem(-1, "--elements", e, f"EMT supports {', '.join(EMT_ELEMENTS)}")
        for e in elements
        if e not in EMT_ELEMENTS
    ]
    if count < 1:
        problems.append(Problem(-1, "--count", str(count), "expected an integer >= 1"))
    if natoms < 1:
        problems.append(Problem(-1, "--atoms", str(natoms), "expected an integer >= 1"))
    if problems:
        raise BadInput("invalid label-emt arguments", problems)
    rng = np.random.default_rng(seed)
    results = [_emt_result(_emt_structure(rng, elements, natoms), f"emt_s{seed}_{i}") for i in range(count)]
    write_atomically(Path(out), "".join(json.dumps(r) + "\n" for r in results).encode("utf-8"))
    return {"out": out, "count": count, "elements": sorted(set(elements))}
