"""mlip-select: the selection side of mlip-trainer: pool conversion, extrapolation grades, the fill.

Usage: ``mlip-select <command> [options]`` (or ``python -m mlip_trainer.cli.select``). Every
command answers by the protocol of :mod:`mlip_trainer.cli.protocol`.

Commands
  prepare   a pool (any file of structures, see mlip_trainer.readers.structures) -> ``pool.pkl.gz``
            (gzip pickle, RangeIndex = position in the pool, the name pace_select accepts), and
            optionally a small unlabelled sample for ``pacemaker --dry-run`` (generation 0).
  inspect   reads a pool as ``prepare`` does, streamed, and reports ``{rows, elements,
            natomsTotal}``, writing nothing: the check a generation makes before it trains
            (``--limit N``: only the first N structures, the command line's quick look).
  select    the selection in one process (the default path): pace_select's own selection
            function (pyace.aceselect.select_structures_maxvol) run with the program's arguments
            and observed, then the fill up to n by the largest extrapolation grade from the
            projections and active set it made; writes the selected structures as a dataset
            pickle and reports how each was chosen. Exit 3 when this pyace has no aceselect
            (``{"unavailable": ...}``): the caller then runs the pace_select program and `run`.
  run       beside the pace_select program: projects the pool while it works, waits for the
            caller's marker, then fills up to n as `select` does.
  replicate benchmark helper: a big pool from a labelled one, rattled copies.

``select`` and ``run`` import ``pyace``: a pacemaker installation's, or the simulator's stand-in
(sim/src/pyace) when the simulator toolchain puts sim/src first on PYTHONPATH. See
:mod:`mlip_trainer.selection` for the grade and the active set the fill uses.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import Any

from mlip_trainer.cli.protocol import BAD_INPUT, JsonArgumentParser, emit
from mlip_trainer.errors import BadInput
from mlip_trainer.selection.in_process import InProcessUnavailable, select_in_process
from mlip_trainer.selection.pool import inspect_pool, prepare_pool, replicate_pool
from mlip_trainer.selection.program import run_beside_program
from mlip_trainer.selection.strategy import Strategy

#: Exit status of `select` when the caller must run the pace_select program instead.
IN_PROCESS_UNAVAILABLE = 3


def _add_fill_arguments(p: argparse.ArgumentParser) -> None:
    """What `select` and `run` both need to fill the selection up to n by gamma."""
    p.add_argument("--potential", required=True)
    p.add_argument("--asi")
    p.add_argument("-n", type=int, required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--batch-size", type=int, default=500)
    p.add_argument("--random", type=int, default=0, help="of the n, this many drawn at random (batch diversity)")
    p.add_argument("--gamma-min", type=float, help="only structures graded at least this are candidates")
    p.add_argument("--gamma-max", type=float, help="only structures graded at most this are candidates")
    p.add_argument("--seed", type=int, default=0, help="seed of the random draw")


def build_parser() -> argparse.ArgumentParser:
    """The commands and their options (usage errors become bad_input JSON)."""
    parser = JsonArgumentParser(prog="mlip-select", description=(__doc__ or "").split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True, parser_class=JsonArgumentParser)

    prepare = commands.add_parser("prepare", help="pool file -> pool.pkl.gz")
    prepare.add_argument("--pool", required=True)
    prepare.add_argument("--type-map", help="LAMMPS type -> element, e.g. 1=Cu,2=Ni")
    prepare.add_argument("--out", required=True, help="output .pkl.gz")
    prepare.add_argument("--sample", help="also write a dry-run sample here")
    prepare.add_argument("--sample-size", type=int, default=10)

    inspect = commands.add_parser("inspect", help="a pool's structure count, elements and atom count (writes nothing)")
    inspect.add_argument("--pool", required=True)
    inspect.add_argument("--type-map", help="LAMMPS type -> element, e.g. 1=Cu,2=Ni")
    inspect.add_argument("--limit", type=int, help="read only the first N structures")

    replicate = commands.add_parser("replicate", help="benchmark helper: pool x copies, rattled")
    replicate.add_argument("--pool", required=True)
    replicate.add_argument("--copies", type=int, required=True)
    replicate.add_argument("--rattle", type=float, default=0.02)
    replicate.add_argument("--seed", type=int, default=0)
    replicate.add_argument("--out", required=True)

    runner = commands.add_parser("run", help="beside pace_select: project the pool, wait for its marker, finish")
    runner.add_argument("--pool", required=True, help="the pool pace_select reads (.pckl.gzip/.pkl.gz)")
    runner.add_argument("--selected", required=True, help="pace_select's -o file")
    runner.add_argument(
        "--done", required=True, help='marker the caller writes when pace_select ended: {"ok", "returned"}'
    )
    _add_fill_arguments(runner)
    runner.add_argument("--memory-limit-bytes", type=int, help="keep projections only below a quarter of this")

    select = commands.add_parser("select", help="in one process: pace_select's own selection function, then the fill")
    select.add_argument("--pool", required=True, help="the pool: any file of structures, or a dataset pickle")
    select.add_argument("--type-map", help="LAMMPS type -> element, e.g. 1=Cu,2=Ni")
    _add_fill_arguments(select)
    select.add_argument("--memory-limit", default="auto", help="pace_select's -mem (e.g. 8GB)")
    return parser


def _strategy(args: argparse.Namespace) -> Strategy:
    """The selection options of `select` and `run` (checked against n where they are used)."""
    return Strategy(args.random, args.gamma_min, args.gamma_max, args.seed)


def run(argv: Sequence[str]) -> dict[str, Any]:
    """One command's answer."""
    args = build_parser().parse_args(argv)
    if getattr(args, "batch_size", 1) < 1:
        raise BadInput(f"--batch-size must be >= 1 (got {args.batch_size})")
    if args.command == "prepare":
        return prepare_pool(args.pool, args.out, args.sample, args.sample_size, args.type_map)
    if args.command == "inspect":
        if args.limit is not None and args.limit < 1:
            raise BadInput(f"--limit must be >= 1 (got {args.limit})")
        return inspect_pool(args.pool, args.type_map, args.limit)
    if args.command == "replicate":
        return replicate_pool(args.pool, args.copies, args.rattle, args.seed, args.out)
    if args.command == "run":
        return run_beside_program(
            args.pool,
            args.selected,
            args.done,
            args.potential,
            args.asi,
            args.n,
            args.out,
            args.batch_size,
            args.memory_limit_bytes,
            _strategy(args),
        )
    if args.command == "select":
        return select_in_process(
            args.pool,
            args.potential,
            args.asi,
            args.n,
            args.out,
            args.batch_size,
            args.memory_limit,
            args.type_map,
            _strategy(args),
        )
    raise AssertionError(f"unhandled command {args.command}")


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command and print its answer; returns the exit status."""
    try:
        result = run(sys.argv[1:] if argv is None else argv)
    except BadInput as exc:
        emit(exc.to_json())
        return BAD_INPUT
    except InProcessUnavailable as exc:
        emit({"unavailable": str(exc)})
        return IN_PROCESS_UNAVAILABLE
    emit(result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
