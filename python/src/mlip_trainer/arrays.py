"""numpy array types of this package's signatures (units and shapes are in each docstring)."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

#: Numbers: positions (Å), energies (eV), forces (eV/Å), stresses, projections, grades.
FloatArray = NDArray[np.float64]
#: Positions in a list: the structure each projection row belongs to, rows an active set keeps.
IndexArray = NDArray[np.int64]
