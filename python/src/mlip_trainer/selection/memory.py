"""The memory limit the selection keeps in process, the pool's neighbour lists included.

pace_select decides between one shot and batches from the size of the pool's B-projections
alone (``2 x projections + active set < -mem``). In one shot, pyace first turns every structure
into an atomic environment (positions of the atoms and their periodic images, neighbour lists):
with a 5 Å cutoff about 0.65 kB per atom, several times the projections of a small basis
(measured with a real pacemaker: 100,000 structures of 32 atoms, 10 functions per element, took
2.7 GB under ``-mem 2GB``). So the in-process selection counts them too, with the pool it has
already read, and when one shot would not fit it hands pace_select a lower ``-mem`` under which
pace_select itself chooses batches small enough to fit.
"""

from __future__ import annotations

import math
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


def pace_select_memory(
    limit: int,
    held: int,
    atoms_per_element: dict[str, int],
    nfuncs: dict[str, int],
    environment_per_atom: float,
    structures: int,
) -> int | None:
    """The ``-mem`` (bytes) to give pace_select so that everything fits in `limit`, or None when
    one shot fits as it is. `held`: bytes this process already holds for the pool (the frame).

    One shot needs the environments of every atom, the projections twice (pace_select's own
    count) plus once more for the fill's grades, and the active set; batches need those of one
    batch. pace_select splits into ``2 x projections // (mem - active set)`` batches, so a
    ``-mem`` of ``active set + 2 x projections / k`` gives k batches."""
    projections = sum(atoms_per_element.get(e, 0) * n * 8 for e, n in nfuncs.items())
    active_set = sum(n * n * 8 for n in nfuncs.values())
    if environment_per_atom <= 0 or 2 * projections + active_set >= limit:
        return None  # nothing known to add, or pace_select batches by itself
    environments = environment_per_atom * sum(atoms_per_element.values())
    room = limit - held - active_set
    if environments + 3 * projections <= room:
        return None
    batches = math.ceil((environments + 2 * projections) / room) if room > 0 else structures
    batches = min(max(batches, 2), max(structures, 2))
    return active_set + max(1 << 20, (2 * projections) // batches)
