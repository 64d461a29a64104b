"""The accumulated dataset: one growing gzip pickle per campaign, written only here.

Beside ``accumulated.pckl.gzip`` live the train/test files of a stable split decided by each
structure's content hash, a hash index (duplicates are found without reading the dataset), a
manifest (counts per split and element, and the history of every update) and the lock that lets
one updater at a time in. Modules: :mod:`.hashing` (content hash and split), :mod:`.files`
(where everything lives), :mod:`.index` (the hash index), :mod:`.dataset` (writing and
rebuilding the files), :mod:`.manifest`, and the operations :mod:`.append` and :mod:`.export`.
"""
