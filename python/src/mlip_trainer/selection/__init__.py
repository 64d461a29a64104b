"""Selection of the structures to label next: pace_select's choice, filled up to n by the largest
extrapolation grade.

The extrapolation grade (pacemaker's D-optimality measure) of an atom with B-projection b is
``gamma = max_j |(b A^-1)_j|`` where A is the active set of its element (``[nfuncs, nfuncs]``);
a structure's grade is the largest over its atoms. gamma <= 1 interpolates.

"Current active set" for the fill: in the in-process selection (:mod:`.in_process`), the one
pace_select's selection ended with (the ``.asi`` rows and the pool rows its MaxVol kept; in batch
mode the pass it returns). Beside the pace_select program (:mod:`.program`), which cannot see
inside it, the potential's ``.asi`` extended by the atoms of the structures pace_select chose,
reduced to ``nfuncs`` rows per element by a greedy maximum-volume choice (pivoted QR); when
fewer rows than functions exist the pseudo-inverse is used.

B-projections come from ``pyace``, the same ``compute_B_projections`` pace_select and
``PyACECalculator``'s gamma use: a pacemaker installation's own, or, with the simulator, its
stand-in (sim/src/pyace, which the simulator toolchain puts first on PYTHONPATH). Either way the
code here is the production path.
"""
