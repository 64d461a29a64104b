"""The in-process selection's memory budget: the pool's atomic environments counted with the
projections, and the pool cut into chunks whose environments fit."""

from __future__ import annotations

import pytest

from mlip_trainer.errors import BadInput
from mlip_trainer.selection.memory import chunk_structures, memory_limit_bytes

GB, MB = 1 << 30, 1 << 20
NFUNCS = {"Cu": 10, "Ni": 10}


def test_a_pool_that_fits_is_selected_whole() -> None:
    atoms = {"Cu": 320_000, "Ni": 320_000}  # 20,000 structures of 32 atoms
    assert chunk_structures(2 * GB, 90 * MB, atoms, NFUNCS, 650.0, 20_000) is None
    assert chunk_structures(2 * GB, 460 * MB, {"Cu": 1_600_000, "Ni": 1_600_000}, NFUNCS, 0.0, 100_000) is None


def test_a_large_pool_is_cut_into_chunks_whose_environments_fit() -> None:
    # Measured: 100,000 structures of 32 atoms, 0.65 kB of environment per atom, 2 GB limit.
    atoms = {"Cu": 1_600_000, "Ni": 1_600_000}
    held, limit, per_atom = 460 * MB, 2 * GB, 650.0
    chunk = chunk_structures(limit, held, atoms, NFUNCS, per_atom, 100_000)
    assert chunk is not None and 10_000 < chunk < 100_000
    natoms = chunk * 32
    needs = natoms * per_atom + 3 * natoms * 10 * 8 + sum(n * n * 8 for n in NFUNCS.values())
    assert held + needs <= limit


def test_a_pool_larger_than_the_limit_is_bad_input_naming_it() -> None:
    with pytest.raises(BadInput, match=r"memoryLimit: the pool itself takes 3000 MB, more than the memory limit"):
        chunk_structures(2 * GB, 3000 * MB, {"Cu": 1_000}, NFUNCS, 650.0, 100)


def test_memory_limits_read_as_pacemaker_reads_them() -> None:
    assert memory_limit_bytes("8GB") == 8 * GB and memory_limit_bytes("500MB") == 500 * MB
    assert memory_limit_bytes("0.5GB") == GB // 2 and memory_limit_bytes("auto") is None
