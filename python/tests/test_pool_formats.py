"""Pools are structures: every format ASE reads, labelled or not, JSON of Structure, and pickles;
streamed into a lean frame; LAMMPS only with a type-to-element map."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from input_files import emt_frames, lammps_dump_text, write_pool
from mlip_trainer.errors import BadInput
from mlip_trainer.selection.pool import inspect_pool, read_pool

from helpers import run_select

TYPE_MAP = "1=Cu,2=Ni"


@pytest.fixture(scope="module")
def pools(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, int]]:
    folder = tmp_path_factory.mktemp("pools")
    return folder, write_pool(folder)


def test_every_pool_format_reads_as_structures_with_their_elements(pools: tuple[Path, dict[str, int]]) -> None:
    folder, counts = pools
    expected = {a.get_chemical_formula() for a in emt_frames(5, 11, labelled=False)}
    for name, count in counts.items():
        frame = read_pool(str(folder / name), {1: "Cu", 2: "Ni"})
        assert len(frame) == count, name
        assert list(frame.index) == list(range(count))
        assert {a.get_chemical_formula() for a in frame["ase_atoms"]} <= expected, name
        if not name.endswith(".pckl.gzip"):
            assert list(frame.columns) == ["name", "ase_atoms"], name
            assert all(a.calc is None and a.info == {} for a in frame["ase_atoms"]), "lean: nothing attached"


def test_positions_and_cells_come_through_unchanged(pools: tuple[Path, dict[str, int]]) -> None:
    folder, _ = pools
    frames = emt_frames(5, 11, labelled=False)
    for name in ("md.extxyz", "md.traj", "dump.lammpstrj", "structures.jsonl"):
        frame = read_pool(str(folder / name), {1: "Cu", 2: "Ni"})
        for atoms, original in zip(frame["ase_atoms"], frames):
            assert atoms.get_chemical_symbols() == original.get_chemical_symbols(), name
            np.testing.assert_allclose(atoms.cell.array, original.cell.array, atol=1e-6)
            np.testing.assert_allclose(
                atoms.get_scaled_positions() % 1.0, original.get_scaled_positions() % 1.0, atol=1e-6
            )


@pytest.mark.parametrize("name", ["dump.lammpstrj", "structure.data"])
def test_a_lammps_file_without_a_type_map_is_refused_naming_the_field(
    pools: tuple[Path, dict[str, int]], name: str
) -> None:
    folder, _ = pools
    with pytest.raises(BadInput) as caught:
        inspect_pool(str(folder / name))
    assert str(folder / name) in caught.value.message
    assert "type numbers, not elements" in caught.value.message and "--type-map 1=Cu,2=Ni" in caught.value.message
    assert "pool.typeMap" in caught.value.message


def test_a_type_map_missing_a_type_names_the_type(pools: tuple[Path, dict[str, int]]) -> None:
    folder, _ = pools
    with pytest.raises(BadInput, match=r"atom type\(s\) \[2\] that the type map lacks \(it maps 1=Cu\)"):
        inspect_pool(str(folder / "dump.lammpstrj"), "1=Cu")


@pytest.mark.parametrize("text", ["1:Cu", "0=Cu", "1=Kk", "1=Cu,1=Ni", ","])
def test_a_malformed_type_map_is_bad_input_naming_it(pools: tuple[Path, dict[str, int]], text: str) -> None:
    folder, _ = pools
    with pytest.raises(BadInput, match=r"--type-map"):
        inspect_pool(str(folder / "dump.lammpstrj"), text)


def test_a_dump_with_an_element_column_needs_no_map(tmp_path: Path) -> None:
    frames = emt_frames(2, 3, labelled=False)
    dump = tmp_path / "elements.lammpstrj"
    dump.write_text(lammps_dump_text(frames, {"Cu": 1, "Ni": 2}, element_column=True))
    frame = read_pool(str(dump))
    assert [a.get_chemical_symbols() for a in frame["ase_atoms"]] == [a.get_chemical_symbols() for a in frames]


def test_inspect_streams_a_pool_and_can_look_at_its_first_structures_only(
    pools: tuple[Path, dict[str, int]], capsys: pytest.CaptureFixture[str]
) -> None:
    folder, _ = pools
    code, out = run_select(capsys, "inspect", "--pool", str(folder / "md.extxyz"))
    assert code == 0 and (out["rows"], out["natomsTotal"], out["elements"]) == (5, 40, ["Cu", "Ni"])
    code, out = run_select(capsys, "inspect", "--pool", str(folder / "md.extxyz"), "--limit", "2")
    assert code == 0 and (out["rows"], out["natomsTotal"]) == (2, 16)
    code, out = run_select(capsys, "inspect", "--pool", str(folder / "dump.lammpstrj"), "--type-map", TYPE_MAP)
    assert code == 0 and out["elements"] == ["Cu", "Ni"]


def test_a_json_pool_of_bad_structures_names_record_and_field(tmp_path: Path) -> None:
    pool = tmp_path / "pool.jsonl"
    pool.write_text(
        '{"symbols": ["Cu"], "positions": [[0, 0, 0]], "cell": [[3, 0, 0], [0, 3, 0], [0, 0, 3]], "pbc": [1, 1, 1]}\n'
    )
    with pytest.raises(BadInput) as caught:
        read_pool(str(pool))
    (problem,) = caught.value.problems
    assert (problem.file, problem.record, problem.field) == (str(pool), 0, "structure.pbc")


def test_an_unlabelled_extxyz_pool_selects_exactly_n(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, sim_potential: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ase.io import write

    monkeypatch.chdir(tmp_path)
    pool = tmp_path / "md.extxyz"
    write(pool, emt_frames(30, 21, labelled=False), format="extxyz")
    out = tmp_path / "selected.pckl.gzip"
    code, result = run_select(
        capsys, "select", "--pool", str(pool), "--potential", str(sim_potential), "-n", "7", "--out", str(out)
    )
    assert code == 0, result
    assert len(result["indices"]) == 7 and len(set(result["indices"])) == 7 and result["poolSize"] == 30
    selected = pd.read_pickle(out, compression="gzip")
    assert list(selected.index) == result["indices"] and list(selected.columns) == ["name", "ase_atoms"]
    assert list(selected["name"]) == [f"md.extxyz#{i}" for i in result["indices"]]


def test_a_pickled_pool_whose_ase_atoms_are_not_structures_names_the_row(tmp_path: Path) -> None:
    from ase import Atoms

    path = tmp_path / "pool.pckl.gzip"
    pd.DataFrame({"ase_atoms": [Atoms("Cu", cell=[3, 3, 3], pbc=True), "frame 2", Atoms()]}).to_pickle(
        path, compression="gzip"
    )
    with pytest.raises(BadInput) as caught:
        read_pool(str(path))
    assert (
        caught.value.message
        == f"pool {path}: ase_atoms of row 1: expected an ase.Atoms (got 'frame 2'); 1 more row(s) like it"
    )
    assert [(p.record, p.reason) for p in caught.value.problems] == [
        (1, "expected an ase.Atoms"),
        (2, "a structure needs at least one atom"),
    ]
