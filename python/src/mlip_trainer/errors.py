"""Bad input, reported field by field: what a helper answers when no retry can help."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

#: Longest repr of an offending value quoted in an error report.
MAX_VALUE_REPR = 80


@dataclass
class Problem:
    """One defect of one input record: which record, which field, what was there, why it is bad."""

    index: int
    field: str
    value: str
    reason: str
    #: The file the record came from, and its position in that file (0-based).
    file: str | None = None
    record: int | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"index": self.index, "field": self.field, "value": self.value, "reason": self.reason}
        if self.file is not None:
            out["file"] = self.file
            out["record"] = self.record
        return out


@dataclass
class BadInput(Exception):
    """Input that no retry can fix: reported as JSON on stdout, exit status 2."""

    message: str
    problems: list[Problem] = field(default_factory=list)

    def __str__(self) -> str:
        return self.message

    def to_json(self) -> dict[str, Any]:
        return {
            "error": {
                "kind": "bad_input",
                "message": self.message,
                "problems": [p.to_json() for p in self.problems],
            }
        }


def short_repr(value: Any) -> str:
    """A repr short enough for an error report."""
    text = repr(value)
    if len(text) > MAX_VALUE_REPR:
        text = text[: MAX_VALUE_REPR - 3] + "..."
    return text


def json_argument(text: str, message: str, field_name: str) -> Any:
    """A command-line argument that holds JSON, parsed; BadInput(`message`) naming `field_name`
    and the text when it is not JSON."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise BadInput(message, [Problem(-1, field_name, short_repr(text), str(exc))]) from None
