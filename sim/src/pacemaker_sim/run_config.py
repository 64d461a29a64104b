"""pacemaker's input.yaml after its main() has applied the command-line overrides, with the same
order and traps; the target (and initial) potential and the fit settings it implies."""

from __future__ import annotations

import argparse
import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd

from pacemaker_sim import SIM_VERSION
from pacemaker_sim.basis import build_potential, clean_potential
from pacemaker_sim.faults import Faults
from pacemaker_sim.fit import FitSettings
from pacemaker_sim.logs import log
from pacemaker_sim.metrics import LossSpec
from pacemaker_sim.potential import load_potential, potential_elements, total_functions, write_potential
from pacemaker_sim.state import SimState, set_state
from pacemaker_sim.util import as_float, username

DEFAULT_SEED = 42
TARGET_POTENTIAL_YAML = "target_potential.yaml"


@dataclass
class RunConfig:
    """input.yaml after pacemaker's main() has applied the command-line overrides."""

    seed: int
    data: dict[str, Any]
    backend: dict[str, Any]
    potential: Any
    fit: dict[str, Any]


def resolve_config(args: argparse.Namespace, args_yaml: dict[str, Any]) -> RunConfig:
    """The order and the traps of upstream's bin/pacemaker main()."""
    if "cutoff" not in args_yaml:
        log.warning("No 'cutoff' provided in YAML file, please specify it")
        raise ValueError("No 'cutoff' provided in YAML file, please specify it")
    if "seed" in args_yaml:
        seed = int(args_yaml["seed"])
    else:
        seed = DEFAULT_SEED
        log.warning("No 'seed' provided in YAML file, default value seed = {} will be used.".format(seed))
    if "data" in args:
        data = {"filename": args.data}
        log.info("Overwrite 'data' with " + str(data))
    elif "data" in args_yaml:
        given = args_yaml["data"]  # a file name, or the data section
        data = {"filename": given} if isinstance(given, str) else given
        data.setdefault("seed", seed)
    else:
        raise ValueError("'data' section is not provided neither in input file nor in arguments")
    env_data_path = os.environ.get("PACEMAKERDATAPATH")
    if env_data_path is not None and not data.get("datapath"):
        data["datapath"] = env_data_path
        log.info("Data path set to $PACEMAKERDATAPATH = {}".format(env_data_path))
    backend: dict[str, Any] = {}
    if "backend" in args_yaml:
        backend = args_yaml["backend"] or {}
    elif not args.query_data:  # upstream bug kept on purpose: AttributeError, as the real program
        backend = {"evaluator": "pyace", "parallel_mode": "process"}
    if "evaluator" not in backend:
        backend["evaluator"] = "pyace"
        log.info("Couldn't find evaluator ('pyace' or 'tensorpot').")
        log.info(
            "Default evaluator `pyace` would be used,  otherwise please specify in YAML:backend:evaluator or as "
            "-b <evaluator>"
        )
    if "potential" in args:
        potential: Any = args.potential
        log.info("Potential settings is overwritten from arguments: " + str(potential))
    elif "potential" in args_yaml:
        potential = args_yaml["potential"]
        if isinstance(potential, dict) and "metadata" in args_yaml:
            potential["metadata"] = args_yaml["metadata"]
    elif not args.query_data:  # upstream bug kept on purpose: AttributeError
        raise ValueError("'potential' section is not given")
    if "initial_potential" in args:
        if not isinstance(potential, dict):
            raise ValueError("Couldn't combine `initial_potential` setting with non-dictionary `potential` setting")
        potential["initial_potential"] = args.initial_potential
    return RunConfig(seed=seed, data=data, backend=backend, potential=potential, fit=args_yaml.get("fit") or {})


def _metadata(extra: Mapping[str, Any], evaluator: str) -> dict[str, Any]:
    meta = {str(k): str(v) for k, v in (extra or {}).items()}
    meta.update({"starttime": str(datetime.now()), "user": username(), "pacemaker_version": SIM_VERSION})
    if evaluator == "tensorpot":
        meta["tensorpot_version"] = SIM_VERSION
    else:
        meta.update({"pyace_version": SIM_VERSION, "ace_evaluator_version": "simulator"})
    return meta


@dataclass
class Potentials:
    target: dict[str, Any]
    initial: dict[str, Any] | None
    ladder: bool


