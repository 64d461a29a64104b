"""Loss, metrics and their log blocks and tables (pyace.metrics_aggregator's formats, copied)."""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from pacemaker_sim.state import Params

METRICS_COLUMNS: list[str | tuple[str, int]] = [
    ("ladder_step", 11),
    ("cycle_step", 11),
    ("iter_num", 8),
    "loss",
    "e_loss_contrib",
    "f_loss_contrib",
    "reg_loss",
    "rmse_epa",
    "rmse_f_comp",
    "low_rmse_epa",
    "low_rmse_f_comp",
    "mae_f_comp",
    "low_mae_f_comp",
    ("nfuncs", 6),
    ("ncoefs", 6),
    "l1_reg_contrib",
    "l2_reg_contrib",
    "smooth_orth",
    "smooth_w1",
    "smooth_w2",
    "smooth_w3",
]


@dataclass(frozen=True)
class LossSpec:
    kappa: float = 0.0
    L1_coeffs: float = 0.0
    L2_coeffs: float = 0.0
    w0_rad: float = 0.0
    w1_rad: float = 0.0
    w2_rad: float = 0.0
    w_orth: float = 0.0

    def __str__(self) -> str:
        return (
            f"LossFunctionSpecification(kappa={self.kappa}, L1={self.L1_coeffs}, L2={self.L2_coeffs}, "
            f"DeltaRad=({self.w0_rad}, {self.w1_rad}, {self.w2_rad}), w_orth={self.w_orth})"
        )


@dataclass(frozen=True)
class FitArrays:
    """A dataset flattened for fast loss evaluation."""

    counts: np.ndarray  # [nstruct, nelements]
    nat: np.ndarray  # [nstruct]
    e_corr: np.ndarray  # [nstruct], eV
    forces: np.ndarray  # [natoms, 3], eV/Å
    w_e: np.ndarray  # [nstruct]
    w_f: np.ndarray  # [natoms]
    low_mask: np.ndarray  # [nstruct] bool

    @staticmethod
    def from_frame(df: pd.DataFrame, elements: Sequence[str]) -> FitArrays:
        index = {e: i for i, e in enumerate(elements)}
        counts = np.zeros((len(df), len(elements)), dtype=np.float64)
        for row, atoms in enumerate(df["ase_atoms"]):
            for symbol, count in Counter(atoms.get_chemical_symbols()).items():
                if symbol not in index:
                    raise ValueError(
                        f"Element '{symbol}' of the dataset is not in the potential (elements: "
                        f"{list(elements)}); add it to potential::elements"
                    )
                counts[row, index[symbol]] = count
        nat = df["NUMBER_OF_ATOMS"].values.astype(np.float64)
        e_corr = df["energy_corrected"].values.astype(np.float64)
        epa = e_corr / nat
        return FitArrays(
            counts=counts,
            nat=nat,
            e_corr=e_corr,
            forces=np.vstack([np.asarray(f, dtype=np.float64).reshape(-1, 3) for f in df["forces"]]),
            w_e=df["w_energy"].values.astype(np.float64),
            w_f=np.hstack([np.asarray(w, dtype=np.float64) for w in df["w_forces"]]),
            low_mask=epa <= epa.min() + 1.0,
        )

    def predict(self, params: Params) -> tuple[np.ndarray, np.ndarray]:
        return self.counts @ params.energies, params.force_fraction * self.forces


def _error_stats(de_pa: np.ndarray, df: np.ndarray) -> dict[str, float]:
    return {
        "rmse_epa": float(np.sqrt(np.mean(de_pa**2))),
        "mae_epa": float(np.mean(np.abs(de_pa))),
        "max_abs_epa": float(np.max(np.abs(de_pa))),
        "rmse_f": float(np.sqrt(np.mean(np.sum(df**2, axis=1)))),
        "rmse_f_comp": float(np.sqrt(np.mean(df**2))),
        "mae_f": float(np.mean(np.linalg.norm(df, axis=1))),
        "mae_f_comp": float(np.mean(np.abs(df))),
        "max_abs_f": float(np.max(np.abs(df))),
        "max_abs_f_comp": float(np.max(np.abs(df))),
    }


