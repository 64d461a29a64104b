"""pace_info: the shape of a potential (elements, embeddings, functions), SIMULATED."""

from __future__ import annotations

import argparse
from collections.abc import Mapping, Sequence
from typing import Any

from pacemaker_sim.cli import run
from pacemaker_sim.potential import (
    block_central,
    functions_per_element,
    load_potential,
    potential_cutoff,
    potential_elements,
    total_functions,
)


def pace_info_main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="pace_info", description="Utility to analyze PACE (.yaml) potential shape and other parameters (SIMULATOR)"
    )
    parser.add_argument("potential_file", help="B-basis file name (.yaml)", type=str, nargs="+", default=[])
    args = parser.parse_args(argv)
    for name in args.potential_file:
        print_potential_info(load_potential(name))
    return 0


def print_potential_info(doc: Mapping[str, Any]) -> None:
    elements = potential_elements(doc)
    unary = {block_central(b): b for b in doc["species"] if len(b["speciesblock"].split()) == 1}
    print("SIMULATED potential (mlip-trainer's pacemaker simulator)" if doc.get("simulated") else "")
    print("Available element(s):", " ".join(elements))
    print("=" * 80)
    print(" " * 10, "Embeddings")
    print("=" * 80)
    print("Element\tndens\tFSfunc\t\t\tFS_params")
    print("=" * 80)
    for e in elements:
        b = unary.get(e, {})
        print("{:3}\t{}\t{}\t{}".format(e, b.get("ndensityi", 1), b.get("npoti", ""), b.get("parameters", [])))
    print("=" * 80)
    print("Total number of functions: ", total_functions(doc))
    print()
    print("Maximum cutoff: ", potential_cutoff(doc), "Ang")
    print("=" * 40)
    print(" " * 10, "Functions (per element)")
    print("=" * 40)
    for e, count in functions_per_element(doc).items():
        print(f"{e}\tnfuncs : {count}")
    print("=" * 40)


if __name__ == "__main__":
    run(pace_info_main)
