"""The simulated programs' command lines, one small module each (``python -m pacemaker_sim.cli.<program>``)."""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from typing import NoReturn

from pacemaker_sim.logs import setup_console_logging


def run(main: Callable[[Sequence[str]], int]) -> NoReturn:
    """Runs a program's main with this process's arguments and exits with its status."""
    setup_console_logging()
    sys.exit(main(sys.argv[1:]))
