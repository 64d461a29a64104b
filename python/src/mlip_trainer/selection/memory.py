"""The memory limit the selection keeps in process, the pool's neighbour lists included.

pace_select decides between one shot and batches from the size of the pool's B-projections
alone (``2 x projections + active set < -mem``), but in both modes pyace first turns every
structure of the pool into an atomic environment (positions of the atoms and their periodic
images, neighbour lists): with a 5 Å cutoff about 0.65 kB per atom, several times the
projections of a small basis. Measured with a real pacemaker: 100,000 structures of 32 atoms, 10
functions per element, took 2.7 GB under ``-mem 2GB`` in one shot, and as much in batch mode.
So the in-process selection counts them too, with the pool it has already read, and when they do
not fit, pyace makes them one at a time as its code reaches them (see
:mod:`mlip_trainer.selection.lazy_environments`): the same choice, in the memory of one.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

#: pyace's atomic environments take more than the bytes they hold (vector growth, allocator):
#: measured 0.65 kB per atom against 0.53 kB counted (32-atom fcc cells, 5 Å cutoff).
ENVIRONMENT_OVERHEAD = 1.25
#: Structures converted to estimate the environments' size.
SAMPLE_STRUCTURES = 64


def memory_limit_bytes(text: str) -> int | None:
    """``8GB`` / ``500MB`` -> bytes as pacemaker reads them (GB = 2^30); None for ``auto``."""
    if text == "auto":
        return None
    for unit, scale in (("GB", 1 << 30), ("MB", 1 << 20)):
        if text.endswith(unit):
            return int(float(text[: -len(unit)]) * scale)
    raise ValueError(f"memory limit {text!r}: expected e.g. 8GB or 500MB")


def resident_bytes() -> int:
    """This process's resident memory now (Linux /proc; 0 where unknown)."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def environment_bytes_per_atom(atoms: Sequence[Any], bbasis: Any) -> float:
    """The size of pyace's atomic environment per atom, from a sample of the pool (0 when this
    pyace has no such environments, e.g. the simulator's stand-in)."""
    try:
        from pyace.activelearning import convert_to_atomic_env_list
    except ImportError:
        return 0.0
    sample = list(atoms[: max(1, min(SAMPLE_STRUCTURES, len(atoms)))])
    envs = convert_to_atomic_env_list(sample, bbasis)
    real = extended = neighbours = 0
    for env in envs:
        if not hasattr(env, "n_atoms_extended"):
            return 0.0
        real += int(env.n_atoms_real)
        extended += int(env.n_atoms_extended)
        neighbours += sum(len(n) for n in env.neighbour_list)
    if real == 0:
        return 0.0
    # Per extended atom: position (3 doubles), species and origin (ints); per neighbour an index;
    # per real atom a neighbour vector.
    counted = 32 * extended + 4 * neighbours + 48 * real
    return ENVIRONMENT_OVERHEAD * counted / real


def environments_fit(
    limit: int,
    held: int,
    atoms_per_element: dict[str, int],
    nfuncs: dict[str, int],
    environment_per_atom: float,
) -> bool:
    """Whether the pool's atomic environments, made all at once as pyace makes them, fit in `limit`
    beside what this process already holds for the pool (`held`, bytes), the pool's projections
    (twice, pace_select's own count, and once more for the fill's grades) and the active set."""
    natoms = sum(atoms_per_element.values())
    if environment_per_atom <= 0 or natoms == 0:
        return True  # nothing known to count (e.g. the simulator's stand-in)
    projections = sum(atoms_per_element.get(e, 0) * n * 8 for e, n in nfuncs.items())
    active_set = sum(n * n * 8 for n in nfuncs.values())
    return held + environment_per_atom * natoms + 3 * projections + active_set <= limit
