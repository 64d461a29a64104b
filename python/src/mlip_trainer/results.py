"""The one reader of labelled results, used by every way data comes in (``dataset add``, ``train
--results``, a workflow's ``results``, the loop's labelled folders):

- CalculationResult JSON (``.json``, an array) and JSONL (``.jsonl``, ``.ndjson``);
- pacemaker dataset pickles (``.pckl.gzip``, ``.pkl.gz``, ...): ``pace_collect`` output and
  pacemaker's examples, including those with only ``energy_corrected``;
- every other file ASE reads with energies and forces: extended XYZ, ASE ``.traj``, VASP
  ``OUTCAR`` and ``vasprun.xml``, ... (the energy is ASE's ``energy``: for VASP, extrapolated to
  sigma -> 0).

Each record comes with the file and position it came from, so validation problems name both.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from mlip_trainer.frames import structure_of
from mlip_trainer.readers.ase_files import ase_frames
from mlip_trainer.readers.files import check_input_file, is_json, is_pickle
from mlip_trainer.readers.json_text import json_array_records, jsonl_records
from mlip_trainer.readers.pickles import load_pickle_frame, pickle_records

#: Kept for callers that name the JSON suffixes from here.
JSON_SUFFIXES = (".json", ".jsonl", ".ndjson")


def atoms_to_record(atoms: Any, name: str) -> dict[str, Any]:
    """An ASE Atoms with a calculator's results -> a CalculationResult dict (None where missing,
    so validation reports it). A frame without an energy but with ``energy_corrected`` in its
    info (as ``dataset export`` writes corrected-only results) keeps it as such."""
    results = dict(getattr(atoms.calc, "results", {}) or {}) if atoms.calc is not None else {}
    energy = results.get("energy", results.get("free_energy"))
    forces = results.get("forces")
    stress = results.get("stress")
    record: dict[str, Any] = {
        "structure": structure_of(atoms),
        "energy": float(energy) if energy is not None else None,
        "forces": np.asarray(forces, dtype=np.float64).tolist() if forces is not None else None,
        "name": str(atoms.info.get("name", name)),
    }
    corrected = atoms.info.get("energy_corrected")
    if energy is None and isinstance(corrected, (int, float)) and not isinstance(corrected, bool):
        del record["energy"]
        record["energy_corrected"] = float(corrected)
    if stress is not None:
        record["stress"] = np.asarray(stress, dtype=np.float64).reshape(-1).tolist()
    return record


def records_of_file(path: Path, offset: int) -> Iterator[Any]:
    """The records of one results file, whatever its format (after the file checks)."""
    check_input_file(path, "results file")
    if path.suffix.lower() == ".json":
        yield from json_array_records(path, offset)
    elif is_json(path):
        yield from jsonl_records(path, offset)
    elif is_pickle(path):
        yield from pickle_records(load_pickle_frame(path, "results file"), path)
    else:
        for i, atoms in enumerate(ase_frames(path)):
            yield atoms_to_record(atoms, f"{path.name}#{i}")


def read_results_with_origins(paths: Iterable[str]) -> tuple[list[Any], list[tuple[str, int]]]:
    """Records from every file, in order, and (file, position in file) for each."""
    records: list[Any] = []
    origins: list[tuple[str, int]] = []
    for name in paths:
        path = Path(name)
        start = len(records)
        records.extend(records_of_file(path, start))
        origins.extend((str(path), i) for i in range(len(records) - start))
    return records, origins


def read_results(paths: Iterable[str]) -> list[Any]:
    """Read CalculationResult records from every file, in order."""
    return read_results_with_origins(paths)[0]
