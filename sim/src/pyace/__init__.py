"""SIMULATED pyace: a stand-in for ICAMS/python-ace's ``pyace`` package, part of mlip-trainer's
pacemaker simulator. Not the real library: no ACE is evaluated here.

It has the module layout, names and signatures of the real pyace that pacemaker's selection
programs (pace_select, pace_activeset) and mlip-trainer's in-process selection call, with the same
call graph: ``pyace.aceselect.select_structures_maxvol`` looks up ``compute_B_projections``,
``compute_active_set`` and ``compute_active_set_by_batches`` in ``pyace.aceselect`` at call time,
and the batch functions of ``pyace.activelearning`` look up theirs in ``pyace.activelearning``, so
wrapping those names observes the same calls as on the real package. The numbers come from the
simulator (pacemaker_sim.descriptors): smooth functions of interatomic distances and a
pivoted-QR maximum-volume choice, deterministic and not physical.

Like the real package, importing it configures logging (``%(asctime)s - %(name)s -
%(levelname)s - %(message)s`` on stderr, INFO) unless the process already did.
"""

import logging

logging.basicConfig(level=logging.INFO, format="%(asctime)s - %(name)s - %(levelname)s - %(message)s")
logging.getLogger().setLevel(logging.INFO)

from pacemaker_sim import SIM_VERSION  # noqa: E402  (after the logging set-up, as the real package)
from pyace.basis import ACEBBasisSet, BBasisConfiguration  # noqa: E402

__all__ = ["ACEBBasisSet", "BBasisConfiguration"]

__version__ = SIM_VERSION
