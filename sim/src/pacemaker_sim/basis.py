"""B-basis construction: the target potential of an input.yaml ``potential:`` section, the empty
potential a ladder starts from, and the extended basis of each ladder step."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from itertools import combinations_with_replacement
from typing import Any

from pacemaker_sim.potential import copy_doc, potential_elements
from pacemaker_sim.state import SimState, set_state
from pacemaker_sim.util import as_float

MAX_FUNCTIONS_PER_BLOCK = 5000
MAX_FUNCTIONS_PER_ELEMENT = 2000


@dataclass(frozen=True)
class FunctionSpec:
    """One B-basis function: central element, neighbour elements, radial (ns) and angular (ls) indices."""

    block: str
    central: str
    neighbours: tuple[str, ...]
    ns: tuple[int, ...]
    ls: tuple[int, ...]

    @property
    def rank(self) -> int:
        return len(self.ns)

    def order_key(self) -> tuple[Any, ...]:
        return (self.rank, sum(self.ns) + sum(self.ls), self.ns, self.ls, self.neighbours)

    def to_nbody(self, ndensity: int) -> dict[str, Any]:
        entry: dict[str, Any] = {
            "type": " ".join((self.central,) + self.neighbours),
            "nr": list(self.ns),
            "nl": list(self.ls),
        }
        if self.rank >= 4:
            entry["lint"] = list(self.ls[: self.rank - 2])
        entry["c"] = [0.0] * ndensity
        return entry


def nbody_order_key(entry: Mapping[str, Any]) -> tuple[Any, ...]:
    ns, ls = tuple(entry.get("nr", [])), tuple(entry.get("nl", []))
    return (len(ns), sum(ns) + sum(ls), ns, ls, tuple(str(entry.get("type", "")).split()[1:]))


def _merged(section: Mapping[str, Any], keys: Sequence[str]) -> dict[str, Any]:
    merged: dict[str, Any] = {}
    for key in keys:
        value = section.get(key)
        if isinstance(value, dict):
            merged.update(value)
    return merged


def _block_keys(block: tuple[str, ...], kind: str) -> list[str]:
    if len(block) == 1:
        return ["ALL", "UNARY", block[0]] if kind != "bonds" else ["ALL", "UNARY", block[0], f"{block[0]} {block[0]}"]
    return ["ALL", "BINARY", " ".join(block)]


def _angular_ok(ls: tuple[int, ...]) -> bool:
    if sum(ls) % 2:
        return False
    if len(ls) == 2:
        return ls[0] == ls[1]
    return max(ls) <= sum(ls) - max(ls)


def _neighbour_tuples(block: tuple[str, ...], rank: int) -> list[tuple[str, ...]]:
    if len(block) == 1:
        return [(block[0],) * rank]
    tuples = combinations_with_replacement(sorted(block), rank)
    return [t for t in tuples if block[1] in t]


def block_functions(block: tuple[str, ...], nradmax: Sequence[int], lmax: Sequence[int]) -> list[FunctionSpec]:
    """Candidate functions of one species block, in pacemaker-like order (rank, then n+l)."""
    specs: list[FunctionSpec] = []
    name = " ".join(block)
    for rank in range(1, len(nradmax) + 1):
        n_max, l_max = int(nradmax[rank - 1]), int(lmax[rank - 1]) if rank - 1 < len(lmax) else 0
        if n_max < 1:
            continue
        ls_options: list[tuple[int, ...]] = (
            [(0,)]
            if rank == 1
            else [ls for ls in combinations_with_replacement(range(l_max + 1), rank) if _angular_ok(ls)]
        )
        for neighbours in _neighbour_tuples(block, rank):
            for ns in combinations_with_replacement(range(1, n_max + 1), rank):
                for ls in ls_options:
                    specs.append(FunctionSpec(name, block[0], neighbours, ns, ls))
                    if len(specs) >= MAX_FUNCTIONS_PER_BLOCK:
                        return sorted(specs, key=FunctionSpec.order_key)
    return sorted(specs, key=FunctionSpec.order_key)


def _block_dict(block: tuple[str, ...], config: Mapping[str, Any], cutoff: float) -> dict[str, Any]:
    bond = _merged(config.get("bonds", {}) or {}, _block_keys(block, "bonds"))
    funcs = _merged(config.get("functions", {}) or {}, _block_keys(block, "functions"))
    nradmax = [int(x) for x in funcs.get("nradmax_by_orders", [5, 2])]
    lmax = [int(x) for x in funcs.get("lmax_by_orders", [0, 1])]
    nradbase = nradmax[0] if nradmax else 1
    nradmaxi = max(nradmax[1:], default=0)
    lmaxi = max(lmax[1:], default=0)
    data: dict[str, Any] = {"speciesblock": " ".join(block)}
    if len(block) == 1:
        emb = _merged(config.get("embeddings", {}) or {}, _block_keys(block, "embeddings"))
        fs_parameters = [float(x) for x in emb.get("fs_parameters", [1, 1, 1, 0.5])]
        data.update(
            {
                "ndensityi": int(emb.get("ndensity", max(1, len(fs_parameters) // 2))),
                "npoti": str(emb.get("npot", "FinnisSinclairShiftedScaled")),
                "parameters": fs_parameters,
                "rho_core_cut": float(emb.get("rho_core_cut", 200000)),
                "drho_core_cut": float(emb.get("drho_core_cut", 250)),
            }
        )
    data.update(
        {
            "nradmaxi": nradmaxi,
            "lmaxi": lmaxi,
            "rcutij": as_float(bond.get("rcut", cutoff), "bonds::rcut"),
            "dcutij": as_float(bond.get("dcut", 0.01), "bonds::dcut"),
            "NameOfCutoffFunctionij": str(bond.get("NameOfCutoffFunction", "cos")),
            "nradbaseij": nradbase,
            "radbase": str(bond.get("radbase", "SBessel")),
            "radparameters": [float(x) for x in bond.get("radparameters", [5.25])],
            "radcoefficients": [
                [[1.0 if n == k else 0.0 for k in range(nradbase)] for _ in range(lmaxi + 1)] for n in range(nradmaxi)
            ],
            "core-repulsion": [float(x) for x in bond.get("core-repulsion", [0.0, 5.0])],
            "nbody": [],
        }
    )
    if "r_in" in bond:
        data["r_in"] = as_float(bond["r_in"], "bonds::r_in")
        data["delta_in"] = as_float(bond.get("delta_in", 0.1), "bonds::delta_in")
    data["_sim_candidates"] = (nradmax, lmax)
    return data


def build_potential(config: Mapping[str, Any], cutoff: float, metadata: Mapping[str, Any]) -> dict[str, Any]:
    """A potential shaped by an input.yaml `potential:` section (elements, embeddings, bonds, functions)."""
    if "elements" not in config:
        raise ValueError("'potential::elements' is not provided, please specify the list of elements")
    elements = sorted(str(e) for e in config["elements"])
    blocks = [(e,) for e in elements] + [(a, b) for a in elements for b in elements if a != b]
    block_dicts = [_block_dict(b, config, cutoff) for b in blocks]
    functions_config = config.get("functions", {}) or {}
    limit = functions_config.get("number_of_functions_per_element")
    limit = int(limit) if limit is not None else MAX_FUNCTIONS_PER_ELEMENT
    ndensity = {b["speciesblock"]: b["ndensityi"] for b in block_dicts if "ndensityi" in b}
    for element in elements:
        own = [(i, b) for i, b in enumerate(block_dicts) if b["speciesblock"].split()[0] == element]
        candidates = [
            (spec.order_key(), i, spec)
            for i, b in own
            for spec in block_functions(tuple(b["speciesblock"].split()), *b["_sim_candidates"])
        ]
        for _, i, spec in sorted(candidates, key=lambda t: (t[0], t[1]))[:limit]:
            block_dicts[i]["nbody"].append(spec.to_nbody(ndensity[element]))
    for b in block_dicts:
        del b["_sim_candidates"]
        b["nbody"].sort(key=nbody_order_key)
    return new_potential_doc(block_dicts, float(config.get("deltaSplineBins", 0.001)), cutoff, metadata)


def new_potential_doc(
    species: list[dict[str, Any]], delta_spline_bins: float, cutoff: float, metadata: Mapping[str, Any]
) -> dict[str, Any]:
    doc = {
        "metadata": dict(metadata),
        "global": {"DeltaSplineBins": delta_spline_bins},
        "species": species,
        "cutoff": cutoff,
        "simulated": True,
    }
    set_state(doc, SimState.initial(potential_elements(doc)))
    return doc


def clean_potential(doc: Mapping[str, Any]) -> dict[str, Any]:
    """An empty potential of the same shape (pacemaker's clean_bbasisconfig)."""
    empty = copy_doc(doc)
    for block in empty["species"]:
        block["nbody"] = []
    set_state(empty, SimState.initial(potential_elements(empty)))
    return empty


def extended_potential(target: Mapping[str, Any], current: Mapping[str, Any], step: int) -> dict[str, Any]:
    """pyace's extend_multispecies_basis: every block of `target` gets up to `step` more functions (in
    body order) than `current` has in it. Like pyace (`final_basis.copy()`), the metadata is the
    target's (so a `_fit_cycles` of `current` does not carry over); the state is `current`'s."""
    result = copy_doc(target)
    have = {str(b.get("speciesblock")): len(b.get("nbody") or []) for b in current.get("species", [])}
    for block in result["species"]:
        entries = sorted(block.get("nbody") or [], key=nbody_order_key)
        block["nbody"] = entries[: min(len(entries), have.get(str(block.get("speciesblock")), 0) + step)]
    result["sim_state"] = copy_doc(current.get("sim_state", {}))
    return result
