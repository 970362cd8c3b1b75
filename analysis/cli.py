"""``pvfair``: a thin command-line layer over the library.

Each subcommand lives beside the stage it drives: the module named in :data:`COMMANDS` exposes
``cli_arguments(parser)`` (adds its options) and ``cli_run(args) -> int`` (exit status); an entry
``"module:name"`` names ``name_arguments`` / ``name_run`` instead (the read-only commands ``compare`` and
``audit`` live here: they run a stage as its notebook does and print it through :mod:`analysis.present`; so does
``report``, over :func:`analysis.fanout.run_reports`). Only the CLI and the report wrapper write files.
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import importlib
import inspect
import os
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

__all__ = ["main", "COMMANDS"]

#: subcommand -> (module, one-line help)
COMMANDS: dict[str, tuple[str, str]] = {
    "ingest": ("analysis.ingest", "parse a raw campaign folder into Parquet tables"),
    "report": ("analysis.cli:report", "run the notebooks on campaign(s): HTML, tables, provenance and summary.pdf"),
    "collect": ("analysis.collect", "run a benchmark plan: randomized interleaved runs with metadata, a raw campaign"),
    "compare": ("analysis.cli:compare", "print the verdict per cell (as notebook 04 computes it): text, markdown, csv, json"),
    "audit": ("analysis.cli:audit", "print the audit findings (as notebook 03 computes them): text, markdown, csv, json"),
    "archive": ("analysis.archive", "many campaigns in one Parquet dataset: add, list, query (DuckDB SQL)"),
    "history": ("analysis.history", "the verdict across an archive's versions, change points: HTML and summary.pdf"),
}

#: output formats of the read-only commands -> Summary method
FORMATS: tuple[str, ...] = ("text", "markdown", "csv", "json")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="pvfair", description="Settle paravirtual I/O benchmark disputes.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, (target, help_text) in COMMANDS.items():
        module_name, _, prefix = target.partition(":")
        module = importlib.import_module(module_name)
        p = sub.add_parser(name, help=help_text, description=help_text)
        getattr(module, f"{prefix}_arguments" if prefix else "cli_arguments")(p)
        p.set_defaults(func=getattr(module, f"{prefix}_run" if prefix else "cli_run"))
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except (ValueError, FileNotFoundError) as exc:
        print(f"pvfair {args.command}: error: {exc}", file=sys.stderr)
        return 2


# ------------------------------------------------------------------------------- compare and audit (read-only)


def _reading_arguments(parser: argparse.ArgumentParser, notebook: str) -> None:
    """Options shared by ``compare`` and ``audit``: the campaign, the models, -p, the format and colour."""
    parser.add_argument("campaign", metavar="CAMPAIGN", help="raw (data/raw/<name>) or processed campaign folder")
    parser.add_argument("--baseline", default=None, help="baseline PV model (default: inferred, as the notebooks do)")
    parser.add_argument("--candidate", default=None, help="candidate PV model (default: inferred)")
    parser.add_argument(
        "-p", "--parameter", action="append", default=[], metavar="KEY=VALUE",
        help=f"a parameter of notebooks/{notebook}.ipynb, same meaning and default as there (e.g. -p seed=1 "
        "-p alpha=0.01); repeatable, unknown names are refused",
    )  # fmt: skip
    parser.add_argument("--format", choices=FORMATS, default="text",
                        help="text (80 columns, for a terminal or an e-mail), markdown (GitHub/GitLab issues), "
                        "csv or json (scripts); default text")
    parser.add_argument("--width", type=_width, default=80, help="text width in characters, >= 40 (default 80)")
    parser.add_argument("--color", choices=("auto", "always", "never"), default="auto",
                        help="colour the verdict words (text only; auto: when stdout is a terminal and NO_COLOR "
                        "is unset)")


def _width(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number of characters, found {text!r}") from None
    if value < 40:
        raise argparse.ArgumentTypeError(f"expected at least 40 characters, found {value}")
    return value


def notebook_call_kwargs(notebook: str, function: Callable, pairs: Sequence[str], *, baseline: str | None,
                         candidate: str | None) -> dict[str, Any]:
    """The keyword arguments *notebook* passes to *function*, from its parameters cell and ``-p`` *pairs*.

    Defaults are the literals of the notebook's ``parameters`` cell, and ``-p`` text is converted by the
    annotated type (:func:`analysis.parameters.parse_parameter`), so the command and the notebook take the same
    values: a parameter named like a keyword of *function* is passed as that keyword, and ``seed`` as ``rng``
    (the notebooks pass their seed as the generator's seed). ``campaign`` and ``output_dir`` are the command's own;
    a name the notebook does not define, or one that does not reach *function*, is refused.
    """
    from analysis.parameters import notebook_parameters, parse_parameter, split_assignments
    from analysis.runner import NOTEBOOK_DIR

    spec = notebook_parameters(Path(NOTEBOOK_DIR) / f"{notebook}.ipynb")
    accepted = set(inspect.signature(function).parameters) | {"seed"}
    given = split_assignments(pairs)
    for key, value in (("baseline", baseline), ("candidate", candidate)):
        if value is not None:
            if key in given:
                raise ValueError(f"parameter {key!r}: given both as --{key} and -p {key}=...; give it once")
            given[key] = value
    values: dict[str, Any] = {}
    for name, p in spec.items():
        if name in ("campaign", "output_dir") or name not in accepted:
            continue
        values[name] = ast.literal_eval(p["default"])
    for key, text in given.items():
        if key not in values:
            usable = sorted(values)
            raise ValueError(f"parameter {key!r}: not a parameter of {notebook} that this command uses; "
                             f"expected one of {usable}")
        values[key] = parse_parameter(key, text, spec[key]["type"])
    if "seed" in values:
        values["rng"] = values.pop("seed")
    return values


def _load(args: argparse.Namespace, command: str):
    from analysis.ingest import load_campaign
    from analysis.normalize import normalize
    from analysis.notebook import resolve_campaign

    root = Path(args.campaign) if (Path(args.campaign) / "runs.parquet").is_file() else resolve_campaign(args.campaign)
    print(f"pvfair {command}: loading {root}")
    return normalize(load_campaign(root))


def _emit(summary, args: argparse.Namespace) -> None:
    if args.format == "text":
        color = args.color == "always" or (args.color == "auto" and sys.stdout.isatty()
                                           and not os.environ.get("NO_COLOR"))
        sys.stdout.write(summary.as_text(args.width, color=color))
    else:
        sys.stdout.write(getattr(summary, f"as_{args.format}")())


def compare_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``pvfair compare``."""
    _reading_arguments(parser, "04_compare")


def compare_run(args: argparse.Namespace) -> int:
    """Compare the campaign's models as notebook 04 does and print the verdicts; 0 when the comparison ran, 1 when
    no cell could be compared (the audit's errors and warnings are printed instead)."""
    from analysis.compare import compare
    from analysis.notebook import infer_models
    from analysis.present import verdict_summary

    kwargs = notebook_call_kwargs("04_compare", compare, args.parameter, baseline=args.baseline,
                                  candidate=args.candidate)
    with contextlib.redirect_stdout(sys.stderr):  # whatever the stages print is progress: stdout is the table
        data = _load(args, "compare")
        kwargs["baseline"], kwargs["candidate"] = infer_models(data, kwargs.get("baseline"), kwargs.get("candidate"))
        print(f"pvfair compare: {kwargs['candidate']} (candidate) vs {kwargs['baseline']} (baseline), "
              f"{kwargs.get('n_resamples', '?')} resamples per cell, seed {kwargs.get('rng')}")
        start = time.perf_counter()
        try:
            result = compare(data, **kwargs)
        except ValueError as exc:
            if not str(exc).startswith("campaign:"):  # the argument the error names: the data, not the options
                raise
            result = exc
        else:
            print(f"pvfair compare: {len(result.table)} cell(s) compared in {time.perf_counter() - start:.1f} s")
    if isinstance(result, ValueError):
        return _nothing_compared(data, kwargs, result, args)
    facts = {"campaign": data.name, "seed": kwargs.get("rng"), "resamples": kwargs.get("n_resamples")}
    _emit(verdict_summary(result, facts=facts), args)
    return 0


def _nothing_compared(data, kwargs: dict[str, Any], exc: Exception, args: argparse.Namespace) -> int:
    """No cell of the campaign can be compared: say so on stderr, print the audit's errors and warnings (why) in
    the requested format, exit 1."""
    from analysis.audit import audit
    from analysis.present import findings_summary

    print(f"pvfair compare: nothing compared: {exc}; the audit's errors and warnings follow", file=sys.stderr)
    with contextlib.redirect_stdout(sys.stderr):
        result = audit(data, baseline=kwargs["baseline"], candidate=kwargs["candidate"],
                       metrics=kwargs.get("metrics"))
    _emit(findings_summary(result, severities=("error", "warn")), args)
    return 1


def audit_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``pvfair audit``."""
    _reading_arguments(parser, "03_audit")


def audit_run(args: argparse.Namespace) -> int:
    """Audit the campaign as notebook 03 does and print the findings; 0 when the audit ran (whatever it found)."""
    from analysis.audit import audit
    from analysis.notebook import infer_models
    from analysis.present import findings_summary

    kwargs = notebook_call_kwargs("03_audit", audit, args.parameter, baseline=args.baseline,
                                  candidate=args.candidate)
    with contextlib.redirect_stdout(sys.stderr):  # whatever the stages print is progress: stdout is the table
        data = _load(args, "audit")
        kwargs["baseline"], kwargs["candidate"] = infer_models(data, kwargs.get("baseline"), kwargs.get("candidate"))
        result = audit(data, **kwargs)
    _emit(findings_summary(result), args)
    return 0


# ------------------------------------------------------------------------------------------ report (writes files)


def report_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``pvfair report``."""
    from analysis.fanout import SCHEDULER_ENV
    from analysis.runner import NOTEBOOKS

    parser.add_argument("campaigns", nargs="+", metavar="CAMPAIGN", help="raw campaign folder(s), data/raw/<name>")
    parser.add_argument("--baseline", default=None, help="baseline PV model (default: inferred from the campaign)")
    parser.add_argument("--candidate", default=None, help="candidate PV model (default: inferred)")
    parser.add_argument(
        "-p", "--parameter", action="append", default=[], metavar="KEY=VALUE",
        help="notebook parameter, e.g. -p alpha=0.01 -p metrics=throughput_bps,latency_mean_s (repeatable); "
        "unknown names are refused",
    )  # fmt: skip
    parser.add_argument("--out", default=None,
                        help="reports folder (default: reports); with --scheduler, a path the workers share: "
                        "without it each worker sends its report back to this machine's reports/")
    parser.add_argument("--jobs", type=int, default=1,
                        help="campaigns reported in parallel on a local Dask cluster of N workers (default: 1)")
    parser.add_argument("--scheduler", default=None, metavar="ADDRESS",
                        help=f"Dask scheduler to run the campaigns on, e.g. tcp://HOST:8786 (default: ${SCHEDULER_ENV})")
    parser.add_argument("--notebooks", default=None, metavar="NAMES",
                        help=f"comma-separated notebooks to run, in order (default: {','.join(NOTEBOOKS)})")
    parser.add_argument("--no-pdf", action="store_true", help="skip the PDF export")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.add_argument("--as-one", default=None, metavar="NAME",
                        help="merge the campaign folders (one per side or lab) into one comparison named NAME")


def report_run(args: argparse.Namespace) -> int:
    """Run ``pvfair report``; exit status 0 on success, 1 when a notebook or export failed."""
    from analysis.fanout import SCHEDULER_ENV, run_reports
    from analysis.parameters import parse_parameter, split_assignments
    from analysis.runner import ReportError

    if getattr(args, "as_one", None):  # several sides, one comparison: a sides folder listing them
        from analysis.sides import write_sides_file

        args.campaigns = [write_sides_file(Path(args.out) / ".as-one" / args.as_one, args.campaigns)]
    try:
        remote = bool(args.scheduler or os.environ.get(SCHEDULER_ENV))
        results = run_reports(
            args.campaigns,
            jobs=args.jobs,
            scheduler=args.scheduler,
            ship=remote and args.out is None,
            out_dir=args.out or "reports",
            parameters=split_assignments(args.parameter),
            baseline=args.baseline,
            candidate=args.candidate,
            pdf=not args.no_pdf,
            progress=not args.quiet,
            **({"notebooks": parse_parameter("notebooks", args.notebooks, "list[str]")} if args.notebooks else {}),
        )
    except ReportError as exc:
        print(f"pvfair report: error: {exc}", file=sys.stderr)
        return 1
    for res in results:
        print(res.summary())
    print(f"index: {Path(args.out or 'reports') / 'index.html'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
