"""Input files in every format users bring, made here for the tests: ASE writes most of them;
OUTCAR, vasprun.xml and LAMMPS dumps (which ASE does not write) are written as text, small but
in the layout VASP and LAMMPS use, and read back by ASE.

Also a command for the TypeScript tests: ``python input_files.py KIND DIR`` (KIND: labelled,
pool, corrected or vasp-runs) writes one file of every format into DIR (``corrected``: a
pacemaker pickle with only ``energy_corrected``, ``old.pckl.gzip``; ``vasp-runs``: folders of
OUTCARs) and prints ``{file name: structures}`` as JSON.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

#: Single-atom reference energies the corrected-only pickle was made with, eV.
REFERENCE = {"Cu": -0.25, "Ni": -0.5}


def emt_frames(count: int, seed: int, elements: Sequence[str] = ("Cu", "Ni"), labelled: bool = True) -> list[Any]:
    """`count` perturbed fcc structures of 8 atoms, labelled by ASE's EMT calculator (energy,
    forces, stress) unless `labelled` is False."""
    from ase.build import bulk
    from ase.calculators.emt import EMT

    rng = np.random.default_rng(seed)
    frames = []
    for _ in range(count):
        atoms = bulk("Cu", "fcc", a=3.6 * rng.uniform(0.98, 1.02), cubic=True).repeat((2, 1, 1))
        atoms.set_chemical_symbols([str(rng.choice(list(elements))) for _ in range(len(atoms))])
        atoms.positions += rng.normal(0.0, 0.05, size=atoms.positions.shape)
        if labelled:
            atoms.calc = EMT()
            atoms.get_potential_energy()
            atoms.get_forces()
            atoms.get_stress()
            from ase.calculators.singlepoint import SinglePointCalculator

            atoms.calc = SinglePointCalculator(atoms, **atoms.calc.results)
        frames.append(atoms)
    return frames


def _species_order(atoms: Any) -> list[str]:
    return list(dict.fromkeys(atoms.get_chemical_symbols()))


def outcar_text(atoms: Any) -> str:
    """A one-step VASP OUTCAR of a labelled structure (atoms grouped by species, as VASP writes them)."""
    species = _species_order(atoms)
    symbols = atoms.get_chemical_symbols()
    assert symbols == sorted(symbols, key=species.index), "group the atoms by species first"
    energy = atoms.get_potential_energy()
    cell = atoms.cell.array
    lines = [" vasp.6.3.0 18Jan22 (build Jan 01 2022) complex", ""]
    lines += [f" POTCAR:    PAW_PBE {s} 06Sep2000" for s in species]
    lines += [f"   VRHFIN ={s}: d10 p1" for s in species]
    lines += [f" POTCAR:    PAW_PBE {s} 06Sep2000" for s in species]
    lines += ["", "   ions per type =" + "".join(f"{symbols.count(s):6d}" for s in species), ""]
    lines += ["-" * 39 + " Iteration      1(   1)  " + "-" * 39, ""]
    lines.append(" direct lattice vectors                 reciprocal lattice vectors")
    for a, b in zip(cell, np.linalg.inv(cell).T):
        lines.append("  " + " ".join(f"{x:12.9f}" for x in a) + "   " + " ".join(f"{x:12.9f}" for x in b))
    if "stress" in atoms.calc.results:
        # VASP prints stress in kB, xx yy zz xy yz zx, with the opposite sign (pace_collect needs it).
        from ase.units import GPa

        s = -np.asarray(atoms.calc.results["stress"]) / (0.1 * GPa)
        lines += ["", "  in kB " + "".join(f"{x:12.5f}" for x in s[[0, 1, 2, 5, 3, 4]])]
    lines += ["", " POSITION                                       TOTAL-FORCE (eV/Angst)", " " + "-" * 83]
    for p, f in zip(atoms.positions, atoms.get_forces()):
        lines.append("     " + " ".join(f"{x:12.5f}" for x in p) + "     " + " ".join(f"{x:13.6f}" for x in f))
    lines += [" " + "-" * 83, "    total drift:      0.000000      0.000000      0.000000", ""]
    lines += ["  FREE ENERGIE OF THE ION-ELECTRON SYSTEM (eV)", "  " + "-" * 51]
    lines += [f"  free  energy   TOTEN  = {energy + 0.001:18.8f} eV", ""]
    lines += [f"  energy  without entropy= {energy:18.8f}  energy(sigma->0) = {energy:18.8f}", ""]
    return "\n".join(lines) + "\n"


def vasprun_text(atoms: Any) -> str:
    """A one-step vasprun.xml of a labelled structure."""
    symbols = atoms.get_chemical_symbols()
    species = _species_order(atoms)
    energy = atoms.get_potential_energy()
    cell = atoms.cell.array
    frac = atoms.get_scaled_positions(wrap=False)

    def varray(rows: Any, name: str) -> str:
        body = "".join("<v>" + " ".join(f"{x:.10f}" for x in r) + "</v>" for r in rows)
        return f'<varray name="{name}">{body}</varray>'

    def structure(name: str | None) -> str:
        head = f'<structure name="{name}">' if name else "<structure>"
        return head + "<crystal>" + varray(cell, "basis") + "</crystal>" + varray(frac, "positions") + "</structure>"

    atom_rows = "".join(f"<rc><c>{s}</c><c>{species.index(s) + 1}</c></rc>" for s in symbols)
    type_rows = "".join(
        f"<rc><c>{symbols.count(s)}</c><c>{s}</c><c>1.0</c><c>1.0</c><c>PAW_PBE {s} 06Sep2000</c></rc>" for s in species
    )
    energies = "".join(f'<i name="{k}">{energy:.8f}</i>' for k in ("e_fr_energy", "e_wo_entrp", "e_0_energy"))
    return f"""<?xml version="1.0" encoding="ISO-8859-1"?>
