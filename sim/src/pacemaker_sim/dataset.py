"""Training data, like pyace.preparedata.ACEDataset (simplified): loading, energy correction,
train/test split and weights."""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from pacemaker_sim.logs import big_warning, log
from pacemaker_sim.util import as_float, sizeof_fmt


def compute_compositions(df: pd.DataFrame) -> list[str]:
    df["comp_dict"] = df["ase_atoms"].map(lambda atoms: dict(Counter(atoms.get_chemical_symbols())))
    df["NUMBER_OF_ATOMS"] = df["ase_atoms"].map(len)
    elements = sorted({e for d in df["comp_dict"] for e in d})
    for element in elements:
        df["n_" + element] = df["comp_dict"].map(lambda d, e=element: d.get(e, 0))
        df["c_" + element] = df["n_" + element] / df["NUMBER_OF_ATOMS"]
    return elements


def compute_corrected_energy(df: pd.DataFrame, esa: Mapping[str, float]) -> None:
    elements = compute_compositions(df)
    correction = sum(df["n_" + e] * float(esa.get(e, 0.0)) for e in elements)
    df["energy_corrected"] = df["energy"] - correction
    df["energy_corrected"] += float(esa.get("shift", 0.0)) * df["NUMBER_OF_ATOMS"]
    df["energy_corrected_per_atom"] = df["energy_corrected"] / df["NUMBER_OF_ATOMS"]


def compute_auto_reference(df: pd.DataFrame) -> dict[str, float]:
    """data::reference_energy: auto — least-squares single-atom energies plus a shift."""
    elements = compute_compositions(df)
    comp = df[["n_" + e for e in elements]].values.astype(np.float64)
    energies = df["energy"].values.astype(np.float64)
    esa = np.linalg.pinv(comp, rcond=1e-10) @ energies
    df["energy_corrected"] = energies - comp @ esa
    df["energy_corrected_per_atom"] = df["energy_corrected"] / df["NUMBER_OF_ATOMS"]

    def volume_per_atom(atoms: Any) -> float:
        try:
            return float(atoms.get_volume()) / len(atoms)
        except Exception:
            return 0.0

    df["volume_per_atom"] = df["ase_atoms"].map(volume_per_atom)
    shift = 0.0
    if df["volume_per_atom"].max() > 0:
        shift = -float(df[df["volume_per_atom"] >= df["volume_per_atom"].max()].iloc[0]["energy_corrected_per_atom"])
    df["energy_corrected"] += shift * df["NUMBER_OF_ATOMS"]
    result = {e: float(v) for e, v in zip(elements, esa)}
    result["shift"] = shift
    return result


