"""The checks every input file gets before it is read, each failure naming the file and what it is."""

from __future__ import annotations

import os
from pathlib import Path

from mlip_trainer.errors import BadInput, Problem

#: Names read as pacemaker dataset pickles (gzip or plain), whatever they were written by.
PICKLE_SUFFIXES = (".pckl.gzip", ".pkl.gz", ".pkl.gzip", ".pckl.gz", ".pckl", ".pkl")
#: Names read as JSON: ``.json`` holds one array, the others one record per line.
JSON_SUFFIXES = (".json", ".jsonl", ".ndjson")


def is_pickle(path: Path) -> bool:
    """Whether `path` is named like a dataset pickle."""
    return path.name.lower().endswith(PICKLE_SUFFIXES)


def is_json(path: Path) -> bool:
    """Whether `path` is named like a JSON or JSONL file."""
    return path.suffix.lower() in JSON_SUFFIXES


def check_input_file(path: Path, what: str, index: int = -1) -> None:
    """`path` exists, is a regular file (not a folder), is readable and not empty; otherwise
    BadInput saying which of these it is not. `what` names the input ("results file", "pool")."""

    def bad(reason: str) -> BadInput:
        return BadInput(f"{what} {path}: {reason}", [Problem(index, "(file)", str(path), reason, str(path), None)])

    if path.is_dir():
        raise bad("is a directory, not a file")
    if not path.exists():
        raise bad("file not found")
    if not path.is_file():
        raise bad("is not a regular file")
    if not os.access(path, os.R_OK):
        raise bad("cannot be read (permission denied)")
    if path.stat().st_size == 0:
        things = "structures" if what == "pool" else "results"
        raise BadInput(
            f"{what} {path} holds no {things} (the file is empty)",
            [Problem(index, "(file)", str(path), "empty", str(path), None)],
        )
