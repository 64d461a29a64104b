"""The in-process selection's memory budget: the pool's atomic environments counted with the
projections, and made one at a time by pyace's own code when they would not fit."""

from __future__ import annotations

from typing import Any

import numpy as np
from ase import Atoms

from mlip_trainer.selection.lazy_environments import LazyEnvironments, environments_on_demand
from mlip_trainer.selection.memory import environments_fit, memory_limit_bytes

GB, MB = 1 << 30, 1 << 20
NFUNCS = {"Cu": 10, "Ni": 10}


def test_a_pool_whose_environments_fit_is_left_to_pyace_as_it_is() -> None:
    atoms = {"Cu": 320_000, "Ni": 320_000}  # 20,000 structures of 32 atoms
    assert environments_fit(2 * GB, 90 * MB, atoms, NFUNCS, 650.0)
    # Nothing known about environments (the simulator's stand-in): nothing to decide.
    assert environments_fit(2 * GB, 460 * MB, {"Cu": 1_600_000, "Ni": 1_600_000}, NFUNCS, 0.0)


def test_a_large_pool_does_not_fit_with_its_environments_made_all_at_once() -> None:
    # Measured: 100,000 structures of 32 atoms, 0.65 kB of environment per atom, 2 GB limit.
    atoms = {"Cu": 1_600_000, "Ni": 1_600_000}
    assert not environments_fit(2 * GB, 460 * MB, atoms, NFUNCS, 650.0)
    # The same pool without the environments would fit: they alone decide.
    assert environments_fit(2 * GB, 460 * MB, atoms, NFUNCS, 1.0)


def test_memory_limits_read_as_pacemaker_reads_them() -> None:
    assert memory_limit_bytes("8GB") == 8 * GB and memory_limit_bytes("500MB") == 500 * MB
    assert memory_limit_bytes("0.5GB") == GB // 2 and memory_limit_bytes("auto") is None


def _structures(k: int) -> np.ndarray[Any, Any]:
    out = np.empty(k, dtype=object)
    out[:] = [Atoms("Cu2Ni" if i % 2 else "Ni2", positions=np.zeros((3 if i % 2 else 2, 3))) for i in range(k)]
    return out


def test_lazy_environments_make_one_environment_per_step_and_batches_stay_lazy() -> None:
    made: list[int] = []

    def convert(structure: Atoms) -> tuple[int, int]:
        made.append(len(structure))
        return (id(structure), len(structure))

    lazy = LazyEnvironments(_structures(10), convert, {"Cu": 0, "Ni": 1})
    assert len(lazy) == 10 and made == []
    batch = lazy[np.arange(3, 7)]
    assert isinstance(batch, LazyEnvironments) and len(batch) == 4 and made == [], "a batch converts nothing"
    for seen, env in enumerate(batch, start=1):
        assert len(made) == seen, "each environment is made when the loop reaches it"
        assert env[1] == (3 if (2 + seen) % 2 else 2)
    assert lazy[5][1] == 3 and len(made) == 5
    # Counted as pyace counts environments (species type of each real atom), converting nothing.
    assert lazy.species_counts() == {0: 10, 1: 15} and len(made) == 5


def test_environments_on_demand_changes_nothing_for_a_pyace_without_environments() -> None:
    # The simulator's stand-in pyace (on this venv's path) has no atomicenvironment module.
    from pyace import activelearning

    before = activelearning.convert_to_atomic_env_list
    with environments_on_demand() as active:
        assert active is False
        assert activelearning.convert_to_atomic_env_list is before
    assert activelearning.convert_to_atomic_env_list is before
