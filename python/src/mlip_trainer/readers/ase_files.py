"""Files ASE reads, frame by frame: extended XYZ, ASE .traj, VASP (POSCAR, CONTCAR, XDATCAR,
OUTCAR, vasprun.xml), LAMMPS dumps and data files, CIF, and the rest of ``ase.io``.

LAMMPS files carry type numbers, not elements (unless a dump has an ``element`` column): they
are read only with a type-to-element map (``1=Cu,2=Ni``), never guessed from masses.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from mlip_trainer.errors import BadInput, Problem, short_repr

#: ASE's names of the LAMMPS formats: their atoms have type numbers, not elements.
LAMMPS_FORMATS = frozenset({"lammps-dump-text", "lammps-dump-binary", "lammps-data"})
#: How the type-to-element map is named where users give it.
TYPE_MAP_FIELD = "type map (--type-map 1=Cu,2=Ni on the command line, pool.typeMap in a workflow input)"

_DATA_ATOMS = re.compile(rb"^\s*\d+\s+atoms\s*$", re.MULTILINE)
_DATA_TYPES = re.compile(rb"^\s*\d+\s+atom\s+types\s*$", re.MULTILINE)


def parse_type_map(text: str | None) -> dict[int, str] | None:
    """``"1=Cu,2=Ni"`` -> ``{1: "Cu", 2: "Ni"}`` (None for None); BadInput naming the bad entry."""
    if text is None:
        return None
    from mlip_trainer.validation import known_symbols

    known = known_symbols()
    mapping: dict[int, str] = {}
    for item in (part.strip() for part in text.split(",")):
        if not item:
            continue
        key, sep, symbol = (s.strip() for s in item.partition("="))
        if not sep or not key.isdigit() or int(key) < 1 or symbol not in known:
            raise BadInput(
                f"--type-map: expected type=element pairs like 1=Cu,2=Ni (got {text!r}: bad entry {item!r})",
                [Problem(-1, "--type-map", short_repr(text), f"bad entry {item!r}: expected <type >= 1>=<element>")],
            )
        if int(key) in mapping:
            raise BadInput(
                f"--type-map: type {key} is given twice (got {text!r})",
                [Problem(-1, "--type-map", short_repr(text), f"type {key} given twice")],
            )
        mapping[int(key)] = symbol
    if not mapping:
        raise BadInput(
            f"--type-map: no type=element pairs in {text!r}", [Problem(-1, "--type-map", short_repr(text), "empty")]
        )
    return mapping


def ase_format(path: Path) -> str:
    """ASE's name of the file's format, or BadInput saying ASE cannot tell what it is. LAMMPS
    data files, which ASE does not recognise by itself, are told from their header."""
    from ase.io.formats import filetype, ioformats

    try:
        fmt = str(filetype(str(path), guess=True))
    except Exception as exc:  # UnknownFileTypeError, or a failure reading the start of the file
        if _is_lammps_data(path):
            return "lammps-data"
        raise BadInput(f"{path}: not a file format ASE reads ({type(exc).__name__}: {exc})") from None
    if fmt not in ioformats:
        if _is_lammps_data(path):
            return "lammps-data"
        raise BadInput(f"{path}: not a file format ASE reads (by its name or content it would be {fmt!r})")
    return fmt


def _is_lammps_data(path: Path) -> bool:
    with open(path, "rb") as handle:
        head = handle.read(4096)
    return bool(_DATA_ATOMS.search(head) and _DATA_TYPES.search(head))


def _dump_has_elements(path: Path) -> bool:
    """A text dump whose atoms lines include an ``element`` column names its elements itself."""
    with open(path, "rb") as handle:
        for line in handle:
            if line.startswith(b"ITEM: ATOMS"):
                return b" element" in line
    return False


def _apply_type_map(atoms: Any, type_map: dict[int, str], path: Path, frame: int) -> None:
    from ase.data import atomic_numbers

    types = atoms.get_array("type") if "type" in atoms.arrays else atoms.numbers
    unknown = sorted({int(t) for t in types} - set(type_map))
    if unknown:
        raise BadInput(
            f"{path}: frame {frame} has atom type(s) {unknown} that the type map lacks (it maps"
            f" {', '.join(f'{k}={v}' for k, v in sorted(type_map.items()))})",
            [Problem(frame, "typeMap", short_repr(type_map), f"no element for type(s) {unknown}", str(path), frame)],
        )
    atoms.numbers = [atomic_numbers[type_map[int(t)]] for t in types]


def ase_frames(path: Path, type_map: dict[int, str] | None = None) -> Iterator[Any]:
    """The file's frames as ase.Atoms, one at a time (ase.io.iread: a long trajectory is never
    held whole). A LAMMPS file needs `type_map` unless its dump names the elements."""
    from ase.io import iread

    fmt = ase_format(path)
    lammps = fmt in LAMMPS_FORMATS
    names_elements = fmt == "lammps-dump-text" and _dump_has_elements(path)
    if lammps and type_map is None and not names_elements:
        raise BadInput(
            f"{path} is a LAMMPS file ({fmt}): its atoms have type numbers, not elements; give the {TYPE_MAP_FIELD}",
            [Problem(-1, "typeMap", "None", f"required for {fmt}", str(path), None)],
        )
    frames = iread(str(path), index=":", format=fmt)
    index = 0
    while True:
        try:
            atoms = next(frames)
        except StopIteration:
            break
        except Exception as exc:  # ASE raises many kinds on a malformed frame; all mean bad input
            if isinstance(exc, KeyError) and exc.args and isinstance(exc.args[0], str):
                # ASE's lookup of a chemical symbol it does not know.
                reason = f"unknown chemical symbol {exc.args[0]!r}"
                raise BadInput(
                    f"{path}: frame {index} has an {reason}",
                    [Problem(index, "symbols", repr(exc.args[0]), reason, str(path), index)],
                ) from None
            raise BadInput(
                f"{path}: ASE cannot read frame {index} as {fmt} ({type(exc).__name__}: {exc})",
                [Problem(index, "(file)", str(path), f"{type(exc).__name__}: {exc}", str(path), index)],
            ) from None
        if lammps and type_map is not None and not names_elements:
            _apply_type_map(atoms, type_map, path, index)
        yield atoms
        index += 1
    if index == 0:
        raise BadInput(f"{path}: ASE read no structures from it (as {fmt})")
