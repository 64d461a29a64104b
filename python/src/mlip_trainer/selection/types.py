"""The shapes selection code passes around (aliases only: no behaviour).

They are evaluated at run time, so they spell ``Optional`` (``X | None`` needs Python 3.10).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Callable, Optional

from mlip_trainer.arrays import FloatArray, IndexArray

#: Element -> B-projections ``[n_atoms(element), nfuncs(element)]``.
Projections = dict[str, FloatArray]
#: Element -> the pool position of each row of its projections, ``[n_atoms(element)]``.
Owners = dict[str, IndexArray]
#: Projects a list of ase.Atoms: (projections, owners), owners counted from 0 in that list.
ProjectFn = Callable[[Sequence[Any]], tuple[Projections, Owners]]
#: Element -> the (pseudo-)inverse of its active set ``[nfuncs, rows]``; None when it has none.
Inverses = dict[str, Optional[FloatArray]]
#: The pool's grades (largest per structure) against given inverses, from projections at hand.
PoolGammaFn = Callable[[Inverses], FloatArray]
#: What pace_select's selection run in process leaves: the pool positions it chose (None when
#: under-determined), the inverses of the active set it ended with, the pool's grades from its
#: own projections when it kept them, and whether it ran in batch mode.
InProcessOutcome = tuple[Optional[list[int]], Optional[Inverses], Optional[PoolGammaFn], bool]
