"""What pacemaker writes besides potentials: dataset info, predictions, pictures, core repulsion,
and the clean-up of `pacemaker -c`."""

from __future__ import annotations

import os
import shutil
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from pacemaker_sim.fit import SimulatedFit
from pacemaker_sim.logs import log
from pacemaker_sim.metrics import FitArrays
from pacemaker_sim.potential import potential_elements
from pacemaker_sim.state import get_state
from pacemaker_sim.util import sizeof_fmt, write_png

FITTING_DATA_INFO_FILENAME = "fitting_data_info.pckl.gzip"
TEST_DATA_INFO_FILENAME = "test_data_info.pckl.gzip"
FILES_TO_REMOVE = [
    "fitting_data_info.csv",
    "fitting_data_info.pckl.gzip",
    "test_data_info.pckl.gzip",
    "log.txt",
    "nohup.out",
    "target_potential.yaml",
    "current_extended_potential.yaml",
    "output_potential.yaml",
    "ladder_metrics.txt",
    "cycle_metrics.txt",
    "metrics.txt",
    "test_ladder_metrics.txt",
    "test_cycle_metrics.txt",
    "test_metrics.txt",
    "train_pred.pckl.gzip",
    "test_pred.pckl.gzip",
    "test_ef-distributions.png",
    "train_ef-distributions.png",
    "report",
]
REPORT_PLOTS = ["EF-pairplots", "E-dE-dist", "Fi-dFi-dist", "F-dF-dist", "E-dE-nn"]


def clean_working_directory() -> None:
    import glob

    print("Cleaning working directory. Removing files/folders:")
    interim = glob.glob("interim_potential*.yaml") + glob.glob("ensemble_potential*.yaml")
    for name in sorted(FILES_TO_REMOVE + interim):
        if os.path.isfile(name):
            os.remove(name)
            print(" - ", name)
        elif os.path.isdir(name):
            shutil.rmtree(name)
            print(" - ", name, "(folder)")
    print("Done")


def save_dataset_info(df: pd.DataFrame, filename: str) -> None:
    columns = [c for c in df.columns if c not in ("tp_atoms", "atomic_env")]
    df[columns].to_pickle(filename, compression="gzip", protocol=4)
    log.info("Dataset saved into {}".format(filename))


def minimal_distances(df: pd.DataFrame) -> list[float]:
    from ase.neighborlist import neighbor_list

    result = []
    for atoms in df["ase_atoms"]:
        distances = neighbor_list("d", atoms, 5.0)
        result.append(float(distances.min()) if len(distances) else float("nan"))
    return result


def set_core_repulsion(doc: dict[str, Any], fit: Mapping[str, Any], train: pd.DataFrame) -> None:
    """fit: {repulsion: auto} -> ZBL inner core on every block, r_in = shortest distance in the data."""
    if fit.get("repulsion") != "auto":
        return
    log.info("Auto core-repulsion estimation. Minimal distance calculation...")
    r_min = float(np.nanmin(minimal_distances(train)))
    log.info(
        "Minimal distance per bonds = {} A ".format({tuple(b["speciesblock"].split()): r_min for b in doc["species"]})
    )
    for block in doc["species"]:
        block.update({"core-repulsion": [1.0, 1.0], "r_in": r_min, "delta_in": 0.1, "inner_cutoff_type": "zbl"})
        if len(block["speciesblock"].split()) == 1:
            block.update({"rho_core_cut": 1.0, "drho_core_cut": 1.0})
    log.info("Inner cutoff / core-repulsion initialized with ZBL")


def predict_and_save(df: pd.DataFrame, doc: Mapping[str, Any], evaluator: str, fname: str) -> pd.DataFrame:
    elements = potential_elements(doc)
    arrays = FitArrays.from_frame(df, elements)
    energy_pred, forces_pred = arrays.predict(get_state(doc).params(elements))
    splits = np.cumsum(df["NUMBER_OF_ATOMS"].to_numpy())[:-1]
    pred = df.drop(columns=[c for c in ("ase_atoms", "atomic_env", "tp_atoms") if c in df.columns]).copy()
    log.info(
        "Computing nearest neighbours distances from '{}'".format("atomic_env" if evaluator == "pyace" else "tp_atoms")
    )
    pred["nn_min"] = minimal_distances(df)
    pred["energy_pred"] = energy_pred
    pred["forces_pred"] = list(np.split(forces_pred, splits))
    pred.to_pickle(fname, compression="gzip", protocol=4)
    log.info("Predictions are saved into {} ({})".format(fname, sizeof_fmt(fname)))
    return pred


def write_validation_plots(prefix: str) -> None:
    log.info("Ploting validation graphs")
    os.makedirs("report", exist_ok=True)
    for plot in REPORT_PLOTS:
        write_png(os.path.join("report", prefix + plot + ".png"))


def run_predictions(
    fit: SimulatedFit | None, doc: Mapping[str, Any], train: pd.DataFrame, test: pd.DataFrame | None, evaluator: str
) -> None:
    log.info("Making predictions")
    for label, df, prefix in (("train", train, "train_"), ("test", test, "test_")):
        if df is None:
            continue
        log.info("For {} data".format(label))
        if fit is not None and not fit.fitted:
            raise ValueError("`bbasisconfig` couldn't be None for FitAdapter.setup_backend_for_predict")
        if fit is None and label == "train":
            log.info("Setting {} backend for predicting".format(evaluator))
        predict_and_save(df, doc, evaluator, prefix + "pred.pckl.gzip")
        write_validation_plots(prefix)
