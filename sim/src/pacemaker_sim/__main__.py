"""``python -m pacemaker_sim <program> [args...]``: runs one of the simulated programs by name."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Sequence
from typing import NoReturn

from pacemaker_sim.cli.pace_activeset import pace_activeset_main
from pacemaker_sim.cli.pace_info import pace_info_main
from pacemaker_sim.cli.pace_select import pace_select_main
from pacemaker_sim.cli.pace_yaml2yace import pace_yaml2yace_main
from pacemaker_sim.cli.pacemaker import pacemaker_main
from pacemaker_sim.logs import setup_console_logging

PROGRAMS: dict[str, Callable[[Sequence[str]], int]] = {
    "pacemaker": pacemaker_main,
    "pace_select": pace_select_main,
    "pace_activeset": pace_activeset_main,
    "pace_yaml2yace": pace_yaml2yace_main,
    "pace_info": pace_info_main,
}


def usage_error(message: str) -> NoReturn:
    print(f"usage: python -m pacemaker_sim <{'|'.join(PROGRAMS)}> [args...]\n{message}", file=sys.stderr)
    sys.exit(2)


def main(argv: Sequence[str]) -> int:
    if not argv:
        usage_error("missing program name")
    program = os.path.basename(argv[0])
    if program not in PROGRAMS:
        usage_error(f"unknown program {program!r}")
    setup_console_logging()
    return PROGRAMS[program](list(argv[1:]))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
