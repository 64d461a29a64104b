"""pace_activeset: the active set of a potential on its training data (the .asi file), SIMULATED.

Built, as the real program, on pyace's functions: here the stand-in's (sim/src/pyace). One MaxVol
over all projections, or (above the memory limit, with -a) the batched MaxVol of
``compute_active_set_by_batches``.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from pacemaker_sim.cli import run
from pacemaker_sim.descriptors import check_pool_elements
from pacemaker_sim.logs import log, quiet_if
from pacemaker_sim.state import get_state
from pyace import ACEBBasisSet, BBasisConfiguration
from pyace.aceselect import compute_batch_size, compute_mem_limit, compute_required_memory, load_datasets
from pyace.activelearning import (
    compute_A_active_inverse,
    compute_active_set,
    compute_active_set_by_batches,
    compute_B_projections,
    compute_extrapolation_grade,
    compute_number_of_functions,
    count_number_total_atoms_per_species_type_aseatom,
    save_active_inverse_set,
)
from pyace.preparedata import sizeof_fmt


def activeset_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pace_activeset", description="Utility to compute active set for PACE (.yaml) potential (SIMULATOR)"
    )
    parser.add_argument("potential_file", help="B-basis file name (.yaml)", type=str)
    parser.add_argument(
        "-d",
        "--dataset",
        action="append",
        required=True,
        type=str,
        help="Dataset file name(s), ex.: -d filename.pckl.gzip [-d filename2.pckl.gzip]",
    )
    parser.add_argument("-q", "--query", type=str, default=None, help="pd.query argument for further filtering")
    parser.add_argument(
        "-f", "--full", help="Compute active set on full (linearized) design matrix", action="store_true"
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
    parser.add_argument("-r", "--maxvol_refinement", help="Number of refinements (epochs)", default=5, type=int)
    parser.add_argument(
        "-m", "--memory-limit", help="Memory limit (i.e. 1GB, 500MB or 'auto')", default="auto", type=str
    )
    parser.add_argument(
        "-e",
        "--error-force-threshold",
        default=0,
        type=float,
        dest="error_based_threshold",
        help="Include into active set only atoms with force RMSE error lower than provided.",
    )
    parser.add_argument(
        "-a",
        "--all-atoms",
        help="Consider all atoms for construction of active set",
        dest="all_atoms",
        default=False,
        action="store_true",
    )
    parser.add_argument(
        "-V", help="suppress verbosity of numerical procedures", dest="not_verbose", default=False, action="store_true"
    )
    return parser


def select_by_force_error(
    df: pd.DataFrame,
    doc: Mapping[str, Any],
    projections: dict[int, np.ndarray],
    elements: Sequence[str],
    threshold: float,
) -> dict[int, np.ndarray]:
    """Drop atoms whose (simulated) force error is above Q3+1.5*IQR (or the -e threshold)."""
    log.info("Select atomic environments with force error below threshold")
    if threshold == 0:
        log.info("Automatic force error threshold determination(Q3+1.5*IQR)")
    else:
        log.info("Force error threshold: {:.3f} eV/A".format(threshold))
    fraction = get_state(doc).force_fraction
    cropped = {}
    for st, element in enumerate(elements):
        errors = np.hstack(
            [
                np.linalg.norm((1 - fraction) * np.asarray(f)[np.array(a.get_chemical_symbols()) == element], axis=1)
                for a, f in zip(df["ase_atoms"], df["forces"])
            ]
            + [np.zeros(0)]
        )
        if len(errors) == 0:
            cropped[st] = projections[st]
            continue
        q1, _, q3 = np.quantile(errors, q=[0.25, 0.5, 0.75])
        upper = q3 + 1.5 * (q3 - q1) if threshold <= 0 else threshold
        mask = errors <= upper
        log.info("\tElement: {}, specie type: {}".format(element, st))
        log.info("\t\tForce error upper bound: {:.3f} meV/A".format(1e3 * upper))
        log.info("\t\tNumber/fraction of selected atoms: {} ({:.1f}%)".format(np.sum(mask), 1e2 * float(np.mean(mask))))
        cropped[st] = projections[st][mask]
    return cropped


def pace_activeset_main(argv: Sequence[str]) -> int:
    args = activeset_parser().parse_args(argv)
    quiet_if(args.not_verbose)
    verbose = not args.not_verbose
    mem_lim = compute_mem_limit(args.memory_limit)
    df = load_datasets(args.dataset, os.environ.get("PACEMAKERDATAPATH", ""), verbose)
    log.info("Total number of structures: {}".format(len(df)))
    if args.query is None and "name" in df.columns:
        size_before = len(df)
        df = df[~df["name"].astype(str).str.startswith("augmented")].reset_index(drop=True)
        if len(df) < size_before:
            log.info(
                f"AUGMENTED STRUCTURES: {size_before - len(df)} structure(s) were dropped, new dataset size: {len(df)}"
            )
    if args.query is not None and not args.all_atoms:
        log.info(f"Applying query ``{args.query}``")
        df = df.query(args.query).reset_index(drop=True)
    log.info("Potential file: {}".format(args.potential_file))
    bconf = BBasisConfiguration(args.potential_file)
    bbasis = ACEBBasisSet(bconf)
    elements = bbasis.elements_name
    check_pool_elements(list(df["ase_atoms"]), elements)
    nfuncs = compute_number_of_functions(bbasis)
    n_projections = (
        [n * bbasis.map_embedding_specifications[st].ndensity for st, n in enumerate(nfuncs)] if args.full else nfuncs
    )
    log.info(
        "Constructing atomic_env column, cutoffmax={}, elements_to_index_map={}".format(
            bbasis.cutoffmax, bbasis.elements_to_index_map
        )
    )
    counts = count_number_total_atoms_per_species_type_aseatom(df["ase_atoms"], bbasis.elements_to_index_map)
    active_mem, proj_mem = compute_required_memory(counts, elements, nfuncs, n_projections, verbose)
    log.info("Required memory to store complete dataset projections: {}".format(sizeof_fmt(proj_mem)))
    log.info("Required memory to store active set: {}".format(sizeof_fmt(active_mem)))
    batch_size = compute_batch_size(args.batch_size, mem_lim, len(df), active_mem, proj_mem, verbose)
    suffix = ".asi.nonlinear" if args.full else ".asi"
    out_name = args.potential_file.replace(".yaml", suffix)
    log.info(
        "FULL (non-linear) matrix will be used for active set calculation"
        if args.full
        else "LINEAR matrix will be used for active set calculation"
    )
    if batch_size is None:
        log.info("Single-run (no batch_size is provided)")
        log.info("Compute B-projections")
        projections = compute_B_projections(bbasis, df["ase_atoms"], is_full=args.full, verbose=verbose)
        log.info("B-projections computed:")
        for st, matrix in projections.items():
            log.info("\tElement: {}, B-projections shape: {}".format(elements[st], matrix.shape))
        if not args.all_atoms:
            projections = select_by_force_error(df, bbasis.doc, projections, elements, args.error_based_threshold)
        log.info("Compute active set (using MaxVol algorithm)")
        rows = {st: np.arange(len(matrix)) for st, matrix in projections.items()}
        _, chosen = compute_active_set(
            projections, rows, tol=args.gamma_tolerance, max_iters=args.maxvol_iters, verbose=verbose
        )
        square = {st: _padded_active_set(projections[st], chosen[st]) for st in projections}
        inverses = compute_A_active_inverse(square)
        log.info("Compute pseudoinversion of active set")
        gamma = compute_extrapolation_grade(projections, inverses)
        gamma_max = {st: float(g.max()) if len(g) else 0.0 for st, g in gamma.items()}
    else:
        log.info("Approximated MaxVol by batches")
        log.info("Batch size: {}".format(batch_size))
        if not args.all_atoms:
            log.error(
                "WARNING! Error-based selection of atoms in batch mode is not implemented. Please use "
                "--all-atoms option"
            )
            return 1
        n_batches = len(df) // batch_size
        log.info("Number of batches: {}".format(n_batches))
        log.info("Compute approximate active set (using batched MaxVol algorithm)")
        gamma_max, best_active_sets, _ = compute_active_set_by_batches(
            bbasis,
            atomic_env_list=df["ase_atoms"],
            structure_ind_list=df.index,
            n_batches=n_batches,
            gamma_tolerance=args.gamma_tolerance,
            maxvol_iters=args.maxvol_iters,
            n_refinement_iter=args.maxvol_refinement,
            save_interim_active_set=True,
            is_full=args.full,
            verbose=verbose,
        )
        log.info("Compute pseudoinversion of active set")
        inverses = compute_A_active_inverse(best_active_sets)
    for st, inverse in inverses.items():
        log.info(
            "\tElement: {}, Active set inv. shape: {}, gamma_max: {:.3f}".format(
                elements[st], inverse.shape, gamma_max[st]
            )
        )
    log.info("Saving Active Set Inversion (ASI) to {}".format(out_name))
    save_active_inverse_set(out_name, inverses, elements_name=elements)
    log.info("Saving  done to {} ({})".format(out_name, sizeof_fmt(out_name)))
    return 0


def _padded_active_set(matrix: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """A square active set when fewer rows add volume: fill up with the remaining rows in order."""
    chosen = list(rows)
    for row in range(matrix.shape[0]):
        if len(chosen) == matrix.shape[1]:
            break
        if row not in chosen:
            chosen.append(row)
    return matrix[chosen]


if __name__ == "__main__":
    run(pace_activeset_main)
