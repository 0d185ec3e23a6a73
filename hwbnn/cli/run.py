"""``hwbnn run``: the whole flow (hwbnn.pipeline.steps.DEFAULT_FLOW) into one build directory,
resumable; every option of the single commands is reachable here, and from ``--config``.

With a board (``--board``, not ``none``) and ``--target rtl``, the compile step folds for that
board as ``hwbnn compile --board`` does: the chooser minimises the estimate on the board's
device and a folding whose estimate cannot fit stops the run at compile, before simulation and
synthesis (hwbnn.pipeline.steps.fit_board); the bitstream step checks it again first."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from hwbnn.cli.options import (
    bitstream_options,
    clock_option,
    compile_options,
    explicit,
    run_config,
    sim_options,
    train_options,
)
from hwbnn.cli.train import check_genotype_model
from hwbnn.pipeline.config import RUN_TARGET_CYCLES, RunConfig, load_config


def cmd_run(args: argparse.Namespace) -> dict[str, Any]:
    import hwbnn.api as api
    from hwbnn.pipeline.runner import Context, describe
    from hwbnn.pipeline.steps import DEFAULT_FLOW
    from hwbnn.train.methods import build_methods
    from hwbnn.units import seconds

    base = load_config(args.config) if args.config is not None else RunConfig()
    given = explicit(args.parser, args.argv[1:])
    check_genotype_model(given)
    cfg = run_config({k: v for k, v in given.items() if k != "config"}, base)
    if args.list_steps:
        print(f"steps of hwbnn run (build {cfg.out}):")
        for line in describe(DEFAULT_FLOW, Context(cfg, cfg.out)):
            print(line)
        return {"steps": [s.name for s in DEFAULT_FLOW]}
    build_methods(cfg.train.methods)  # unknown methods or arguments fail before training
    print(f"hwbnn run: {cfg.out}")
    result = api.run(
        cfg,
        start=args.start,
        stop=args.stop,
        progress=not args.json,
        verbose=args.verbose,
        command=" ".join(["hwbnn", *args.argv]),
    )
    total = sum(run.seconds for run in result.steps)
    print(f"finished in {seconds(total)}; build in {cfg.out}")
    return {
        "build": str(cfg.out),
        "steps": {
            run.name: {
                "status": run.status,
                "seconds": round(run.seconds, 2),
                "message": run.message,
            }
            for run in result.steps
        },
        "results": [r.to_dict() for r in result.build.results()],
    }


def register(add) -> None:  # noqa: ANN001 - the parser factory of hwbnn.cli.build_parser
    from hwbnn.fpga.boards import BOARDS
    from hwbnn.fpga.tools import PREFERENCES
    from hwbnn.pipeline.steps import STEP_NAMES

    p = add(
        "run",
        "train, export, compile, verify and make a bitstream: the main job, resumable",
        "hwbnn run --out build/digits --board none && "
        "hwbnn run --out build/digits --from compile --target hls",
    )
    p.add_argument("--out", type=Path, default=Path("build/digits"), help="the build directory")
    p.add_argument(
        "--config",
        type=Path,
        help="TOML file of options (hwbnn.pipeline.config); options given here win over it",
    )
    p.add_argument("--list-steps", action="store_true", help="list the steps and their state")
    p.add_argument(
        "--from",
        dest="start",
        choices=STEP_NAMES,
        help="start at this step (it runs again; earlier ones must have finished)",
    )
    p.add_argument("--to", dest="stop", choices=STEP_NAMES, help="stop after this step")
    train_options(p)
    compile_options(p, target="rtl", target_cycles=RUN_TARGET_CYCLES)
    clock_option(
        p,
        None,
        "clock in MHz: of --target-fps (100 if not given) and the bitstream's "
        "timing target (the board's if not given)",
    )
    p.add_argument(
        "--verify-frames", type=int, default=0, help="test images of the L0-L2 check (0: all)"
    )
    sim_options(p, seed_flag="--sim-seed", frames_flag="--sim-frames", soak_flag="--soak-frames")
    bitstream_options(p, "--pnr-seed", "ulx3s-85f", sorted(BOARDS), PREFERENCES)
    p.set_defaults(handler=cmd_run, parser=p)
