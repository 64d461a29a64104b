"""The oracle (mlip-dataset label) and the exploration pool: labels are paid for, so a structure
is labelled once whatever is retried, and the pool a benchmark selects from looks like
exploration's output."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mlip_trainer.atomic_io import load_dataset, save_dataset
from mlip_trainer.exploration import CATEGORIES, exploration_pool, pool_counts
from mlip_trainer.labelling.oracle import label_structures
from mlip_trainer.selection.pool import read_pool
from mlip_trainer.store.hashing import atoms_hash, record_hash

from helpers import run_dataset


def _selection(pool_jsonl: Path, tmp_path: Path, positions: list[int]) -> Path:
    """A selection's pickle as selectActiveSet writes it: the pool's rows, indexed by pool position."""
    frame = read_pool(str(pool_jsonl)).iloc[positions]
    out = tmp_path / "selected.pckl.gzip"
    save_dataset(frame, out)
    return out


def _label(tmp_path: Path, structures: Path, out: Path, **kw: str) -> dict[str, object]:
    return label_structures(
        str(structures),
        str(out),
        kw.get("calculator", "emt"),
        None,
        str(tmp_path / "o.lock"),
        str(tmp_path / "audit.jsonl"),
        5.0,
        ledger=kw.get("ledger"),
        pool=kw.get("pool"),
        remaining=kw.get("remaining"),
    )


def _lines(path: Path) -> list[dict[str, object]]:
    return [json.loads(x) for x in path.read_text().splitlines() if x.strip()] if path.exists() else []


def test_the_oracle_labels_a_selection_once_and_a_rerun_labels_nothing(tmp_path: Path, pool_jsonl: Path) -> None:
    selected = _selection(pool_jsonl, tmp_path, [3, 7, 11])
    out = tmp_path / "generation_001" / "oracle-emt.jsonl"
    first = _label(tmp_path, selected, out)
    assert first["labelled"] == [3, 7, 11] and first["skipped"] == [] and first["records"] == 3
    records = _lines(out)
    # EMT's own numbers: the pool's labels came from the same calculator.
    pool = [json.loads(x) for x in pool_jsonl.read_text().splitlines()]
    assert [record_hash(r) for r in records] == [record_hash(pool[i]) for i in (3, 7, 11)]
    again = _label(tmp_path, selected, out)
    assert again["labelled"] == [] and again["skipped"] == [3, 7, 11] and again["records"] == 3
    assert len(_lines(out)) == 3
    assert len(_lines(tmp_path / "audit.jsonl")) == 3, "one calculation per structure, over both runs"


def test_structures_labelled_in_another_generation_are_skipped(tmp_path: Path, pool_jsonl: Path) -> None:
    ledger = tmp_path / "labelled"
    _label(tmp_path, _selection(pool_jsonl, tmp_path, [1, 2]), ledger / "generation_001" / "oracle-emt.jsonl")
    later = _label(
        tmp_path,
        _selection(pool_jsonl, tmp_path, [2, 5]),
        ledger / "generation_002" / "oracle-emt.jsonl",
        ledger=str(ledger),
    )
    assert later["labelled"] == [5] and later["skipped"] == [2]


def test_the_remaining_pool_is_the_pool_without_the_chosen_structures(tmp_path: Path, pool_jsonl: Path) -> None:
    selected = _selection(pool_jsonl, tmp_path, [0, 4])
    remaining = tmp_path / "rest.pckl.gzip"
    answer = _label(tmp_path, selected, tmp_path / "o.jsonl", pool=str(pool_jsonl), remaining=str(remaining))
    assert answer["remaining"] == {
        "path": str(remaining),
        "rows": 14,
        "removed": 2,
        "sha256": answer["remaining"]["sha256"],  # type: ignore[index]
    }
    rest = load_dataset(remaining)
    chosen = {atoms_hash(a) for a in load_dataset(selected)["ase_atoms"]}
    assert len(rest) == 14 and not chosen & {atoms_hash(a) for a in rest["ase_atoms"]}
    # Same inputs, same bytes: a retried activity writes the same pool.
    sha = answer["remaining"]["sha256"]  # type: ignore[index]
    again = _label(tmp_path, selected, tmp_path / "o.jsonl", pool=str(pool_jsonl), remaining=str(remaining))
    assert again["remaining"]["sha256"] == sha  # type: ignore[index]


def test_bad_oracle_input_names_the_field(tmp_path: Path, pool_jsonl: Path, capsys: pytest.CaptureFixture[str]) -> None:
    selected = _selection(pool_jsonl, tmp_path, [0])
    code, answer, _ = run_dataset(
        capsys, "label", "--structures", str(selected), "--out", str(tmp_path / "o.jsonl"), "--calculator", "dft"
    )
    assert code == 2 and "unknown calculator 'dft'" in answer["error"]["message"]
    code, answer, _ = run_dataset(
        capsys, "label", "--structures", str(selected), "--out", str(tmp_path / "o.jsonl"), "--pool", str(pool_jsonl)
    )
    assert code == 2 and answer["error"]["problems"][0]["field"] == "--remaining"
    from ase import Atoms

    frame = pd.DataFrame({"name": ["h2"], "ase_atoms": [Atoms("H2", positions=[[0, 0, 0], [0, 0, 0.74]])]})
    save_dataset(frame, tmp_path / "h.pckl.gzip")
    code, answer, _ = run_dataset(
        capsys, "label", "--structures", str(tmp_path / "h.pckl.gzip"), "--out", str(tmp_path / "o.jsonl")
    )
    assert code == 2 and answer["error"]["problems"][0]["value"] == "H"
    assert not (tmp_path / "o.jsonl").exists()


def test_the_calculators_command_lists_the_registry(capsys: pytest.CaptureFixture[str]) -> None:
    code, answer, _ = run_dataset(capsys, "calculators")
    assert code == 0 and [c["name"] for c in answer["calculators"]] == ["emt"]
    assert "Cu" in answer["calculators"][0]["elements"]


def test_pool_counts_keep_the_bulk_majority() -> None:
    counts = pool_counts(2000, 0.06)
    assert sum(counts.values()) == 2000 and counts["bulk-md"] == 1880
    assert all(counts[c] == 20 for c in CATEGORIES[1:])


def test_the_exploration_pool_has_every_category_and_a_balanced_labelled_test_set(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    answer = exploration_pool(
        str(tmp_path / "pool.pckl.gzip"), str(tmp_path / "test.pckl.gzip"), 50, 2, 3, ["Cu", "Ni"], 0.3
    )
    pool = load_dataset(tmp_path / "pool.pckl.gzip")
    assert len(pool) == 50 and list(pool.columns) == ["name", "ase_atoms"]
    categories = pool["name"].str.split("/").str[0]
    assert (
        set(categories) == set(CATEGORIES)
        and categories.value_counts()["bulk-md"] == answer["pool"]["categories"]["bulk-md"]
    )
    clusters = [a for n, a in zip(pool["name"], pool["ase_atoms"]) if n.startswith("cluster/")]
    assert all(not any(a.pbc) and 6 <= len(a) <= 13 for a in clusters)
    test = load_dataset(tmp_path / "test.pckl.gzip")
    assert test["name"].str.split("/").str[0].value_counts().to_dict() == dict.fromkeys(CATEGORIES, 2)
    # One frame per trajectory: a category's test frames are independent runs, not neighbours.
    trajectories = test["name"].str.rsplit("-", n=1).str[0]
    assert trajectories.is_unique, list(test["name"])
    assert all(np.isfinite(e) for e in test["energy"])
    # Held out: no test structure is in the pool.
    assert not {atoms_hash(a) for a in test["ase_atoms"]} & {atoms_hash(a) for a in pool["ase_atoms"]}
    # Deterministic for a seed.
    again = exploration_pool(str(tmp_path / "again.pckl.gzip"), None, 50, 2, 3, ["Cu", "Ni"], 0.3)
    assert again["pool"]["sha256"] == answer["pool"]["sha256"]
    code, bad, _ = run_dataset(capsys, "exploration-pool", "--out", str(tmp_path / "x.pckl.gzip"), "--count", "3")
    assert code == 2 and bad["error"]["problems"][0]["field"] == "--count"


def test_every_pool_frame_is_fully_periodic_or_fully_open(tmp_path: Path) -> None:
    """pacemaker's neighbour lists take nothing in between (a slab must be periodic with vacuum)."""
    exploration_pool(str(tmp_path / "p.pckl.gzip"), None, 30, 0, 5, ["Cu", "Ni"], 0.5)
    pool = load_dataset(tmp_path / "p.pckl.gzip")
    assert all(all(a.pbc) or not any(a.pbc) for a in pool["ase_atoms"])
