"""mlip-select as a program, run the way TypeScript runs it: exit statuses 0, 2 and 3."""

from __future__ import annotations

from pathlib import Path

from helpers import helper_process, last_json


def test_inspect_answers_on_the_last_line_and_bad_input_exits_2(tmp_path: Path, pool_jsonl: Path) -> None:
    ok = helper_process("select", "inspect", "--pool", str(pool_jsonl))
    assert ok.returncode == 0 and last_json(ok)["rows"] == 16
    missing = helper_process("select", "inspect", "--pool", str(tmp_path / "none.jsonl"))
    assert missing.returncode == 2 and "file not found" in last_json(missing)["error"]["message"]
    batch = helper_process(
        "select", "select", "--pool", str(pool_jsonl), "--potential", "p.yaml", "-n", "2", "--out", "o.pckl.gzip",
        "--batch-size", "0",
    )  # fmt: skip
    assert batch.returncode == 2 and last_json(batch)["error"]["message"] == "--batch-size must be >= 1 (got 0)"


def test_select_with_a_pyace_that_cannot_select_in_process_exits_3(tmp_path: Path, pool_jsonl: Path) -> None:
    # The project's own Python has no pyace at all: the caller must run the pace_select program.
    answer = helper_process(
        "select", "select", "--pool", str(pool_jsonl), "--potential", "p.yaml", "-n", "2",
        "--out", str(tmp_path / "o.pckl.gzip"),
    )  # fmt: skip
    assert answer.returncode == 3 and "aceselect" in last_json(answer)["unavailable"]
    assert not (tmp_path / "o.pckl.gzip").exists()
