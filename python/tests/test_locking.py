"""The dataset lock while another process holds it: the waiter says so now and then on stderr."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from mlip_trainer import locking


def test_a_waiting_updater_says_so_on_stderr_so_the_stall_watchdog_sees_it_alive(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    lock = tmp_path / "accumulated.lock"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            (
                "import fcntl, os, time\n"
                f"fd = os.open({str(lock)!r}, os.O_RDWR | os.O_CREAT)\n"
                "fcntl.lockf(fd, fcntl.LOCK_EX)\n"
                'os.pwrite(fd, b\'{"host": "elsewhere", "pid": 1}\', 0)\n'
                "print('locked', flush=True)\n"
                "time.sleep(60)\n"
            ),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    monkeypatch.setattr(locking, "WAIT_NOTE_SECONDS", 0.1)
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "locked"
        with pytest.raises(locking.LockTimeout), locking.dataset_lock(lock, timeout=0.5):
            pass
    finally:
        holder.kill()
        holder.wait()
    notes = [line for line in capsys.readouterr().err.splitlines() if line.startswith("waiting for the dataset lock")]
    assert len(notes) >= 2
    assert "held by" in notes[0]
    assert "elsewhere" in notes[0]
