"""A pool of candidate structures built the way exploration makes them, for the active-learning
benchmark and the demo: mostly redundant near-equilibrium bulk frames from short 300 K molecular
dynamics (consecutive frames of a trajectory are nearly alike), and a few percent of the cases a
potential must learn: vacancies, surfaces, compressed and stretched cells, high-temperature
frames, small clusters. The dynamics is real (ASE's Langevin with the EMT calculator), so the
frames are physical; the pool is unlabelled, as exploration leaves it.

A test set held out from the pool (other trajectories, another seed), balanced across the
categories and labelled, goes beside it. Every frame's name is ``<category>/<trajectory>-<frame>``
(``<category>/test-<trajectory>-<frame>`` in the test set).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mlip_trainer.atomic_io import save_dataset
from mlip_trainer.errors import BadInput, Problem
from mlip_trainer.frames import results_to_dataframe
from mlip_trainer.labelling.calculators import calculator_named
from mlip_trainer.labelling.oracle import label_one

#: The redundant majority first, then the rare cases.
CATEGORIES = ("bulk-md", "vacancy", "surface", "compressed", "stretched", "high-t", "cluster")
RARE = CATEGORIES[1:]

#: MD time step, fs.
TIME_STEP_FS = 2.0

Rng = np.random.Generator


def _lattice(symbols: Sequence[str]) -> float:
    """fcc lattice constant of a composition by Vegard's law from the elements' own, Å."""
    from ase.data import atomic_numbers, reference_states

    return float(np.mean([reference_states[atomic_numbers[s]]["a"] for s in symbols]))


def _alloy(atoms: Any, rng: Rng, elements: Sequence[str]) -> Any:
    """Random occupation with a composition drawn per structure (pure elements included)."""
    weights = rng.dirichlet(np.ones(len(elements)) * 0.7)
    atoms.set_chemical_symbols([str(s) for s in rng.choice(list(elements), size=len(atoms), p=weights)])
    return atoms


def _bulk(rng: Rng, elements: Sequence[str], scale: float = 1.0, repeat: tuple[int, int, int] = (2, 2, 1)) -> Any:
    from ase.build import bulk

    atoms = _alloy(bulk("Cu", "fcc", a=3.6, cubic=True).repeat(repeat), rng, elements)
    lattice = _lattice(atoms.get_chemical_symbols()) * scale
    atoms.set_cell(atoms.cell * (lattice / 3.6), scale_atoms=True)
    return atoms


def _surface(rng: Rng, elements: Sequence[str]) -> Any:
    from ase.build import fcc100, fcc111

    build = fcc100 if rng.random() < 0.5 else fcc111
    atoms = build("Cu", size=(2, 2, 4), a=3.6, vacuum=5.0)
    # A slab in a periodic box (vacuum along z), as DFT codes take it: pacemaker's neighbour
    # lists accept only fully periodic or fully open cells.
    atoms.pbc = True
    atoms = _alloy(atoms, rng, elements)
    lattice = _lattice(atoms.get_chemical_symbols())
    atoms.set_cell(atoms.cell * (lattice / 3.6), scale_atoms=True)
    return atoms


def _cluster(rng: Rng, elements: Sequence[str]) -> Any:
    """6-13 atoms: the atoms of an fcc crystal nearest a random point, in a box, not periodic."""
    from ase import Atoms

    crystal = _bulk(rng, elements, repeat=(3, 3, 3))
    centre = crystal.get_center_of_mass() + rng.normal(0.0, 0.5, size=3)
    order = np.argsort(np.linalg.norm(crystal.positions - centre, axis=1))
    take = order[: int(rng.integers(6, 14))]
    atoms = Atoms(
        symbols=[crystal.get_chemical_symbols()[i] for i in take], positions=crystal.positions[take], pbc=False
    )
    atoms.center(vacuum=6.0)
    return atoms


def _vacancy(rng: Rng, elements: Sequence[str]) -> Any:
    atoms = _bulk(rng, elements)
    del atoms[int(rng.integers(len(atoms)))]
    return atoms


def _trajectory(atoms: Any, temperature: float, frames: int, every: int, rng: Rng, equilibrate: int = 40) -> list[Any]:
    """`frames` snapshots, `every` steps apart, of Langevin dynamics at `temperature` K with EMT."""
    from ase import units
    from ase.calculators.emt import EMT
    from ase.md.langevin import Langevin
    from ase.md.velocitydistribution import MaxwellBoltzmannDistribution

    atoms.calc = EMT()
    MaxwellBoltzmannDistribution(atoms, temperature_K=temperature, rng=rng)
    dyn = Langevin(atoms, TIME_STEP_FS * units.fs, temperature_K=temperature, friction=0.02, rng=rng)
    dyn.run(equilibrate)
    snapshots = []
    for _ in range(frames):
        dyn.run(every)
        snapshot = atoms.copy()
        snapshot.calc = None
        snapshots.append(snapshot)
    atoms.calc = None
    return snapshots


#: Per category: how to start a trajectory, its temperature range (K), frames per trajectory
#: and steps between frames. Bulk frames come 40 to a trajectory, 5 steps (10 fs) apart: the
#: redundancy of an MD run; the rare cases come a few to a trajectory.
_RECIPES: dict[str, tuple[Callable[[Rng, Sequence[str]], Any], tuple[float, float], int, int]] = {
    "bulk-md": (lambda rng, el: _bulk(rng, el, rng.uniform(0.99, 1.01)), (300.0, 300.0), 40, 5),
    "vacancy": (_vacancy, (300.0, 600.0), 4, 10),
    "surface": (_surface, (300.0, 600.0), 4, 10),
    "compressed": (lambda rng, el: _bulk(rng, el, rng.uniform(0.90, 0.95)), (300.0, 300.0), 4, 10),
    "stretched": (lambda rng, el: _bulk(rng, el, rng.uniform(1.05, 1.10)), (300.0, 300.0), 4, 10),
    "high-t": (_bulk, (1200.0, 1600.0), 4, 20),
    "cluster": (_cluster, (300.0, 800.0), 4, 10),
}


#: Test frames per trajectory: one, so the test set's frames of a category are independent (each
#: its own start, composition, strain and temperature), not neighbours in one run.
TEST_PER_TRAJECTORY = 1


def category_frames(
    category: str,
    count: int,
    rng: Rng,
    elements: Sequence[str],
    label: str = "",
    per_trajectory: int | None = None,
) -> list[tuple[str, Any]]:
    """`count` frames of one category, from as many trajectories as that takes (`per_trajectory`
    frames each, default the recipe's), named ``<category>/<label><trajectory>-<frame>``."""
    start, (t_low, t_high), recipe_per_trajectory, every = _RECIPES[category]
    per_trajectory = per_trajectory or recipe_per_trajectory
    frames: list[tuple[str, Any]] = []
    trajectory = 0
    while len(frames) < count:
        take = min(per_trajectory, count - len(frames))
        snapshots = _trajectory(start(rng, elements), float(rng.uniform(t_low, t_high)), take, every, rng)
        frames.extend((f"{category}/{label}{trajectory:04d}-{i:02d}", atoms) for i, atoms in enumerate(snapshots))
        trajectory += 1
    return frames


def pool_counts(count: int, rare_fraction: float) -> dict[str, int]:
    """Frames per category: `rare_fraction` of `count` shared by the rare cases, the rest bulk."""
    rare_each = max(1, round(count * rare_fraction / len(RARE)))
    counts = dict.fromkeys(RARE, rare_each)
    counts = {"bulk-md": max(0, count - rare_each * len(RARE)), **counts}
    return counts


def exploration_pool(
    out: str,
    test_out: str | None,
    count: int,
    test_per_category: int,
    seed: int,
    elements: Sequence[str],
    rare_fraction: float,
    calculator: str = "emt",
) -> dict[str, Any]:
    """Writes the pool (unlabelled: name, ase_atoms) to `out` and, when `test_out` is given, a
    labelled test set of `test_per_category` frames of every category from other trajectories, one
    frame per trajectory."""
    problems = []
    if count < len(CATEGORIES):
        problems.append(Problem(-1, "--count", str(count), f"expected an integer >= {len(CATEGORIES)}"))
    if not 0 < rare_fraction < 1:
        problems.append(Problem(-1, "--rare-fraction", str(rare_fraction), "expected a number in (0, 1)"))
    if test_per_category < 0:
        problems.append(Problem(-1, "--test-per-category", str(test_per_category), "expected an integer >= 0"))
    spec = calculator_named(calculator)
    problems += [
        Problem(-1, "--elements", e, f"calculator {spec.name} covers {', '.join(spec.elements)}")
        for e in elements
        if e not in spec.elements
    ]
    if problems:
        raise BadInput("invalid exploration-pool arguments", problems)
    rng = np.random.default_rng(seed)
    counts = pool_counts(count, rare_fraction)
    named = [frame for category, n in counts.items() for frame in category_frames(category, n, rng, elements)]
    pool = pd.DataFrame({"name": [n for n, _ in named], "ase_atoms": [a for _, a in named]})
    answer: dict[str, Any] = {
        "pool": {"path": out, "rows": len(pool), "categories": counts, "sha256": save_dataset(pool, out)}
    }
    if test_out is not None:
        test_rng = np.random.default_rng(seed + 1_000_003)
        calc = spec.make()
        records = [
            label_one(atoms, calc, name)
            for category in CATEGORIES
            for name, atoms in category_frames(
                category, test_per_category, test_rng, elements, "test-", TEST_PER_TRAJECTORY
            )
        ]
        frame = results_to_dataframe(records)
        answer["test"] = {
            "path": test_out,
            "rows": len(frame),
            "categories": dict.fromkeys(CATEGORIES, test_per_category),
            "sha256": save_dataset(frame, Path(test_out)),
        }
    return answer
