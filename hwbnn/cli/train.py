"""``hwbnn train`` and ``hwbnn export``."""

from __future__ import annotations

import argparse
import contextlib
import os
import secrets
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from hwbnn.cli.options import RUN_FIELDS, train_options
from hwbnn.errors import ConfigError
from hwbnn.pipeline.config import TrainOptions
from hwbnn.units import count, fraction


def train_config(args: argparse.Namespace) -> TrainOptions:
    """The training options of ``args`` (hwbnn train's and hwbnn run's parsers)."""
    values = {
        name: getattr(args, dest)
        for dest, targets in RUN_FIELDS.items()
        for section, name in targets
        if section == "train" and hasattr(args, dest)  # --model: only when given
    }
    check_genotype_model(values)
    values["methods"] = tuple((name, tuple(items)) for name, items in values["methods"])
    return TrainOptions(**values)


def check_genotype_model(given: dict[str, Any]) -> None:
    """--genotype defines the network: refuse it with an explicit --model."""
    if given.get("genotype") is not None and "model" in given:
        raise ConfigError(
            f"--genotype {given['genotype']} defines the network; leave out --model "
            f"{given['model']}"
        )


def cmd_train(args: argparse.Namespace) -> dict[str, Any]:
    if int(os.environ.get("WORLD_SIZE", "1")) > 1:  # torchrun: before Brevitas is imported
        os.environ["BREVITAS_JIT"] = "0"  # (hwbnn.train.distributed)
    from hwbnn.pipeline.steps import train_to_dir
    from hwbnn.train import distributed
    from hwbnn.train.methods import build_methods

    opts = train_config(args)
    build_methods(opts.methods)  # unknown methods or arguments fail before any data is read
    with distributed.session() as dist:  # under torchrun: one process of N (rank 0 writes)
        if dist is not None:
            dist.check(build_methods(opts.methods), opts.batch_size)
            if not dist.is_main:
                train_to_dir(Path(args.out), opts, progress=False)
                return {"rank": dist.rank}
            print(
                f"hwbnn train: {dist.world_size} processes (torchrun), global batch "
                f"{opts.batch_size}"
            )
        with staged_output(Path(args.out)) as staging:
            info = train_to_dir(staging, opts, progress=not args.json)
    info["checkpoint"] = str(Path(args.out) / Path(info["checkpoint"]).name)
    print(f"test accuracy {fraction(info['test_accuracy'])}; checkpoint {info['checkpoint']}")
    return info


@contextlib.contextmanager
def staged_output(out: Path) -> Iterator[Path]:
    """A fresh directory next to ``out`` to write into; when the block succeeds its files
    move into ``out`` (the directory renamed into place if ``out`` did not exist, else each
    file replacing its namesake, other files kept). When the block fails or is interrupted,
    the staging directory and any parent directory made for it are removed: a failed
    ``hwbnn train`` leaves no empty ``--out`` and leaves a previous ``--out`` as it was.

    Raises:
        ConfigError: ``out`` is a file, or its parent cannot be written.
    """
    if out.exists() and not out.is_dir():
        raise ConfigError(f"{out}: exists and is not a directory; choose another --out")
    out = out.absolute()  # "." or "runs/" named by their own name
    parent = out.parent
    made = [p for p in (parent, *parent.parents) if not p.exists()]
    try:
        parent.mkdir(parents=True, exist_ok=True)
        # made with mkdir (the umask's mode, which the renamed --out keeps; not mkdtemp's 0700)
        staging = parent / f".{out.name}.tmp-{os.getpid()}-{secrets.token_hex(4)}"
        staging.mkdir()
    except OSError as exc:
        _remove_empty(made)
        raise ConfigError(f"{out}: cannot write the output directory ({exc})") from None
    try:
        yield staging
        if out.is_dir():
            for item in sorted(staging.iterdir()):
                os.replace(item, out / item.name)
        else:
            os.replace(staging, out)
    finally:
        if staging.exists():
            shutil.rmtree(staging)
        if not out.exists():
            _remove_empty(made)


def _remove_empty(directories: list[Path]) -> None:
    """Remove the directories that were made for an output (innermost first) if empty."""
    for directory in directories:
        try:
            directory.rmdir()
        except OSError:  # not empty (something else wrote there) or already gone: keep it
            break


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
    p.add_argument(
        "--out",
        type=Path,
        required=True,
        help="output directory (written only when training succeeds; files of an earlier "
        "run there are replaced, a failed run leaves it as it was)",
    )
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
