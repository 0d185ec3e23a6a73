"""``hwbnn sweep SPEC.toml``: a grid of points (models x methods x seeds x foldings x boards)
through the flow's steps, on a local process pool or a Ray cluster (hwbnn.pipeline.sweep)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

SPEC_EXAMPLE = """\
spec (TOML; the sections of hwbnn run --config apply to every point):
  out = "sweeps/digits"
  [grid]
  models = ["digits-mlp"]
  methods = ["baseline", "approxsign+two_stage(lr_factor=3)"]
  seeds = [0, 1]
  foldings = [64, 256]          # cycles/frame targets or folding files
  boards = ["none"]             # none: no bitstream
  [train]
  epochs = 10
  [compile]
  target = "rtl"
"""


def cmd_sweep(args: argparse.Namespace) -> dict[str, Any]:
    from hwbnn.pipeline.sweep import LocalPool, RayCluster, run_sweep
    from hwbnn.pipeline.sweep_spec import load_spec
    from hwbnn.units import seconds

    spec = load_spec(args.spec)
    engine = RayCluster(args.ray) if args.ray else LocalPool(args.workers)
    result = run_sweep(spec, engine, retry_failed=args.retry_failed, progress=not args.json)
    for row in result.failed:
        print(f"failed: {row['point']}: {row['error']}")
    total = sum(r["seconds"] or 0.0 for r in result.rows)
    print(
        f"points: {result.ran} ran, {result.skipped_done} done before, "
        f"{len(result.failed)} failed; {seconds(total)} of point tasks in all; "
        f"table {result.files['csv']}, "
        f"report {result.files['report']}"
    )
    return {"ran": result.ran, "failed": len(result.failed), **result.files, "rows": result.rows}


def register(add) -> None:  # noqa: ANN001 - the parser factory of hwbnn.cli.build_parser
    p = add(
        "sweep",
        "run a grid of models, methods, seeds, foldings and boards; one table, one report",
        "hwbnn sweep sweep.toml --workers 2   |   hwbnn sweep sweep.toml --ray auto\n\n"
        + SPEC_EXAMPLE,
    )
    p.add_argument("spec", type=Path, help="the sweep spec (TOML)")
    engine = p.add_mutually_exclusive_group()
    engine.add_argument(
        "--workers",
        type=int,
        help="processes of the local pool; none given: one per core this process may use",
    )
    engine.add_argument(
        "--ray",
        metavar="ADDRESS",
        help="run the tasks on a Ray cluster: HOST:PORT, ray://HOST:PORT or auto "
        "(pip install 'hwbnn[cluster]'; the sweep directory must be shared by every node)",
    )
    p.add_argument(
        "--retry-failed", action="store_true", help="run the points that failed before again"
    )
    p.set_defaults(handler=cmd_sweep)
