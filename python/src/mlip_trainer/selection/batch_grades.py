"""The grades of pace_select's batch-mode passes over the pool, kept while it computes them."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from mlip_trainer.arrays import FloatArray


class BatchGrades:
    """The grades of every whole-pool pass pace_select's batch mode makes (its
    compute_extrapolation_grade_by_batches), per structure and species, computed from each batch's
    projections while pace_select holds them. Per species it keeps the pass whose largest grade is
    smallest, first on ties: the rule by which pace_select picks the active set it returns. So in
    batch mode too the fill needs no pass of its own over the pool."""

    def __init__(self, n_pool: int) -> None:
        self.n_pool = n_pool
        self.inverses: dict[Any, FloatArray] | None = None
        self.current: dict[Any, FloatArray] = {}
        self.best: dict[Any, tuple[float, FloatArray]] = {}
        self.passes = 0

    def begin(self, inverses: Mapping[Any, FloatArray]) -> None:
        self.inverses = {k: np.asarray(v) for k, v in inverses.items()}
        self.current = {}

    def batch(self, projections: Mapping[Any, FloatArray], owners: Mapping[Any, FloatArray]) -> None:
        if self.inverses is None:
            return
        for key, matrix in projections.items():
            inverse = self.inverses.get(key)
            if inverse is None or len(matrix) == 0:
                continue
            grades = np.abs(np.asarray(matrix) @ inverse).max(axis=1)
            into = self.current.setdefault(key, np.zeros(self.n_pool))
            np.maximum.at(into, np.asarray(owners[key]).astype(np.int64), grades)

    def end(self) -> None:
        assert self.inverses is not None
        for key, per_structure in self.current.items():
            top = float(per_structure.max())
            if key not in self.best or top < self.best[key][0]:
                self.best[key] = (top, per_structure)
        self.inverses = None
        self.current = {}
        self.passes += 1

    def structure_gamma(self) -> FloatArray | None:
        if not self.best:
            return None
        out = np.zeros(self.n_pool)
        for _, per_structure in self.best.values():
            np.maximum(out, per_structure, out=out)
        return out
