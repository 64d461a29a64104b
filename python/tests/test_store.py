"""The accumulated dataset: append, duplicates, the stable split, the index, the manifest."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from mlip_trainer.atomic_io import load_dataset, sha256_of_file
from mlip_trainer.cli import dataset as dataset_cli
from mlip_trainer.store.files import DatasetFiles
from mlip_trainer.store.index import HashIndex, load_state

from helpers import all_files, append, cu_record, run_dataset, write_jsonl


def test_append_then_export_round_trips_every_number_exactly(
    tmp_path: Path, emt_results: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    dataset = tmp_path / "store" / "data.pckl.gzip"
    code, result, _ = run_dataset(capsys, "append", "--dataset", str(dataset), "--results", str(emt_results))
    assert code == 0
    assert result["added"] == 6 and result["total"] == 6 and result["elements"] == ["Cu", "Ni"]

    out = tmp_path / "export.jsonl"
    code, result, _ = run_dataset(capsys, "export", "--dataset", str(dataset), "--out", str(out))
    assert code == 0 and result["rows"] == 6 and result["out"] == str(out)
    original = [json.loads(line) for line in emt_results.read_text().splitlines()]
    exported = [json.loads(line) for line in out.read_text().splitlines()]
    for before, after in zip(original, exported, strict=True):
        assert after["structure"] == before["structure"]
        assert after["energy"] == before["energy"]
        assert after["forces"] == before["forces"]
        assert after["stress"] == before["stress"]
        assert after["name"] == before["name"]
        assert np.array(after["virial"]).shape == (3, 3)


def test_append_concatenates_and_reports_the_sha256_of_the_file(
    tmp_path: Path, emt_results: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    dataset = tmp_path / "data.pckl.gzip"
    run_dataset(capsys, "append", "--dataset", str(dataset), "--results", str(emt_results))
    more = tmp_path / "more.jsonl"
    assert (
        dataset_cli.main(["label-emt", "--out", str(more), "--count", "6", "--elements", "Cu,Ni", "--seed", "6"]) == 0
    )
    capsys.readouterr()
    code, result, _ = run_dataset(capsys, "append", "--dataset", str(dataset), "--results", str(more))
    assert code == 0 and result["added"] == 6 and result["total"] == 12
    assert result["sha256"] == sha256_of_file(dataset)
    code, summary, _ = run_dataset(capsys, "summary", "--dataset", str(dataset))
    assert summary["rows"] == 12 and summary["natoms_total"] == 96 and summary["sha256"] == result["sha256"]


def test_same_rows_give_the_same_file_bytes(
    tmp_path: Path, emt_results: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    first, second = tmp_path / "a" / "d.pckl.gzip", tmp_path / "b" / "d.pckl.gzip"
    _, one, _ = run_dataset(capsys, "append", "--dataset", str(first), "--results", str(emt_results))
    _, two, _ = run_dataset(capsys, "append", "--dataset", str(second), "--results", str(emt_results))
    assert one["sha256"] == two["sha256"]


def test_a_resent_batch_and_duplicates_within_a_batch_add_nothing(
    tmp_path: Path, emt_results: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    dataset = tmp_path / "data" / "accumulated.pckl.gzip"
    code, first = append(capsys, dataset, emt_results, fraction=0.3)
    assert code == 0 and first["added"] == 6 and first["duplicates"] == 0
    before = all_files(dataset.parent)
    code, again = append(capsys, dataset, emt_results, emt_results, fraction=0.3)
    assert code == 0 and again["added"] == 0 and again["duplicates"] == 12 and again["total"] == 6
    assert again["sha256"] == first["sha256"]
    after = all_files(dataset.parent)
    # The manifest records the update and the lock file its holder and start time (to the second):
    # the data files themselves are untouched.
    records = ("manifest.json", "accumulated.lock")
    assert {k: v for k, v in after.items() if k not in records} == {k: v for k, v in before.items() if k not in records}
    history = json.loads((dataset.parent / "manifest.json").read_text())["history"]
    assert [(h["added"], h["duplicates"]) for h in history] == [(6, 0), (0, 12)]
    # A copy that differs only in its name is the same result.
    renamed = write_jsonl(
        tmp_path / "renamed.jsonl",
        [{**json.loads(line), "name": "other"} for line in emt_results.read_text().splitlines()],
    )
    assert append(capsys, dataset, renamed)[1]["added"] == 0


def test_the_split_of_old_structures_never_changes_after_appends(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    dataset = tmp_path / "accumulated.pckl.gzip"
    batches = []
    for seed in (1, 2, 3):
        path = tmp_path / f"b{seed}.jsonl"
        assert (
            dataset_cli.main(
                [
                    "label-emt",
                    "--out",
                    str(path),
                    "--count",
                    "30",
                    "--elements",
                    "Cu,Ni",
                    "--seed",
                    str(seed),
                    "--atoms",
                    "4",
                ]
            )
            == 0
        )
        batches.append(path)
    capsys.readouterr()
    sides_after: list[dict[str, str]] = []
    for batch, fraction in zip(batches, (0.3, 0.5, 0.0)):
        code, result = append(capsys, dataset, batch, fraction=fraction)
        assert code == 0 and result["added"] == 30
        train = load_dataset(result["trainPath"])
        test = load_dataset(result["testPath"])
        assert set(train["mlip_split"]) == {"train"} and set(test["mlip_split"]) == {"test"}
        assert not set(train["mlip_hash"]) & set(test["mlip_hash"])
        assert len(train) + len(test) == result["total"] == result["structures"]["train"] + result["structures"]["test"]
        sides_after.append({**dict.fromkeys(train["mlip_hash"], "train"), **dict.fromkeys(test["mlip_hash"], "test")})
    for earlier, later in zip(sides_after, sides_after[1:]):
        assert all(later[h] == side for h, side in earlier.items())
    # The last batch was added with fraction 0: all train; the first two kept their test share.
    assert 10 <= sum(side == "test" for side in sides_after[-1].values()) <= 35


def test_a_missing_or_stale_index_is_rebuilt_from_the_dataset(
    tmp_path: Path, emt_results: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    dataset = tmp_path / "accumulated.pckl.gzip"
    append(capsys, dataset, emt_results, fraction=0.5)
    index = tmp_path / "accumulated.index.json"

    def sides() -> dict[str, str]:
        state = load_state(DatasetFiles(dataset))
        assert state is not None
        return state.entries.as_dict()

    original = sides()
    assert len(original) == 6 and set(original.values()) == {"train", "test"}
    index.unlink()
    code, result = append(capsys, dataset, emt_results, fraction=0.0)
    assert code == 0 and result["added"] == 0 and result["duplicates"] == 6
    assert sides() == original  # sides kept, not re-decided at 0.0
    # Stale: the dataset replaced behind the index's back by a plain pandas write of 3 rows.
    df = load_dataset(dataset).iloc[:3].drop(columns=["mlip_hash", "mlip_split"])
    df.to_pickle(dataset, compression="gzip", protocol=4)
    code, result = append(capsys, dataset, emt_results, fraction=0.5)
    assert code == 0 and result["added"] == 3 and result["duplicates"] == 3 and result["total"] == 6
    assert json.loads((tmp_path / "manifest.json").read_text())["history"][-1]["indexRebuilt"] is True


def test_info_reports_counts_per_split_and_element_and_the_history(
    tmp_path: Path, emt_results: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    dataset = tmp_path / "accumulated.pckl.gzip"
    code, result, _ = run_dataset(
        capsys,
        "append",
        "--dataset",
        str(dataset),
        "--results",
        str(emt_results),
        "--test-fraction",
        "0.5",
        "--origin",
        json.dumps({"workflowId": "train-x-generation_003", "generation": 3}),
    )
    assert code == 0
    code, info, _ = run_dataset(capsys, "info", "--dataset", str(dataset))
    assert code == 0 and info["sha256"] == result["sha256"] == sha256_of_file(dataset)
    df = load_dataset(dataset)
    for element in ("Cu", "Ni"):
        for side in ("train", "test"):
            rows = df[df["mlip_split"] == side]
            atoms = sum(a.get_chemical_symbols().count(element) for a in rows["ase_atoms"])
            assert info["elements"][element]["atoms"][side] == atoms
    entry = info["history"][-1]
    assert entry["workflowId"] == "train-x-generation_003" and entry["generation"] == 3 and entry["added"] == 6
    assert entry["sources"] == [str(emt_results.resolve())]


def test_the_hash_index_finds_every_entry_by_binary_search_and_nothing_else() -> None:
    import hashlib as h

    digests = [h.sha256(str(i).encode()).hexdigest() for i in range(500)]
    index = HashIndex()
    for i, d in enumerate(digests[:300]):
        index.add(d, "test" if i % 7 == 0 else "train")
    stored = HashIndex(index.to_bytes())
    assert len(stored) == 300
    assert all(stored.side(d) == ("test" if i % 7 == 0 else "train") for i, d in enumerate(digests[:300]))
    assert not any(d in stored for d in digests[300:])
    stored.add(digests[0], "train")  # already known: the first side wins
    stored.add(digests[400], "test")
    assert stored.side(digests[0]) == "test" and stored.side(digests[400]) == "test" and len(stored) == 301


def test_known_reference_energies_give_energy_corrected_for_every_row(
    tmp_path: Path, emt_results: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    dataset = tmp_path / "accumulated.pckl.gzip"
    reference = {"Cu": -0.5, "Ni": -0.25}
    more = write_jsonl(tmp_path / "more.jsonl", [cu_record("x")])
    for batch in (emt_results, more):
        code, _, _ = run_dataset(
            capsys,
            "append",
            "--dataset",
            str(dataset),
            "--results",
            str(batch),
            "--reference-energy",
            json.dumps(reference),
        )
        assert code == 0
    df = load_dataset(dataset)
    assert len(df) == 7 and not df["energy_corrected"].isna().any()
    for _, row in df.iterrows():
        expected = row["energy"] - sum(reference[s] for s in row["ase_atoms"].get_chemical_symbols())
        assert row["energy_corrected"] == pytest.approx(expected, abs=1e-12)
    before = dataset.read_bytes()
    code, result, _ = run_dataset(
        capsys,
        "append",
        "--dataset",
        str(dataset),
        "--results",
        str(write_jsonl(tmp_path / "y.jsonl", [cu_record("y")])),
        "--reference-energy",
        '{"Ni": -0.25}',
    )
    assert code == 2 and "no value for ['Cu']" in result["error"]["problems"][0]["reason"]
    assert dataset.read_bytes() == before


def test_each_update_records_what_it_added_per_element_and_split(
    tmp_path: Path, emt_results: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    dataset = tmp_path / "data.pckl.gzip"
    code, _ = append(capsys, dataset, emt_results, fraction=0.5)
    assert code == 0
    manifest = json.loads(DatasetFiles(str(dataset)).manifest.read_text())
    entry = manifest["history"][-1]
    added = entry["addedElements"]
    # Per element, the update's share equals the whole dataset's after a first update.
    assert added == manifest["elements"]
    assert sum(c["structures"]["train"] for c in added.values()) >= entry["addedTrain"]
    # A repeated batch adds nothing, per element too.
    append(capsys, dataset, emt_results, fraction=0.5)
    again = json.loads(DatasetFiles(str(dataset)).manifest.read_text())["history"][-1]
    assert again["added"] == 0 and again["addedElements"] == {}
