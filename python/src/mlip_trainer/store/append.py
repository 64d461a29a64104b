"""Appending results to the dataset: validate everything, then add only what is new, under the lock."""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from mlip_trainer.atomic_io import load_dataset, write_json_atomically
from mlip_trainer.errors import BadInput, Problem, short_repr
from mlip_trainer.frames import results_to_dataframe
from mlip_trainer.locking import DEFAULT_LOCK_TIMEOUT, dataset_lock
from mlip_trainer.results import read_results_with_origins
from mlip_trainer.store.dataset import rebuild, with_split_columns, write_dataset_files
from mlip_trainer.store.energies import parse_reference_energy, with_energies
from mlip_trainer.store.files import DatasetFiles
from mlip_trainer.store.hashing import HASH_COLUMN, SPLIT_COLUMN, record_hash, split_for
from mlip_trainer.store.index import count_structure, load_state, save_state
from mlip_trainer.store.manifest import build_manifest, now, read_manifest, summary_of
from mlip_trainer.validation import DEFAULT_LIMITS, Limits, validate_results


def read_and_validate(
    results_files: Sequence[str],
    elements: Sequence[str] | None,
    limits: Limits = DEFAULT_LIMITS,
    reference_energy: str | None = None,
) -> tuple[list[Any], list[tuple[str, int]]]:
    """Every record of every file, validated (schema, elements, cell, overlaps, sanity limits),
    with its origin; BadInput listing every problem otherwise. Writes nothing: `check` is this."""
    reference = parse_reference_energy(reference_energy, elements)
    records, origins = read_results_with_origins(results_files)
    if not records:
        raise BadInput(f"no CalculationResult records in {', '.join(results_files)}")
    validate_results(records, elements, origins, limits)
    if isinstance(reference, dict):
        unknown = {symbol for r in records for symbol in r["structure"]["symbols"]} - set(reference)
        if unknown:
            raise BadInput(
                "reference energies lack elements of the results",
                [Problem(-1, "reference_energy", short_repr(reference), f"no value for {sorted(unknown)}")],
            )
    return records, origins


def check_results(
    results_files: Sequence[str],
    elements: Sequence[str] | None,
    limits: Limits = DEFAULT_LIMITS,
    reference_energy: str | None = None,
) -> dict[str, Any]:
    """The `check` command: read and validate as `append` would, write nothing; per file, how many
    results it holds and how many of them have only a corrected energy."""
    records, origins = read_and_validate(results_files, elements, limits, reference_energy)
    files: dict[str, dict[str, int]] = {}
    for record, (file, _) in zip(records, origins):
        entry = files.setdefault(file, {"records": 0, "correctedOnly": 0})
        entry["records"] += 1
        entry["correctedOnly"] += int(record.get("energy") is None)
    return {"records": len(records), "files": [{"path": f, **c} for f, c in files.items()]}


