"""pace_yaml2yace: convert a B-basis potential (.yaml) to a Ctilde basis (.yace), SIMULATED."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

from pacemaker_sim.cli import run
from pacemaker_sim.potential import load_potential
from pacemaker_sim.yace import yace_name, yace_text


def pace_yaml2yace_main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="pace_yaml2yace",
        description="Conversion utility from B-basis (.yaml file) to new-style Ctilde-basis (.yace file) (SIMULATOR)",
    )
    parser.add_argument("input", help="input B-basis file name (.yaml)", type=str, nargs="+", default=[])
    parser.add_argument("-o", "--output", help="output Ctilde-basis file name (.yace)", type=str, default="")
    args = parser.parse_args(argv)
    for input_name in args.input:
        output_name = yace_name(input_name, args.output)
        print("Loading B-basis from '{}'".format(input_name), flush=True)
        doc = load_potential(input_name)
        print("Converting to Ctilde-basis")
        print("Saving Ctilde-basis to '{}'".format(output_name), flush=True)
        Path(output_name).write_text(yace_text(doc))
    return 0


if __name__ == "__main__":
    run(pace_yaml2yace_main)
