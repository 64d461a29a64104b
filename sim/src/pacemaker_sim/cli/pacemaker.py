"""pacemaker: fit a potential (SIMULATED; see pacemaker_sim.fit)."""

from __future__ import annotations

import argparse
import json
import os
import socket
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from pacemaker_sim import SIM_VERSION
from pacemaker_sim.basis import clean_potential
from pacemaker_sim.cli import run
from pacemaker_sim.dataset import DatasetLoader
from pacemaker_sim.faults import Faults
from pacemaker_sim.fit import SimulatedFit
from pacemaker_sim.logs import add_log_file, log
from pacemaker_sim.metrics import MetricsTables
from pacemaker_sim.outputs import (
    FITTING_DATA_INFO_FILENAME,
    TEST_DATA_INFO_FILENAME,
    clean_working_directory,
    run_predictions,
    save_dataset_info,
    set_core_repulsion,
)
from pacemaker_sim.potential import write_potential
from pacemaker_sim.run_config import TARGET_POTENTIAL_YAML, RunConfig, fit_settings, resolve_config, resolve_potentials
from pacemaker_sim.state import get_state
from pacemaker_sim.util import as_float, read_yaml, username, write_png


def pacemaker_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pacemaker",
        description="Fitting utility for atomic cluster expansion potentials.\nversion: {} (SIMULATOR)".format(
            SIM_VERSION
        ),
    )
    parser.add_argument("input", help="input YAML file, default: input.yaml", nargs="?", type=str, default="input.yaml")
    parser.add_argument(
        "-c", "--clean", help="Remove all generated data/files", dest="clean", default=False, action="store_true"
    )
    parser.add_argument(
        "-o",
        "--output",
        help="output B-basis YAML file name, default: output_potential.yaml",
        default="output_potential.yaml",
        type=str,
    )
    parser.add_argument(
        "-p",
        "--potential",
        help="input potential YAML file name, will override input file 'potential' section",
        type=str,
        default=argparse.SUPPRESS,
    )
    parser.add_argument(
        "-ip",
        "--initial-potential",
        help="initial potential YAML file name, will override input file 'potential::initial_potential' section",
        type=str,
        default=argparse.SUPPRESS,
    )
    parser.add_argument(
        "-d",
        "--data",
        help="data file, will override section 'YAML:fit:filename' from input file",
        type=str,
        default=argparse.SUPPRESS,
    )
    parser.add_argument("-l", "--log", help="log filename, default: log.txt", type=str, default="log.txt")
    parser.add_argument(
        "-dr",
        "--dry-run",
        help="Dry run: performs all preprocessing and analysis, but do not do the fitting",
        dest="dry_run",
        action="store_true",
        default=False,
    )
    parser.add_argument(
        "-t",
        "--template",
        help="Generate a template 'input.yaml' file by dialog",
        dest="template",
        action="store_true",
        default=False,
    )
    parser.add_argument("-v", "--version", help="Show version info", dest="version", action="store_true", default=False)
    parser.add_argument("--no-fit", help="Do not fit the potential", dest="no_fit", action="store_true", default=False)
    parser.add_argument(
        "--no-predict",
        help="Do not compute and save the predictions",
        dest="no_predict",
        action="store_true",
        default=False,
    )
    parser.add_argument(
        "--verbose-tf",
        help="Make tensorflow more verbose (off by default)",
        dest="verbose_tf",
        action="store_true",
        default=False,
    )
    return parser


