"""Validation of CalculationResult records: every defect of every record, named field by field.

A CalculationResult (one JSON object, or one line of a JSONL file) is::

    {"structure": {"symbols": ["Cu", ...],          # natoms chemical symbols
                   "positions": [[x, y, z], ...],   # [natoms, 3], Å
                   "cell": [[..], [..], [..]],      # [3, 3], Å
                   "pbc": [true, true, true]},
     "energy": -1.23,                                # total energy, eV
     "energy_corrected": -0.45                       # or instead: energy minus the single-atom
                                                     # reference energies, eV (pacemaker's column)
     "forces": [[fx, fy, fz], ...],                  # [natoms, 3], eV/Å
     "stress": [6 Voigt (xx yy zz yz xz xy)] or [3, 3]   (optional, eV/Å^3)
     "virial": [3, 3] or [6 Voigt]                   # optional, eV
     "name": "optional string"}
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np

from mlip_trainer.arrays import FloatArray
from mlip_trainer.errors import BadInput, Problem, short_repr

#: Two atoms closer than this (Å, periodic images included) are "on top of each other".
MIN_DISTANCE = 0.1
#: A periodic cell vector shorter than this (Å) counts as zero.
MIN_CELL_VECTOR = 1e-6
#: Normalised Gram determinant of the periodic cell vectors below which the cell is degenerate.
MIN_CELL_FLATNESS = 1e-8
#: Above this many atoms the overlap check uses ASE's neighbour list instead of all pairs.
MAX_ATOMS_PAIRWISE = 1500


@dataclass(frozen=True)
class Limits:
    """Physical sanity limits of labelled results. No DFT result of a stable material comes near
    the defaults; a value beyond them is a unit mistake or a broken calculation, and one such
    value ruins every later fit. All-electron codes, whose total energies per atom reach 10^4 to
    10^5 eV, need a higher energy limit (or corrected energies)."""

    #: |energy| / atoms, eV/atom (also |energy_corrected| / atoms). Config `max_energy_per_atom_ev`.
    max_energy_per_atom: float = 1000.0
    #: |force component|, eV/Å. Config `max_force_ev_per_a`.
    max_force: float = 1000.0


DEFAULT_LIMITS = Limits()
#: How users set the limits, for the error that names them.
LIMIT_FIELDS = {
    "max_energy_per_atom": "max_energy_per_atom_ev in the config, --max-energy-per-atom on the command line",
    "max_force": "max_force_ev_per_a in the config, --max-force on the command line",
}


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def is_finite_number(value: Any) -> bool:
    """An int or float (not a bool), neither NaN nor infinite."""
    return _is_number(value) and math.isfinite(value)


def _matrix_problem(value: Any, rows: int | None, cols: int) -> str | None:
    """Why `value` is not a finite [rows, cols] matrix (rows=None: any row count), or None.

    One pass of type checks over the numbers, then numpy for finiteness: records of thousands
    of atoms validate in microseconds, and the first bad row is still named.
    """
    if not isinstance(value, list):
        return f"expected a list of {cols}-vectors, got {type(value).__name__}"
    if rows is not None and len(value) != rows:
        return f"expected {rows} rows, got {len(value)}"
    if not all(type(row) is list and len(row) == cols for row in value):
        bad = next(row for row in value if not (isinstance(row, list) and len(row) == cols))
        return f"expected every row to be a list of {cols} numbers, got {short_repr(bad)}"
    if not {type(x) for row in value for x in row} <= _NUMBER_TYPES:
        bad = next(row for row in value if not all(_is_number(x) for x in row))
        return f"expected numbers, got {short_repr(bad)}"
    if value and not np.isfinite(np.array(value, dtype=np.float64)).all():
        bad = next(row for row in value if not all(math.isfinite(x) for x in row))
        return f"expected finite numbers, got {short_repr(bad)}"
    return None


_NUMBER_TYPES = frozenset({int, float})


def _vector_problem(value: Any, length: int) -> str | None:
    if not isinstance(value, list) or len(value) != length:
        return f"expected a list of {length} numbers"
    if not all(_is_number(x) for x in value):
        return "expected numbers"
    if not all(math.isfinite(x) for x in value):
        return "expected finite numbers"
    return None


def _six_or_3x3_problem(value: Any) -> str | None:
    if isinstance(value, list) and len(value) == 6 and not any(isinstance(x, list) for x in value):
        return _vector_problem(value, 6)
    return _matrix_problem(value, 3, 3)


def known_symbols() -> frozenset[str]:
    """Every chemical symbol ASE knows (the dummy "X" excluded)."""
    from ase.data import chemical_symbols

    return frozenset(s for s in chemical_symbols if s != "X")


def _structure_problems(index: int, structure: Any) -> list[Problem]:
    if not isinstance(structure, dict):
        return [
            Problem(
                index, "structure", short_repr(structure), "expected an object (in a pickle, an ase.Atoms in ase_atoms)"
            )
        ]
    problems: list[Problem] = []
    symbols = structure.get("symbols")
    known = known_symbols()
    if not isinstance(symbols, list) or not symbols:
        problems.append(Problem(index, "structure.symbols", short_repr(symbols), "expected a non-empty list"))
    else:
        unknown = [s for s in symbols if not isinstance(s, str) or s not in known]
        if unknown:
            problems.append(Problem(index, "structure.symbols", short_repr(unknown), "unknown chemical symbol(s)"))
    natoms = len(symbols) if isinstance(symbols, list) else None
    reason = _matrix_problem(structure.get("positions"), natoms, 3)
    if reason:
        problems.append(Problem(index, "structure.positions", short_repr(structure.get("positions")), reason))
    cell: Any = structure.get("cell")
    reason = _matrix_problem(cell, 3, 3)
    if reason:
        problems.append(Problem(index, "structure.cell", short_repr(cell), reason))
    pbc = structure.get("pbc")
    if not isinstance(pbc, list) or len(pbc) != 3 or not all(isinstance(x, bool) for x in pbc):
        problems.append(Problem(index, "structure.pbc", short_repr(pbc), "expected a list of 3 booleans"))
    elif reason is None:
        for axis, periodic in enumerate(pbc):
            if periodic and not any(cell[axis]):
                problems.append(
                    Problem(index, "structure.cell", short_repr(cell), f"cell vector {axis} is zero but pbc is true")
                )
    return problems


def structure_problems(index: int, structure: Any) -> list[Problem]:
    """Every defect of one Structure (what a pool entry needs): its fields, and a cell that suits its pbc."""
    problems = _structure_problems(index, structure)
    if not problems:
        problems.extend(_cell_problems(index, structure["cell"], structure["pbc"]))
    return problems


def _stress_problems(index: int, stress: Any) -> list[Problem]:
    reason = _six_or_3x3_problem(stress)
    if reason:
        return [Problem(index, "stress", short_repr(stress), reason + " (6 Voigt or 3x3)")]
    if len(stress) == 3 and not np.allclose(np.array(stress), np.array(stress).T, rtol=1e-8, atol=1e-12):
        return [Problem(index, "stress", short_repr(stress), "3x3 stress must be symmetric")]
    return []


def _cell_problems(index: int, cell: list[list[float]], pbc: list[bool]) -> list[Problem]:
    """A periodic direction needs a non-zero cell vector, and the periodic vectors together must
    span as many dimensions as there are periodic directions (no flat or collinear cells)."""
    rows = np.array(cell, dtype=np.float64)
    periodic = [axis for axis in range(3) if pbc[axis]]
    problems: list[Problem] = []
    lengths = np.linalg.norm(rows, axis=1)
    for axis in periodic:
        if lengths[axis] < MIN_CELL_VECTOR:
            problems.append(
                Problem(
                    index,
                    "structure.cell",
                    short_repr(cell),
                    f"cell vector {axis} is zero (shorter than {MIN_CELL_VECTOR} Å) but pbc is true",
                )
            )
    if problems or len(periodic) < 2:
        return problems
    vectors = rows[periodic]
    gram = vectors @ vectors.T
    # Normalised Gram determinant: 1 for orthogonal vectors, 0 for dependent ones.
    flatness = float(np.linalg.det(gram) / np.prod(lengths[periodic] ** 2))
    if flatness < MIN_CELL_FLATNESS:
        problems.append(
            Problem(
                index,
                "structure.cell",
                short_repr(cell),
                f"periodic cell vectors {periodic} are linearly dependent (degenerate cell)",
            )
        )
    return problems


@lru_cache(maxsize=256)
def _inverse_cell(cell_bytes: bytes) -> FloatArray | None:
    """Inverse of a 3x3 cell, cached: batches mostly share a few cells, and np.linalg.inv and
    np.cross cost far more per call than the distance check itself."""
    basis = np.frombuffer(cell_bytes, dtype=np.float64).reshape(3, 3)
    if abs(float(np.linalg.det(basis))) < 1e-12:
        return None
    return np.linalg.inv(basis)


def min_interatomic_distance(positions: FloatArray, cell: FloatArray, pbc: Sequence[bool]) -> tuple[float, int, int]:
    """Shortest distance between two atoms (Å) with periodic images, and the two atom indices.

    Fractional differences are wrapped into [-0.5, 0.5) along periodic axes: exact for atoms
    that sit on (an image of) each other, which is what this check is for.
    """
    natoms = len(positions)
    if natoms < 2:
        return math.inf, -1, -1
    if natoms > MAX_ATOMS_PAIRWISE:
        from ase import Atoms
        from ase.neighborlist import neighbor_list

        atoms = Atoms(positions=positions, cell=cell, pbc=list(pbc), numbers=[1] * natoms)
        i, j, d = neighbor_list("ijd", atoms, MIN_DISTANCE)
        if len(d) == 0:
            return math.inf, -1, -1
        k = int(np.argmin(d))
        return float(d[k]), int(i[k]), int(j[k])
    diff = positions[:, None, :] - positions[None, :, :]
    periodic = np.array(pbc, dtype=bool)
    if periodic.any():
        # Non-periodic axes may have a zero cell vector: complete the basis for the inverse.
        basis = cell.copy()
        for axis in range(3):
            if not periodic[axis] and np.linalg.norm(basis[axis]) < MIN_CELL_VECTOR:
                basis[axis] = np.eye(3)[axis] * 1e6
        inverse = _inverse_cell(basis.tobytes())
        if inverse is not None:
            frac = diff @ inverse
            frac[..., periodic] -= np.round(frac[..., periodic])
            diff = frac @ basis
    dist = np.sqrt(np.einsum("ijk,ijk->ij", diff, diff))
    np.fill_diagonal(dist, np.inf)
    k = int(np.argmin(dist))
    i, j = divmod(k, natoms)
    return float(dist[i, j]), i, j


def _energy_problems(index: int, record: dict[str, Any], natoms: int | None, limits: Limits) -> list[Problem]:
    """`energy` (total, eV) or, without it, `energy_corrected`: finite and within the limit per atom."""
    field = "energy" if record.get("energy") is not None or "energy_corrected" not in record else "energy_corrected"
    value: Any = record.get(field)
    if not is_finite_number(value):
        hint = " or energy_corrected" if field == "energy" else ""
        return [Problem(index, field, short_repr(value), f"expected a finite number (eV){hint}")]
    if natoms and abs(value) / natoms > limits.max_energy_per_atom:
        return [
            Problem(
                index,
                field,
                repr(value),
                f"|{field}| / atoms = {abs(value) / natoms:.6g} eV/atom exceeds the limit of"
                f" {limits.max_energy_per_atom:g} eV/atom ({LIMIT_FIELDS['max_energy_per_atom']})",
            )
        ]
    return []


def record_problems(
    index: int, record: Any, elements: frozenset[str] | None = None, limits: Limits = DEFAULT_LIMITS
) -> list[Problem]:
    """Every defect of one CalculationResult record (empty list: the record is valid)."""
    if not isinstance(record, dict):
        return [Problem(index, "(record)", short_repr(record), "expected a JSON object")]
    problems = _structure_problems(index, record.get("structure"))
    structure: Any = record.get("structure")
    symbols: Any = structure.get("symbols") if isinstance(structure, dict) else None
    natoms = len(symbols) if isinstance(symbols, list) else None
    if not problems and elements is not None:
        outside = sorted({s for s in symbols if s not in elements})
        if outside:
            problems.append(
                Problem(
                    index,
                    "structure.symbols",
                    short_repr(outside),
                    f"element(s) not among the configured elements {sorted(elements)}",
                )
            )
    if not problems:
        problems.extend(_cell_problems(index, structure["cell"], structure["pbc"]))
    if not problems:
        d, i, j = min_interatomic_distance(
            np.array(structure["positions"], dtype=np.float64),
            np.array(structure["cell"], dtype=np.float64),
            structure["pbc"],
        )
        if d < MIN_DISTANCE:
            problems.append(
                Problem(
                    index,
                    "structure.positions",
                    f"atoms {i} and {j} are {d:.3g} Å apart",
                    f"atoms on top of each other (closer than {MIN_DISTANCE} Å)",
                )
            )
    problems.extend(_energy_problems(index, record, natoms, limits))
    forces: Any = record.get("forces")
    reason = _matrix_problem(forces, natoms, 3)
    if reason:
        problems.append(Problem(index, "forces", short_repr(forces), reason + " (eV/Å)"))
    elif forces:
        array = np.abs(np.array(forces, dtype=np.float64))
        if float(array.max()) > limits.max_force:
            atom, axis = divmod(int(np.argmax(array)), 3)
            value = forces[atom][axis]
            problems.append(
                Problem(
                    index,
                    f"forces[{atom}][{axis}]",
                    repr(value),
                    f"|force| {abs(value):.6g} eV/Å exceeds the limit of {limits.max_force:g} eV/Å"
                    f" ({LIMIT_FIELDS['max_force']})",
                )
            )
    if record.get("stress") is not None:
        problems.extend(_stress_problems(index, record["stress"]))
    if record.get("virial") is not None:
        reason = _six_or_3x3_problem(record["virial"])
        if reason:
            problems.append(Problem(index, "virial", short_repr(record["virial"]), reason + " (3x3 or 6 Voigt)"))
    name = record.get("name")
    if name is not None and not isinstance(name, str):
        problems.append(Problem(index, "name", short_repr(name), "expected a string"))
    return problems


def validate_results(
    results: Sequence[Any],
    elements: Iterable[str] | None = None,
    origins: Sequence[tuple[str, int]] | None = None,
    limits: Limits = DEFAULT_LIMITS,
) -> None:
    """Raise BadInput listing every problem of every record, or return if all are valid.

    `origins[i]` is (file, record number in that file) of results[i], so problems name both.
    """
    allowed = frozenset(elements) if elements is not None else None
    problems = [p for i, r in enumerate(results) for p in record_problems(i, r, allowed, limits)]
    if origins is not None:
        for p in problems:
            p.file, p.record = origins[p.index]
    if problems:
        count = len({p.index for p in problems})
        raise BadInput(f"{count} of {len(results)} record(s) are invalid; nothing was written", problems)
