"""mlip-dataset: CalculationResults in and out of pacemaker's pandas datasets.

Usage: ``mlip-dataset <command> [options]`` (or ``python -m mlip_trainer.cli.dataset``). Every
command answers by the protocol of :mod:`mlip_trainer.cli.protocol`; a successful answer also
carries ``peakRssMb`` and ``cpuSeconds``. Exit 3: another updater held the dataset lock for
the whole ``--lock-timeout`` (``{"error": {"kind": "busy", ...}}``), worth retrying later.

The dataset is a gzip-pickled pandas DataFrame (protocol 4), the format pacemaker reads, with
columns ``name, ase_atoms, energy, forces, stress, virial`` (see :mod:`mlip_trainer.frames`;
the record format is in :mod:`mlip_trainer.validation`).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import Any

from mlip_trainer.cli.protocol import BAD_INPUT, JsonArgumentParser, comma_list, cpu_seconds, emit, peak_rss_mb
from mlip_trainer.errors import BadInput, Problem, json_argument, short_repr
from mlip_trainer.exploration import exploration_pool
from mlip_trainer.labelling.calculators import CALCULATORS
from mlip_trainer.labelling.oracle import label_structures
from mlip_trainer.locking import DEFAULT_LOCK_TIMEOUT, LockTimeout
from mlip_trainer.metrics import prediction_errors
from mlip_trainer.predictions import prediction_arrays
from mlip_trainer.store.append import append_results, check_results
from mlip_trainer.store.export import FORMATS, export_rows
from mlip_trainer.store.manifest import dataset_info, dataset_summary
from mlip_trainer.synthetic import label_emt, synthesize_dataset, synthesize_results
from mlip_trainer.validation import DEFAULT_LIMITS, Limits

#: Exit status when the dataset lock stayed taken for the whole timeout.
BUSY = 3


def _limit(flag: str) -> Any:
    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            value = float("nan")
        if not (value > 0 and value < float("inf")):
            raise argparse.ArgumentTypeError(f"{flag} must be a positive number, got {text!r}")
        return value

    return parse


def _add_results_arguments(p: argparse.ArgumentParser) -> None:
    """What `append` and `check` both take: the files and what every record must satisfy."""
    p.add_argument(
        "--results",
        required=True,
        action="append",
        help="CalculationResult .json/.jsonl, a pacemaker dataset pickle, or any file ASE reads with energies"
        " and forces (repeatable)",
    )
    p.add_argument("--elements", help="comma-separated: every atom must be one of these")
    p.add_argument(
        "--reference-energy", help="single-atom energies, eV: a number or {element: eV}; adds energy_corrected"
    )
    p.add_argument(
        "--max-energy-per-atom",
        type=_limit("--max-energy-per-atom"),
        default=DEFAULT_LIMITS.max_energy_per_atom,
        help="refuse |energy|/atom above this, eV/atom",
    )
    p.add_argument(
        "--max-force",
        type=_limit("--max-force"),
        default=DEFAULT_LIMITS.max_force,
        help="refuse any |force component| above this, eV/Å",
    )


def build_parser() -> argparse.ArgumentParser:
    """The commands and their options (usage errors become bad_input JSON)."""
    parser = JsonArgumentParser(prog="mlip-dataset", description=(__doc__ or "").split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True, parser_class=JsonArgumentParser)

    append = commands.add_parser("append", help="validate CalculationResults and append the new ones to a dataset")
    append.add_argument("--dataset", required=True, help="accumulated .pckl.gzip (created if missing)")
    _add_results_arguments(append)
    append.add_argument(
        "--test-fraction",
        type=float,
        default=0.0,
        help="share of new structures held out as the test set, decided from each hash",
    )
    append.add_argument("--lock-timeout", type=float, default=DEFAULT_LOCK_TIMEOUT, help="s to wait for the lock")
    append.add_argument("--origin", default="{}", help="JSON object recorded in the manifest's history")

    check = commands.add_parser("check", help="read and validate results as append would; write nothing")
    _add_results_arguments(check)

    summary = commands.add_parser("summary", help="describe a dataset")
    summary.add_argument("--dataset", required=True)

    info = commands.add_parser("info", help="the dataset's manifest (brought up to date if stale)")
    info.add_argument("--dataset", required=True)

    export = commands.add_parser("export", help="dataset rows -> CalculationResult JSONL or extended XYZ")
    export.add_argument("--dataset", required=True)
    export.add_argument("--out", help="write here instead of stdout")
    export.add_argument("--format", choices=FORMATS, default="jsonl")
    export.add_argument("--split", choices=("all", "train", "test"), default="all")

    synth = commands.add_parser("synthesize", help="random dataset for benchmarks (not physical)")
    synth.add_argument("--out", required=True)
    synth.add_argument("--count", required=True, type=int)
    synth.add_argument("--atoms", type=int, default=64)
    synth.add_argument("--seed", type=int, default=0)
    synth.add_argument("--test-fraction", type=float, default=0.1)

    synth_results = commands.add_parser("synthesize-results", help="random CalculationResult JSONL for benchmarks")
    synth_results.add_argument("--out", required=True)
    synth_results.add_argument("--count", required=True, type=int)
    synth_results.add_argument("--atoms", type=int, default=64)
    synth_results.add_argument("--seed", type=int, default=0)

    label = commands.add_parser("label-emt", help="generate structures labelled by ASE's EMT calculator")
    label.add_argument("--out", required=True, help="output .jsonl")
    label.add_argument("--count", required=True, type=int)
    label.add_argument("--elements", default="Cu", help="comma-separated, e.g. Cu,Ni")
    label.add_argument("--seed", type=int, default=0)
    label.add_argument("--atoms", type=int, default=8, help="atoms per structure")

    pred = commands.add_parser("pred-metrics", help="RMSE/MAE of a pacemaker prediction pickle")
    pred.add_argument("--pred", required=True)
    pred.add_argument(
        "--by-category", action="store_true", help="also per category: the part of each name before its first '/'"
    )

    oracle = commands.add_parser("label", help="the oracle: label structures with a named calculator, idempotently")
    oracle.add_argument("--structures", required=True, help="dataset pickle (a selection's) or results file")
    oracle.add_argument("--out", required=True, help="CalculationResult .jsonl (records already there are kept)")
    oracle.add_argument("--calculator", default="emt", help="registry name (mlip-dataset calculators)")
    oracle.add_argument("--indices", help="comma-separated pool positions to label (default: all)")
    oracle.add_argument("--lock", help="lock file (default: <out>.lock)")
    oracle.add_argument("--log", help="audit log .jsonl, one line per calculation (default: <out>.audit)")
    oracle.add_argument("--lock-timeout", type=float, default=DEFAULT_LOCK_TIMEOUT, help="s to wait for the lock")
    oracle.add_argument("--seconds-per-structure", type=float, default=0.0, help="stand-in for DFT cost (tests)")
    oracle.add_argument("--ledger", help="folder of generation_*/ result files: structures there are not labelled")
    oracle.add_argument("--pool", help="the pool the structures were selected from (with --remaining)")
    oracle.add_argument("--remaining", help="write the pool without the chosen structures here (.pckl.gzip)")

    commands.add_parser("calculators", help="the calculators the oracle can label with")

    explore = commands.add_parser("exploration-pool", help="a pool built as exploration makes them, and a test set")
    explore.add_argument("--out", required=True, help="pool .pckl.gzip (unlabelled)")
    explore.add_argument("--test-out", help="labelled test set .pckl.gzip, balanced across categories")
    explore.add_argument("--count", type=int, default=2000)
    explore.add_argument("--test-per-category", type=int, default=10)
    explore.add_argument("--seed", type=int, default=0)
    explore.add_argument("--elements", default="Cu,Ni")
    explore.add_argument("--rare-fraction", type=float, default=0.06, help="share of the pool that is not bulk MD")
    explore.add_argument("--calculator", default="emt")

    arrays = commands.add_parser(
        "pred-arrays", help="parity and error arrays of a prediction pickle, written as JSON for a report"
    )
    arrays.add_argument("--pred", required=True, help="train_pred.pckl.gzip or test_pred.pckl.gzip")
    arrays.add_argument("--out", required=True, help="the JSON file to write")
    arrays.add_argument("--structures", help="the data set the predictions were made on (gives each atom's element)")
    arrays.add_argument("--max-points", type=int, default=20000, help="force components kept for plotting")
    return parser


def _origin(text: str) -> dict[str, Any]:
    value = json_argument(text, "--origin must be a JSON object", "--origin")
    if not isinstance(value, dict):
        raise BadInput("--origin must be a JSON object", [Problem(-1, "--origin", short_repr(text), "not an object")])
    return value


def run(argv: Sequence[str]) -> dict[str, Any]:
    """One command's answer."""
    args = build_parser().parse_args(argv)
    if args.command in ("append", "check"):
        elements = comma_list(args.elements) if args.elements else None
        limits = Limits(args.max_energy_per_atom, args.max_force)
        if args.command == "check":
            return check_results(args.results, elements, limits, args.reference_energy)
        return append_results(
            args.dataset,
            args.results,
            elements,
            args.test_fraction,
            args.lock_timeout,
            _origin(args.origin),
            args.reference_energy,
            limits,
        )
    if args.command == "summary":
        return dataset_summary(args.dataset)
    if args.command == "info":
        return dataset_info(args.dataset)
    if args.command == "export":
        return export_rows(args.dataset, args.out, args.format, args.split)
    if args.command == "synthesize":
        return synthesize_dataset(args.out, args.count, args.atoms, args.seed, args.test_fraction)
    if args.command == "synthesize-results":
        return synthesize_results(args.out, args.count, args.atoms, args.seed)
    if args.command == "label-emt":
        return label_emt(args.out, args.count, comma_list(args.elements), args.seed, args.atoms)
    if args.command == "pred-metrics":
        return prediction_errors(args.pred, by_category=args.by_category)
    if args.command == "label":
        return label_structures(
            args.structures,
            args.out,
            args.calculator,
            [int(i) for i in comma_list(args.indices)] if args.indices else None,
            args.lock or f"{args.out}.lock",
            args.log or f"{args.out}.audit",
            args.lock_timeout,
            args.seconds_per_structure,
            args.ledger,
            args.pool,
            args.remaining,
        )
    if args.command == "calculators":
        return {"calculators": [c.describe() for c in CALCULATORS.values()]}
    if args.command == "exploration-pool":
        return exploration_pool(
            args.out,
            args.test_out,
            args.count,
            args.test_per_category,
            args.seed,
            comma_list(args.elements),
            args.rare_fraction,
            args.calculator,
        )
    if args.command == "pred-arrays":
        return prediction_arrays(args.pred, args.out, args.structures, args.max_points)
    raise AssertionError(f"unhandled command {args.command}")


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command and print its answer; returns the exit status."""
    try:
        result = run(sys.argv[1:] if argv is None else argv)
    except BadInput as exc:
        emit(exc.to_json())
        return BAD_INPUT
    except LockTimeout as exc:
        emit({"error": {"kind": "busy", "message": str(exc), "problems": []}})
        return BUSY
    emit({**result, "peakRssMb": peak_rss_mb(), "cpuSeconds": cpu_seconds()} if "error" not in result else result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
