"""The in-process selection's memory budget: the pool's atomic environments counted with the
projections, and pace_select given a -mem under which its own batching fits."""

from __future__ import annotations

import math

from mlip_trainer.selection.memory import memory_limit_bytes, pace_select_memory

GB, MB = 1 << 30, 1 << 20
NFUNCS = {"Cu": 10, "Ni": 10}


def pace_select_batches(mem: int, projections: int, active_set: int) -> int:
    """pace_select's own split (pyace.aceselect.compute_batch_size) for -mem `mem` bytes."""
    return math.ceil(2 * projections // (mem - active_set))


def test_a_pool_that_fits_in_one_shot_keeps_the_limit() -> None:
    atoms = {"Cu": 320_000, "Ni": 320_000}  # 20,000 structures of 32 atoms
    assert pace_select_memory(2 * GB, 90 * MB, atoms, NFUNCS, 650.0, 20_000) is None


def test_without_environments_or_when_pace_select_batches_anyway_nothing_changes() -> None:
    atoms = {"Cu": 1_600_000, "Ni": 1_600_000}
    assert pace_select_memory(2 * GB, 460 * MB, atoms, NFUNCS, 0.0, 100_000) is None
    assert pace_select_memory(100 * MB, 460 * MB, atoms, NFUNCS, 650.0, 100_000) is None


def test_a_large_pool_gets_batches_that_fit_with_their_environments() -> None:
    # Measured: 100,000 structures of 32 atoms, 0.65 kB of environment per atom, 2 GB limit.
    atoms = {"Cu": 1_600_000, "Ni": 1_600_000}
    held, limit, per_atom = 460 * MB, 2 * GB, 650.0
    mem = pace_select_memory(limit, held, atoms, NFUNCS, per_atom, 100_000)
    assert mem is not None and mem < limit
    projections = sum(atoms[e] * n * 8 for e, n in NFUNCS.items())
    active_set = sum(n * n * 8 for n in NFUNCS.values())
    assert 2 * projections + active_set >= mem, "pace_select works in batches under it"
    batches = pace_select_batches(mem, projections, active_set)
    per_batch = (per_atom * sum(atoms.values()) + 2 * projections) / batches
    assert held + per_batch + active_set <= limit


def test_memory_limits_read_as_pacemaker_reads_them() -> None:
    assert memory_limit_bytes("8GB") == 8 * GB and memory_limit_bytes("500MB") == 500 * MB
    assert memory_limit_bytes("0.5GB") == GB // 2 and memory_limit_bytes("auto") is None
