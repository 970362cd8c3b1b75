"""``pvfair``: a thin command-line layer over the library.

Each subcommand lives beside the stage it drives: the module named in :data:`COMMANDS` exposes
``cli_arguments(parser)`` (adds its options) and ``cli_run(args) -> int`` (exit status). Only the CLI and the
report wrapper write files.
"""

from __future__ import annotations

import argparse
import importlib
import sys

__all__ = ["main", "COMMANDS"]

#: subcommand -> (module, one-line help)
COMMANDS: dict[str, tuple[str, str]] = {
    "ingest": ("analysis.ingest", "parse a raw campaign folder into Parquet tables"),
    "report": ("analysis.report", "run the notebooks on campaign(s): HTML, tables, provenance and summary.pdf"),
    "collect": ("analysis.collect", "run a benchmark plan: randomized interleaved runs with metadata, a raw campaign"),
    "archive": ("analysis.archive", "many campaigns in one Parquet dataset: add, list, query (DuckDB SQL)"),
    "history": ("analysis.history", "the verdict across an archive's versions, change points: HTML and summary.pdf"),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="pvfair", description="Settle paravirtual I/O benchmark disputes.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, (module_name, help_text) in COMMANDS.items():
        module = importlib.import_module(module_name)
        p = sub.add_parser(name, help=help_text, description=help_text)
        module.cli_arguments(p)
        p.set_defaults(func=module.cli_run)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except (ValueError, FileNotFoundError) as exc:
        print(f"pvfair {args.command}: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
