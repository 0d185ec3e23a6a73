"""``hwbnn bitstream`` and ``hwbnn report``."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from hwbnn.cli.options import bitstream_options, clock_option
from hwbnn.errors import ConfigError


def cmd_bitstream(args: argparse.Namespace) -> dict[str, Any]:
    import hwbnn.api as api
    from hwbnn.fpga.bitstream import summary_lines

    build = api.open(args.build, say=print)
    result = build.bitstream(
        args.board,
        clock_mhz=args.clock_mhz,
        baud=args.baud,
        tools=args.tools,
        seed=args.pnr_seed,
        strict_timing=args.strict_timing,
        verbose=args.verbose,
    )
    for line in summary_lines(result.report):
        print(line)
    return result.report


def cmd_report(args: argparse.Namespace) -> dict[str, Any]:
    import hwbnn.api as api

    if args.sweep_points < 1:
        raise ConfigError(f"--sweep-points must be >= 1, got {args.sweep_points}")
    report = api.open(args.build).report(sweep_points=args.sweep_points)
    passed = sum(r.ok for r in report.results)
    print(
        f"wrote {report.index} ({len(report.plots)} plots; {passed} of {len(report.results)} "
        f"verification results passed)"
    )
    return {"index": str(report.index), "plots": [str(p) for p in report.plots]}


def register(add) -> None:  # noqa: ANN001 - the parser factory of hwbnn.cli.build_parser
    from hwbnn.fpga.boards import BOARDS
    from hwbnn.fpga.tools import PREFERENCES

    p = add(
        "bitstream",
        "synthesize, place and route a --target rtl build for a board",
        "hwbnn bitstream builds/rtl --board ulx3s-85f",
    )
    p.add_argument("build", type=Path)
    bitstream_options(p, "--seed", None, sorted(BOARDS), PREFERENCES)
    clock_option(p, None, "timing target in MHz (default: the board's clock)")
    p.set_defaults(handler=cmd_bitstream)

    p = add(
        "report",
        "write BUILD/report/index.html (verification, folding, resources)",
        "hwbnn report builds/rtl",
    )
    p.add_argument("build", type=Path)
    p.add_argument("--sweep-points", type=int, default=6, help="foldings in the sweep plot")
    p.set_defaults(handler=cmd_report)
