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


def _train_options(p: argparse.ArgumentParser) -> None:
    from hwbnn.data import DATASETS
    from hwbnn.nn import INPUT_MODES, MLP_SHAPES

    p.add_argument("--model", default="digits-mlp", choices=sorted(MLP_SHAPES))
    p.add_argument("--dataset", default="digits", choices=sorted(DATASETS))
    p.add_argument("--data-dir", type=Path, help="directory holding MNIST/CIFAR-10 files")
    p.add_argument(
        "--input-mode",
        default="binary",
        choices=INPUT_MODES,
        help="binarized pixels, or integer pixels into the first layer",
    )
    p.add_argument("--hidden", type=_hidden, help="hidden widths, e.g. 256,256 (overrides --model)")
    p.add_argument("--epochs", type=int, default=30)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--lr", type=float, default=0.01)


def _train_config(args: argparse.Namespace):
    from hwbnn.train import TrainConfig

    if args.epochs < 1:
        raise ConfigError(f"--epochs must be >= 1, got {args.epochs}")
    return TrainConfig(
        epochs=args.epochs,
        seed=args.seed,
        batch_size=args.batch_size,
        lr=args.lr,
        progress=not args.json,
    )


def cmd_train(args: argparse.Namespace) -> dict[str, Any]:
    from hwbnn.flow import train_to_dir

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
    from hwbnn.flow import export_checkpoint

    info = export_checkpoint(args.checkpoint, args.output, args.data_dir)
    print(
        f"wrote {info['onnx']}; execute_onnx vs torch on {info['check_frames']} test images: "
        f"{info['check_label_mismatches']} label mismatches, max |logit diff| "
        f"{info['check_max_abs_logit_diff']:.3g}"
    )
    return info


def _compile_config(args: argparse.Namespace):
    from hwbnn.flow import CompileConfig
    from hwbnn.ir.lower import InputSpec

    low, high = args.input_range
    if not high > low:
        raise ConfigError(f"--input-range needs LOW < HIGH, got {low} {high}")
    if args.input_levels is not None and args.input_levels < 2:
        raise ConfigError(f"--input-levels must be >= 2, got {args.input_levels}")
    return CompileConfig(
        target=args.target,
        folding_file=args.folding,
        target_cycles=args.target_cycles,
        input=InputSpec(args.input_levels, low, high),
    )


def cmd_compile(args: argparse.Namespace) -> dict[str, Any]:
    from hwbnn.flow import compile_onnx

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
    from hwbnn.ladder import run_ladder
    from hwbnn.train import load_checkpoint

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


def cmd_run(args: argparse.Namespace) -> dict[str, Any]:
    from hwbnn.flow import DEFAULT_FLOW, RunConfig, run_flow

    cfg = RunConfig(
        out=args.out,
        model=args.model,
        dataset=args.dataset,
        data_dir=args.data_dir,
        input_mode=args.input_mode,
        hidden=args.hidden,
        train=_train_config(args),
    )
    state = run_flow(
        cfg, DEFAULT_FLOW, on_step=lambda step: print(f"== {step.__name__}", flush=True)
    )
    ladder = state.summary.get("ladder", {})
    print(
        f"test accuracy {state.summary.get('test_accuracy', float('nan')):.4f}; "
        f"L0/L1/L2 agree on {ladder.get('frames', 0)} test images; build in {state.build}"
    )
    return {**state.summary, "build": str(state.build), "flow": [s.__name__ for s in DEFAULT_FLOW]}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="hwbnn", description=__doc__.splitlines()[0])
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
    from hwbnn.flow import TARGETS

    p.add_argument(
        "--target",
        default="ir",
        choices=sorted(TARGETS),
        help="what to generate besides the IR (default: the IR only)",
    )
    p.add_argument("--folding", type=Path, help="per-layer PE/SIMD file (JSON)")
    p.add_argument(
        "--target-cycles", type=int, help="choose PE/SIMD for at most this many cycles per frame"
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

    p = add("run", cmd_run, "train, export, compile and verify (the main job)")
    _train_options(p)
    p.add_argument("--out", type=Path, default=Path("build/digits"))
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