def append_results(
    dataset: str,
    results_files: Sequence[str],
    elements: Sequence[str] | None = None,
    test_fraction: float = 0.0,
    lock_timeout: float = DEFAULT_LOCK_TIMEOUT,
    origin: dict[str, Any] | None = None,
    reference_energy: str | None = None,
    limits: Limits = DEFAULT_LIMITS,
) -> dict[str, Any]:
    """Validate every record, then, under the lock, append those whose content hash is new.

    Order of work: parse and validate everything (bad input: nothing is touched), hash, take the
    lock, consult the index (rebuild it if missing or stale), and only if something is new read
    the dataset, concatenate, write train/test/accumulated, then index and manifest.
    """
    timings: dict[str, float] = {}
    clock = time.perf_counter()

    def lap(name: str) -> None:
        nonlocal clock
        tick = time.perf_counter()
        timings[name] = round(tick - clock, 4)
        clock = tick

    if not 0.0 <= test_fraction < 1.0:
        raise BadInput(
            "invalid --test-fraction", [Problem(-1, "test_size", str(test_fraction), "expected a number in [0, 1)")]
        )
    reference = parse_reference_energy(reference_energy, elements)
    records, origins = read_and_validate(results_files, elements, limits, reference_energy)
    lap("read_validate")
    hashes = [record_hash(r) for r in records]
    lap("hash")
    files = DatasetFiles(dataset)
    with dataset_lock(files.lock, lock_timeout) as waited:
        timings["lock_wait"] = round(waited, 4)
        clock = time.perf_counter()
        removed = files.remove_stale_temporaries()
        state = load_state(files)
        old: pd.DataFrame | None = None
        rebuilt = state is None and files.accumulated.exists()
        if state is None:
            state, old = rebuild(files, test_fraction)
        lap("index")
        fresh: list[int] = []
        seen: set[str] = set()
        for i, digest in enumerate(hashes):
            if digest not in state.entries and digest not in seen:
                seen.add(digest)
                fresh.append(i)
        duplicates = len(records) - len(fresh)
        lap("dedup")
        previous = read_manifest(files)
        history = list(previous.get("history", []))
        sides = {"train": 0, "test": 0}
        # The reference energies the stored corrected energies were made with bind later appends.
        recorded = previous.get("referenceEnergy") if state.counts.get("correctedOnly", 0) else None
        kept_reference = previous.get("referenceEnergy")
        # What this update added per element and split, so the history shows how the data grew.
        added_counts: dict[str, Any] = {"structures": dict(sides), "atoms": dict(sides), "elements": {}}
        if fresh:
            new = results_to_dataframe([records[i] for i in fresh], validate=False)
            new[HASH_COLUMN] = [hashes[i] for i in fresh]
            new[SPLIT_COLUMN] = [split_for(hashes[i], test_fraction) for i in fresh]
            for i, digest, side in zip(fresh, new[HASH_COLUMN], new[SPLIT_COLUMN]):
                state.entries.add(digest, side)
                sides[side] += 1
                count_structure(
                    state.counts, records[i]["structure"]["symbols"], side, records[i].get("energy") is None
                )
                count_structure(added_counts, records[i]["structure"]["symbols"], side)
            sources = _sources(records, origins, fresh, state.counts)
            received = len(records)
            del records  # the parsed JSON is no longer needed: free it before the dataset is read
            lap("convert")
            if old is None and files.accumulated.exists():
                old = with_split_columns(load_dataset(files.accumulated), test_fraction)
            lap("read_dataset")
            frame = new if old is None else pd.concat([old, new], ignore_index=True)
            frame, kept_reference = with_energies(frame, reference, recorded, sources)
            del old, new
            state.sha256, _ = write_dataset_files(files, frame)
            del frame
            lap("write")
            save_state(files, state)
        else:
            received = len(records)
        history.append(
            {
                "time": now(),
                **(origin or {}),
                "sources": list(dict.fromkeys(str(Path(f).resolve()) for f in results_files)),
                "received": received,
                "added": len(fresh),
                "addedTrain": sides["train"],
                "addedTest": sides["test"],
                "addedElements": added_counts["elements"],
                "duplicates": duplicates,
                "testFraction": test_fraction,
                **({"referenceEnergy": reference} if reference is not None else {}),
                "sha256": state.sha256,
                **({"indexRebuilt": True} if rebuilt else {}),
                **({"removedTemporaries": removed} if removed else {}),
            }
        )
        manifest = build_manifest(files, state, history, test_fraction, kept_reference)
        write_json_atomically(files.manifest, manifest)
        lap("manifest")
    return {**summary_of(files, manifest, len(fresh), duplicates), "timings": timings, "indexRebuilt": rebuilt}


def _sources(
    records: Sequence[Any], origins: Sequence[tuple[str, int]], fresh: Sequence[int], counts: dict[str, Any]
) -> dict[str, str]:
    """Where corrected-only and total-energy results of this update come from, for a refusal."""
    corrected = sorted({origins[i][0] for i in fresh if records[i].get("energy") is None})
    total = sorted({origins[i][0] for i in fresh if records[i].get("energy") is not None})
    stored_corrected = counts.get("correctedOnly", 0) - len([i for i in fresh if records[i].get("energy") is None])
    stored_total = counts["structures"]["train"] + counts["structures"]["test"] - len(fresh) - stored_corrected
    return {
        "corrected": ", ".join(corrected + (["the dataset"] if stored_corrected > 0 else [])) or "the dataset",
        "total": ", ".join((["the dataset"] if stored_total > 0 else []) + total) or "the dataset",
    }
