"""SIMULATED pyace.aceselect: pace_select's selection (D-optimality by MaxVol) and its helpers.

``select_structures_maxvol`` looks up ``compute_B_projections``, ``compute_active_set`` and
``compute_active_set_by_batches`` in this module at call time (they are imported into it from
pyace.activelearning, as in the real module), so replacing those names here observes its calls.
"""

from __future__ import annotations

import logging
import os
from collections import Counter
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from pyace.activelearning import (
    compute_active_set,
    compute_active_set_by_batches,
    compute_B_projections,
    compute_number_of_functions,
    count_number_total_atoms_per_species_type_aseatom,
)
from pyace.basis import ACEBBasisSet, BBasisConfiguration
from pyace.preparedata import sizeof_fmt

__all__ = [
    "compute_B_projections",
    "compute_active_set",
    "compute_active_set_by_batches",
    "compute_batch_size",
    "compute_mem_limit",
    "compute_required_memory",
    "load_datasets",
    "load_multiple_datasets",
    "save_selected_structures",
    "select_structures_maxvol",
]

log = logging.getLogger()


def select_structures_maxvol(
    df: pd.DataFrame,
    bconf: BBasisConfiguration,
    extra_A0_projections_dict: Mapping[int, np.ndarray] | None = None,
    batch_size_option: str = "auto",
    gamma_tolerance: float = 1.01,
    max_structures: int = -1,
    maxvol_iters: int = 300,
    maxvol_refinement: int = 2,
    mem_lim_option: str = "auto",
    verbose: bool = False,
) -> pd.DataFrame:
    """The structures of ``df`` (``ase_atoms`` column) with the most atoms in the active set, most
    first, at most ``max_structures`` (-1: all). ``extra_A0_projections_dict``: the rows of an
    existing active set (the inverse of an .asi), which take part but are never selected. The
    memory the pool's projections need decides between one MaxVol and batches (``mem_lim_option``,
    ``batch_size_option``)."""
    bbasis = ACEBBasisSet(bconf)
    nfuncs = compute_number_of_functions(bbasis)
    ase_atoms_list = df["ase_atoms"]
    atoms_per_species_type = count_number_total_atoms_per_species_type_aseatom(
        ase_atoms_list, bbasis.elements_to_index_map
    )
    active_set_memory, projections_memory = compute_required_memory(
        atoms_per_species_type, bbasis.elements_name, nfuncs, verbose=verbose
    )
    if verbose:
        log.info("Required memory to store complete dataset projections: {}".format(sizeof_fmt(projections_memory)))
        log.info("Required memory to store active set: {}".format(sizeof_fmt(active_set_memory)))
    num_structures = len(ase_atoms_list)
    mem_lim = compute_mem_limit(mem_lim_option)
    batch_size = compute_batch_size(
        batch_size_option, mem_lim, num_structures, active_set_memory, projections_memory, verbose
    )
    if batch_size is None:
        if verbose:
            log.info("Single-shot mode")
            log.info("Compute B-projections")
        projections, structure_ind = compute_B_projections(
            bconf, ase_atoms_list, return_structure_ind_dict=True, verbose=verbose
        )
        if verbose:
            log.info("Selecting structures")
        single = compute_active_set(
            projections,
            structure_ind,
            tol=gamma_tolerance,
            max_iters=maxvol_iters,
            extra_A0_projections_dict=extra_A0_projections_dict,
            verbose=verbose,
        )
        selected_structures_inds_dict = single[1]
    else:
        if verbose:
            log.info("Batch mode")
        n_batches = num_structures // batch_size
        if verbose:
            log.info("Number of batches: {}".format(n_batches))
            log.info("Selecting structures in batch mode")
        batched = compute_active_set_by_batches(
            bconf,
            ase_atoms_list,
            n_batches=n_batches,
            gamma_tolerance=gamma_tolerance,
            maxvol_iters=maxvol_iters,
            n_refinement_iter=maxvol_refinement,
            save_interim_active_set=True,
            extra_A_active_set_dict=extra_A0_projections_dict,
            verbose=verbose,
        )
        selected_structures_inds_dict = batched[2]
    counts: Counter[int] = Counter()
    for structures in selected_structures_inds_dict.values():
        counts.update(int(i) for i in structures)
    counts.pop(-1, None)  # rows of the given active set
    if verbose:
        log.info(f"Overall {len(counts)} structures selected")
    indices = [i for i, _ in counts.most_common()]
    if max_structures > 0:
        if verbose:
            log.info(f"Selection top {max_structures} structures")
        indices = indices[:max_structures]
    return df.iloc[indices].copy()


