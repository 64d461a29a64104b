"""The .yace (Ctilde basis) document pace_yaml2yace writes, and its file name."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import yaml

from pacemaker_sim import SIM_COMMENT
from pacemaker_sim.potential import block_central, potential_elements


def yace_text(doc: Mapping[str, Any]) -> str:
    """A .yace-shaped (Ctilde basis) document: elements, E0, deltaSplineBins, embeddings, bonds, functions."""
    elements = potential_elements(doc)
    index = {e: i for i, e in enumerate(elements)}
    unary = {block_central(b): b for b in doc["species"] if len(b["speciesblock"].split()) == 1}
    lines = [
        SIM_COMMENT,
        "simulated: true",
        f"elements: [{', '.join(elements)}]",
        f"E0: [{', '.join('0' for _ in elements)}]",
        f"deltaSplineBins: {doc.get('global', {}).get('DeltaSplineBins', 0.001)}",
        "embeddings:",
    ]
    for e in elements:
        b = unary.get(e, {})
        emb = {
            "ndensity": b.get("ndensityi", 1),
            "FS_parameters": b.get("parameters", [1, 1]),
            "npoti": b.get("npoti", "FinnisSinclair"),
            "rho_core_cutoff": b.get("rho_core_cut", 100000),
            "drho_core_cutoff": b.get("drho_core_cut", 250),
        }
        lines.append(f"  {index[e]}: " + yaml.safe_dump(emb, default_flow_style=True, width=10**6).strip())
    lines.append("bonds:")
    for b in doc["species"]:
        pair = b["speciesblock"].split()
        pair = pair * 2 if len(pair) == 1 else pair
        bond = {
            "nradmax": b.get("nradmaxi", 0),
            "lmax": b.get("lmaxi", 0),
            "nradbasemax": b.get("nradbaseij", 1),
            "radbasename": b.get("radbase", "SBessel"),
            "radparameters": b.get("radparameters", []),
            "radcoefficients": b.get("radcoefficients", []),
            "prehc": b.get("core-repulsion", [0, 0])[0],
            "lambdahc": b.get("core-repulsion", [0, 0])[1],
            "rcut": b.get("rcutij", 5.0),
            "dcut": b.get("dcutij", 0.01),
        }
        lines.append(
            f"  [{index[pair[0]]}, {index[pair[1]]}]: "
            + yaml.safe_dump(bond, default_flow_style=True, width=10**6).strip()
        )
    lines.append("functions:")
    for e in elements:
        lines.append(f"  {index[e]}:")
        for b in doc["species"]:
            if block_central(b) != e:
                continue
            for entry in b.get("nbody", []) or []:
                mus = [index[x] for x in str(entry["type"]).split()[1:]]
                func = {
                    "mu0": index[e],
                    "rank": len(mus),
                    "ndensity": len(entry.get("c", [1])),
                    "num_ms_combs": 1,
                    "mus": mus,
                    "ns": entry["nr"],
                    "ls": entry["nl"],
                    "ms_combs": [0] * len(mus),
                    "ctildes": entry.get("c", []),
                }
                lines.append("    - " + yaml.safe_dump(func, default_flow_style=True, width=10**6).strip())
    return "\n".join(lines) + "\n"


def yace_name(input_name: str, output: str) -> str:
    """Upstream: str.replace('yaml', 'yace') on the whole path (every occurrence)."""
    if output:
        return output
    if input_name.endswith("yaml"):
        return input_name.replace("yaml", "yace")
    if input_name.endswith("yml"):
        return input_name.replace("yml", "yace")
    return input_name + ".yace"