@dataclass(frozen=True)
class Evaluator:
    """Loss and metrics of a Params on one dataset, as pyace.pyacefit.PyACEFit.loss computes them."""

    arrays: FitArrays
    loss_spec: LossSpec
    coef_l1: float  # sum |base coefficient|
    coef_l2: float  # sum base coefficient^2
    nfuncs: int
    ncoefs: int
    eval_time: float

    def metrics(self, params: Params) -> dict[str, Any]:
        a = self.arrays
        energy_pred, forces_pred = a.predict(params)
        de_pa = (energy_pred - a.e_corr) / a.nat
        df = a.forces - forces_pred
        e_loss = float(np.sum(a.w_e * de_pa**2))
        f_loss = float(np.sum(a.w_f * np.sum(df**2, axis=1)))
        l1 = abs(params.force_fraction) * self.coef_l1
        l2 = params.force_fraction**2 * self.coef_l2
        kappa = self.loss_spec.kappa
        loss = (1 - kappa) * e_loss + kappa * f_loss + self.loss_spec.L1_coeffs * l1 + self.loss_spec.L2_coeffs * l2
        stats = _error_stats(de_pa, df)
        mask_f = np.repeat(a.low_mask, a.nat.astype(int))
        low = _error_stats(de_pa[a.low_mask], df[mask_f])
        result: dict[str, Any] = {
            "loss": float(loss),
            "e_loss_contrib": e_loss * (1 - kappa),
            "f_loss_contrib": f_loss * kappa,
            "l1_reg_contrib": float(l1 * self.loss_spec.L1_coeffs),
            "l2_reg_contrib": float(l2 * self.loss_spec.L2_coeffs),
            "extra_regularization_contrib": [0.0, 0.0, 0.0],
            "e_loss": e_loss,
            "f_loss": f_loss,
            "e_scale": 1 - kappa,
            "f_scale": kappa,
            **stats,
            **{"low_" + k: v for k, v in low.items()},
            "eval_time": self.eval_time,
            "nat": int(a.nat.sum()),
            "ncoefs": self.ncoefs,
            "nfuncs": self.nfuncs,
        }
        return result


def format_detailed_metrics(m: Mapping[str, Any], title: str = "Iteration:") -> str:
    avg_t = m["eval_time"] / m["nat"]
    return (
        "{:<12}".format(title)
        + "#{iter_num:<5}".format(iter_num=m["iter_num"])
        + "{:<14}".format("({numeval} evals):".format(numeval=m["eval_count"]))
        + "{:>10}".format("Loss: ")
        + "{loss: >1.4e}".format(loss=m["loss"])
        + "{str1:>21}{rmse_epa:>.2f} ({low_rmse_e:>.2f}) meV/at".format(
            str1=" | RMSE Energy(low): ", rmse_epa=1e3 * m["rmse_epa"], low_rmse_e=1e3 * m["low_rmse_epa"]
        )
        + "{str3:>16}{rmse_f_comp:>.2f} ({low_rmse_f_comp:>.2f}) meV/A".format(
            str3=" | Forces(low): ", rmse_f_comp=1e3 * m["rmse_f_comp"], low_rmse_f_comp=1e3 * m["low_rmse_f_comp"]
        )
        + " | Time/eval: {:>6.2f} mcs/at".format(avg_t * 1e6)
    )


