"""The command-line programs TypeScript runs: ``mlip-dataset`` and ``mlip-select``.

Each is also ``python -m mlip_trainer.cli.<name>``, which needs only ``python/src`` on
PYTHONPATH (how a pacemaker installation's own Python runs them, uninstalled).
"""
