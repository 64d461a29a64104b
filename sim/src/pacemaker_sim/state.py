"""The simulated model: per-element energies and a force fraction, stored in a potential file
under ``sim_state`` and written into every function's coefficients."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from pacemaker_sim.potential import block_central, coefficient_bases, element_ndensity


@dataclass(frozen=True)
class Params:
    """Model parameters: per-element energies (eV/atom, predict energy_corrected) and force fraction."""

    energies: np.ndarray
    force_fraction: float

    def towards(self, target: Params, decay: float) -> Params:
        return Params(
            target.energies + (self.energies - target.energies) * decay,
            target.force_fraction + (self.force_fraction - target.force_fraction) * decay,
        )


@dataclass
class SimState:
    """What the simulator stores in a potential file under `sim_state`."""

    reference_energies: dict[str, float]
    force_fraction: float = 0.0
    iterations_done: int = 0
    loss: float | None = None
    rmse_e_mev: float | None = None
    rmse_f_mev: float | None = None
    # Functions of the basis the fit that wrote this state was growing towards (see SimulatedFit.converged).
    target_functions: int | None = None

    @staticmethod
    def initial(elements: Iterable[str]) -> SimState:
        return SimState({e: 0.0 for e in elements})

    def params(self, elements: Sequence[str]) -> Params:
        return Params(
            np.array([float(self.reference_energies.get(e, 0.0)) for e in elements], dtype=np.float64),
            float(self.force_fraction),
        )

    def to_yaml(self) -> dict[str, Any]:
        return {
            "loss": self.loss,
            "rmse_e_mev": self.rmse_e_mev,
            "rmse_f_mev": self.rmse_f_mev,
            "iterations_done": self.iterations_done,
            "reference_energies": {k: float(v) for k, v in self.reference_energies.items()},
            "force_fraction": float(self.force_fraction),
            **({"target_functions": self.target_functions} if self.target_functions is not None else {}),
        }


def get_state(doc: Mapping[str, Any]) -> SimState:
    raw = doc.get("sim_state") or {}
    energies = raw.get("reference_energies") or {}
    return SimState(
        reference_energies={str(k): float(v) for k, v in energies.items()},
        force_fraction=float(raw.get("force_fraction", 0.0) or 0.0),
        iterations_done=int(raw.get("iterations_done", 0) or 0),
        loss=raw.get("loss"),
        rmse_e_mev=raw.get("rmse_e_mev"),
        rmse_f_mev=raw.get("rmse_f_mev"),
        target_functions=int(raw["target_functions"]) if raw.get("target_functions") else None,
    )


def set_state(doc: dict[str, Any], state: SimState) -> None:
    """Store `state` and write the coefficients it implies into every function's `c`."""
    doc["sim_state"] = state.to_yaml()
    bases = iter(coefficient_bases(doc))
    ndens = element_ndensity(doc)
    for block in doc.get("species", []):
        for entry in block.get("nbody", []) or []:
            entry["c"] = [float(state.force_fraction * next(bases)) for _ in range(ndens[block_central(block)])]
