"""SIMULATED pacemaker: mlip-trainer's simulator of pacemaker's programs, for tests and demos
without a real pacemaker build.

Programs (``sim/bin/<program>`` runs ``python -m pacemaker_sim.cli.<program>``; ``python -m
pacemaker_sim <program> [args...]`` runs any of them): ``pacemaker``, ``pace_select``,
``pace_activeset``, ``pace_yaml2yace``, ``pace_info``.

What is copied from upstream (ICAMS/python-ace master, bin/* and src/pyace/*): argument flags and
defaults, the names of every file written, the log format (console: stderr with
``%Y/%m/%d %H:%M:%S``; log file: ``YYYY-MM-DD HH:MM:SS,mmm``), the iteration line, the
INIT/FIT/TEST STATS and ``Cycle last iteration:`` blocks, the metrics tables, the traps
(``-p`` with ``-ip``; missing ``backend:``/``potential:``/``cutoff``; ``_fit_cycles`` in a
``-p`` potential; ``fit: ladder_step`` with ``-p``) and the exit codes. ``pace_select`` and
``pace_activeset`` are built, as the real ones, on pyace's selection functions: here those of
the stand-in package ``pyace`` beside this one (sim/src/pyace), with the same names and call graph.

What is simulated: the "potential" is a per-element energy model plus a force fraction
(pacemaker_sim.fit), and the B-projections are smooth functions of interatomic distances
(pacemaker_sim.descriptors). Every potential file carries ``simulated: true``, a ``sim_state``
block and a first comment line saying it is simulated. Same inputs give the same numbers
(timestamps aside). Faults are injected through PACEMAKER_SIM_* variables (pacemaker_sim.faults).

Modules, by concern: errors, faults, logs, util (PNG/YAML/sizes), potential (the B-basis file),
state (the simulated model), basis (building and extending bases), dataset, metrics, fit,
run_config (input.yaml and its overrides), outputs, descriptors, yace; cli.<program> for each
program's command line.
"""

SIM_VERSION = "0.3.0+simulator"
SIM_COMMENT = "# SIMULATED by mlip-trainer's pacemaker simulator: not a real ACE potential"