def compute_required_memory(
    total_number_of_atoms_per_species_type: Mapping[int, int],
    elements_name: Sequence[str],
    nfuncs: Sequence[int],
    n_projections: Sequence[int] | None = None,
    verbose: bool = False,
) -> tuple[int, int]:
    """Bytes (float64) of the active set and of all the projections: ``(active set, projections)``."""
    projections = nfuncs if n_projections is None else n_projections
    entries, active = 0, 0
    for st, count in total_number_of_atoms_per_species_type.items():
        if verbose:
            log.info(
                "\tElement: {}, # atoms: {}, # B-func: {}, # projections: {}".format(
                    elements_name[st], count, nfuncs[st], projections[st]
                )
            )
        entries += count * projections[st]
        active += projections[st] ** 2
    return active * 8, entries * 8


def _read_pickles(filenames: Sequence[str], data_path: str, pool: bool, verbose: bool) -> pd.DataFrame:
    frames: list[pd.DataFrame] = []
    for i, name in enumerate(filenames):
        if not os.path.isfile(name) and data_path and os.path.isfile(os.path.join(data_path, name)):
            name = os.path.join(data_path, name)
        if not os.path.isfile(name):
            raise RuntimeError("File {} not found".format(name))
        if verbose:
            log.info("Loading dataset #{}/{} from {}".format(i + 1, len(filenames), name))
        if pool and (name.endswith(".dat") or name.endswith(".dump")):
            raise ValueError("SIMULATOR: LAMMPS extrapolation dumps (.dat/.dump) are not simulated")
        if pool and not (name.endswith(".pckl.gzip") or name.endswith(".pkl.gz")):
            raise ValueError(f"Unsupported file type: {name}")
        frame = pd.read_pickle(name, compression="gzip")
        if verbose:
            log.info("Number of structures: {}".format(len(frame)))
        frames.append(frame)
    return pd.concat(frames, axis=0).reset_index(drop=True)


def load_multiple_datasets(
    dataset_filename: Sequence[str], elements: str | None = None, verbose: bool = False
) -> pd.DataFrame:
    """pace_select's candidates: gzip-pickled datasets (.pckl.gzip, .pkl.gz), one frame."""
    return _read_pickles(dataset_filename, "", pool=True, verbose=verbose)


def load_datasets(dataset_filename: Sequence[str], data_path: str, verbose: bool = False) -> pd.DataFrame:
    """pace_activeset's data: gzip-pickled datasets of any name, also looked up in ``data_path``."""
    return _read_pickles(dataset_filename, data_path, pool=False, verbose=verbose)


def compute_mem_limit(mem_lim: str) -> int:
    """Bytes: ``auto`` is 80% of the available memory; else e.g. 8GB, 500MB, 64KB or a number."""
    if mem_lim == "auto":
        pages = os.sysconf("SC_AVPHYS_PAGES") if hasattr(os, "sysconf") else 1 << 20
        return int(0.8 * pages * os.sysconf("SC_PAGE_SIZE"))
    text = mem_lim.strip().upper()
    for suffix, factor in (("GB", 2**30), ("MB", 2**20), ("KB", 2**10)):
        if text.endswith(suffix):
            return int(float(text[: -len(suffix)]) * factor)
    return int(float(text))


def compute_batch_size(
    batch_size_option: str,
    mem_lim: int,
    num_structures: int,
    required_active_set_memory: int,
    required_projections_memory: int,
    verbose: bool,
) -> int | None:
    """Structures per batch, None for one shot. As the real one, traps included: a limit at or
    below the active set's memory divides by zero or gives a batch size <= 0, which the callers
    then fail on."""
    if batch_size_option == "auto":
        if verbose:
            log.info("Automatic batch_size determination")
            log.info("Memory limit: {}".format(sizeof_fmt(mem_lim)))
        if 2 * required_projections_memory + required_active_set_memory < mem_lim:
            return None
        nsplits = int(np.ceil(2 * required_projections_memory // (mem_lim - required_active_set_memory)))
        return int(np.round(num_structures / nsplits))
    if batch_size_option in ("None", "none"):
        return None
    return int(batch_size_option)


def save_selected_structures(df_selected: pd.DataFrame, selected_structures_filename: str, verbose: bool) -> None:
    """``df.to_pickle(filename)`` (compression inferred from the name: .gz -> gzip, .pckl.gzip ->
    none), or POSCAR files when the name contains POSCAR."""
    if "POSCAR" in selected_structures_filename:
        from ase.io import write

        if verbose:
            log.info(f"Saving selected structures to {selected_structures_filename.replace('POSCAR', '*.POSCAR')}")
        os.makedirs(os.path.dirname(selected_structures_filename) or ".", exist_ok=True)
        for i, atoms in enumerate(df_selected["ase_atoms"]):
            write(
                selected_structures_filename.replace("POSCAR", "{}.POSCAR".format(i)), atoms, format="vasp", sort=True
            )
    else:
        if verbose:
            log.info(f"Saving selected structures to {selected_structures_filename} as pickled dataframe")
        df_selected.to_pickle(selected_structures_filename)
    if verbose:
        log.info("Done")
