"""``hwbnn train`` and ``hwbnn export``."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from hwbnn.cli.options import RUN_FIELDS, train_options
from hwbnn.pipeline.config import TrainOptions
from hwbnn.units import count, fraction


def train_config(args: argparse.Namespace) -> TrainOptions:
    """The training options of ``args`` (hwbnn train's and hwbnn run's parsers)."""
    values = {
        name: getattr(args, dest)
        for dest, targets in RUN_FIELDS.items()
        for section, name in targets
        if section == "train"
    }
    values["methods"] = tuple((name, tuple(items)) for name, items in values["methods"])
    return TrainOptions(**values)


def cmd_train(args: argparse.Namespace) -> dict[str, Any]:
    from hwbnn.pipeline.steps import train_to_dir
    from hwbnn.train.methods import build_methods

    opts = train_config(args)
    build_methods(opts.methods)  # unknown methods or arguments fail before any data is read
    info = train_to_dir(args.out, opts, progress=not args.json)
    print(f"test accuracy {fraction(info['test_accuracy'])}; checkpoint {info['checkpoint']}")
    return info


def cmd_export(args: argparse.Namespace) -> dict[str, Any]:
    from hwbnn.pipeline.steps import export_checkpoint

    info = export_checkpoint(args.checkpoint, args.output, args.data_dir)
    print(
        f"wrote {info['onnx']}; execute_onnx vs torch on {count(info['check_frames'])} test "
        f"images: {info['check_label_mismatches']} label mismatches, max |logit diff| "
        f"{info['check_max_abs_logit_diff']:.3g}"
    )
    return info


def register(add) -> None:  # noqa: ANN001 - the parser factory of hwbnn.cli.build_parser
    p = add(
        "train",
        "train a binary network",
        "hwbnn train --model sfc --dataset digits --epochs 30 --out runs/sfc",
    )
    train_options(p)
    p.add_argument("--out", type=Path, required=True, help="output directory")
    p.set_defaults(handler=cmd_train)

    p = add(
        "export",
        "export a checkpoint to QONNX (checked with execute_onnx)",
        "hwbnn export runs/sfc/model.pt -o runs/sfc/model.onnx",
    )
    p.add_argument("checkpoint", type=Path)
    p.add_argument("-o", "--output", type=Path, required=True)
    p.add_argument("--data-dir", type=Path, help="directory of the checkpoint's data set")
    p.set_defaults(handler=cmd_export)