def format_extended_metrics(m: Mapping[str, Any], title: str = "FIT_STATS") -> str:
    total_loss = m["loss"]

    def fraction(value: float) -> float:
        return value / total_loss * 100 if total_loss != 0 else 0

    text = "\n" + "-" * 44 + title + "-" * 44 + "\n"
    text += "{prefix:<11} #{iter_num:<4}".format(prefix="Iteration:", iter_num=m["iter_num"])
    text += "{prefix:<8}".format(prefix="Loss:")
    text += "{prefix:>8} {tot_loss:>1.4e} ({fr:3.0f}%) \n".format(prefix="Total: ", tot_loss=total_loss, fr=100)
    text += "{prefix:>33} {v:>1.4e} ({fr:3.0f}%) \n".format(
        prefix="Energy: ", v=m["e_loss_contrib"], fr=fraction(m["e_loss_contrib"]) if total_loss > 0 else 0
    )
    text += "{prefix:>33} {v:>1.4e} ({fr:3.0f}%) \n".format(
        prefix="Force: ", v=m["f_loss_contrib"], fr=fraction(m["f_loss_contrib"]) if total_loss > 0 else 0
    )
    text += "{prefix:>33} {v:>1.4e} ({fr:3.0f}%) \n".format(
        prefix="L1: ", v=m["l1_reg_contrib"], fr=fraction(m["l1_reg_contrib"])
    )
    text += "{prefix:>33} {v:>1.4e} ({fr:3.0f}%) \n".format(
        prefix="L2: ", v=m["l2_reg_contrib"], fr=fraction(m["l2_reg_contrib"])
    )
    for i, comp in enumerate(m["extra_regularization_contrib"]):
        text += "{prefix:>33} {s1:>1.4e} ({fr:3.0f}%) \n".format(
            prefix="Smooth_w{}: ".format(i + 1), s1=comp, fr=fraction(comp)
        )
    text += "{prefix:>20}".format(prefix="Number of params./funcs: ") + "{:>6d}".format(m["ncoefs"])
    text += "/{nfuncs:<6d}".format(nfuncs=m["nfuncs"])
    avg_t = m["eval_time"] / m["nat"]
    text += "{prefix:>42}".format(prefix="Avg. time: ") + "{avg_t:>10.2f} {un:<6}".format(
        avg_t=avg_t * 1e6, un="mcs/at"
    )
    text += "\n" + "-" * 97 + "\n"
    text += (
        "{:>9}".format("")
        + "{:^22}".format("Energy/at, meV/at")
        + "{:^22}".format("Energy_low/at, meV/at")
        + "{:^22}".format("Force, meV/A")
        + "{:^22}\n".format("Force_low, meV/A")
    )
    for label, key in (("RMSE: ", "rmse"), ("MAE: ", "mae"), ("MAX_AE: ", "max_abs")):
        f_key = key + "_f_comp"
        text += "{prefix:>9} ".format(prefix=label)
        text += (
            "{:>14.2f}".format(m[key + "_epa"] * 1e3)
            + "{:>21.2f}".format(m["low_" + key + "_epa"] * 1e3)
            + "{:>21.2f}".format(m[f_key] * 1e3)
            + "{:>24.2f}\n".format(m["low_" + f_key] * 1e3)
        )
    return text + "-" * 97


def _columns_format(columns: Sequence[str | tuple[str, int]]) -> tuple[list[str], str]:
    names, formats = [], []
    for column in columns:
        if isinstance(column, str):
            names.append(column)
            formats.append("{:<22}")
        else:
            names.append(column[0])
            formats.append("{:<" + str(min(len(column[0]), column[1])) + "}")
    return names, " ".join(formats)


@dataclass
class MetricsTables:
    """metrics.txt and friends: whitespace tables, values in eV/atom and eV/Å."""

    ladder: bool

    def __post_init__(self) -> None:
        self.cycle_columns = METRICS_COLUMNS[:2] + METRICS_COLUMNS[3:]
        self.ladder_columns = METRICS_COLUMNS[:1] + METRICS_COLUMNS[3:]
        self._start("metrics.txt", METRICS_COLUMNS)
        self._start("test_metrics.txt", METRICS_COLUMNS, remove=False)
        if self.ladder:
            self._start("ladder_metrics.txt", self.ladder_columns)
        self._start("cycle_metrics.txt", self.cycle_columns)
        self._start("test_ladder_metrics.txt", self.ladder_columns)
        self._start("test_cycle_metrics.txt", self.cycle_columns)

    @staticmethod
    def _start(filename: str, columns: Sequence[str | tuple[str, int]], remove: bool = True) -> None:
        if remove and os.path.isfile(filename):
            os.remove(filename)
        names, fmt = _columns_format(columns)
        with open(filename, "w") as handle:
            print(fmt.format(*names), file=handle)

    @staticmethod
    def append(filename: str, m: Mapping[str, Any], columns: Sequence[str | tuple[str, int]] = METRICS_COLUMNS) -> None:
        row = dict(m)
        extra = list(row["extra_regularization_contrib"])
        row["reg_loss"] = row["l1_reg_contrib"] + row["l2_reg_contrib"] + sum(extra)
        smooth = [0.0] + extra if len(extra) == 3 else (extra + [0.0] * 4)[:4]
        row["smooth_orth"], row["smooth_w1"], row["smooth_w2"], row["smooth_w3"] = smooth
        names, fmt = _columns_format(columns)
        with open(filename, "a") as handle:
            print(fmt.format(*[row.get(c, 0) for c in names]), file=handle)
