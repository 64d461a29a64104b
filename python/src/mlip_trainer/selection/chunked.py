"""pace_select's selection over a pool too large for its neighbour lists to fit the memory limit.

pyace holds an atomic environment of every atom of the pool while pace_select's selection runs,
in one shot and in batch mode alike (see :mod:`mlip_trainer.selection.memory`). For a pool
whose environments would not fit, pace_select's own function runs on consecutive chunks that do,
and once more on the union of the structures each chunk chose: D-optimal within every chunk, then
over their choices. (pace_select's batch mode is no more exact: a cumulative MaxVol over batches,
then refinement.) The fill's grades are then computed batch by batch against the active set the
last run ended with, so no step holds more than a chunk's environments.
"""

from __future__ import annotations

import gc
import sys

import pandas as pd

from mlip_trainer.selection.pyace_select import pyace_in_process
from mlip_trainer.selection.types import InProcessOutcome


def chunked_in_process(
    frame: pd.DataFrame, potential: str, asi: str | None, n: int, memory_limit: str, nfuncs: dict[str, int], chunk: int
) -> InProcessOutcome:
    """pace_select's choice (its own function, run in process) over chunks of `chunk` structures,
    then over their union; the inverses of the active set the last run ended with. No grades
    from projections at hand (the fill computes them by batches)."""
    candidates: list[int] = []
    for start in range(0, len(frame), chunk):
        part = frame.iloc[start : start + chunk]  # index = pool positions, kept by pace_select
        indices, _, _, _ = pyace_in_process(part, potential, asi, n, memory_limit, nfuncs)
        # A chunk too small to choose from (under-determined) offers all its structures.
        candidates.extend(indices if indices is not None else [int(i) for i in part.index])
        del part
        gc.collect()  # the chunk's environments go before the next one's are made
    print(
        f"mlip-select: pace_select ran on {-(-len(frame) // chunk)} chunk(s) of {chunk} structures,"
        f" then on the {len(candidates)} they chose",
        file=sys.stderr,
        flush=True,
    )
    union = frame.iloc[sorted(set(candidates))]
    indices, inverses, _, batched = pyace_in_process(union, potential, asi, n, memory_limit, nfuncs)
    return (indices if indices is not None else candidates[:n]), inverses, None, batched
