"""Writes that land whole, and the streamed gzip pickle writer of the dataset.

Every file this package writes goes through :func:`atomic_file`: a temporary file beside the
target, fsynced, renamed over it, the folder fsynced. Readers (pacemaker, another updater, a
copy to a cluster) see the old file or the new one, never a torn one.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import pickle
import tempfile
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

import pandas as pd

#: gzip level of the accumulated dataset. pandas' to_pickle uses 9; 1 compresses these pickles
#: (mostly float64 noise) almost as well (see bench/dataset.ts) in a fraction of the time.
COMPRESS_LEVEL = 1
#: Bytes of pickle stream per gzip member (compressed in parallel).
GZIP_CHUNK = 1 << 20


def sha256_of_file(path: Path) -> str:
    """The file's sha256, read in 1 MiB pieces (datasets grow to gigabytes)."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _fsync_directory(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextmanager
def atomic_file(path: Path) -> Iterator[IO[bytes]]:
    """A binary file that becomes `path` only when the block ends without an error: a temporary
    file beside it, fsynced, renamed over it, the folder fsynced. Readers see the old file or the
    new one, never a torn one; on an error the temporary file is removed."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, 0o666 & ~_current_umask())
        with os.fdopen(fd, "wb") as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp_name, path)
    except BaseException:
        if os.path.exists(tmp_name):
            os.unlink(tmp_name)
        raise
    _fsync_directory(path.parent)


def write_atomically(path: Path, payload: bytes) -> None:
    """Write `payload` to `path` so that it lands whole (see atomic_file)."""
    with atomic_file(path) as handle:
        handle.write(payload)


class _ParallelGzipWriter:
    """A write-only file object for pickle.dump: cuts the stream into GZIP_CHUNK pieces and
    compresses each as its own gzip member on a thread pool (zlib releases the GIL), writing the
    members in order. A multi-member gzip file is one gzip stream to every reader (Python's
    gzip module, hence pandas and pacemaker), so pickling and compression overlap and use the
    cores there are. Same rows, same bytes: chunk boundaries and headers (mtime 0) are fixed."""

    def __init__(self, raw: IO[bytes], compresslevel: int) -> None:
        self.raw = raw
        self.level = compresslevel
        self.digest = hashlib.sha256()
        self.buffer = bytearray()
        workers = max(1, min(4, os.cpu_count() or 1))
        self.pool = ThreadPoolExecutor(max_workers=workers)
        self.pending: deque[Future[bytes]] = deque()
        self.max_pending = workers + 1
        self.members = 0

    def write(self, data: bytes) -> int:
        self.buffer += data
        while len(self.buffer) >= GZIP_CHUNK:
            self._submit(bytes(self.buffer[:GZIP_CHUNK]))
            del self.buffer[:GZIP_CHUNK]
        return len(data)

    def _submit(self, piece: bytes) -> None:
        self.pending.append(self.pool.submit(gzip.compress, piece, self.level, mtime=0))
        while len(self.pending) > self.max_pending:
            self._write_next()

    def _write_next(self) -> None:
        member = self.pending.popleft().result()
        self.digest.update(member)
        self.raw.write(member)
        self.members += 1

    def close(self) -> None:
        try:
            if self.buffer or (self.members == 0 and not self.pending):
                self._submit(bytes(self.buffer))
                self.buffer.clear()
            while self.pending:
                self._write_next()
        finally:
            self.pool.shutdown(wait=True, cancel_futures=True)


def write_pickle_atomically(df: pd.DataFrame, path: Path, compresslevel: int = COMPRESS_LEVEL) -> str:
    """Stream `df` as a gzip pickle (protocol 4) into `path` so that it lands whole (see
    atomic_file); return the sha256 of the bytes. Streaming keeps peak memory at the
    DataFrame itself plus a few chunks (no second copy of the pickled bytes)."""
    with atomic_file(path) as raw:
        writer = _ParallelGzipWriter(raw, compresslevel)
        try:
            pickle.dump(df, writer, protocol=4)
        finally:
            writer.close()
    return writer.digest.hexdigest()


def save_dataset(df: pd.DataFrame, path: str | Path) -> str:
    """Write `df` atomically as a gzip pickle (protocol 4) and return the file's sha256.

    Equivalent to ``df.to_pickle(path, compression='gzip', protocol=4)`` (pacemaker reads it
    with ``pd.read_pickle(path, compression='gzip')``), but atomic, streamed, and with no time
    stamp or file name in the gzip header, so the same rows always give the same bytes.
    """
    return write_pickle_atomically(df, Path(path))


def load_dataset(path: str | Path) -> pd.DataFrame:
    """A dataset pickle as pacemaker reads it."""
    frame: pd.DataFrame = pd.read_pickle(path, compression="gzip")
    return frame


def write_json_atomically(path: Path, value: Any) -> None:
    """`value` as indented JSON, landing whole (the manifest and the index)."""
    write_atomically(path, (json.dumps(value, indent=1) + "\n").encode())
