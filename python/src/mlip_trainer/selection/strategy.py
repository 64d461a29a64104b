"""Options of the selection beyond pace_select's D-optimality and the gamma fill.

- **Gamma thresholds** (``gamma_min``, ``gamma_max``): before anything is chosen, the pool is
  graded against the potential's active set (``.asi``) and only structures with
  ``gamma_min <= gamma <= gamma_max`` remain candidates. ``gamma_max`` keeps out what the
  potential extrapolates to wildly (broken or unphysical frames of an exploration run, the
  ``gamma_hi`` of pacemaker's LAMMPS extrapolation fix); ``gamma_min`` keeps out what it already
  interpolates. A structure with an element that has no active set cannot be graded: it stays a
  candidate. Without an ``.asi`` (generation 0) nothing is graded and the thresholds are not
  applied (a warning says so).
- **Batch diversity** (``random_count``): that many of the n are drawn uniformly at random from
  the candidates left after D-optimality and the fill chose the rest, with a seeded generator, so
  the same inputs give the same choice (a retried activity labels the same structures).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from mlip_trainer.arrays import FloatArray, IndexArray
from mlip_trainer.errors import BadInput, Problem
from mlip_trainer.selection.gamma import active_set_inverses, pool_gamma_by_batches
from mlip_trainer.selection.types import ProjectFn


@dataclass(frozen=True)
class Strategy:
    """How many of n are drawn at random, which grades are candidates, and the draw's seed."""

    random_count: int = 0
    gamma_min: float | None = None
    gamma_max: float | None = None
    seed: int = 0

    @property
    def thresholds(self) -> bool:
        return self.gamma_min is not None or self.gamma_max is not None

    def check(self, n: int) -> None:
        """Bad values name the option and the value (a BadInput, exit 2)."""
        if not 0 <= self.random_count < max(n, 1):
            raise BadInput(
                f"--random must be within [0, n) = [0, {n}) (got {self.random_count})",
                [Problem(-1, "--random", str(self.random_count), f"expected 0 <= random < n = {n}")],
            )
        for name, value in (("--gamma-min", self.gamma_min), ("--gamma-max", self.gamma_max)):
            if value is not None and not (np.isfinite(value) and value >= 0):
                raise BadInput(
                    f"{name} must be a finite number >= 0 (got {value})",
                    [Problem(-1, name, str(value), "expected a finite number >= 0")],
                )
        if self.gamma_min is not None and self.gamma_max is not None and self.gamma_min >= self.gamma_max:
            raise BadInput(
                f"--gamma-min ({self.gamma_min}) must be below --gamma-max ({self.gamma_max})",
                [Problem(-1, "--gamma-min", str(self.gamma_min), f"expected < --gamma-max {self.gamma_max}")],
            )


@dataclass(frozen=True)
class Candidates:
    """The pool positions that remain candidates, and every structure's grade before selecting."""

    positions: IndexArray
    grades: FloatArray
    below: int
    above: int


def candidates(
    atoms_list: list[Any],
    project: ProjectFn,
    nfuncs: dict[str, int],
    asi: str | None,
    strategy: Strategy,
    batch_size: int,
) -> tuple[Candidates | None, list[str]]:
    """The candidates under the gamma thresholds (None: every structure is one), and warnings."""
    if not strategy.thresholds:
        return None, []
    if asi is None:
        return None, [
            "gamma thresholds were not applied: the potential has no active set (.asi) to grade the pool"
            " against (generation 0 selects with the unfitted potential)"
        ]
    grades = pool_gamma_by_batches(atoms_list, project, active_set_inverses(nfuncs, asi, {}), batch_size)
    keep, below, above = within(grades, strategy)
    # What was left out is in the reply's `candidates`, not a warning: under the default threshold
    # it is the expected course of every generation.
    return Candidates(np.flatnonzero(keep), grades, below, above), []


def within(grades: FloatArray, strategy: Strategy) -> tuple[Any, int, int]:
    """Which grades are candidates under the thresholds (inf, an element without an active set,
    cannot be graded: it stays one), and how many finite grades fell below and above."""
    low = strategy.gamma_min if strategy.gamma_min is not None else -np.inf
    high = strategy.gamma_max if strategy.gamma_max is not None else np.inf
    finite = np.isfinite(grades)
    keep = ~finite | ((grades >= low) & (grades <= high))
    return keep, int(np.sum(finite & (grades < low))), int(np.sum(finite & (grades > high)))


def random_picks(pool_size: int, taken: list[int], count: int, seed: int) -> list[int]:
    """`count` positions of ``0..pool_size-1`` not in `taken`, drawn uniformly with `seed`."""
    left = np.setdiff1d(np.arange(pool_size), np.asarray(taken, dtype=np.int64))
    count = min(count, len(left))
    if count <= 0:
        return []
    return [int(i) for i in np.random.default_rng(seed).choice(left, size=count, replace=False)]
