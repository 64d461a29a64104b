"""The hash index: every structure's content hash and side of the split, looked up without
reading the dataset, and the counts the manifest reports."""

from __future__ import annotations

import json
import mmap
import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from mlip_trainer.atomic_io import write_atomically, write_json_atomically
from mlip_trainer.store.files import DatasetFiles
from mlip_trainer.store.hashing import HASH_DECIMALS

INDEX_FORMAT = 2

SIDES = ("train", "test")


class HashIndex:
    """Content hash -> side of the split, for every structure in the dataset.

    Stored as a sorted array of 33-byte records (32-byte sha256 digest, 1 byte side) that is
    memory-mapped and binary-searched: a lookup touches about log2(N) records, so checking a
    batch for duplicates costs the same at 1,000 structures as at 1,000,000. Structures added in
    this run sit in `new` until `to_bytes` merges them.
    """

    RECORD = 33

    def __init__(self, data: Any = b"") -> None:
        self.data = data
        self.n = len(data) // self.RECORD
        self.new: dict[bytes, int] = {}

    def _digest(self, i: int) -> bytes:
        return bytes(self.data[i * self.RECORD : i * self.RECORD + 32])

    def side(self, hexdigest: str) -> str | None:
        """'train' or 'test' for a known hash, None for a new one."""
        digest = bytes.fromhex(hexdigest)
        if digest in self.new:
            return SIDES[self.new[digest]]
        lo, hi = 0, self.n
        while lo < hi:
            mid = (lo + hi) // 2
            if self._digest(mid) < digest:
                lo = mid + 1
            else:
                hi = mid
        if lo < self.n and self._digest(lo) == digest:
            return SIDES[self.data[lo * self.RECORD + 32]]
        return None

    def __contains__(self, hexdigest: object) -> bool:
        return isinstance(hexdigest, str) and self.side(hexdigest) is not None

    def __len__(self) -> int:
        return self.n + len(self.new)

    def add(self, hexdigest: str, side: str) -> None:
        """Record `hexdigest` on `side` unless it is already known (the first side wins)."""
        if hexdigest not in self:
            self.new[bytes.fromhex(hexdigest)] = SIDES.index(side)

    def to_bytes(self) -> bytes:
        """The stored records and the new ones, merged and sorted: the next entries file."""
        size = self.n * self.RECORD
        records = [bytes(self.data[i : i + self.RECORD]) for i in range(0, size, self.RECORD)]
        records.extend(digest + bytes([side]) for digest, side in self.new.items())
        records.sort()
        return b"".join(records)

    def as_dict(self) -> dict[str, str]:
        """Every entry as {hexdigest: side}: for tests and diagnostics, O(N)."""
        raw = self.to_bytes()
        return {raw[i : i + 32].hex(): SIDES[raw[i + 32]] for i in range(0, len(raw), self.RECORD)}


@dataclass
class DatasetState:
    """What the index holds: every structure's hash and side, the counts, and the files' identity."""

    entries: HashIndex
    sha256: str
    counts: dict[str, Any]
    signatures: dict[str, list[int] | None]


def empty_counts() -> dict[str, Any]:
    """Structures and atoms per side, overall and per element, and structures known only by their
    corrected energy: none yet."""
    return {"structures": {"train": 0, "test": 0}, "atoms": {"train": 0, "test": 0}, "elements": {}, "correctedOnly": 0}


def count_structure(counts: dict[str, Any], symbols: Sequence[str], side: str, corrected_only: bool = False) -> None:
    """Add one structure of these atoms on `side` to `counts` (`corrected_only`: it has no total energy)."""
    counts["structures"][side] += 1
    counts["correctedOnly"] = counts.get("correctedOnly", 0) + int(corrected_only)
    counts["atoms"][side] += len(symbols)
    per_structure: dict[str, int] = {}
    for s in symbols:
        per_structure[s] = per_structure.get(s, 0) + 1
    for element, n in per_structure.items():
        entry = counts["elements"].setdefault(
            element, {"structures": {"train": 0, "test": 0}, "atoms": {"train": 0, "test": 0}}
        )
        entry["structures"][side] += 1
        entry["atoms"][side] += n


def load_state(files: DatasetFiles) -> DatasetState | None:
    """The index, if it exists and describes the files as they are now; None if missing or stale.
    Reads the small JSON part and maps the entries file: nothing proportional to the dataset."""
    try:
        data = json.loads(files.index.read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return None
    if data.get("format") != INDEX_FORMAT or data.get("hash_decimals") != HASH_DECIMALS:
        return None
    if data.get("files") != files.signatures():
        return None
    entries_path = files.index.parent / str(data.get("entries_file", ""))
    try:
        size = entries_path.stat().st_size
    except (FileNotFoundError, OSError):
        return None
    if size != data.get("entries_count", -1) * HashIndex.RECORD:
        return None
    if size == 0:
        entries = HashIndex()
    else:
        with open(entries_path, "rb") as handle:
            entries = HashIndex(mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ))
    return DatasetState(entries, data["sha256"], data["counts"], data["files"])


def save_state(files: DatasetFiles, state: DatasetState) -> None:
    """Entries file (named after the dataset version) first, then the JSON that points to it,
    then old entries files: a reader sees a complete old or new index."""
    state.signatures = files.signatures()
    raw = state.entries.to_bytes()
    entries_file = f"{files.index.name.removesuffix('.json')}.{(state.sha256 or 'empty')[:16]}.bin"
    write_atomically(files.index.parent / entries_file, raw)
    write_json_atomically(
        files.index,
        {
            "format": INDEX_FORMAT,
            "hash_decimals": HASH_DECIMALS,
            "sha256": state.sha256,
            "files": state.signatures,
            "counts": state.counts,
            "entries_file": entries_file,
            "entries_count": len(raw) // HashIndex.RECORD,
        },
    )
    prefix = files.index.name.removesuffix(".json") + "."
    for name in os.listdir(files.index.parent):
        if name.startswith(prefix) and name.endswith(".bin") and name != entries_file:
            os.unlink(files.index.parent / name)
