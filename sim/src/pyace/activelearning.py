"""SIMULATED pyace.activelearning: B-projections, active sets (MaxVol) and extrapolation grades.

Same names, signatures, return shapes and call graph as the real module, dictionaries keyed by
species type (the index of an element in ``ACEBBasisSet.elements_name``). The batch functions
look up ``compute_B_projections``, ``compute_active_set`` and
``compute_extrapolation_grade_by_batches`` in this module at call time, as the real ones do.
The numbers are the simulator's (pacemaker_sim.descriptors); atomic environments are ASE Atoms
(there is no ACEAtomicEnvironment here).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from pacemaker_sim import descriptors
from pacemaker_sim.potential import potential_dims
from pyace.basis import ACEBBasisSet, BBasisConfiguration

#: species type -> [n_atoms(species type), n_projections(species type)]
ProjectionsDict = dict[int, np.ndarray]
#: species type -> the structure index of every row
StructureIndDict = dict[int, np.ndarray]


def save_active_inverse_set(
    filename: str, A_active_inverse_set: Mapping[int, np.ndarray], elements_name: Sequence[str] | None = None
) -> None:
    """The .asi file: one matrix per element name, in species-type order."""
    names = list(elements_name) if elements_name is not None else [str(st) for st in range(len(A_active_inverse_set))]
    with open(filename, "wb") as handle:
        np.savez(handle, **{names[st]: matrix for st, matrix in A_active_inverse_set.items()})


def load_active_inverse_set(filename: str) -> dict[int, np.ndarray]:
    """An .asi file keyed by species type: its element names sorted, numbered 0, 1, ..."""
    data = np.load(filename)
    return {st: data[element] for st, element in enumerate(sorted(data.keys()))}


def count_number_total_atoms_per_species_type_aseatom(
    atomic_env_list: Sequence[Any] | pd.Series, elements_mapper_dict: Mapping[str, int]
) -> dict[int, int]:
    """Atoms of each species type over all structures (every species type, zero included).

    SIMULATOR: a structure with an element the potential lacks is logged as an error (naming it)
    before the KeyError the real function raises."""
    atoms_list = list(atomic_env_list)
    descriptors.check_pool_elements(atoms_list, list(elements_mapper_dict))
    counts: Counter[int] = Counter({st: 0 for st in elements_mapper_dict.values()})
    for atoms in atoms_list:
        counts.update(elements_mapper_dict[s] for s in atoms.get_chemical_symbols())
    return dict(counts)


def compute_number_of_functions(pot: ACEBBasisSet) -> list[int]:
    """Functions per species type (at least one: the simulated projections have one column or more)."""
    dims = potential_dims(pot.doc, full=False)
    return [dims[e] for e in pot.elements_name]


def convert_to_bbasis(bconf: BBasisConfiguration | ACEBBasisSet) -> ACEBBasisSet:
    if isinstance(bconf, BBasisConfiguration):
        return ACEBBasisSet(bconf)
    if isinstance(bconf, ACEBBasisSet):
        return bconf
    raise ValueError("Unsupported type of `bconf`: {}".format(type(bconf)))


def convert_to_atomic_env_list(atomic_env_list: Sequence[Any] | pd.Series, pot: ACEBBasisSet) -> list[Any]:
    """The structures as a list of ASE Atoms (the simulated projections are computed from them)."""
    if isinstance(atomic_env_list, pd.Series):
        return list(atomic_env_list.values)
    return list(atomic_env_list)


def compute_B_projections(
    bconf: BBasisConfiguration | ACEBBasisSet,
    atomic_env_list: Sequence[Any] | pd.Series,
    structure_ind_list: Sequence[int] | np.ndarray | pd.Index | None = None,
    is_full: bool = False,
    compute_forces_dict: bool = False,
    return_structure_ind_dict: bool = False,
    verbose: bool = False,
) -> Any:
    """B-projections of every atom per species type ``[n_atoms, n_projections]`` (``is_full``: times
    the element's densities), and with ``structure_ind_list`` or ``return_structure_ind_dict`` the
    structure index of every row: ``A0_projections_dict`` or ``(A0_projections_dict, structure_ind_dict)``."""
    if compute_forces_dict:
        raise NotImplementedError("SIMULATED pyace: compute_B_projections(compute_forces_dict=True) is not simulated")
    bbasis = convert_to_bbasis(bconf)
    atoms_list = convert_to_atomic_env_list(atomic_env_list, bbasis)
    dims = potential_dims(bbasis.doc, is_full)
    by_element, rows_of = descriptors.atom_projections(atoms_list, bbasis.elements_name, dims, bbasis.cutoffmax)
    index = bbasis.elements_to_index_map
    projections = {index[e]: matrix for e, matrix in by_element.items()}
    if structure_ind_list is None:
        structure_ind = {index[e]: rows for e, rows in rows_of.items()}
    else:
        given = np.asarray(structure_ind_list)
        structure_ind = {index[e]: given[rows] for e, rows in rows_of.items()}
        return_structure_ind_dict = True
    return (projections, structure_ind) if return_structure_ind_dict else projections


def _grade(projections: np.ndarray, inverse: np.ndarray) -> np.ndarray:
    """gamma of every row: max_j |(b A^-1)_j|."""
    if len(projections) == 0:
        return np.zeros(0)
    return np.asarray(np.abs(projections @ inverse).max(axis=1))


def compute_extrapolation_grade(
    A0_projections_dict: Mapping[int, np.ndarray], A_active_set_inv_dict: Mapping[int, np.ndarray]
) -> dict[int, np.ndarray]:
    """gamma of every atom, per species type."""
    return {st: _grade(matrix, A_active_set_inv_dict[st]) for st, matrix in A0_projections_dict.items()}


def compute_extrapolation_grade_by_batches(
    bbasis: BBasisConfiguration | ACEBBasisSet,
    atomic_env_batches: Sequence[Sequence[Any]],
    A_active_set_inv_dict: Mapping[int, np.ndarray],
    structure_ind_batches: Sequence[np.ndarray] | None = None,
    gamma_threshold: float | None = None,
    is_full: bool = False,
    verbose: bool = False,
) -> Any:
    """gamma of every atom of a big dataset, one batch's projections in memory at a time.

    Returns ``gamma_dict``; with ``gamma_threshold`` also the projections of the atoms above it
    and, with ``structure_ind_batches``, their structure indices."""
    bbasis = convert_to_bbasis(bbasis)
    species_types = list(range(bbasis.nelements))
    gamma_parts: dict[int, list[np.ndarray]] = {st: [] for st in species_types}
    outside: dict[int, list[np.ndarray]] = {
        st: [np.zeros((0, np.shape(A_active_set_inv_dict[st])[0]))] for st in species_types
    }
    outside_ind: dict[int, list[np.ndarray]] = {st: [np.zeros(0, dtype=int)] for st in species_types}
    n_batches = len(atomic_env_batches)
    for batch_num in range(n_batches):
        print("Batch #{}/{}".format(batch_num + 1, n_batches), flush=True)
        print("Compute B-projections", flush=True)
        if structure_ind_batches is not None:
            projections, structure_ind = compute_B_projections(
                bbasis,
                atomic_env_batches[batch_num],
                structure_ind_batches[batch_num],
                is_full=is_full,
                verbose=verbose,
            )
        else:
            projections = compute_B_projections(bbasis, atomic_env_batches[batch_num], is_full=is_full, verbose=verbose)
        for st in species_types:
            matrix = projections[st]
            if len(matrix) == 0:
                continue
            grade = _grade(matrix, A_active_set_inv_dict[st])
            gamma_parts[st].append(grade)
            if gamma_threshold is not None:
                above = grade > gamma_threshold
                outside[st].append(matrix[above])
                if structure_ind_batches is not None:
                    outside_ind[st].append(structure_ind[st][above])
        del projections
    gamma_dict = {st: np.hstack(parts) if parts else np.zeros(0) for st, parts in gamma_parts.items()}
    if gamma_threshold is None:
        return gamma_dict
    extrapolative = {st: np.vstack(parts) for st, parts in outside.items()}
    if structure_ind_batches is None:
        return gamma_dict, extrapolative
    return gamma_dict, extrapolative, {st: np.hstack(parts).astype(int) for st, parts in outside_ind.items()}


def compute_active_set(
    A0_projections_dict: dict[int, np.ndarray],
    structure_ind_dict: dict[int, np.ndarray] | None = None,
    tol: float = 1.001,
    max_iters: int = 300,
    verbose: bool = False,
    extra_A0_projections_dict: Mapping[int, np.ndarray] | None = None,
    extra_structure_ind_dict: Mapping[int, np.ndarray] | None = None,
) -> Any:
    """The active set of every species type: the rows that span the largest volume (MaxVol).

    As the real function, the extra rows are appended to the given dictionaries in place (the
    extra rows' structure index is -1). Returns ``A_active_set_dict`` or, with
    ``structure_ind_dict``, ``(A_active_set_dict, active_set_structure_inds_dict)``. Fewer
    projections than functions is the "under-determined" ValueError. (SIMULATOR: the MaxVol here
    keeps only rows that add volume, so a degenerate set may have fewer rows than functions;
    ``tol`` and ``max_iters`` are accepted and unused.)"""
    species_types = sorted(A0_projections_dict.keys())
    if extra_A0_projections_dict is not None:
        if extra_structure_ind_dict is None and structure_ind_dict is not None:
            extra_structure_ind_dict = {st: -np.ones(len(a), dtype=int) for st, a in extra_A0_projections_dict.items()}
        for st, extra in extra_A0_projections_dict.items():
            A0_projections_dict[st] = np.vstack((A0_projections_dict[st], extra))
            if structure_ind_dict is not None and extra_structure_ind_dict is not None:
                structure_ind_dict[st] = np.hstack((structure_ind_dict[st], extra_structure_ind_dict[st]))
    active_set: dict[int, np.ndarray] = {}
    active_set_structure_inds: dict[int, np.ndarray] = {}
    for st in species_types:
        if verbose:
            print("Species type:", st, flush=True)
        matrix = A0_projections_dict[st]
        rows = descriptors.maxvol_rows(matrix, str(st))
        active_set[st] = matrix[rows]
        if structure_ind_dict is not None:
            active_set_structure_inds[st] = np.asarray(structure_ind_dict[st])[rows]
    if structure_ind_dict is not None:
        return active_set, active_set_structure_inds
    return active_set


def _join(
    active: Mapping[int, np.ndarray],
    active_ind: Mapping[int, np.ndarray],
    rows: Mapping[int, np.ndarray],
    rows_ind: Mapping[int, np.ndarray],
) -> tuple[ProjectionsDict, StructureIndDict]:
    """The current active set and new rows stacked, per species type that has any."""
    joint: ProjectionsDict = {}
    joint_ind: StructureIndDict = {}
    for st in rows:
        if len(active[st]) and len(rows[st]):
            joint[st] = np.vstack((active[st], rows[st]))
            joint_ind[st] = np.hstack((active_ind[st], rows_ind[st]))
        elif len(active[st]):
            joint[st], joint_ind[st] = active[st], active_ind[st]
        elif len(rows[st]):
            joint[st], joint_ind[st] = rows[st], rows_ind[st]
    return joint, joint_ind


def _largest(gamma: Mapping[int, np.ndarray]) -> dict[int, float]:
    return {st: float(values.max()) if len(values) else 0.0 for st, values in gamma.items()}


def compute_active_set_by_batches(
    bbasis: BBasisConfiguration | ACEBBasisSet,
    atomic_env_list: Sequence[Any] | pd.Series,
    structure_ind_list: Sequence[int] | np.ndarray | pd.Index | None = None,
    n_batches: int = 2,
    gamma_tolerance: float = 1.01,
    maxvol_iters: int = 300,
    n_refinement_iter: int = 2,
    save_interim_active_set: bool = False,
    is_full: bool = False,
    extra_A_active_set_dict: Mapping[int, np.ndarray] | None = None,
    verbose: bool = False,
) -> tuple[dict[int, float], ProjectionsDict, StructureIndDict]:
    """The active set of a big dataset, one batch's projections in memory at a time.

    Stage 1: cumulative MaxVol over the batches (the active set so far plus the next batch).
    Stage 2: refinement with the atoms whose gamma exceeds ``gamma_tolerance``, keeping per species
    type the pass whose largest gamma is smallest. Returns ``(best_gamma, best_active_sets_dict,
    best_active_sets_structure_indices_dict)``; the rows of ``extra_A_active_set_dict`` have
    structure index -1."""
    bbasis = convert_to_bbasis(bbasis)
    elements_name = bbasis.elements_name
    species_types = list(range(len(elements_name)))
    dims = potential_dims(bbasis.doc, is_full)
    active: ProjectionsDict = {st: np.zeros((0, dims[e])) for st, e in enumerate(elements_name)}
    active_ind: StructureIndDict = {st: np.zeros(0, dtype=int) for st in species_types}
    if extra_A_active_set_dict is not None:
        active.update({st: np.asarray(a) for st, a in extra_A_active_set_dict.items()})
        active_ind.update({st: -np.ones(len(a), dtype=int) for st, a in extra_A_active_set_dict.items()})
    atoms_list = convert_to_atomic_env_list(atomic_env_list, bbasis)
    structure_ind = np.arange(len(atoms_list)) if structure_ind_list is None else np.asarray(structure_ind_list)
    batch_splits_indices = np.array_split(np.arange(len(atoms_list)), n_batches)
    atomic_env_batches = [[atoms_list[i] for i in split] for split in batch_splits_indices]
    structure_ind_batches = [structure_ind[split] for split in batch_splits_indices]

    if verbose:
        print("Stage 1. Cumulative MaxVol by batches", flush=True)
    for batch_num in range(n_batches):
        if verbose:
            print("Batch #{}/{}".format(batch_num + 1, n_batches), flush=True)
            print("Compute B-projections", flush=True)
        projections, projections_ind = compute_B_projections(
            bbasis, atomic_env_batches[batch_num], structure_ind_batches[batch_num], is_full=is_full, verbose=verbose
        )
        joint, joint_ind = _join(active, active_ind, projections, projections_ind)
        del projections
        if verbose:
            print("Update active set (MaxVol)", flush=True)
        new_active, new_ind = compute_active_set(
            joint, joint_ind, tol=gamma_tolerance, max_iters=maxvol_iters, verbose=verbose
        )
        active.update(new_active)
        active_ind.update(new_ind)
        if verbose:
            print("Done", flush=True)

    def invert() -> dict[int, np.ndarray]:
        if verbose:
            print("Inverting current active set", flush=True)
        inverse = compute_A_active_inverse(active)
        if save_interim_active_set:
            if verbose:
                print("Save current active set to interim_active_set.asi", flush=True)
            save_active_inverse_set("interim_active_set.asi", inverse, elements_name=elements_name)
        return inverse

    inverse = invert()
    if verbose:
        print("Compute extrapolation grade for whole dataset by batches", flush=True)
    gamma, outside, outside_ind = compute_extrapolation_grade_by_batches(
        bbasis,
        atomic_env_batches=atomic_env_batches,
        A_active_set_inv_dict=inverse,
        structure_ind_batches=structure_ind_batches,
        gamma_threshold=gamma_tolerance,
        is_full=is_full,
        verbose=verbose,
    )
    best_gamma = _largest(gamma)
    best_active, best_ind = dict(active), dict(active_ind)
    if verbose:
        print("Current best gamma:", best_gamma, flush=True)
    if max(best_gamma.values(), default=0.0) <= gamma_tolerance:
        return best_gamma, best_active, best_ind

    if verbose:
        print("Stage 2. Refinement of active set", flush=True)
    for refinement in range(n_refinement_iter):
        if verbose:
            print(flush=True)
            print("Refinement iteration #{}/{}".format(refinement + 1, n_refinement_iter), flush=True)
            for st in species_types:
                print(
                    "Species type: {}, atomic environments outside active set: {}".format(st, len(outside[st])),
                    flush=True,
                )
        joint, joint_ind = _join(active, active_ind, outside, outside_ind)
        if verbose:
            print("Update active set", flush=True)
        new_active, new_ind = compute_active_set(joint, joint_ind, verbose=verbose)
        active.update(new_active)
        active_ind.update(new_ind)
        if verbose:
            print("Done", flush=True)
        inverse = invert()
        if verbose:
            print("Compute extrapolation grade for complete dataset by batches", flush=True)
        gamma, outside, outside_ind = compute_extrapolation_grade_by_batches(
            bbasis,
            atomic_env_batches,
            inverse,
            structure_ind_batches,
            gamma_threshold=gamma_tolerance,
            is_full=is_full,
            verbose=verbose,
        )
        current_gamma = _largest(gamma)
        if verbose:
            print("Current gamma_max:", current_gamma, flush=True)
        for st in species_types:
            if current_gamma[st] < best_gamma[st]:
                best_gamma[st] = current_gamma[st]
                best_active[st] = active[st]
                best_ind[st] = active_ind[st]
                if verbose:
                    print("New best gamma({})={}".format(st, best_gamma[st]), flush=True)
        if verbose:
            print("Current best gamma:", best_gamma, flush=True)
        if max(best_gamma.values(), default=0.0) <= gamma_tolerance:
            break
    return best_gamma, best_active, best_ind


def compute_A_active_inverse(A_active_set_dict: Mapping[int, np.ndarray]) -> dict[int, np.ndarray]:
    """The pseudo-inverse of every species type's active set (what an .asi file stores)."""
    return {st: np.linalg.pinv(matrix) for st, matrix in A_active_set_dict.items()}
