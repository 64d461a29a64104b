"""pace_select: select structures for training by D-optimality (MaxVol), SIMULATED.

As the real program, everything between reading the arguments and writing ``-o`` is
``pyace.aceselect.select_structures_maxvol``: here the stand-in's (sim/src/pyace), which is the
one implementation of the simulated selection.
"""

from __future__ import annotations

import argparse
import logging
import os
from collections.abc import Mapping, Sequence

import numpy as np

from pacemaker_sim.cli import run
from pacemaker_sim.logs import log, quiet_if
from pyace import ACEBBasisSet, BBasisConfiguration
from pyace.aceselect import load_multiple_datasets, save_selected_structures, select_structures_maxvol
from pyace.activelearning import compute_A_active_inverse, compute_number_of_functions, load_active_inverse_set

SELECT_LOG_FMT = "%(asctime)s - %(name)s - %(levelname)s - %(message)s"
MAXVOL_WARNING = "warning: fast C maxvol functions are not compiled, continue with python maxvol functions"


def select_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pace_select",
        description="Utility to select structures for training se based on D-optimality criterion (SIMULATOR)",
    )
    parser.add_argument(
        "dataset",
        nargs="+",
        type=str,
        help="Dataset file name(s), ex.: filename.pckl.gzip [extrapolative_structures.dat]",
    )
    parser.add_argument("-p", "--potential_file", help="B-basis file name (.yaml)", type=str, required=True)
    parser.add_argument(
        "-a",
        "--active-set-inv",
        default=None,
        type=str,
        dest="active_set_inv_fname",
        help="Active Set Inverted (ASI) filename, considered as extra B-projections",
    )
    parser.add_argument("-e", "--elements", type=str, help='List of elements, used in LAMMPS, i.e. "Ni Nb O"')
    parser.add_argument(
        "-m",
        "--max-structures",
        type=int,
        dest="max_structures",
        default=-1,
        help="Maximum number of structures to select (default -1 = all)",
    )
    parser.add_argument(
        "-o",
        "--output",
        dest="selected_structures_filename",
        type=str,
        default="selected.pkl.gz",
        help="Selected structures filename: selected.pkl.gz or structures/POSCAR (default: selected.pkl.gz)",
    )
    parser.add_argument(
        "-b",
        "--batch_size",
        default="auto",
        type=str,
        help="Batch size (number of structures) considered simultaneously.",
    )
    parser.add_argument("-g", "--gamma_tolerance", help="Gamma tolerance", default=1.01, type=float)
    parser.add_argument(
        "-i", "--maxvol_iters", help="Number of maximum iteration in MaxVol algorithm", default=300, type=int
    )
    parser.add_argument("-r", "--maxvol_refinement", help="Number of refinements (epochs)", default=2, type=int)
    parser.add_argument(
        "-mem", "--memory-limit", help="Memory limit (i.e. 1GB, 500MB or 'auto')", default="auto", type=str
    )
    parser.add_argument(
        "-V", help="suppress verbosity of numerical procedures", dest="not_verbose", default=False, action="store_true"
    )
    return parser


def check_active_set(path: str, active_set: Mapping[int, np.ndarray], bconf: BBasisConfiguration) -> None:
    """SIMULATOR: an .asi made for another potential fails here, naming the element and both
    shapes (the real program fails later, inside numpy)."""
    bbasis = ACEBBasisSet(bconf)
    nfuncs = dict(zip(bbasis.elements_name, compute_number_of_functions(bbasis)))
    names = sorted(np.load(path).keys())
    for st, element in enumerate(names):
        projections = active_set[st].shape[1]
        if element in nfuncs and projections != nfuncs[element]:
            raise ValueError(
                f"ASI {path}: element {element} has {projections} projections, the potential has "
                f"{nfuncs[element]}; recompute it with pace_activeset for this potential"
            )
    if names != bbasis.elements_name:
        raise ValueError(
            f"ASI {path}: elements {names}, the potential has {bbasis.elements_name}; recompute it with "
            "pace_activeset for this potential"
        )


def pace_select_main(argv: Sequence[str]) -> int:
    # Observed with a real build: pace_select's log lines look like
    # `2026-11-30 05:06:17,858 - root - INFO - ...` (a library configures logging before it), and
    # stdout starts with the maxvol warning.
    print(MAXVOL_WARNING, flush=True)
    for handler in logging.getLogger().handlers:
        handler.setFormatter(logging.Formatter(SELECT_LOG_FMT))
    args = select_parser().parse_args(argv)
    quiet_if(args.not_verbose)
    verbose = not args.not_verbose
    asi_name = args.active_set_inv_fname
    if asi_name is None:
        asi_name = args.potential_file.replace(".yaml", ".asi")
    if not os.path.isfile(asi_name):
        log.info(f"No ASI file {asi_name} found")
        asi_name = None
    for name in args.dataset:
        if name.endswith(".dat") or name.endswith(".dump"):
            raise ValueError("SIMULATOR: LAMMPS extrapolation dumps (.dat/.dump) are not simulated")
    df = load_multiple_datasets(args.dataset, args.elements, verbose)
    log.info(f"{len(df['ase_atoms'])} structures in candidate list")
    log.info(f"Loading B-basis configuration from {args.potential_file}")
    bconf = BBasisConfiguration(args.potential_file)
    extra = None
    if asi_name:
        log.info(f"Loading Active Set Inverted  from {asi_name}")
        extra = compute_A_active_inverse(load_active_inverse_set(asi_name))
        check_active_set(asi_name, extra, bconf)
    else:
        log.info("No Active Set Inverted provided")
    selected = select_structures_maxvol(
        df,
        bconf,
        extra,
        args.batch_size,
        args.gamma_tolerance,
        args.max_structures,
        args.maxvol_iters,
        args.maxvol_refinement,
        args.memory_limit,
        verbose,
    )
    save_selected_structures(selected, args.selected_structures_filename, verbose)
    return 0


if __name__ == "__main__":
    run(pace_select_main)
