"""Logging as pacemaker's programs set it up: console on stderr, optional log file."""

from __future__ import annotations

import logging
import sys

LOG_FMT = "%(asctime)s %(levelname).1s - %(message)s"
CONSOLE_DATEFMT = "%Y/%m/%d %H:%M:%S"

log = logging.getLogger()


def setup_console_logging() -> None:
    """Like upstream's logging.basicConfig: INFO and above to stderr, date without milliseconds."""
    root = logging.getLogger()
    root.setLevel(logging.INFO)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter(LOG_FMT, datefmt=CONSOLE_DATEFMT))
    root.handlers[:] = [handler]


def add_log_file(path: str) -> None:
    handler = logging.FileHandler(path, "a")
    handler.setFormatter(logging.Formatter(LOG_FMT))
    logging.getLogger().addHandler(handler)


def quiet_if(not_verbose: bool) -> None:
    """-V: upstream guards its info messages with `if verbose`; warnings and errors still show."""
    if not_verbose:
        logging.getLogger().setLevel(logging.WARNING)


def big_warning(msg: str) -> None:
    lines = msg.split("\n")
    width = max(map(len, lines))
    body = "".join("# " + m + " " * (width - len(m)) + " #\n" for m in lines)
    log.warning(
        "\n"
        + "#" * (width + 4)
        + "\n#"
        + " " * (width + 2)
        + "#\n"
        + body
        + "#"
        + " " * (width + 2)
        + "#\n"
        + "#" * (width + 4)
    )
