"""Potential files: pacemaker's B-basis YAML (metadata / global / species) plus the simulator's
extras (``simulated: true``, a ``sim_state`` block, a first comment line saying it is simulated),
and the questions the programs ask of one (elements, functions, coefficients, cutoff)."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from pacemaker_sim import SIM_COMMENT
from pacemaker_sim.logs import log
from pacemaker_sim.util import dump_yaml, read_yaml


def load_potential(path: str) -> dict[str, Any]:
    if not os.path.isfile(path):
        raise RuntimeError(f"File '{path}' not found")
    doc = read_yaml(path)
    if not isinstance(doc, dict) or not isinstance(doc.get("species"), list):
        raise RuntimeError(f"'{path}' is not a B-basis potential YAML (no 'species' list)")
    doc.setdefault("metadata", {})
    doc.setdefault("global", {"DeltaSplineBins": 0.001})
    if "cutoff" not in doc:
        doc["cutoff"] = max((float(b.get("rcutij", 0.0)) for b in doc["species"]), default=0.0)
    if "sim_state" not in doc:
        log.warning(f"SIMULATOR: '{path}' carries no sim_state (not written by the simulator): starting from zero")
    return doc


def copy_doc(doc: Mapping[str, Any]) -> dict[str, Any]:
    copied: dict[str, Any] = json.loads(json.dumps(doc))
    return copied


def write_potential(doc: Mapping[str, Any], path: str | Path) -> None:
    body = {k: v for k, v in doc.items() if k != "simulated"}
    body["simulated"] = True
    Path(path).write_text(SIM_COMMENT + "\n" + dump_yaml(body))


def potential_elements(doc: Mapping[str, Any]) -> list[str]:
    names: set[str] = set()
    for block in doc.get("species", []):
        names.update(str(block.get("speciesblock", "")).split())
    return sorted(names)


def block_central(block: Mapping[str, Any]) -> str:
    return str(block.get("speciesblock", "")).split()[0]


def element_ndensity(doc: Mapping[str, Any]) -> dict[str, int]:
    result = {e: 1 for e in potential_elements(doc)}
    for block in doc.get("species", []):
        if len(str(block.get("speciesblock", "")).split()) == 1:
            result[block_central(block)] = int(block.get("ndensityi", 1))
    return result


def functions_per_element(doc: Mapping[str, Any]) -> dict[str, int]:
    counts = {e: 0 for e in potential_elements(doc)}
    for block in doc.get("species", []):
        counts[block_central(block)] += len(block.get("nbody", []) or [])
    return counts


def total_functions(doc: Mapping[str, Any]) -> int:
    return sum(functions_per_element(doc).values())


def coefficient_bases(doc: Mapping[str, Any]) -> np.ndarray:
    """Deterministic 'shape' of every function coefficient; the stored value is force_fraction x base."""
    ndens = element_ndensity(doc)
    count = sum(len(b.get("nbody", []) or []) * ndens[block_central(b)] for b in doc.get("species", []))
    return 0.1 * np.sin(np.arange(1, count + 1, dtype=np.float64))


def number_of_coefficients(doc: Mapping[str, Any]) -> int:
    radial = sum(int(np.size(b.get("radcoefficients", []))) for b in doc.get("species", []))
    return len(coefficient_bases(doc)) + radial


def potential_dims(doc: Mapping[str, Any], full: bool) -> dict[str, int]:
    counts = functions_per_element(doc)
    ndens = element_ndensity(doc)
    return {e: max(1, counts[e] * (ndens[e] if full else 1)) for e in counts}


def potential_cutoff(doc: Mapping[str, Any]) -> float:
    return max([float(b.get("rcutij", 0.0)) for b in doc.get("species", [])] + [float(doc.get("cutoff", 0.0) or 0.0)])
