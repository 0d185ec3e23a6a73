"""``hwbnn compile`` and ``hwbnn eval``."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import numpy as np

from hwbnn.cli.options import clock_option, compile_options, dataset_names, fit_board_option
from hwbnn.cli.verify import N_HELP, check_count, note_frames
from hwbnn.units import count, fraction


def cmd_compile(args: argparse.Namespace) -> dict[str, Any]:
    import hwbnn.api as api

    build = api.compile(
        args.model,
        args.output,
        target=args.target,
        target_cycles=args.target_cycles,
        target_fps=args.target_fps,
        clock_mhz=args.clock_mhz,
        folding=args.folding,
        input_levels=args.input_levels,
        input_range=tuple(args.input_range),
        board=args.board,
        say=print,
        command=" ".join(["hwbnn", *args.argv]),
    )
    info = build.manifest["steps"]["compile"]["summary"]
    header = ("layer", "kind", "in", "", "out", "PE", "SIMD", "cycles")
    row = "  {:<20} {:<16} {:>7} {:>2} {:<7} {:>4} {:>5} {:>8}"
    print(row.format(*header))
    for layer in info["layers"]:
        print(
            row.format(
                layer["name"],
                layer["kind"],
                count(layer["in"]),
                "->",
                count(layer["out"]),
                layer["pe"],
                layer["simd"],
                count(layer["cycles"]),
            )
        )
    for fifo in info.get("branch_fifos", []):
        print(
            f"  branch FIFO {fifo['from']} -> {fifo['to']} (input {fifo['port']}): "
            f"{count(fifo['depth'] + 1, 'beats')} (lag {count(fifo['lag_beats'], 'beats')})"
        )
    ii, latency = info["initiation_interval"], info["latency_cycles"]
    timing = f"initiation interval {count(ii, 'cycles/frame')}"
    if latency:
        timing += f", latency about {count(latency, 'cycles')} (estimated)"
    print(f"{timing}; wrote {build.path}")
    return {"build": str(build.path), **info}


def cmd_eval(args: argparse.Namespace) -> dict[str, Any]:
    import hwbnn.api as api

    build = api.open(args.build, say=print, progress=not args.json)
    check_count(args.n)
    if args.inputs is not None:
        from hwbnn.build import require_complete
        from hwbnn.verify.inputs import check_frames, check_labels, load_npy

        require_complete(build.path)  # before reading its IR: a killed step may have left it half
        x = load_npy(args.inputs, "inputs")
        check_frames(x, build.net.input, args.round, str(args.inputs))
        y = None if args.labels is None else load_npy(args.labels, "labels")
        if y is not None:
            check_labels(y, len(x), build.net.classes, str(args.labels))
        note_frames(args.n, len(x), str(args.inputs))
        x, y = x[: args.n], None if y is None else y[: args.n]
        prediction = build.predict(x, rounding=args.round)
        info: dict[str, Any] = {"frames": len(x)}
        if y is not None:
            info["accuracy"] = float(np.mean(prediction.labels == y))
            print(f"accuracy {fraction(info['accuracy'])} on {count(len(x), 'frames')}")
        if args.save is not None:
            np.savez(args.save, accumulators=prediction.accumulators, labels=prediction.labels)
            info["saved"] = str(args.save)
            print(f"wrote {args.save}")
        return info
    records = build.verify(
        "L2",
        dataset=args.dataset,
        data_dir=args.data_dir,
        n=args.n,
        checkpoint=args.checkpoint,
        onnx=not args.no_onnx,
        torch=not args.no_torch,
        command=" ".join(["hwbnn", *args.argv]),
    )
    note_frames(
        args.n, max((r.frames for r in records), default=0), f"the {args.dataset} test split"
    )
    for record in records:
        accuracy = "" if record.accuracy is None else f", accuracy {fraction(record.accuracy)}"
        print(
            f"{record.level.value} ({record.engine}): {count(record.frames, 'frames')}, "
            f"{record.mismatches} mismatches{accuracy}"
        )
    return {"build": str(build.path), "results": [r.to_dict() for r in records]}


def register(add) -> None:  # noqa: ANN001 - the parser factory of hwbnn.cli.build_parser
    p = add(
        "compile",
        "lower a binary QONNX model into a build directory",
        "hwbnn compile runs/d/model.onnx -o builds/rtl --target rtl --target-cycles 64",
    )
    p.add_argument("model", type=Path)
    p.add_argument("-o", "--output", type=Path, required=True)
    compile_options(p, target="ir", target_cycles=None)
    clock_option(p, 100.0, "clock of --target-fps (MHz)")
    fit_board_option(p)
    p.set_defaults(handler=cmd_compile)

    p = add(
        "eval",
        "run the bit-exact reference (L2) and compare it with L0/L1",
        "hwbnn eval builds/d --dataset digits",
    )
    p.add_argument("build", type=Path)
    p.add_argument("--dataset", default="digits", choices=dataset_names())
    p.add_argument("--data-dir", type=Path)
    p.add_argument("--n", type=int, help=N_HELP)
    p.add_argument("--checkpoint", type=Path, help="torch checkpoint to compare with (L0)")
    p.add_argument("--no-onnx", action="store_true", help="skip the execute_onnx level (L1)")
    p.add_argument("--no-torch", action="store_true", help="skip the torch level (L0)")
    p.add_argument("--inputs", type=Path, help=".npy input tensor: predict instead of verify")
    p.add_argument("--labels", type=Path, help=".npy labels for --inputs")
    p.add_argument("--save", type=Path, help="write --inputs' accumulators and labels (.npz)")
    p.add_argument("--round", action="store_true", help="round inputs to the nearest code")
    p.set_defaults(handler=cmd_eval)
