"""``hwbnn csim`` (L3) and ``hwbnn sim`` (L4): the generated code against the reference."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from hwbnn.cli.options import dataset_names, sim_options
from hwbnn.errors import ConfigError
from hwbnn.units import count

#: the --n help of eval, csim and sim
N_HELP = (
    "first N frames only (default: all); more than the frames at hand checks all of them "
    "and says so"
)


def frame_options(p: argparse.ArgumentParser) -> None:
    """The build and where its test frames come from."""
    p.add_argument("build", type=Path)
    source = p.add_mutually_exclusive_group(required=True)
    source.add_argument("--dataset", choices=dataset_names(), help="its test split")
    source.add_argument(
        "--inputs",
        type=Path,
        help=".npy input tensor (frames, *input shape) in the model's format",
    )
    p.add_argument("--data-dir", type=Path)
    p.add_argument("--n", type=int, help=N_HELP)
    p.add_argument("--round", action="store_true", help="round inputs to the nearest code")


def check_count(n: int | None) -> None:
    """--n: a positive number of frames (None: all)."""
    if n is not None and n < 1:
        raise ConfigError(f"--n must be >= 1, got {n}")


def note_frames(n: int | None, frames: int, source: str) -> None:
    """Say that --n asked for more frames than ``source`` has (all ``frames`` were used)."""
    if n is not None and frames < n:
        print(f"note: --n {n}, but {source} has {count(frames, 'frames')}: checked all of them")


def _frames(args: argparse.Namespace, build: Any) -> dict[str, Any]:
    """The API's frame arguments: ``x`` from --inputs (checked against the build's input
    format), else the data set; ``n``."""
    check_count(args.n)
    x = None
    if args.inputs is not None:
        from hwbnn.verify.inputs import check_frames, load_npy

        x = load_npy(args.inputs, "inputs")
        check_frames(x, build.net.input, args.round, str(args.inputs))
        note_frames(args.n, len(x), str(args.inputs))
    return {
        "x": x,
        "dataset": args.dataset or "digits",
        "data_dir": args.data_dir,
        "n": args.n,
        "rounding": args.round,
        "command": " ".join(["hwbnn", *args.argv]),
    }


def describe(record: Any) -> str:
    """One line of a verification result, as the commands print it."""
    line = (
        f"{record.level.value} ({record.engine}): {count(record.frames, 'frames')}, "
        f"{count(record.mismatches)} mismatching"
    )
    if record.cycles_per_frame is not None:
        analytical = record.details.get("initiation_interval")
        line += f"; {count(record.cycles_per_frame, 'cycles/frame')} measured"
        if analytical is not None:
            line += f" ({count(analytical)} analytical)"
    if record.latency_cycles is not None:
        line += f", latency {count(record.latency_cycles, 'cycles')}"
    stress = next(iter(record.details.get("phases", [])), None)
    if stress is not None and "lost" in stress:
        faults = ("lost", "duplicated", "reordered", "corrupted")
        line += "; frames " + ", ".join(f"{name} {count(stress[name])}" for name in faults)
    return line


def cmd_csim(args: argparse.Namespace) -> dict[str, Any]:
    import hwbnn.api as api

    build = api.open(args.build, say=print, progress=not args.json)
    record = build.csim(**_frames(args, build))
    if args.inputs is None:
        note_frames(args.n, record.frames, f"the {args.dataset} test split")
    print(describe(record))
    return {"build": str(build.path), **record.to_dict()}


def cmd_sim(args: argparse.Namespace) -> dict[str, Any]:
    import hwbnn.api as api

    build = api.open(args.build, say=print, progress=not args.json)
    record = build.simulate(
        **_frames(args, build),
        simulator=args.sim,
        seed=args.sim_seed,
        gap_prob=args.gap_prob,
        backpressure_prob=args.backpressure_prob,
        ii_frames=args.ii_frames,
        waves=args.waves,
        vitis_rtl=args.vitis_rtl,
        vitis_top=args.vitis_top,
        verbose=args.verbose,
        fast=args.fast,
        soak_frames=args.soak_frames,
    )
    if args.inputs is None and not args.soak_frames:
        note_frames(args.n, record.frames, f"the {args.dataset} test split")
    print(describe(record))
    if record.details.get("waves"):
        print(f"waves in {record.details['waves']}")
    return {"build": str(build.path), **record.to_dict()}


def register(add) -> None:  # noqa: ANN001 - the parser factory of hwbnn.cli.build_parser
    p = add(
        "csim",
        "C-simulate a --target hls or hls4ml build with g++ (L3), exact vs L2",
        "hwbnn csim builds/hls --dataset digits --n 360",
    )
    frame_options(p)
    p.set_defaults(handler=cmd_csim)

    p = add(
        "sim",
        "simulate a --target rtl build (cocotb, L4), exact vs L2",
        "hwbnn sim builds/rtl --dataset digits --n 200 --sim verilator",
    )
    frame_options(p)
    sim_options(p, seed_flag="--seed", frames_flag=None, soak_flag="--frames")
    p.add_argument(
        "--vitis-rtl",
        type=Path,
        help="simulate this directory of Verilog exported by Vitis HLS instead (docs/vitis.md)",
    )
    p.add_argument("--vitis-top", default="hwbnn_top", help="top module of --vitis-rtl")
    p.set_defaults(handler=cmd_sim)