<modeling>
 <generator><i name="program" type="string">vasp </i><i name="version" type="string">6.3.0 </i></generator>
 <incar><i name="PREC">accurate</i></incar>
 <kpoints><generation param="Gamma"><v type="int" name="divisions">1 1 1</v></generation>
  <varray name="kpointlist"><v>0.0 0.0 0.0</v></varray><varray name="weights"><v>1.0</v></varray></kpoints>
 <parameters><separator name="electronic"><i name="ENCUT">500.0</i></separator></parameters>
 <atominfo><atoms>{len(symbols)}</atoms><types>{len(species)}</types>
  <array name="atoms"><dimension dim="1">ion</dimension><field type="string">element</field>
   <field type="int">atomtype</field><set>{atom_rows}</set></array>
  <array name="atomtypes"><dimension dim="1">type</dimension><field type="int">atomspertype</field>
   <field type="string">element</field><field>mass</field><field>valence</field>
   <field type="string">pseudopotential</field><set>{type_rows}</set></array>
 </atominfo>
 {structure("initialpos")}
 <calculation>
  <scstep><energy>{energies}</energy></scstep>
  {structure(None)}
  {varray(atoms.get_forces(), "forces")}
  <energy>{energies}</energy>
 </calculation>
 {structure("finalpos")}