@dataclass
class DatasetLoader:
    """Loads, corrects, splits and weights the training data like pyace.preparedata.ACEDataset."""

    config: dict[str, Any]
    evaluator: str
    reference_energy: Any = None

    def __post_init__(self) -> None:
        self.reference_energy = self.config.get("reference_energy")

    def files(self, filenames: Any) -> list[str]:
        if filenames is None:
            raise ValueError("Dataset filename is not provided")
        if isinstance(filenames, str):
            filenames = [filenames]
        if not isinstance(filenames, list):
            raise ValueError(f"Non-supported type of filename: `{filenames}` (type: {type(filenames)})")
        datapath = self.config.get("datapath")
        return [f if os.path.isfile(f) or datapath is None else os.path.join(datapath, f) for f in filenames]

    def load(self, filenames: Any) -> pd.DataFrame:
        files = self.files(filenames)
        log.info("Search for dataset file(s): " + str(files))
        frames: list[pd.DataFrame] = []
        for i, name in enumerate(files):
            log.info(f"#{i + 1}/{len(files)}: try to load {name}")
            size = os.path.getsize(name)
            log.info("Loading dataframe from pickle file {} ({})".format(name, sizeof_fmt(size)))
            frame = pd.read_pickle(name, compression="gzip" if name.endswith(".gzip") else "infer")
            log.info(f" {len(frame)} structures found")
            if "name" not in frame.columns:
                frame["name"] = name + ":" + frame.index.map(str)
            frames.append(frame)
        return pd.concat(frames, axis=0).reset_index(drop=True)

    def correct_energies(self, df: pd.DataFrame) -> None:
        ref = self.reference_energy
        if ref is not None:
            log.info("Reference energy is provided, constructing 'energy_corrected'")
            if isinstance(ref, str):
                if ref != "auto":
                    raise ValueError(
                        f"Unsupported data::reference_energy option ('{ref}')."
                        "Must be dict like {Al: -0.123, Cu: -0.456} or one of ['auto']"
                        " (the simulator knows no calculator presets)"
                    )
                log.info("Computing least-square energy shift and correction")
                self.reference_energy = compute_auto_reference(df)
                log.info(f"Computed single-atom reference energy: {self.reference_energy}")
            elif isinstance(ref, dict):
                log.info(f"Using {ref} as single-atom energies")
                compute_corrected_energy(df, {str(k): as_float(v, "reference_energy") for k, v in ref.items()})
            elif isinstance(ref, (int, float)):
                log.info(f"Using constant reference energy {ref}")
                self.reference_energy = {}  # upstream: defaultdict(...).get(e, 0) == 0 -> energy copied
                compute_corrected_energy(df, {})
        elif "energy_corrected" not in df.columns:
            raise ValueError("Neither 'energy_corrected' column nor 'data::reference_energy' option provided")

    def process(self, df: pd.DataFrame | None) -> pd.DataFrame | None:
        if df is None:
            return None
        if "ase_atoms" not in df.columns:
            raise ValueError("Dataframe is corrupted: no 'ase_atoms' column found")
        if "energy" not in df.columns and "energy_corrected" not in df.columns:
            raise ValueError("Column `energy` or `energy_corrected` not found in dataset")
        if "forces" not in df.columns:
            raise ValueError("Column `forces` not found in dataset")
        df["NUMBER_OF_ATOMS"] = df["ase_atoms"].map(len)
        shapes_ok = all(np.shape(f) == (n, 3) for f, n in zip(df["forces"], df["NUMBER_OF_ATOMS"]))
        assert shapes_ok, "forces has wrong shape. It should be [nat,3]"
        log.info(f"Processing structures dataframe. Shape: {df.shape}")
        log.info(f"Total number of atoms: {df['NUMBER_OF_ATOMS'].sum()}")
        log.info(f"Mean number of atoms per structure: {df['NUMBER_OF_ATOMS'].mean():.1f}")
        df["pbc"] = df["ase_atoms"].map(lambda atoms: bool(np.all(atoms.pbc)))
        self.correct_energies(df)
        assert not df["energy_corrected"].isna().any(), "energy_corrected contains NaNs"
        df["energy_corrected_per_atom"] = df["energy_corrected"] / df["NUMBER_OF_ATOMS"]
        assert not df["forces"].map(lambda f: np.any(np.isnan(f))).any(), "forces column contains NaN"
        epa_min, epa_max = df["energy_corrected_per_atom"].min(), df["energy_corrected_per_atom"].max()
        log.info(f"Min/max energy per atom: [{epa_min:.3f}, {epa_max:.3f}] eV/atom")
        abs_epa = df["energy_corrected_per_atom"].abs()
        log.info(f"Min/max abs energy per atom: [{abs_epa.min():.3f}, {abs_epa.max():.3f}] eV/atom")
        if epa_min < -20 or epa_max > 250:
            if self.reference_energy is None:
                big_warning(
                    f"Some values of corrected energy (min={epa_min:.3g} eV/atom, max={epa_max:.3g} eV/atom)"
                    " are too extreme,\ni.e. <-20 eV/atom or >250 eV/atom\n"
                    "`reference_energy` will be computed automatically."
                )
                self.reference_energy = "auto"
                return self.process(df)
            big_warning(
                f"Some values of corrected energy (min={epa_min:.3g} eV/atom, max={epa_max:.3g} eV/atom)"
                " are too extreme,\ni.e. <-20 eV/atom or >250 eV/atom\n"
                "Correct your energy or use data::reference_energy: auto option !!!"
            )
        self.attach_calculators(df)
        log.info("Construction of neighbour lists...")
        column = "atomic_env" if self.evaluator == "pyace" else "tp_atoms"
        log.info(f"Building '{column}' (dataset size {len(df)}, cutoff=(simulated))...")
        log.info("Dataframe size after transform: " + str(len(df)))
        return df

    @staticmethod
    def attach_calculators(df: pd.DataFrame) -> None:
        from ase.calculators.singlepoint import SinglePointCalculator

        for atoms, energy, forces in zip(df["ase_atoms"], df["energy_corrected"], df["forces"]):
            atoms.calc = SinglePointCalculator(atoms, energy=float(energy), forces=np.asarray(forces))
        log.info("Attaching SinglePointCalculator to ASE atoms...done")

    def prepare(self) -> tuple[pd.DataFrame, pd.DataFrame | None]:
        fitting = self.process(self.load(self.config.get("filename")))
        assert fitting is not None
        test: pd.DataFrame | None = None
        if "test_filename" in self.config:
            test = self.load(self.config["test_filename"])
        elif "test_size" in self.config:
            test_size = self.config["test_size"]
            log.info(
                "Splitting out test dataset (test_size = {}) from main dataset({} samples)".format(
                    test_size, len(fitting)
                )
            )
            fitting, test = train_test_split(fitting, as_float(test_size, "data::test_size"))
        test = self.process(test) if test is not None and len(test) else None
        if test is not None:
            fitting["train"] = True
            test["train"] = False
            joint = apply_weights(pd.concat([fitting, test], axis=0).reset_index(drop=True), self.config)
            fitting = joint.query("train").reset_index(drop=True)
            test = joint.query("~train").reset_index(drop=True)
        else:
            fitting = apply_weights(fitting, self.config)
        normalize_weights(fitting)
        if test is not None:
            normalize_weights(test)
        return fitting, test


