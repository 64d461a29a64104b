"""How a helper program answers TypeScript: one JSON document on the last line of stdout.

Success exits 0. Bad input prints
``{"error": {"kind": "bad_input", "message": ..., "problems": [{"index", "field", "value", "reason"}]}}``
and exits 2, usage errors included. Other expected states have exit statuses of their own
(documented by each program); anything else exits 1 with a traceback on stderr.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
from typing import Any, NoReturn

from mlip_trainer.errors import BadInput

#: Exit status of bad input (the error JSON says what is wrong).
BAD_INPUT = 2


class JsonArgumentParser(argparse.ArgumentParser):
    """argparse that reports usage errors as bad_input JSON (exit 2) like every other bad input."""

    def error(self, message: str) -> NoReturn:
        emit(BadInput(f"{self.prog}: {message}").to_json())
        sys.exit(BAD_INPUT)


def emit(payload: dict[str, Any]) -> None:
    """The answer: one JSON line, flushed at once (the caller may stop the process after it)."""
    print(json.dumps(payload), flush=True)


def comma_list(text: str) -> list[str]:
    """``"Cu, Ni,"`` -> ``["Cu", "Ni"]``."""
    return [item.strip() for item in text.split(",") if item.strip()]


def peak_rss_mb() -> float:
    """Peak resident memory of this process, MB (ru_maxrss is in KiB on Linux)."""
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0, 1)


def cpu_seconds() -> float:
    """User + system CPU time of this process and all its threads, s."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return round(usage.ru_utime + usage.ru_stime, 3)
