"""mlip-dataset as a program: one JSON answer on the last line, exit statuses 0, 2 and 3."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from helpers import cu_record, helper_process, last_json, run_dataset, write_jsonl


def test_export_to_stdout_ends_with_the_row_count(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    dataset = tmp_path / "d.pckl.gzip"
    run_dataset(
        capsys,
        "append",
        "--dataset",
        str(dataset),
        "--results",
        str(write_jsonl(tmp_path / "r.jsonl", [cu_record("a"), cu_record("b")])),
    )
    code, result, lines = run_dataset(capsys, "export", "--dataset", str(dataset))
    assert code == 0 and result["rows"] == 2
    assert [json.loads(line)["name"] for line in lines[:-1]] == ["a", "b"]


def test_the_command_line_prints_json_and_uses_exit_codes_0_and_2(tmp_path: Path) -> None:
    records = str(write_jsonl(tmp_path / "r.jsonl", [cu_record()]))
    ok = helper_process("dataset", "append", "--dataset", str(tmp_path / "d.pckl.gzip"), "--results", records)
    assert ok.returncode == 0 and last_json(ok)["total"] == 1
    usage = helper_process("dataset", "append")
    assert usage.returncode == 2 and last_json(usage)["error"]["kind"] == "bad_input"
    missing = helper_process("dataset", "summary", "--dataset", str(tmp_path / "none.pckl.gzip"))
    assert missing.returncode == 2 and "dataset not found" in missing.stdout


def test_an_update_waits_for_the_lock_and_times_out_naming_the_holder(tmp_path: Path, emt_results: Path) -> None:
    dataset = tmp_path / "accumulated.pckl.gzip"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            (
                "import fcntl, os, sys, time\n"
                f"fd = os.open({str(tmp_path / 'accumulated.lock')!r}, os.O_RDWR | os.O_CREAT)\n"
                "fcntl.lockf(fd, fcntl.LOCK_EX)\n"
                'os.pwrite(fd, b\'{"host": "elsewhere", "pid": 1}\', 0)\n'
                "print('locked', flush=True)\n"
                "time.sleep(60)\n"
            ),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    append = ["append", "--dataset", str(dataset), "--results", str(emt_results)]
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "locked"
        busy = helper_process("dataset", *append, "--lock-timeout", "0.5")
        assert busy.returncode == 3
        error = last_json(busy)["error"]
        assert error["kind"] == "busy" and "elsewhere" in error["message"]
        assert not dataset.exists()
    finally:
        holder.kill()
        holder.wait()
    # The holder died without unlocking: the kernel released its lock, nothing is stale.
    done = helper_process("dataset", *append, "--lock-timeout", "5")
    assert done.returncode == 0 and last_json(done)["added"] == 6


def test_usage_errors_name_the_program_and_its_command() -> None:
    usage = helper_process("dataset", "summary")
    assert usage.returncode == 2
    assert (
        last_json(usage)["error"]["message"] == "mlip-dataset summary: the following arguments are required: --dataset"
    )
    unknown = helper_process("dataset", "nonsense")
    assert unknown.returncode == 2 and last_json(unknown)["error"]["kind"] == "bad_input"
