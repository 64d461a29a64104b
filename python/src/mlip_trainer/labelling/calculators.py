"""The calculators an oracle can label with, by name: a small registry, so that another (a
machine-learned reference, a cheap DFT code with an ASE interface) joins with one entry.

The TypeScript side keeps the same names and elements (src/domain/labeller.ts) to check a
workflow's input before anything runs; `mlip-dataset calculators` prints this registry and a test
holds the two equal.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from mlip_trainer.errors import BadInput, Problem

#: The elements ASE's EMT calculator has parameters for.
EMT_ELEMENTS = ("Al", "Cu", "Ag", "Au", "Ni", "Pd", "Pt")


@dataclass(frozen=True)
class Calculator:
    """A named ASE calculator: what it labels, and how to make one."""

    name: str
    #: Every atom of a labelled structure must be one of these.
    elements: tuple[str, ...]
    description: str
    make: Callable[[], Any]

    def describe(self) -> dict[str, Any]:
        """The registry entry as JSON."""
        return {"name": self.name, "elements": list(self.elements), "description": self.description}


def _emt() -> Any:
    from ase.calculators.emt import EMT

    return EMT()


CALCULATORS: dict[str, Calculator] = {
    "emt": Calculator(
        "emt",
        EMT_ELEMENTS,
        "ASE's effective-medium theory: real energies and forces for fcc metals in milliseconds",
        _emt,
    ),
}


def calculator_named(name: str) -> Calculator:
    """The registry's calculator `name`; anything else is bad input listing the known names."""
    found = CALCULATORS.get(name)
    if found is None:
        known = ", ".join(sorted(CALCULATORS))
        raise BadInput(
            f"calculator: unknown calculator {name!r} (known: {known})",
            [Problem(-1, "--calculator", name, f"expected one of {known}")],
        )
    return found
