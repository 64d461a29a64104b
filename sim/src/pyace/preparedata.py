"""SIMULATED pyace.preparedata: only what the selection programs import from it."""

from pacemaker_sim.util import sizeof_fmt

__all__ = ["sizeof_fmt"]