def train_test_split(df: pd.DataFrame, test_size: float) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Upstream's split: np.random.shuffle of the row indices (seeded by pacemaker's `seed`)."""
    n_samples = len(df)
    if test_size >= 1:
        train_size = n_samples - int(test_size)
    elif 0 < test_size < 1:
        train_size = n_samples - int(n_samples * test_size)
    else:
        raise UnboundLocalError("cannot access local variable 'train_size' where it is not associated with a value")
    indices = np.arange(n_samples)
    np.random.shuffle(indices)
    return df.iloc[sorted(indices[:train_size])].copy(), df.iloc[sorted(indices[train_size:])].copy()


def apply_weights(df: pd.DataFrame, data_config: Mapping[str, Any]) -> pd.DataFrame:
    if "w_energy" in df.columns and "w_forces" in df.columns and not data_config.get("ignore_weights"):
        log.info(
            "Both weighting columns (w_energy and w_forces) are found, no another weighting policy will be applied"
        )
        return df
    log.info("No weighting policy is specified, setting default weighting policy")
    log.info("Apply weights policy: UniformWeightingPolicy()")
    df["w_energy"] = 1.0 / len(df)
    df["w_forces"] = [np.ones(len(f)) / len(df) for f in df["forces"]]
    return df


def normalize_weights(df: pd.DataFrame) -> None:
    df["w_energy"] = df["w_energy"] / df["w_energy"].sum()
    total = sum(float(np.sum(w)) for w in df["w_forces"])
    df["w_forces"] = [np.asarray(w, dtype=np.float64) / total for w in df["w_forces"]]
