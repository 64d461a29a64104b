"""Writing the dataset's files (accumulated, train, test) and rebuilding their index from the
dataset itself when it is missing or stale."""

from __future__ import annotations

import pandas as pd

from mlip_trainer.atomic_io import load_dataset, sha256_of_file, write_pickle_atomically
from mlip_trainer.store.files import DatasetFiles
from mlip_trainer.store.hashing import HASH_COLUMN, SPLIT_COLUMN, row_hash, split_for
from mlip_trainer.store.index import DatasetState, HashIndex, count_structure, empty_counts, save_state

#: gzip level of train/test: 0 ("stored", still gzip, still what pacemaker reads). They are
#: derived copies of the accumulated file, rewritten with it on every append; compressing
#: them would double the cost of an append for about a quarter less disk.
SPLIT_COMPRESS_LEVEL = 0


def with_split_columns(df: pd.DataFrame, test_fraction: float) -> pd.DataFrame:
    """Fill HASH_COLUMN/SPLIT_COLUMN for rows written before they existed (or by other tools).
    A side already recorded is never changed."""
    df = df.copy()
    if HASH_COLUMN not in df.columns:
        df[HASH_COLUMN] = None
    if SPLIT_COLUMN not in df.columns:
        df[SPLIT_COLUMN] = None
    missing_hash = df[HASH_COLUMN].isna()
    if missing_hash.any():
        df.loc[missing_hash, HASH_COLUMN] = [row_hash(row) for _, row in df[missing_hash].iterrows()]
    missing_split = df[SPLIT_COLUMN].isna()
    if missing_split.any():
        df.loc[missing_split, SPLIT_COLUMN] = [split_for(h, test_fraction) for h in df.loc[missing_split, HASH_COLUMN]]
    return df


def state_from_frame(df: pd.DataFrame, sha256: str) -> DatasetState:
    """The index and counts of a whole dataset, from its hash and split columns."""
    entries = HashIndex()
    counts = empty_counts()
    for atoms, digest, side, energy in zip(df["ase_atoms"], df[HASH_COLUMN], df[SPLIT_COLUMN], df["energy"]):
        entries.add(digest, side)
        count_structure(counts, atoms.get_chemical_symbols(), side, bool(pd.isna(energy)))
    return DatasetState(entries, sha256, counts, {})


def write_dataset_files(files: DatasetFiles, df: pd.DataFrame) -> tuple[str, bool]:
    """Write train/test (when both sides have structures) and then the accumulated file; return
    its sha256 and whether the split files exist. Every file lands whole; the index is written
    last by the caller, so a kill in between leaves a stale index that the next run rebuilds."""
    is_test = (df[SPLIT_COLUMN] == "test").to_numpy()
    split = bool(is_test.any() and (~is_test).any())
    if split:
        write_pickle_atomically(df[~is_test].reset_index(drop=True), files.train, SPLIT_COMPRESS_LEVEL)
        write_pickle_atomically(df[is_test].reset_index(drop=True), files.test, SPLIT_COMPRESS_LEVEL)
    else:
        for path in (files.train, files.test):
            if path.exists():
                path.unlink()
    return write_pickle_atomically(df, files.accumulated), split


def rebuild(files: DatasetFiles, test_fraction: float) -> tuple[DatasetState, pd.DataFrame | None]:
    """Index (and split files) from the dataset itself: the slow path after a crash or an upgrade."""
    if not files.accumulated.exists():
        for path in (files.train, files.test):
            if path.exists():
                path.unlink()
        return DatasetState(HashIndex(), "", empty_counts(), files.signatures()), None
    df = load_dataset(files.accumulated)
    complete = (
        HASH_COLUMN in df.columns
        and SPLIT_COLUMN in df.columns
        and not (df[HASH_COLUMN].isna().any() or df[SPLIT_COLUMN].isna().any())
    )
    df = with_split_columns(df, test_fraction)
    if complete:
        # The dataset is fine; only the split files or the index may be missing or stale.
        is_test = (df[SPLIT_COLUMN] == "test").to_numpy()
        if is_test.any() and (~is_test).any():
            write_pickle_atomically(df[~is_test].reset_index(drop=True), files.train, SPLIT_COMPRESS_LEVEL)
            write_pickle_atomically(df[is_test].reset_index(drop=True), files.test, SPLIT_COMPRESS_LEVEL)
        sha = sha256_of_file(files.accumulated)
    else:
        sha, _ = write_dataset_files(files, df)
    state = state_from_frame(df, sha)
    save_state(files, state)
    return state, df
