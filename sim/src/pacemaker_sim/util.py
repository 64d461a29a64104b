"""Small helpers: PNG, YAML, file sizes, numbers from YAML, the user's name."""

from __future__ import annotations

import getpass
import os
import struct
import zlib
from pathlib import Path
from typing import Any

import yaml


def tiny_png(width: int = 16, height: int = 8, rgb: tuple[int, int, int] = (70, 130, 180)) -> bytes:
    """A valid RGB PNG filled with one colour, built by hand (no plotting library)."""

    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)

    rows = b"".join(b"\x00" + bytes(rgb) * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


def write_png(path: str | Path) -> None:
    Path(path).write_bytes(tiny_png())


_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _Dumper(getattr(yaml, "CSafeDumper", yaml.SafeDumper)):  # type: ignore[misc]
    """Block mappings, flow lists of scalars (`nr: [1, 2]`), like pacemaker's own YAML files."""


def _represent_list(dumper: yaml.SafeDumper, data: list[Any]) -> yaml.Node:
    flow = all(not isinstance(x, (dict, list)) for x in data) or all(
        isinstance(x, list) and all(not isinstance(y, (dict, list)) for y in x) for x in data
    )
    return dumper.represent_sequence("tag:yaml.org,2002:seq", data, flow_style=flow)


def _represent_dict(dumper: yaml.SafeDumper, data: dict[Any, Any]) -> yaml.Node:
    values = list(data.values())
    flat = all(
        not isinstance(v, dict) and not (isinstance(v, list) and any(isinstance(x, (dict, list)) for x in v))
        for v in values
    )
    return dumper.represent_mapping(
        "tag:yaml.org,2002:map", data.items(), flow_style=flat and any(isinstance(v, list) for v in values)
    )


_Dumper.add_representer(list, _represent_list)
_Dumper.add_representer(dict, _represent_dict)


def read_yaml(path: str | Path) -> Any:
    with open(path) as handle:
        return yaml.load(handle, Loader=_Loader)


def dump_yaml(data: Any) -> str:
    text: str = yaml.dump(data, Dumper=_Dumper, sort_keys=False, default_flow_style=False, width=120)
    return text


def sizeof_fmt(file_name_or_size: str | float, suffix: str = "B") -> str:
    size = float(os.path.getsize(file_name_or_size) if isinstance(file_name_or_size, str) else file_name_or_size)
    for unit in ["", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei", "Zi"]:
        if abs(size) < 1024.0:
            return "%3.1f%s%s" % (size, unit, suffix)
        size /= 1024.0
    return "%.1f%s%s" % (size, "Yi", suffix)


def as_float(value: Any, name: str) -> float:
    """Numbers from YAML: PyYAML reads `1e-8` as a string, pacemaker's YAML 1.2 reader as a float."""
    try:
        return float(value)
    except (TypeError, ValueError):
        raise ValueError(f"'{name}' must be a number, got {value!r}") from None


def username() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no passwd entry in some containers
        return "unknown"
