"""SIMULATED pyace.basis: the B-basis configuration (a potential YAML file) and the basis set
built from it. The real ones are C++ classes; these hold the simulator's potential document."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pacemaker_sim.potential import element_ndensity, load_potential, potential_cutoff, potential_elements


class BBasisConfiguration:
    """A B-basis potential read from its YAML file."""

    def __init__(self, filename: str) -> None:
        self.filename = filename
        self.doc: dict[str, Any] = load_potential(filename)


@dataclass(frozen=True)
class EmbeddingSpecification:
    """What pace_activeset reads of an element's embedding: its number of densities."""

    ndensity: int


class ACEBBasisSet:
    """The basis set of a configuration: elements (sorted, as species types 0, 1, ...) and cutoff."""

    def __init__(self, bconf: BBasisConfiguration | str) -> None:
        config = BBasisConfiguration(bconf) if isinstance(bconf, str) else bconf
        self.doc: dict[str, Any] = config.doc
        self.elements_name: list[str] = potential_elements(self.doc)
        self.elements_to_index_map: dict[str, int] = {e: i for i, e in enumerate(self.elements_name)}
        self.nelements = len(self.elements_name)
        self.cutoffmax: float = potential_cutoff(self.doc)
        ndensity = element_ndensity(self.doc)
        self.map_embedding_specifications = {
            st: EmbeddingSpecification(ndensity[e]) for st, e in enumerate(self.elements_name)
        }