def pacemaker_main(argv: Sequence[str]) -> int:
    faults = Faults.from_env(os.environ)
    if faults.pidfile:
        Path(faults.pidfile).write_text(str(os.getpid()))
    faults.report_env(os.environ, argv)
    args = pacemaker_parser().parse_args(argv)
    if args.version:
        print("pacemaker/pyace version: {}".format(SIM_VERSION))
        print("ace_evaluator   version: simulator (mlip-trainer pacemaker simulator, not a real pacemaker)")
        return 0
    if args.clean:
        clean_working_directory()
        return 0
    if args.template:
        print("SIMULATOR: the interactive template dialog (-t) is not simulated", file=sys.stderr)
        return 1
    if args.dry_run:
        log.info("====== DRY RUN ======")
    log.info("Redirecting log into file {}".format(args.log))
    add_log_file(args.log)
    log.info("Start pacemaker")
    log.info("Hostname: {}".format(socket.gethostname()))
    log.info("Username: {}".format(username()))
    log.info("pacemaker/pyace version: {}".format(SIM_VERSION))
    log.info("ace_evaluator   version: simulator")
    log.info("SIMULATOR: this is mlip-trainer's pacemaker simulator, not a real pacemaker")
    log.info("Loading {}... ".format(args.input))
    args_yaml = read_yaml(args.input)
    assert isinstance(args_yaml, dict)
    config = resolve_config(args, args_yaml)
    cutoff = as_float(args_yaml["cutoff"], "cutoff")
    return run_fit(args, config, cutoff, faults)


def run_fit(args: argparse.Namespace, config: RunConfig, cutoff: float, faults: Faults) -> int:
    log.info("Set numpy random seed to {}".format(config.seed))
    np.random.seed(config.seed)
    potentials = resolve_potentials(config, cutoff)
    target = potentials.target
    if potentials.ladder:
        log.info("Ladder_type: {} is selected".format(config.fit.get("ladder_type", "body_order")))
    evaluator = str(config.backend["evaluator"])
    if evaluator not in ("pyace", "tensorpot"):
        raise ValueError(f"Unknown evaluator type '{evaluator}', only 'tensorpot' is supported")
    tables = MetricsTables(ladder=potentials.ladder)
    log.info("{}_version: {}".format(evaluator, SIM_VERSION))
    if "reference_energy" in target["metadata"] and "reference_energy" not in config.data:
        stored = target["metadata"]["reference_energy"]
        config.data["reference_energy"] = json.loads(stored) if isinstance(stored, str) else stored
        log.info("Loading 'reference_energy' from potential metadata")
    loader = DatasetLoader(config.data, evaluator)
    train, test = loader.prepare()
    if loader.reference_energy is not None:
        target["metadata"]["reference_energy"] = json.dumps(loader.reference_energy)
        write_potential(target, TARGET_POTENTIAL_YAML)
        log.info("Saving 'reference_energy' to potential metadata")
    save_dataset_info(train, FITTING_DATA_INFO_FILENAME)
    if test is not None:
        save_dataset_info(test, TEST_DATA_INFO_FILENAME)
    log.info("Plotting train energy-forces distribution")
    write_png("train_ef-distributions.png")
    if test is not None:
        log.info("Plotting test energy-forces distribution")
        write_png("test_ef-distributions.png")
    settings = fit_settings(config, faults, train)
    if args.dry_run:
        log.info("Dry run is finished")
        return 0
    fit = SimulatedFit(settings, train, test, target, tables, ladder=potentials.ladder)
    fit.global_iterations = get_state(potentials.initial or target).iterations_done
    final = target
    if not args.no_fit:
        write_potential(target, TARGET_POTENTIAL_YAML)
        log.info("Fitting dataset size: {} structures / {} atoms".format(len(train), train["NUMBER_OF_ATOMS"].sum()))
        if test is not None:
            log.info("Test dataset size: {} structures / {} atoms".format(len(test), test["NUMBER_OF_ATOMS"].sum()))
        if potentials.ladder:
            log.info("'Ladder-scheme' fitting")
            final = fit.ladder_fitting(potentials.initial or clean_potential(target))
        else:
            log.info("'Single-shot' fitting")
            final = fit.cycle_fitting(target)
        log.info("Fitting done")
        set_core_repulsion(final, config.fit, train)
        final["metadata"].pop("_fit_cycles", None)
        write_potential(final, args.output)
        log.info("Final potential is saved to {}".format(args.output))
    if not args.no_predict:
        run_predictions(None if args.no_fit else fit, final, train, test, evaluator)
    if faults.exit_code is not None:
        faults.fire_once()
        log.info(f"SIMULATOR: PACEMAKER_SIM_EXIT_CODE={faults.exit_code}: exiting with code {faults.exit_code}")
        return faults.exit_code
    return 0


if __name__ == "__main__":
    run(pacemaker_main)
