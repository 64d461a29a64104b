"""Where a dataset's files live, and how to tell that one was changed behind the index's back."""

from __future__ import annotations

import os
from pathlib import Path


def file_signature(path: Path) -> list[int] | None:
    """Size and modification time (whole seconds: what every copy that keeps timestamps keeps)
    of a file, so the index notices a dataset written behind its back."""
    try:
        st = path.stat()
    except FileNotFoundError:
        return None
    return [st.st_size, st.st_mtime_ns // 1_000_000_000]


class DatasetFiles:
    """`accumulated.pckl.gzip` and what lives beside it: train/test files of the stable split,
    the hash index (`accumulated.index.json`), the manifest (`manifest.json`) and the lock."""

    def __init__(self, dataset: str | Path) -> None:
        self.accumulated = Path(dataset)
        folder, stem = self.accumulated.parent, self.accumulated.name.split(".")[0]
        self.train = folder / "train.pckl.gzip"
        self.test = folder / "test.pckl.gzip"
        self.index = folder / f"{stem}.index.json"
        self.manifest = folder / "manifest.json"
        self.lock = folder / f"{stem}.lock"

    def signatures(self) -> dict[str, list[int] | None]:
        """Size and mtime of the data files, recorded in the index to notice changes made without it."""
        return {
            "accumulated": file_signature(self.accumulated),
            "train": file_signature(self.train),
            "test": file_signature(self.test),
        }

    def remove_stale_temporaries(self) -> list[str]:
        """Temporary files of writers that were killed mid-write (only the lock holder calls this)."""
        removed = []
        for name in os.listdir(self.accumulated.parent):
            if name.startswith(".") and name.endswith(".tmp"):
                os.unlink(self.accumulated.parent / name)
                removed.append(name)
        return removed
