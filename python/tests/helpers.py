"""What several test modules share: CalculationResult records, JSONL files, and the helper
programs run the way TypeScript runs them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zlib
from pathlib import Path
from typing import Any

import pytest

from mlip_trainer.cli import dataset as dataset_cli
from mlip_trainer.cli import select as select_cli

PYTHON_DIR = Path(__file__).resolve().parents[1]
ROOT = PYTHON_DIR.parent
SRC = PYTHON_DIR / "src"
#: The simulator's sources (pacemaker_sim and its stand-in pyace) and its programs.
SIM_SRC = ROOT / "sim" / "src"
SIM_BIN = ROOT / "sim" / "bin"


def run_dataset(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, dict[str, Any], list[str]]:
    """Run mlip-dataset in-process; return exit code, the last stdout line as JSON, and all stdout lines."""
    code = dataset_cli.main(list(argv))
    lines = capsys.readouterr().out.strip().splitlines()
    return code, json.loads(lines[-1]), lines


def run_select(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, dict[str, Any]]:
    """Run mlip-select in-process; return exit code and the last stdout line as JSON."""
    code = select_cli.main(list(argv))
    lines = capsys.readouterr().out.strip().splitlines()
    return code, json.loads(lines[-1])


def helper_env(simulator: bool = False) -> dict[str, str]:
    """This process's environment as TypeScript passes it to a helper: PYTHONPATH with python/src
    first (nothing installed) and, with the simulator toolchain, sim/src next (so ``import pyace``
    finds its stand-in); the inherited PYTHONPATH after them. The simulator's fault injection
    (``PACEMAKER_SIM_*``) is left out."""
    inherited = os.environ.get("PYTHONPATH")
    dirs = [str(SRC), *([str(SIM_SRC)] if simulator else []), *([inherited] if inherited else [])]
    env = {k: v for k, v in os.environ.items() if not k.startswith("PACEMAKER_SIM_")}
    env["PYTHONPATH"] = os.pathsep.join(dirs)
    return env


def helper_process(program: str, *argv: str, python: str = sys.executable) -> subprocess.CompletedProcess[str]:
    """Run ``python -m mlip_trainer.cli.<program>`` as TypeScript does with a real installation
    (see :func:`helper_env`)."""
    return subprocess.run(
        [python, "-m", f"mlip_trainer.cli.{program}", *argv],
        capture_output=True,
        text=True,
        env=helper_env(),
        check=False,
    )


def last_json(process: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    answer: dict[str, Any] = json.loads(process.stdout.splitlines()[-1])
    return answer


def cu_record(name: str = "r0", **overrides: Any) -> dict[str, Any]:
    record: dict[str, Any] = {
        "structure": {
            "symbols": ["Cu", "Cu"],
            "positions": [[0.0, 0.0, 0.0], [1.805, 1.805, 0.1]],
            "cell": [[3.61, 0.0, 0.0], [0.0, 3.61, 0.0], [0.0, 0.0, 3.61]],
            "pbc": [True, True, True],
        },
        # Distinct names give distinct results (the name is not part of the content hash).
        "energy": -7.123456789012345 - (zlib.crc32(name.encode()) % 100_000) * 1e-6,
        "forces": [[0.1, -0.2, 0.3], [-0.1, 0.2, -0.3]],
        "stress": [0.01, 0.02, 0.03, 0.001, 0.002, 0.003],
        "name": name,
    }
    record.update(overrides)
    return record


def write_jsonl(path: Path, records: list[Any]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return path


def all_files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


def append(
    capsys: pytest.CaptureFixture[str],
    dataset: Path,
    *files: Path,
    fraction: float = 0.0,
    elements: str | None = None,
) -> tuple[int, dict[str, Any]]:
    argv = ["append", "--dataset", str(dataset), "--test-fraction", str(fraction)]
    for f in files:
        argv += ["--results", str(f)]
    if elements:
        argv += ["--elements", elements]
    code, result, _ = run_dataset(capsys, *argv)
    return code, result