def _initial_from(value: Any) -> dict[str, Any]:
    paths = value if isinstance(value, list) else [value]
    docs = [load_potential(str(p)) for p in paths]
    merged = docs[0]
    for extra in docs[1:]:
        merged["species"].extend(extra["species"])
    return merged


def resolve_potentials(config: RunConfig, cutoff: float) -> Potentials:
    """Target (and, for ladder fitting, initial) potential, as GeneralACEFit.__init__ builds them."""
    potential, fit = config.potential, config.fit
    metadata = _metadata(
        potential.get("metadata", {}) if isinstance(potential, dict) else {}, config.backend["evaluator"]
    )
    initial, ladder = None, False
    if isinstance(potential, dict):
        if "initial_potential" in potential:
            initial = _initial_from(potential["initial_potential"])
            log.info(
                "Initial potential provided: {}, it contains {} functions".format(
                    potential["initial_potential"], total_functions(initial)
                )
            )
            ladder = True
            log.info("Ladder-scheme fitting is ON")
        elif "ladder_step" in fit:
            initial = clean_potential(build_potential(potential, cutoff, metadata))
            ladder = True
            log.info("Ladder-scheme fitting is ON")
            log.info("Initial potential is NOT provided, starting from empty potential")
        if "filename" in potential:
            target = load_potential(str(potential["filename"]))
            log.info(
                "Target potential loaded from file '{}', it contains {} functions".format(
                    potential["filename"], total_functions(target)
                )
            )
            if potential.get("reset"):
                log.info(
                    "Reset target potential, set functions coefficient to zero and radial coefficients to delta_nk"
                )
                set_state(target, SimState.initial(potential_elements(target)))
        else:
            target = build_potential(potential, cutoff, metadata)
            limit = (potential.get("functions") or {}).get("number_of_functions_per_element")
            if limit is not None:
                log.info(
                    "Number of functions in target potential is limited to maximum {} functions per element  "
                    "for {} elements ({} blocks)".format(limit, len(potential_elements(target)), len(target["species"]))
                )
                log.info("Resulted potential contains {} functions".format(total_functions(target)))
            log.info(
                "Target potential shape constructed from dictionary, it contains {} functions".format(
                    total_functions(target)
                )
            )
    elif isinstance(potential, str):
        target = load_potential(potential)
        log.info(
            "Target potential loaded from file '{}', it contains {} functions".format(
                potential, total_functions(target)
            )
        )
    else:
        raise ValueError(
            "Non-supported type: {}. Only dictionary (configuration), str (YAML file name) or "
            "BBasisConfiguration are supported".format(type(potential))
        )
    target["metadata"].update({k: v for k, v in metadata.items() if k not in target["metadata"]})
    write_potential(target, TARGET_POTENTIAL_YAML)
    if "ladder_step" in fit and not ladder:
        initial = clean_potential(target)
        log.info("Initial potential is NOT provided, starting from empty potential")
        ladder = True
        log.info("Ladder-scheme fitting is ON")
    return Potentials(target=target, initial=initial, ladder=ladder)


def fit_settings(config: RunConfig, faults: Faults, train: pd.DataFrame) -> FitSettings:
    fit = config.fit
    if "optimizer" not in fit:
        fit["optimizer"] = "BFGS"
        log.warning("'optimizer' is not provided, switch to default value: BFGS")
    if "maxiter" not in fit:
        fit["maxiter"] = 100
        log.warning("'maxiter' is not provided, switch to default value: 100")
    if "options" in fit:
        log.info("optimizer options are provided: '{}'".format(fit["options"]))
    loss = dict(fit.get("loss") or {})
    if loss.get("kappa") == "auto":
        e_std = float(train["energy_corrected_per_atom"].std())
        f_std = float(np.std(np.linalg.norm(np.vstack(list(train["forces"])), axis=1)))
        loss["kappa"] = e_std**2 / (e_std**2 + f_std**2)
        log.info("LossFunctionSpecification:kappa automatically selected: kappa = {:.3f}".format(loss["kappa"]))
    known = LossSpec.__dataclass_fields__
    loss_spec = LossSpec(**{k: as_float(v, f"fit::loss::{k}") for k, v in loss.items() if k in known})
    return FitSettings(
        fit_config=fit,
        backend_config=config.backend,
        evaluator=str(config.backend["evaluator"]),
        loss_spec=loss_spec,
        display_step=int(config.backend.get("display_step", 20)),
        maxiter=int(fit["maxiter"]),
        fit_cycles=int(fit.get("fit_cycles", 1)),
        faults=faults,
    )
