"""JSON and JSONL records, read with limits: a file too large or nested too deeply is bad input
that says so, never a crash (Python's JSON decoder raises RecursionError on deep nesting).

A ``.json`` file holds one array and is parsed whole, so its size is capped; JSONL (``.jsonl``,
``.ndjson``) is read line by line, each line capped, and has no overall limit.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from mlip_trainer.errors import BadInput, Problem, short_repr

#: Largest ``.json`` array file read (bytes): it is parsed whole, taking several times its size.
MAX_JSON_ARRAY_BYTES = 1 << 30
#: Largest JSONL line (bytes): one record, e.g. a structure of about a million atoms.
MAX_JSON_LINE_BYTES = 1 << 28
#: A line that is not valid JSON is listed; past this many, reading stops.
MAX_LINE_PROBLEMS = 100


def _size_text(n: int) -> str:
    return f"{n / (1 << 20):.0f} MiB" if n >= 1 << 20 else f"{n} bytes"


def parse_json(text: str | bytes, where: str) -> Any:
    """One JSON document; BadInput naming `where` when it is not valid JSON, not UTF-8, or nested
    too deeply to decode."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise BadInput(f"{where}: not valid JSON: {exc}") from None
    except RecursionError:
        raise BadInput(
            f"{where}: JSON nested too deeply to read (a CalculationResult is 4 levels deep, a list of them 5)"
        ) from None
    except UnicodeDecodeError as exc:
        raise BadInput(f"{where}: not UTF-8 text (a binary file?): {exc.reason} at byte {exc.start}") from None


def json_array_records(path: Path, offset: int) -> list[Any]:
    """The records of a ``.json`` file: one array of objects."""
    size = path.stat().st_size
    if size > MAX_JSON_ARRAY_BYTES:
        raise BadInput(
            f"{path}: {_size_text(size)} is too large for a JSON array (at most {_size_text(MAX_JSON_ARRAY_BYTES)},"
            " parsed whole); write JSONL instead (.jsonl, one record per line), which is read line by line",
            [Problem(offset, "(file)", _size_text(size), "JSON array too large", str(path), None)],
        )
    data = parse_json(path.read_bytes(), str(path))
    if not isinstance(data, list):
        raise BadInput(
            f"{path}: expected a JSON array of records, got {type(data).__name__}"
            " (one record per line is JSONL: name the file .jsonl)",
            [Problem(offset, "(file)", short_repr(data), "expected a JSON array", str(path), None)],
        )
    return data


def jsonl_records(path: Path, offset: int) -> Iterator[Any]:
    """The records of a JSONL file, one per non-empty line, read line by line. Every line that is
    not valid JSON is reported (up to MAX_LINE_PROBLEMS) before anything is returned as bad input."""
    problems: list[Problem] = []
    count = 0
    with open(path, "rb") as handle:
        for line_number, line in enumerate(handle, start=1):
            if len(line) > MAX_JSON_LINE_BYTES:
                raise BadInput(
                    f"{path}: line {line_number} is {_size_text(len(line))} long (at most"
                    f" {_size_text(MAX_JSON_LINE_BYTES)} per record)",
                    [Problem(offset + count, "(json)", _size_text(len(line)), "line too long", str(path), count)],
                )
            if not line.strip():
                continue
            try:
                record = parse_json(line, f"line {line_number}")
            except BadInput as exc:
                text = line[:60].decode("utf-8", errors="replace")
                problems.append(Problem(offset + count, "(json)", short_repr(text), exc.message, str(path), count))
                count += 1
                if len(problems) >= MAX_LINE_PROBLEMS:
                    break
                continue
            count += 1
            if not problems:
                yield record
    if problems:
        more = " (reading stopped there)" if len(problems) >= MAX_LINE_PROBLEMS else ""
        raise BadInput(f"{path} has {len(problems)} line(s) that are not valid JSON{more}", problems)
