"""mlip_select inspect: the cheap look at a pool a generation takes before it trains."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest

PYTHON_DIR = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PYTHON_DIR))

import mlip_bridge  # noqa: E402
import mlip_select  # noqa: E402


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, dict[str, Any]]:
    code = mlip_select.main(list(argv))
    lines = capsys.readouterr().out.strip().splitlines()
    return code, json.loads(lines[-1])


def test_inspect_reports_rows_elements_and_atoms_of_a_results_file_and_of_a_pickle(capsys, tmp_path):
    jsonl = tmp_path / "pool.jsonl"
    mlip_bridge.command_label_emt(str(jsonl), 5, ["Cu", "Al"], seed=4, natoms=6)
    before = sorted(p.name for p in tmp_path.iterdir())
    code, out = run(capsys, "inspect", "--pool", str(jsonl))
    assert code == 0
    assert out == {"path": str(jsonl), "rows": 5, "elements": ["Al", "Cu"], "natomsTotal": 30}
    assert sorted(p.name for p in tmp_path.iterdir()) == before, "inspect writes nothing"

    pickle = tmp_path / "pool.pckl.gzip"
    mlip_bridge.save_dataset(mlip_select.read_pool(str(jsonl)), pickle)
    code, out = run(capsys, "inspect", "--pool", str(pickle))
    assert code == 0
    assert (out["rows"], out["elements"], out["natomsTotal"]) == (5, ["Al", "Cu"], 30)


@pytest.mark.parametrize("name,content,reason", [
    ("empty.jsonl", "", "holds no structures"),
    ("broken.pkl.gz", "not a pickle", "is not a gzip-pickled pandas DataFrame"),
    ("pool.xyz", "2\n\nCu 0 0 0\nCu 1 1 1\n", "neither a results file"),
    ("missing.jsonl", None, "file not found"),
])
def test_inspect_rejects_bad_pools_as_bad_input_naming_the_file(capsys, tmp_path, name, content, reason):
    path = tmp_path / name
    if content is not None:
        path.write_text(content)
    code, out = run(capsys, "inspect", "--pool", str(path))
    assert code == 2
    assert out["error"]["kind"] == "bad_input"
    assert reason in out["error"]["message"] and name in out["error"]["message"]
