"""Labelling: an oracle that computes energies and forces of selected structures with a named
calculator, standing in for the DFT stage of an active-learning loop (see :mod:`.oracle`)."""
