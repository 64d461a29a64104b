"""The dataset lock: one updater at a time, across processes and hosts sharing the workspace."""

from __future__ import annotations

import errno
import fcntl
import json
import os
import random
import socket
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

#: How long an updater waits for another one's lock, s.
DEFAULT_LOCK_TIMEOUT = 20 * 60.0
#: How often a waiting updater says so on stderr, s.
WAIT_NOTE_SECONDS = 60.0


class LockTimeout(Exception):
    """Another updater held the dataset lock for longer than we were willing to wait."""


@contextmanager
def dataset_lock(lock_path: Path, timeout: float) -> Iterator[float]:
    """Hold an exclusive POSIX record lock (fcntl) on `lock_path`; yields the seconds waited.

    fcntl locks, unlike an O_EXCL lock file, are released by the kernel (or, on NFS, by the
    server's lock manager when the client's lease lapses) when the holder dies, so a killed
    updater never leaves a stale lock behind. The holder's host, pid and start time are written
    into the file for the error message of whoever times out waiting.
    """
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o666)
    started = time.monotonic()
    noted = started
    try:
        delay = 0.02
        while True:
            try:
                fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except OSError as exc:
                if exc.errno not in (errno.EACCES, errno.EAGAIN):
                    raise
            if time.monotonic() - noted >= WAIT_NOTE_SECONDS:
                # A line now and then: the worker's stall watchdog takes a silent helper for a hung one.
                noted = time.monotonic()
                holder = os.pread(fd, 4096, 0).decode(errors="replace").strip() or "unknown"
                print(
                    f"waiting for the dataset lock {lock_path} ({noted - started:.0f} s so far), held by {holder}",
                    file=sys.stderr,
                    flush=True,
                )
            if time.monotonic() - started > timeout:
                holder = os.pread(fd, 4096, 0).decode(errors="replace").strip() or "unknown"
                raise LockTimeout(
                    f"dataset {lock_path} is locked by another updater ({holder}) for more than {timeout:.0f} s"
                )
            time.sleep(delay * (0.5 + random.random()))
            delay = min(delay * 1.5, 0.5)
        waited = time.monotonic() - started
        holder = json.dumps(
            {
                "host": socket.gethostname(),
                "pid": os.getpid(),
                "since": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            }
        )
        os.ftruncate(fd, 0)
        os.pwrite(fd, holder.encode(), 0)
        yield waited
    finally:
        os.close(fd)  # closing the descriptor releases the lock
