"""Reading what users bring: labelled results and pools of structures, in every format.

- :mod:`~mlip_trainer.readers.files`: the checks every input file gets first (there, a file,
  not empty, readable);
- :mod:`~mlip_trainer.readers.json_text`: CalculationResult / Structure JSON and JSONL, with
  limits on size and nesting, so bad JSON is a clear error and never a crash;
- :mod:`~mlip_trainer.readers.ase_files`: anything ASE reads (extended XYZ, .traj, VASP, LAMMPS
  with a type-to-element map, CIF), frame by frame;
- :mod:`~mlip_trainer.readers.pickles`: pacemaker's dataset pickles (``pace_collect`` output and
  pacemaker's examples), with a clear error when they need pacemaker's own Python to load.

:mod:`mlip_trainer.results` puts them together for labelled data (one reader for every entry
point), :mod:`mlip_trainer.readers.structures` for pools.
"""
