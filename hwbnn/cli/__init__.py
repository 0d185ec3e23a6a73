"""The ``hwbnn`` command.

Every command takes ``--json``: its last line of output is then a JSON summary. Errors are one
line on stderr (``hwbnn: error: ...``) and a non-zero exit status.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from hwbnn.errors import ConfigError, DataError, HwbnnError

Handler = Callable[[argparse.Namespace], dict[str, Any]]


def _hidden(text: str) -> tuple[int, ...]:
    try:
        widths = tuple(int(part) for part in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated widths, got {text!r}") from None
    if not widths or min(widths) < 1:
        raise argparse.ArgumentTypeError(f"widths must be positive, got {text!r}")
    return widths


class _MethodAction(argparse.Action):
    """--method NAME and --method-arg K=V into one ordered list ``[(NAME, [K=V, ...]), ...]``;
    a K=V belongs to the --method before it, or to the method NAME of ``NAME.K=V``."""

    def __call__(self, parser, namespace, values, option_string=None) -> None:
        specs = [(name, list(items)) for name, items in namespace.methods]
        text = str(values)
        if option_string == "--method":
            specs.append((text, []))
        else:
            key, _, value = text.partition("=")
            name, dot, key = key.rpartition(".")
            owners = [spec for spec in specs if spec[0] == name] if dot else specs[-1:]
            if not owners:
                what = f"--method {name}" if dot else "a --method NAME"
                parser.error(f"--method-arg {text} must follow {what}")
            owners[-1][1].append(f"{key}={value}" if "=" in text else text)
        namespace.methods = specs


def _train_options(p: argparse.ArgumentParser) -> None:
    from hwbnn.catalog import INPUT_MODES, MODEL_NAMES
    from hwbnn.data import DATASETS

    p.add_argument(
        "--model",
        default="digits-mlp",
        choices=sorted(MODEL_NAMES),
        help="zoo model: MLPs, or conv nets (cnv: CIFAR-10 with --input-mode integer)",
    )
    p.add_argument("--dataset", default="digits", choices=sorted(DATASETS))
    p.add_argument("--data-dir", type=Path, help="directory holding MNIST/CIFAR-10 files")
    p.add_argument(
        "--input-mode",
        default="binary",
        choices=INPUT_MODES,
        help="binarized pixels, or integer pixels into the first layer",
    )
    p.add_argument(
        "--hidden",
        type=_hidden,
        help="hidden dense widths, e.g. 256,256 (overrides the model's)",
    )
    p.add_argument("--epochs", type=int, default=30)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--lr", type=float, default=0.01)
    p.add_argument(
        "--method",
        action=_MethodAction,
        metavar="NAME",
        help="training method from the BNN literature (hwbnn.train.methods; repeatable, "
        "composable), e.g. approxsign, xnor, distribution_loss, two_stage, fp",
    )
    p.add_argument(
        "--method-arg",
        action=_MethodAction,
        metavar="K=V",
        help="argument of the --method before it (or NAME.K=V); repeatable",
    )
    p.set_defaults(methods=[])


def _train_config(args: argparse.Namespace):
    from hwbnn.train import TrainConfig

    if args.epochs < 1:
        raise ConfigError(f"--epochs must be >= 1, got {args.epochs}")
    from hwbnn.train.methods import build_methods

    return TrainConfig(
        epochs=args.epochs,
        seed=args.seed,
        batch_size=args.batch_size,
        lr=args.lr,
        progress=not args.json,
        methods=build_methods(args.methods),
    )


def cmd_train(args: argparse.Namespace) -> dict[str, Any]:
    from hwbnn.pipeline.steps import train_to_dir

    info = train_to_dir(
        args.out,
        args.model,
        args.dataset,
        args.data_dir,
        args.input_mode,
        args.hidden,
        _train_config(args),
    )
    print(f"test accuracy {info['test_accuracy']:.4f}; checkpoint {info['checkpoint']}")
    return info


def cmd_export(args: argparse.Namespace) -> dict[str, Any]:
    from hwbnn.pipeline.steps import export_checkpoint

    info = export_checkpoint(args.checkpoint, args.output, args.data_dir)
    print(
        f"wrote {info['onnx']}; execute_onnx vs torch on {info['check_frames']} test images: "
        f"{info['check_label_mismatches']} label mismatches, max |logit diff| "
        f"{info['check_max_abs_logit_diff']:.3g}"
    )
    return info


def _compile_config(args: argparse.Namespace):
    from hwbnn.frontend.lower import InputSpec
    from hwbnn.pipeline.steps import CompileConfig

    low, high = args.input_range
    if not high > low:
        raise ConfigError(f"--input-range needs LOW < HIGH, got {low} {high}")
    if args.input_levels is not None and args.input_levels < 2:
        raise ConfigError(f"--input-levels must be >= 2, got {args.input_levels}")
    target_cycles = args.target_cycles
    if args.target_fps is not None:
        if target_cycles is not None:
            raise ConfigError("give either --target-cycles or --target-fps, not both")
        if not (args.target_fps > 0 and args.clock_mhz > 0):
            raise ConfigError("--target-fps and --clock-mhz must be positive")
        target_cycles = int(args.clock_mhz * 1e6 // args.target_fps)
        if target_cycles < 1:
            raise ConfigError(
                f"--target-fps {args.target_fps:g} exceeds one frame per cycle at "
                f"{args.clock_mhz:g} MHz"
            )
    return CompileConfig(
        target=args.target,
        folding_file=args.folding,
        target_cycles=target_cycles,
        input=InputSpec(args.input_levels, low, high),
    )


def cmd_compile(args: argparse.Namespace) -> dict[str, Any]:
    from hwbnn.pipeline.steps import compile_onnx

    info = compile_onnx(args.model, args.output, _compile_config(args))
    print(
        f"  {'layer':<20} {'kind':<16} {'in':>6}    {'out':<6} {'PE':>4} {'SIMD':>5} {'cycles':>7}"
    )
    for layer in info["layers"]:
        print(
            f"  {layer['name']:<20} {layer['kind']:<16} {layer['in']:>6} -> {layer['out']:<6} "
            f"{layer['pe']:>4} {layer['simd']:>5} {layer['cycles']:>7}"
        )
    print(f"initiation interval {info['initiation_interval']} cycles/frame; wrote {info['build']}")
    return info


def _load_array(path: Path, what: str) -> np.ndarray:
    try:
        return np.load(path, allow_pickle=False)
    except FileNotFoundError:
        raise DataError(f"{path}: {what} file not found") from None
    except (OSError, ValueError) as exc:
        raise DataError(f"{path}: not a readable .npy file ({exc})") from None


def cmd_eval(args: argparse.Namespace) -> dict[str, Any]:
    from hwbnn.build import read_manifest
    from hwbnn.ir.serialize import load_network
    from hwbnn.reference import Reference

    net = load_network(args.build)
    if args.inputs is not None:
        x = _load_array(args.inputs, "inputs")
        result = Reference(net).run(x, rounding=args.round)
        info: dict[str, Any] = {"frames": len(x)}
        if args.labels is not None:
            y = _load_array(args.labels, "labels")
            if len(y) != len(x):
                raise DataError(f"{args.labels}: {len(y)} labels for {len(x)} inputs")
            info["accuracy"] = float(np.mean(result.labels == y))
            print(f"accuracy {info['accuracy']:.4f} on {len(x)} frames")
        if args.save is not None:
            np.savez(args.save, accumulators=result.accumulators, labels=result.labels)
            info["saved"] = str(args.save)
            print(f"wrote {args.save}")
        return info
    from hwbnn.data import load_dataset
    from hwbnn.export import load_qonnx
    from hwbnn.train import load_checkpoint
    from hwbnn.verify.ladder import run_ladder

    data = load_dataset(args.dataset, args.data_dir)
    x, y = data.x_test, data.y_test
    if args.n is not None:
        x, y = x[: args.n], y[: args.n]
    manifest = read_manifest(args.build)
    checkpoint = args.checkpoint or manifest.get("checkpoint")
    torch_model = load_checkpoint(Path(checkpoint))[0] if checkpoint else None
    onnx_model = load_qonnx(args.build / "model.onnx") if not args.no_onnx else None
    report = run_ladder(net, x, y, torch_model, onnx_model)
    for level in sorted(report.accuracy):
        print(f"{level} accuracy {report.accuracy[level]:.4f}")
    for pair, count in report.label_mismatches.items():
        print(f"{pair}: {count} label mismatches of {report.frames}")
    if report.accumulator_mismatches is not None:
        print(f"L2 accumulators vs torch dot products: {report.accumulator_mismatches} mismatches")
    if not report.ok:
        raise HwbnnError(f"verification failed: {report.first_mismatch}")
    return report.to_dict()


def _frame_options(p: argparse.ArgumentParser) -> None:
    """The build and frame-source options of the simulation commands (read by _test_frames)."""
    from hwbnn.data import DATASETS

    p.add_argument("build", type=Path)
    source = p.add_mutually_exclusive_group(required=True)
    source.add_argument("--dataset", choices=sorted(DATASETS), help="its test split")
    source.add_argument("--inputs", type=Path, help=".npy input tensor in the model's format")
    p.add_argument("--data-dir", type=Path)
    p.add_argument("--n", type=int, help="first N frames only")
    p.add_argument("--round", action="store_true", help="round inputs to the nearest code")


def _test_frames(args: argparse.Namespace) -> np.ndarray:
    """The float frames a simulation command checks: --inputs X.npy, or the dataset's test
    split; the first --n of them."""
    if args.inputs is not None:
        x = _load_array(args.inputs, "inputs")
    else:
        from hwbnn.data import load_dataset

        x = load_dataset(args.dataset, args.data_dir).x_test
    if args.n is not None:
        if args.n < 1:
            raise ConfigError(f"--n must be >= 1, got {args.n}")
        x = x[: args.n]
    return x


def cmd_csim(args: argparse.Namespace) -> dict[str, Any]:
    from hwbnn.codegen.csim import CsimMismatch, hls_sources, verify_csim
    from hwbnn.ir.serialize import load_network
    from hwbnn.reference import to_codes

    hls_sources(args.build)  # a clear error for a build made without --target hls
    net = load_network(args.build)
    x = _test_frames(args)
    report = verify_csim(args.build, net, to_codes(net.input, x, args.round))
    how = f"compiled in {report.compile_seconds:.1f} s" if report.compiled else "cached binary"
    print(
        f"C-sim {report.frames} frames: {report.mismatched_frames} mismatching frames; "
        f"{report.frames_per_second:.0f} frames/s ({how})"
    )
    if not report.ok:
        raise CsimMismatch(report)
    return {"build": str(args.build), **report.to_dict()}


def cmd_sim(args: argparse.Namespace) -> dict[str, Any]:
    from hwbnn.codegen.rtl import rtl_sources
    from hwbnn.ir.serialize import load_network
    from hwbnn.reference import to_codes
    from hwbnn.sim.top import RtlMismatch, SimConfig, simulate_build

    if args.vitis_rtl is None:
        rtl_sources(args.build)  # a clear error for a build made without --target rtl
    net = load_network(args.build)
    x = _test_frames(args)
    cfg = SimConfig(
        simulator=args.sim,
        seed=args.seed,
        gap_prob=args.gap_prob,
        backpressure_prob=args.backpressure_prob,
        ii_frames=args.ii_frames,
        waves=args.waves,
    )
    dut = None
    if args.vitis_rtl is not None:
        from hwbnn.sim.vitis import vitis_dut

        dut = vitis_dut(args.build, args.vitis_rtl, args.vitis_top)
    report = simulate_build(args.build, to_codes(net.input, x, args.round), cfg, dut)
    for phase in report.phases:
        print(
            f"{args.sim} {phase.name}: {phase.frames} frames sent, {phase.frames_received} "
            f"received, {phase.mismatched_frames} mismatching, {len(phase.framing_errors)} "
            f"framing and {len(phase.protocol_errors)} protocol errors"
        )
    if report.cycles_per_frame is not None:
        print(
            f"cycles/frame {report.cycles_per_frame:g} measured, {report.initiation_interval} "
            f"analytical; latency {report.latency_cycles} cycles"
        )
    print(
        f"simulated {report.sim_frames_per_second:.1f} frames/s; build and run "
        f"{report.seconds:.1f} s" + (f"; waves in {report.waves}" if report.waves else "")
    )
    if not report.ok:
        raise RtlMismatch(report)
    return {"build": str(args.build), **report.to_dict()}


def cmd_bitstream(args: argparse.Namespace) -> dict[str, Any]:
    from hwbnn.fpga.bitstream import BitstreamConfig, run_bitstream_flow, summary_lines

    cfg = BitstreamConfig(
        board=args.board,
        clock_mhz=args.clock_mhz,
        baud=args.baud,
        tools=args.tools,
        seed=args.seed,
        strict_timing=args.strict_timing,
    )
    report = run_bitstream_flow(
        args.build,
        cfg,
        on_step=None if args.json else lambda step: print(f"== {step.__name__}", flush=True),
    )
    for line in summary_lines(report):
        print(line)
    return report


def cmd_report(args: argparse.Namespace) -> dict[str, Any]:
    from hwbnn.report import write_build_report

    info = write_build_report(args.build, sweep_points=args.sweep_points)
    print(f"wrote {info['index']} ({len(info['plots'])} plots)")
    return info


def cmd_run(args: argparse.Namespace) -> dict[str, Any]:
    from hwbnn.pipeline.steps import DEFAULT_FLOW, RunConfig, run_flow

    cfg = RunConfig(
        out=args.out,
        model=args.model,
        dataset=args.dataset,
        data_dir=args.data_dir,
        input_mode=args.input_mode,
        hidden=args.hidden,
        train=_train_config(args),
        target_cycles=args.target_cycles,
        sim_frames=args.sim_frames,
        board=None if args.board == "none" else args.board,
    )
    if args.target_cycles < 1 or args.sim_frames < 1:
        raise ConfigError("--target-cycles and --sim-frames must be >= 1")
    state = run_flow(
        cfg, DEFAULT_FLOW, on_step=lambda step: print(f"== {step.__name__}", flush=True)
    )
    ladder = state.summary.get("ladder", {})
    sim = state.summary.get("rtl_sim", {})
    print(
        f"test accuracy {state.summary.get('test_accuracy', float('nan')):.4f}; "
        f"L0/L1/L2 agree on {ladder.get('frames', 0)} test images; RTL simulation exact on "
        f"{sim.get('frames', 0)} images at {sim.get('cycles_per_frame')} cycles/frame; "
        f"build in {state.build}"
    )
    bitstream = state.summary.get("bitstream")
    if bitstream:
        clock = bitstream["clock"]
        print(
            f"bitstream {Path(bitstream['dir']) / bitstream.get('bitstream', '')}: "
            f"Fmax {clock['achieved_mhz']} MHz for {clock['requested_mhz']} MHz "
            f"({'met' if clock['timing_met'] else 'NOT met'})"
        )
    return {**state.summary, "build": str(state.build), "flow": [s.__name__ for s in DEFAULT_FLOW]}


def build_parser() -> argparse.ArgumentParser:
    from hwbnn import __version__

    parser = argparse.ArgumentParser(prog="hwbnn", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"hwbnn {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    def add(name: str, handler: Handler, help_text: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_text, description=help_text)
        p.add_argument("--json", action="store_true", help="print a JSON summary as last line")
        p.set_defaults(handler=handler)
        return p

    p = add("train", cmd_train, "train a binary network")
    _train_options(p)
    p.add_argument("--out", type=Path, required=True, help="output directory")

    p = add("export", cmd_export, "export a checkpoint to QONNX (checked with execute_onnx)")
    p.add_argument("checkpoint", type=Path)
    p.add_argument("-o", "--output", type=Path, required=True)
    p.add_argument("--data-dir", type=Path)

    p = add("compile", cmd_compile, "lower a binary QONNX model into a build directory")
    p.add_argument("model", type=Path)
    p.add_argument("-o", "--output", type=Path, required=True)
    from hwbnn.catalog import TARGET_NAMES

    p.add_argument(
        "--target",
        default="ir",
        choices=TARGET_NAMES,
        help="what to generate besides the IR (default: the IR only)",
    )
    p.add_argument("--folding", type=Path, help="per-layer PE/SIMD file (JSON)")
    p.add_argument(
        "--target-cycles", type=int, help="choose PE/SIMD for at most this many cycles per frame"
    )
    p.add_argument(
        "--target-fps",
        type=float,
        help="choose PE/SIMD for this many frames/s at --clock-mhz (cycles = clock / fps)",
    )
    p.add_argument(
        "--clock-mhz", type=float, default=100.0, help="clock for --target-fps (default 100)"
    )
    p.add_argument(
        "--input-levels",
        type=int,
        help="input codes per element, if the model does not record it (default 256)",
    )
    p.add_argument(
        "--input-range",
        type=float,
        nargs=2,
        default=(0.0, 1.0),
        metavar=("LOW", "HIGH"),
        help="float value of the lowest/highest input code",
    )

    from hwbnn.data import DATASETS

    p = add("eval", cmd_eval, "run the bit-exact reference (L2) and compare with L0/L1")
    p.add_argument("build", type=Path)
    p.add_argument("--dataset", default="digits", choices=sorted(DATASETS))
    p.add_argument("--data-dir", type=Path)
    p.add_argument("--n", type=int, help="first N test images only")
    p.add_argument("--checkpoint", type=Path, help="torch checkpoint to compare with (L0)")
    p.add_argument("--no-onnx", action="store_true", help="skip the execute_onnx level (L1)")
    p.add_argument("--inputs", type=Path, help=".npy input tensor in the ONNX model's format")
    p.add_argument("--labels", type=Path, help=".npy labels for --inputs")
    p.add_argument("--save", type=Path, help="write accumulators and labels to this .npz")
    p.add_argument("--round", action="store_true", help="round inputs to the nearest code")

    p = add("csim", cmd_csim, "C-simulate a --target hls build with g++ (L3), exact vs L2")
    _frame_options(p)

    p = add("sim", cmd_sim, "simulate a --target rtl build (cocotb, L4), exact vs L2")
    _frame_options(p)
    p.add_argument("--sim", default="icarus", choices=["icarus", "verilator"])
    p.add_argument("--waves", action="store_true", help="record a waveform in BUILD/sim/")
    p.add_argument(
        "--vitis-rtl",
        type=Path,
        help="simulate this directory of Verilog exported by Vitis HLS instead (docs/vitis.md)",
    )
    p.add_argument("--vitis-top", default="hwbnn_top", help="top module of --vitis-rtl")
    p.add_argument("--seed", type=int, default=0, help="seed of the random gaps/backpressure")
    p.add_argument("--gap-prob", type=float, default=0.3, help="input idle-cycle probability")
    p.add_argument(
        "--backpressure-prob", type=float, default=0.3, help="output tready-low probability"
    )
    p.add_argument(
        "--ii-frames", type=int, default=8, help="back-to-back frames timed for cycles/frame"
    )

    from hwbnn.fpga.boards import BOARDS
    from hwbnn.fpga.tools import PREFERENCES

    p = add("bitstream", cmd_bitstream, "synthesize, place and route a --target rtl build")
    p.add_argument("build", type=Path)
    p.add_argument("--board", required=True, help=f"one of {', '.join(sorted(BOARDS))}")
    p.add_argument("--clock-mhz", type=float, help="timing target (default: the board clock)")
    p.add_argument("--baud", type=int, default=115200, help="UART bits/s of the board top")
    p.add_argument("--tools", default="auto", choices=PREFERENCES, help="system or YoWASP tools")
    p.add_argument("--seed", type=int, default=1, help="nextpnr placement seed")
    p.add_argument("--strict-timing", action="store_true", help="fail if timing is not met")

    p = add("report", cmd_report, "write BUILD/report/index.html (ladder, folding, resources)")
    p.add_argument("build", type=Path)
    p.add_argument("--sweep-points", type=int, default=6, help="foldings in the sweep plot")

    p = add("run", cmd_run, "train, export, compile to RTL and verify (the main job)")
    _train_options(p)
    p.add_argument("--out", type=Path, default=Path("build/digits"))
    p.add_argument("--target-cycles", type=int, default=4096, help="accelerator cycles per frame")
    p.add_argument(
        "--board", default="ulx3s-85f", help="board of the bitstream step ('none' to skip it)"
    )
    p.add_argument("--sim-frames", type=int, default=100, help="test images simulated (RTL)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        summary = args.handler(args)
    except HwbnnError as exc:
        print(f"hwbnn: error: {exc}", file=sys.stderr)
        if args.json:
            print(json.dumps({"ok": False, "error": str(exc)}))
        return 1
    if args.json:
        print(json.dumps({"ok": True, **summary}, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
