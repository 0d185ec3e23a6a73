"""The ``hwbnn`` command: thin wrappers over the Python API (hwbnn.api), one module per group.

Every command takes ``--json`` (its last line of output is then a JSON summary) and ``-v``
(tool logs live; without it they stay in files in the build). Errors are one line on stderr
(``hwbnn: error: ...``) and a non-zero exit status; Ctrl-C exits with status 130 and SIGTERM
with 143, each with one line, at any moment (hwbnn.cli.interrupts).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

from hwbnn.errors import HwbnnError

if TYPE_CHECKING:
    from hwbnn.cli.interrupts import Guard


def build_parser() -> argparse.ArgumentParser:
    from hwbnn import __version__
    from hwbnn.cli import build, hardware, run, search, sweep, train, verify
    from hwbnn.cli.options import HelpFormatter

    parser = argparse.ArgumentParser(
        prog="hwbnn",
        description=__doc__.splitlines()[0],
        formatter_class=HelpFormatter,
        epilog="example: hwbnn run --out build/digits   (train, verify, simulate, bitstream)",
    )
    parser.add_argument("--version", action="version", version=f"hwbnn {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def add(name: str, help_text: str, example: str) -> argparse.ArgumentParser:
        p = sub.add_parser(
            name,
            help=help_text,
            description=help_text,
            epilog=f"example:\n  {example}",
            formatter_class=HelpFormatter,
        )
        p.add_argument("--json", action="store_true", help="print a JSON summary as last line")
        p.add_argument("-v", "--verbose", action="store_true", help="show tool logs live")
        return p

    for module in (train, build, verify, hardware, run, sweep, search):
        module.register(add)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; its exit status (0, 1 on an error, 130 on Ctrl-C, 143 on SIGTERM)."""
    from hwbnn.cli.interrupts import interrupt_guard

    with interrupt_guard() as guard:
        try:
            return _main(argv, guard)
        except KeyboardInterrupt as exc:  # before the command started (parsing, imports)
            return _interrupted(guard.acknowledge(exc))
        except Exception:
            status = guard.acknowledge()
            if status is None:
                raise
            # a library turned the interrupt into another error: a C extension interrupted
            # while it initialises raises ImportError (onnxruntime's pybind11 module does)
            return _interrupted(status)


def _interrupted(status: int | None) -> int:
    print(f"hwbnn: {'terminated (SIGTERM)' if status == 143 else 'interrupted'}", file=sys.stderr)
    return status or 130


def _main(argv: Sequence[str] | None, guard: Guard) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    args = parser.parse_args(argv)
    args.argv = argv
    try:
        summary = args.handler(args)
    except HwbnnError as exc:
        status = guard.acknowledge()
        if status is not None:  # a library turned the interrupt into an error
            return _interrupted(status)
        print(f"hwbnn: error: {exc}", file=sys.stderr)
        if args.json:
            print(json.dumps({"ok": False, "error": str(exc)}))
        return 1
    except KeyboardInterrupt as exc:
        return _interrupted(guard.acknowledge(exc))
    status = guard.acknowledge()
    if status is not None:  # an interrupt was swallowed and the command finished anyway
        return _interrupted(status)
    if args.json:
        print(json.dumps({"ok": True, **summary}, default=str))
    return 0
