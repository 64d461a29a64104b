"""pace_select's own selection over a pool whose atomic environments would not fit in memory.

pyace's selection code turns every structure of the pool into an atomic environment (positions of
the atoms and their periodic images, neighbour lists) before it projects anything, in one shot and
in batch mode alike (``convert_to_atomic_env_list`` in ``pyace.activelearning``): with a 5 Å
cutoff about 0.65 kB per atom, several times the projections of a small basis. While
:func:`environments_on_demand` is active, that conversion returns a :class:`LazyEnvironments`
instead: a sequence that makes each environment when pyace's loop reaches it and lets it go after.
pyace's code is otherwise untouched, so the environments, the projections and the choice are
exactly those of pace_select; only memory changes (one environment at a time), and time (batch
mode's passes over the pool each convert again).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Callable

import numpy as np


class LazyEnvironments:
    """The pool's structures, seen by pyace as its list of atomic environments: indexing with an
    array (pyace's batches) gives another LazyEnvironments, iterating or indexing with an int makes
    environments one at a time with `convert` (pyace's ``aseatoms_to_atomicenvironment``)."""

    def __init__(
        self, atoms: np.ndarray[Any, Any], convert: Callable[[Any], Any], species_type: dict[str, int]
    ) -> None:
        self.atoms = atoms
        self.convert = convert
        self.species_type = species_type
        self.converted = 0  # environments made so far (by this sequence and its batches)

    def __len__(self) -> int:
        return len(self.atoms)

    def __iter__(self) -> Iterator[Any]:
        for structure in self.atoms:
            self.converted += 1
            yield self.convert(structure)

    def __getitem__(self, index: Any) -> Any:
        if isinstance(index, (int, np.integer)):
            self.converted += 1
            return self.convert(self.atoms[index])
        return LazyEnvironments(self.atoms[index], self.convert, self.species_type)

    def species_counts(self) -> dict[int, int]:
        """Atoms per species type, as pyace counts them from environments (real atoms only)."""
        counts: dict[int, int] = {}
        for structure in self.atoms:
            for symbol in structure.get_chemical_symbols():
                st = self.species_type[symbol]
                counts[st] = counts.get(st, 0) + 1
        return counts


@contextmanager
def environments_on_demand() -> Iterator[bool]:
    """Within it, pyace's selection code makes atomic environments one at a time (see the module).
    Yields False, and changes nothing, when this pyace has no such conversion (the simulator's
    stand-in, whose 'environments' are the structures themselves)."""
    try:
        from pyace import activelearning
        from pyace.atomicenvironment import aseatoms_to_atomicenvironment
    except ImportError:
        yield False
        return
    names = ("convert_to_atomic_env_list", "count_number_total_atoms_per_species_type")
    if not all(hasattr(activelearning, name) for name in names):
        yield False
        return
    originals = {name: getattr(activelearning, name) for name in names}

    def convert(atomic_env_list: Any, pot: Any) -> Any:
        if isinstance(atomic_env_list, LazyEnvironments):
            return atomic_env_list
        structures = atomic_env_list.values if hasattr(atomic_env_list, "values") else atomic_env_list
        if len(structures) == 0 or not hasattr(structures[0], "get_chemical_symbols"):
            return originals["convert_to_atomic_env_list"](atomic_env_list, pot)
        cutoff, mapper = pot.cutoffmax, pot.elements_to_index_map
        array = np.empty(len(structures), dtype=object)
        array[:] = list(structures)
        return LazyEnvironments(
            array,
            lambda at: aseatoms_to_atomicenvironment(at, cutoff=cutoff, elements_mapper_dict=mapper),
            dict(mapper),
        )

    def count(atomic_env_list: Any) -> Any:
        if isinstance(atomic_env_list, LazyEnvironments):
            from collections import Counter

            return Counter(atomic_env_list.species_counts())
        return originals["count_number_total_atoms_per_species_type"](atomic_env_list)

    activelearning.convert_to_atomic_env_list = convert
    activelearning.count_number_total_atoms_per_species_type = count
    try:
        yield True
    finally:
        for name, fn in originals.items():
            setattr(activelearning, name, fn)
