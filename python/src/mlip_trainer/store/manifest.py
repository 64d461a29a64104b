"""The manifest beside the dataset (counts per split and element, the history of every update),
and the summary and info that read it."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any

from mlip_trainer.atomic_io import write_json_atomically
from mlip_trainer.errors import BadInput, Problem
from mlip_trainer.locking import DEFAULT_LOCK_TIMEOUT, dataset_lock
from mlip_trainer.store.dataset import rebuild
from mlip_trainer.store.energies import fitted_energy
from mlip_trainer.store.files import DatasetFiles
from mlip_trainer.store.hashing import HASH_DECIMALS
from mlip_trainer.store.index import DatasetState, load_state


def now() -> str:
    """UTC time to the second, ISO 8601: the manifest's time stamps."""
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def read_manifest(files: DatasetFiles) -> dict[str, Any]:
    """The manifest as written, or {} when missing or unreadable (it is rebuilt, not trusted)."""
    try:
        data = json.loads(files.manifest.read_text())
        return data if isinstance(data, dict) else {}
    except (FileNotFoundError, json.JSONDecodeError):
        return {}


def build_manifest(
    files: DatasetFiles,
    state: DatasetState,
    history: list[dict[str, Any]],
    test_fraction: float | None,
    reference_energy: Any = None,
) -> dict[str, Any]:
    """The manifest of the dataset as the index describes it, with its update history and the
    reference energies its energy_corrected values were made with (None: not known, or none)."""
    split = files.train.exists() and files.test.exists()
    structures = state.counts["structures"]
    corrected_only = int(state.counts.get("correctedOnly", 0))
    return {
        "format": 1,
        "path": str(files.accumulated),
        "trainPath": str(files.train if split else files.accumulated),
        "testPath": str(files.test) if split else None,
        "sha256": state.sha256,
        "total": structures["train"] + structures["test"],
        "structures": structures,
        "atoms": state.counts["atoms"],
        "elements": state.counts["elements"],
        "testFraction": test_fraction,
        "fittedEnergy": fitted_energy(corrected_only),
        "correctedOnly": corrected_only,
        "referenceEnergy": reference_energy,
        "hash": {
            "algorithm": "sha256",
            "fields": ["symbols", "pbc", "cell", "positions", "energy", "forces"],
            "decimals": HASH_DECIMALS,
        },
        "updated": now(),
        "history": history,
    }


def summary_of(files: DatasetFiles, manifest: dict[str, Any], added: int, duplicates: int) -> dict[str, Any]:
    """The answer of `append` and `summary`: paths, hash, counts, and what this update added."""
    return {
        "path": str(files.accumulated),
        "trainPath": manifest["trainPath"],
        "testPath": manifest["testPath"],
        "sha256": manifest["sha256"],
        "added": added,
        "duplicates": duplicates,
        "total": manifest["total"],
        "structures": manifest["structures"],
        "elements": sorted(manifest["elements"]),
        "manifestPath": str(files.manifest),
        "fittedEnergy": manifest.get("fittedEnergy", "energy"),
        "referenceEnergy": manifest.get("referenceEnergy"),
    }


def current_manifest(dataset: str, lock_timeout: float = DEFAULT_LOCK_TIMEOUT) -> tuple[DatasetFiles, dict[str, Any]]:
    """The manifest, brought up to date first (under the lock) if the index is missing or stale."""
    files = DatasetFiles(dataset)
    if not files.accumulated.is_file():
        raise BadInput(
            f"dataset not found: {files.accumulated}",
            [Problem(-1, "--dataset", str(files.accumulated), "no such file")],
        )
    state = load_state(files)
    manifest = read_manifest(files)
    if state is not None and manifest.get("sha256") == state.sha256:
        return files, manifest
    with dataset_lock(files.lock, lock_timeout):
        state = load_state(files)
        if state is None:
            fraction = manifest.get("testFraction") or 0.0
            state, _ = rebuild(files, float(fraction))
        manifest = build_manifest(
            files,
            state,
            list(manifest.get("history", [])),
            manifest.get("testFraction"),
            manifest.get("referenceEnergy"),
        )
        write_json_atomically(files.manifest, manifest)
    return files, manifest


def dataset_summary(dataset: str) -> dict[str, Any]:
    """The `summary` command: the manifest's summary plus row and atom totals."""
    files, manifest = current_manifest(dataset)
    return {
        **summary_of(files, manifest, 0, 0),
        "rows": manifest["total"],
        "natoms_total": manifest["atoms"]["train"] + manifest["atoms"]["test"],
    }


def dataset_info(dataset: str) -> dict[str, Any]:
    """The `info` command: the whole manifest, up to date."""
    return current_manifest(dataset)[1]
