"""mlip-trainer's Python side: pacemaker's pandas datasets and the active-set selection.

The TypeScript workflow runs two command-line programs from this package, ``mlip-dataset``
(:mod:`mlip_trainer.cli.dataset`) and ``mlip-select`` (:mod:`mlip_trainer.cli.select`), with
the pacemaker installation's own Python when there is one, so the pickles they write always
load in pacemaker's pandas. The modules below them are importable building blocks.
"""

__version__ = "0.1.0"