</modeling>
"""


def lammps_dump_text(frames: Sequence[Any], types: dict[str, int], element_column: bool = False) -> str:
    """A LAMMPS text dump (orthogonal boxes) of `frames`, atoms by type number."""
    out: list[str] = []
    for step, atoms in enumerate(frames):
        box = np.diag(atoms.cell.array)
        out += ["ITEM: TIMESTEP", str(step), "ITEM: NUMBER OF ATOMS", str(len(atoms)), "ITEM: BOX BOUNDS pp pp pp"]
        out += [f"0.0 {length:.10f}" for length in box]
        out.append("ITEM: ATOMS id type x y z" + (" element" if element_column else ""))
        for i, (symbol, p) in enumerate(zip(atoms.get_chemical_symbols(), atoms.positions)):
            tail = f" {symbol}" if element_column else ""
            out.append(f"{i + 1} {types[symbol]} {p[0]:.10f} {p[1]:.10f} {p[2]:.10f}{tail}")
    return "\n".join(out) + "\n"


def grouped(atoms: Any) -> Any:
    """The structure with its atoms grouped by species (VASP's order)."""
    species = _species_order(atoms)
    order = sorted(range(len(atoms)), key=lambda i: species.index(atoms.get_chemical_symbols()[i]))
    copy = atoms[order]
    from ase.calculators.singlepoint import SinglePointCalculator

    results = {k: (v[order] if k == "forces" else v) for k, v in atoms.calc.results.items() if k != "energies"}
    copy.calc = SinglePointCalculator(copy, **results)
    return copy


def dataset_frame(frames: Sequence[Any], corrected_only: bool = False) -> pd.DataFrame:
    """A pacemaker dataset of labelled frames: `name, ase_atoms, energy, forces` (as pace_collect
    writes, with energy_corrected from REFERENCE), or with `corrected_only`, as pacemaker's
    examples are: `name, ase_atoms, energy_corrected, forces, energy_corrected_per_atom`."""
    from ase import Atoms

    energies = np.array([a.get_potential_energy() for a in frames])
    sums = np.array([sum(REFERENCE[s] for s in a.get_chemical_symbols()) for a in frames])
    atoms = [Atoms(a.get_chemical_symbols(), positions=a.positions, cell=a.cell, pbc=a.pbc) for a in frames]
    frame = pd.DataFrame(
        {
            "name": [f"dft_{i}" for i in range(len(frames))],
            "ase_atoms": atoms,
            "energy": energies,
            "forces": [a.get_forces() for a in frames],
            "energy_corrected": energies - sums,
        }
    )
    frame["energy_corrected_per_atom"] = frame["energy_corrected"] / frame["ase_atoms"].map(len)
    if corrected_only:
        frame = frame.drop(columns=["energy"])
    return frame


def write_labelled(folder: Path) -> dict[str, int]:
    """One labelled file of every format in `folder`; {file name: structures}."""
    from ase.io import write

    from mlip_trainer.atomic_io import save_dataset
    from mlip_trainer.results import atoms_to_record

    folder.mkdir(parents=True, exist_ok=True)
    counts: dict[str, int] = {}
    records = [atoms_to_record(a, f"json_{i}") for i, a in enumerate(emt_frames(3, 1))]
    (folder / "results.json").write_text(json.dumps(records))
    counts["results.json"] = 3
    records = [atoms_to_record(a, f"jsonl_{i}") for i, a in enumerate(emt_frames(3, 2))]
    (folder / "results.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    counts["results.jsonl"] = 3
    write(folder / "md.extxyz", emt_frames(4, 3), format="extxyz")
    counts["md.extxyz"] = 4
    write(folder / "md.traj", emt_frames(3, 4))
    counts["md.traj"] = 3
    (folder / "OUTCAR").write_text(outcar_text(grouped(emt_frames(1, 5)[0])))
    counts["OUTCAR"] = 1
    (folder / "vasprun.xml").write_text(vasprun_text(grouped(emt_frames(1, 6)[0])))
    counts["vasprun.xml"] = 1
    save_dataset(dataset_frame(emt_frames(3, 7)), folder / "collected.pckl.gzip")
    counts["collected.pckl.gzip"] = 3
    return counts


def write_pool(folder: Path) -> dict[str, int]:
    """One pool file of every format in `folder` (unlabelled where the format allows); {file name: structures}."""
    from ase.io import write

    from mlip_trainer.atomic_io import save_dataset

    folder.mkdir(parents=True, exist_ok=True)
    frames = emt_frames(5, 11, labelled=False)
    counts: dict[str, int] = {}
    write(folder / "md.extxyz", frames, format="extxyz")
    counts["md.extxyz"] = 5
    write(folder / "md.traj", frames)
    counts["md.traj"] = 5
    write(folder / "POSCAR", frames[0], format="vasp")
    counts["POSCAR"] = 1
    write(folder / "CONTCAR", frames[1], format="vasp")
    counts["CONTCAR"] = 1
    # An MD run: one composition (XDATCAR has one), atoms grouped by species as VASP writes them.
    start = frames[0][np.argsort(frames[0].numbers, kind="stable")]
    md = [start.copy() for _ in range(5)]
    for step, atoms in enumerate(md):
        atoms.positions += np.random.default_rng(step).normal(0.0, 0.02, size=atoms.positions.shape)
    write(folder / "XDATCAR", md, format="vasp-xdatcar")
    counts["XDATCAR"] = 5
    (folder / "dump.lammpstrj").write_text(lammps_dump_text(frames, {"Cu": 1, "Ni": 2}))
    counts["dump.lammpstrj"] = 5
    write(folder / "structure.data", frames[2], format="lammps-data")
    counts["structure.data"] = 1
    write(folder / "structure.cif", frames[3])
    counts["structure.cif"] = 1
    structures = [
        {
            "symbols": a.get_chemical_symbols(),
            "positions": a.positions.tolist(),
            "cell": a.cell.array.tolist(),
            "pbc": [bool(x) for x in a.pbc],
        }
        for a in frames
    ]
    (folder / "structures.json").write_text(json.dumps(structures))
    counts["structures.json"] = 5
    (folder / "structures.jsonl").write_text("".join(json.dumps(s) + "\n" for s in structures))
    counts["structures.jsonl"] = 5
    save_dataset(pd.DataFrame({"ase_atoms": frames}), folder / "pool.pckl.gzip")
    counts["pool.pckl.gzip"] = 5
    return counts


def write_corrected(folder: Path, count: int = 12) -> dict[str, int]:
    """A pacemaker dataset pickle with only energy_corrected (made with REFERENCE), as pacemaker's examples are."""
    from mlip_trainer.atomic_io import save_dataset

    folder.mkdir(parents=True, exist_ok=True)
    save_dataset(dataset_frame(emt_frames(count, 41), corrected_only=True), folder / "old.pckl.gzip")
    return {"old.pckl.gzip": count}


def write_vasp_runs(folder: Path, count: int = 6) -> dict[str, int]:
    """VASP calculation folders as a DFT campaign leaves them, ``calc_N/OUTCAR`` (with stress,
    which ``pace_collect`` needs), for ``pace_collect -wd`` to gather."""
    counts: dict[str, int] = {}
    for i, atoms in enumerate(emt_frames(count, 43)):
        run = folder / f"calc_{i}"
        run.mkdir(parents=True, exist_ok=True)
        (run / "OUTCAR").write_text(outcar_text(grouped(atoms)))
        counts[f"calc_{i}/OUTCAR"] = 1
    return counts


if __name__ == "__main__":
    kind, target = sys.argv[1], Path(sys.argv[2])
    writers: dict[str, Callable[[Path], dict[str, int]]] = {
        "labelled": write_labelled,
        "pool": write_pool,
        "corrected": write_corrected,
        "vasp-runs": write_vasp_runs,
    }
    print(json.dumps(writers[kind](target)))
