"""Which energy the dataset's rows give pacemaker, kept exact.

pacemaker fits ``energy_corrected``: it takes the column as stored when input.yaml has no
``data.reference_energy``, and otherwise computes it from ``energy`` (total) with those
single-atom energies (``auto``: fitted by least squares), failing with ``KeyError: 'energy'``
when rows have no total energy. So a dataset written here is one of two kinds:

- **every row has ``energy``** (``fitted: energy``): pacemaker computes ``energy_corrected``
  from the config's ``reference_energy`` (``auto``, a number or a map), as it always has; when
  the config gives numbers, every row carries ``energy_corrected`` as well;
- **some row has only ``energy_corrected``** (``fitted: energy_corrected``; e.g. a pacemaker
  dataset with no ``energy`` column): every row carries ``energy_corrected`` and training passes
  no ``data.reference_energy``, so pacemaker fits the corrected energies exactly as stored.

Mixing is exact or refused, never guessed: total energies join corrected ones only through known
single-atom reference energies (E_corrected = E - sum of E_ref), given as the config's
``reference_energy`` (a number or a map) or ``--reference-energy``. They are recorded in the
manifest; a later append that gives different ones is refused, since the corrected energies
already stored were made with the recorded ones.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, Union

import numpy as np
import pandas as pd

from mlip_trainer.errors import BadInput, Problem, json_argument, short_repr
from mlip_trainer.frames import CORRECTED
from mlip_trainer.validation import is_finite_number, known_symbols

#: Single-atom reference energies, eV: one number for every element, or {element: eV}.
Reference = Union[float, dict[str, float], None]
#: Outside this range of energy_corrected per atom (eV/atom) pacemaker discards the stored
#: corrected energies and fits its own (reference_energy: auto), which needs every total energy.
PACEMAKER_CORRECTED_RANGE = (-20.0, 250.0)


def parse_reference_energy(text: str | None, elements: Sequence[str] | None) -> Reference:
    """The `--reference-energy` text: one number (eV per atom, any element) or {element: eV}
    covering every configured element; None when not given."""
    if text is None:
        return None
    value = json_argument(text, "--reference-energy must be JSON", "reference_energy")
    if is_finite_number(value):
        return float(value)
    known = known_symbols()
    if not isinstance(value, dict) or not all(k in known and is_finite_number(v) for k, v in value.items()):
        raise BadInput(
            "--reference-energy must be a number or {element: eV}",
            [Problem(-1, "reference_energy", short_repr(value), "expected a number or {element: finite number}")],
        )
    missing = sorted(set(elements or []) - set(value))
    if missing:
        raise BadInput(
            "--reference-energy lacks elements",
            [Problem(-1, "reference_energy", short_repr(value), f"no value for {missing}")],
        )
    return {k: float(v) for k, v in value.items()}


def reference_sums(frame: pd.DataFrame, reference: float | dict[str, float]) -> np.ndarray[Any, Any]:
    """Sum of the single-atom energies of every row's atoms, eV."""
    from ase.data import atomic_numbers

    per_z = np.zeros(len(atomic_numbers) + 1)
    if isinstance(reference, dict):
        for element, value in reference.items():
            per_z[atomic_numbers[element]] = value
    else:
        per_z[:] = reference
    return np.array([float(per_z[a.numbers].sum()) for a in frame["ase_atoms"]], dtype=np.float64)


def corrected_only(frame: pd.DataFrame) -> np.ndarray[Any, Any]:
    """Rows known only by their corrected energy (no total energy)."""
    return frame["energy"].isna().to_numpy() if len(frame) else np.zeros(0, dtype=bool)


def fitted_energy(corrected_only_rows: int) -> str:
    """What training fits as stored: `energy` (pacemaker corrects it with the config's reference
    energies) or `energy_corrected` (taken as is; no data.reference_energy)."""
    return CORRECTED if corrected_only_rows else "energy"


def same_reference(a: Reference, b: Reference) -> bool:
    """Equal reference energies (to 1e-9 eV), a number counting as that number for every element."""
    if a is None or b is None:
        return a is b
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(math.isclose(a[k], b[k], abs_tol=1e-9) for k in a)
    if isinstance(a, dict):
        return not isinstance(b, dict) and all(math.isclose(v, b, abs_tol=1e-9) for v in a.values())
    if isinstance(b, dict):
        return all(math.isclose(v, a, abs_tol=1e-9) for v in b.values())
    return math.isclose(a, b, abs_tol=1e-9)


def with_energies(
    frame: pd.DataFrame, reference: Reference, recorded: Reference, sources: dict[str, str]
) -> tuple[pd.DataFrame, Reference]:
    """The dataset with the ``energy_corrected`` its kind needs (see the module), and the reference
    energies to record. `reference`: given with this update; `recorded`: the manifest's.
    `sources` names where total and corrected-only rows come from, for the refusal."""
    mask = corrected_only(frame)
    if not mask.any():
        if reference is None:
            # pacemaker computes it from data.reference_energy: no column rather than a partial one.
            return (frame.drop(columns=[CORRECTED]) if CORRECTED in frame.columns else frame), None
        frame = frame.copy()
        frame[CORRECTED] = frame["energy"].to_numpy(dtype=np.float64) - reference_sums(frame, reference)
        return frame, reference
    if reference is not None and recorded is not None and not same_reference(reference, recorded):
        raise BadInput(
            f"reference energies {short_repr(reference)} differ from those the dataset's corrected energies were"
            f" recorded with ({short_repr(recorded)}); nothing was written",
            [Problem(-1, "reference_energy", short_repr(reference), f"the dataset records {short_repr(recorded)}")],
        )
    effective = reference if reference is not None else recorded
    totals = ~mask
    frame = frame.copy()
    if totals.any():
        if effective is None:
            raise BadInput(
                f"{sources['corrected']} has corrected energies only (energy_corrected, no energy:"
                f" {int(mask.sum())} result(s)) and {sources['total']} total energies ({int(totals.sum())});"
                " mixing them is exact only with the single-atom reference energies the corrected ones were"
                " computed with: give them as reference_energy in the config (a number or {element: eV}) or"
                " --reference-energy, or keep the two in separate campaigns; nothing was written",
                [Problem(-1, "reference_energy", "auto", "needed to mix total and corrected energies")],
            )
        sums = reference_sums(frame[totals], effective)
        frame.loc[totals, CORRECTED] = frame.loc[totals, "energy"].to_numpy(dtype=np.float64) - sums
    per_atom = frame[CORRECTED].to_numpy(dtype=np.float64) / frame["ase_atoms"].map(len).to_numpy()
    low, high = PACEMAKER_CORRECTED_RANGE
    outside = np.flatnonzero((per_atom < low) | (per_atom > high))
    if len(outside):
        rows = ", ".join(f"{frame['name'].iloc[i]} ({per_atom[i]:.4g} eV/atom)" for i in outside[:5])
        raise BadInput(
            f"{len(outside)} result(s) have energy_corrected per atom outside [{low:g}, {high:g}] eV/atom: {rows};"
            " pacemaker replaces corrected energies outside that range by its own fit, which needs total energies"
            " for every result; correct them with the right reference energies; nothing was written",
            [Problem(-1, "energy_corrected", f"{per_atom[outside[0]]:.6g} eV/atom", "outside pacemaker's range")],
        )
    return frame, effective
