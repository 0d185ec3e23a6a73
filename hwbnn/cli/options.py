"""The command-line options, defined once and shared by the commands that take them.

Each option group adds its arguments with fixed ``dest`` names; :data:`RUN_FIELDS` maps those
names onto the fields of :class:`hwbnn.pipeline.config.RunConfig`, so ``hwbnn run`` reaches
every option of the single commands and ``--config FILE.toml`` fills the same fields. Building
the parser imports nothing heavy (no torch), so ``hwbnn --help`` is fast.
"""

from __future__ import annotations

import argparse
from dataclasses import replace
from pathlib import Path
from typing import Any

from hwbnn.catalog import INPUT_MODES, MODEL_NAMES, TARGET_NAMES
from hwbnn.errors import ConfigError
from hwbnn.pipeline.config import FOLDING_KEYS, RunConfig


class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter, argparse.RawDescriptionHelpFormatter):
    """Defaults shown after each option; the example in the epilog kept as written."""


def hidden_widths(text: str) -> tuple[int, ...]:
    try:
        widths = tuple(int(part) for part in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated widths, got {text!r}") from None
    if not widths or min(widths) < 1:
        raise argparse.ArgumentTypeError(f"widths must be positive, got {text!r}")
    return widths


class MethodAction(argparse.Action):
    """--method NAME and --method-arg K=V into one ordered list ``[(NAME, [K=V, ...]), ...]``;
    a K=V belongs to the --method before it, or to the method NAME of ``NAME.K=V``."""

    def __call__(self, parser, namespace, values, option_string=None) -> None:  # noqa: ANN001
        old = getattr(namespace, "methods", None)
        specs = [(name, list(items)) for name, items in old] if isinstance(old, list) else []
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


def dataset_names() -> list[str]:
    from hwbnn.data import DATASETS

    return sorted(DATASETS)


def train_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("training")
    g.add_argument(
        "--model",
        default=argparse.SUPPRESS,  # digits-mlp (TrainOptions), unless --genotype is given
        choices=sorted(MODEL_NAMES),
        help="zoo model: MLPs, or conv nets (cnv: CIFAR-10 with --input-mode integer) "
        "(default: digits-mlp)",
    )
    g.add_argument(
        "--genotype",
        type=Path,
        help="instead of --model: the network of this genotype.json (hwbnn search's output; "
        "its content is stored in the checkpoint)",
    )
    g.add_argument("--dataset", default="digits", choices=dataset_names())
    g.add_argument("--data-dir", type=Path, help="directory holding MNIST/CIFAR-10 files")
    g.add_argument(
        "--input-mode",
        default="binary",
        choices=INPUT_MODES,
        help="binarized pixels, or integer pixels into the first layer",
    )
    g.add_argument(
        "--hidden",
        type=hidden_widths,
        help="hidden dense widths, e.g. 256,256 (overrides the model's)",
    )
    g.add_argument("--epochs", type=int, default=30)
    g.add_argument("--seed", type=int, default=0, help="training seed")
    g.add_argument("--batch-size", type=int, default=64)
    g.add_argument("--lr", type=float, default=0.01)
    g.add_argument(
        "--method",
        action=MethodAction,
        metavar="NAME",
        help="training method from the BNN literature (repeatable, composable), "
        "e.g. approxsign, xnor, distribution_loss, two_stage, fp",
    )
    g.add_argument(
        "--method-arg",
        action=MethodAction,
        metavar="K=V",
        help="argument of the --method before it (or NAME.K=V); repeatable",
    )
    p.set_defaults(methods=[])


def compile_options(p: argparse.ArgumentParser, target: str, target_cycles: int | None) -> None:
    g = p.add_argument_group("compilation")
    g.add_argument(
        "--target", default=target, choices=TARGET_NAMES, help="what to generate besides the IR"
    )
    g.add_argument("--folding", type=Path, help="per-layer PE/SIMD file (JSON, as folding.json)")
    g.add_argument(
        "--target-cycles",
        type=int,
        default=target_cycles,
        help="choose PE/SIMD for at most this many cycles per frame (none: fully folded)",
    )
    g.add_argument(
        "--target-fps", type=float, help="choose PE/SIMD for this many frames/s at --clock-mhz"
    )
    g.add_argument(
        "--input-levels",
        type=int,
        help="input codes per element, if the model does not record it (256)",
    )
    g.add_argument(
        "--input-range",
        type=float,
        nargs=2,
        default=(0.0, 1.0),
        metavar=("LOW", "HIGH"),
        help="float value of the lowest/highest input code",
    )


def fit_board_option(p: argparse.ArgumentParser) -> None:
    """``hwbnn compile --board``: check the folding's resource estimate against a board."""
    from hwbnn.fpga.boards import BOARDS

    p.add_argument(
        "--board",
        choices=sorted(BOARDS),
        metavar="BOARD",
        help="print the estimate's use of this board and refuse a folding that cannot fit it "
        f"({', '.join(sorted(BOARDS))})",
    )


def clock_option(p: argparse.ArgumentParser, default: float | None, what: str) -> None:
    p.add_argument("--clock-mhz", type=float, default=default, help=what)


def sim_options(
    p: argparse.ArgumentParser, seed_flag: str, frames_flag: str | None, soak_flag: str
) -> None:
    g = p.add_argument_group("RTL simulation")
    g.add_argument(
        soak_flag,
        dest="soak_frames",
        type=int,
        default=0,
        help="simulate this many frames, the test images looped (a soak run; best with "
        "--fast); reports frames lost, duplicated or reordered",
    )
    if frames_flag is not None:
        g.add_argument(
            frames_flag,
            dest="sim_frames",
            type=int,
            default=100,
            help="test images simulated (RTL and C-sim)",
        )
    g.add_argument("--sim", default="icarus", choices=["icarus", "verilator"], help="RTL simulator")
    g.add_argument("--waves", action="store_true", help="record a waveform in BUILD/sim/")
    g.add_argument(
        "--fast",
        action="store_true",
        help="a compiled Verilator harness instead of the cocotb bench (whole test sets; "
        "built once into BUILD/sim/fast/)",
    )
    g.add_argument(
        seed_flag, dest="sim_seed", type=int, default=0, help="seed of the random gaps/backpressure"
    )
    g.add_argument("--gap-prob", type=float, default=0.3, help="input idle-cycle probability")
    g.add_argument(
        "--backpressure-prob", type=float, default=0.3, help="output tready-low probability"
    )
    g.add_argument(
        "--ii-frames", type=int, default=8, help="back-to-back frames timed for cycles/frame"
    )


def bitstream_options(
    p: argparse.ArgumentParser,
    seed_flag: str,
    board_default: str | None,
    boards: list[str],
    tools: tuple[str, ...],
) -> None:
    g = p.add_argument_group("bitstream")
    g.add_argument(
        "--board",
        default=board_default,
        required=board_default is None,
        help=f"one of {', '.join(boards)}" + (", or none" if board_default else ""),
    )
    g.add_argument(
        "--baud",
        type=int,
        default=115200,
        help="UART bits/s of the board top: the board clock divided by a whole number of at "
        "least 4, within 2 %% (e.g. 3000000 on icebreaker, 1000000 on ulx3s-*); it sets the "
        "frames/s a host gets when the UART is the bottleneck",
    )
    g.add_argument("--tools", default="auto", choices=tools, help="system or YoWASP tools")
    g.add_argument(seed_flag, dest="pnr_seed", type=int, default=1, help="nextpnr placement seed")
    g.add_argument("--strict-timing", action="store_true", help="fail if timing is not met")


# dest -> ((section, field), ...) of RunConfig; a value converted by the section's dataclass
RUN_FIELDS: dict[str, tuple[tuple[str, str], ...]] = {
    "out": (("", "out"),),
    **{
        k: (("train", k),)
        for k in (
            "model",
            "genotype",
            "dataset",
            "data_dir",
            "input_mode",
            "hidden",
            "epochs",
            "seed",
            "batch_size",
            "lr",
            "methods",
        )
    },
    **{
        k: (("compile", k),)
        for k in ("target", "folding", "target_cycles", "target_fps", "input_levels", "input_range")
    },
    "clock_mhz": (("compile", "clock_mhz"), ("bitstream", "clock_mhz")),
    "verify_frames": (("verify", "frames"),),
    "sim_frames": (("sim", "frames"),),
    "sim": (("sim", "simulator"),),
    "sim_seed": (("sim", "seed"),),
    **{
        k: (("sim", k),)
        for k in ("gap_prob", "backpressure_prob", "ii_frames", "waves", "fast", "soak_frames")
    },
    "board": (("bitstream", "board"),),
    "pnr_seed": (("bitstream", "seed"),),
    **{k: (("bitstream", k),) for k in ("baud", "tools", "strict_timing")},
}


def _value(section: str, name: str, value: Any) -> Any:
    if name == "methods":
        return tuple((method, tuple(items)) for method, items in value)
    if name == "input_range":
        return tuple(value)
    if section == "compile" and name == "clock_mhz" and value is None:
        return 100.0
    return value


def run_config(given: dict[str, Any], base: RunConfig) -> RunConfig:
    """``base`` (defaults, then the TOML file) with the options given on the command line."""
    updates: dict[str, dict[str, Any]] = {}
    out = base.out
    for dest, value in given.items():
        for section, name in RUN_FIELDS.get(dest, ()):
            if section == "":
                out = Path(value)
            else:
                updates.setdefault(section, {})[name] = _value(section, name, value)
    if FOLDING_KEYS & set(given):
        # one way of choosing the folding replaces the others (the run's default is a budget)
        for key in FOLDING_KEYS:
            updates["compile"].setdefault(key, None)
    try:
        sections = {s: replace(getattr(base, s), **fields) for s, fields in updates.items()}
    except ConfigError as exc:
        raise ConfigError(str(exc)) from None
    return replace(base, out=out, **sections)


def explicit(parser: argparse.ArgumentParser, argv: list[str]) -> dict[str, Any]:
    """The options given on the command line (not their defaults); ``parser`` is the
    command's own parser (a sub-parser applies its defaults to a fresh namespace)."""
    shadow = argparse.Namespace()
    for action in parser._actions:  # the parser's own list; argparse offers no public one
        if action.dest != argparse.SUPPRESS:
            setattr(shadow, action.dest, _Unset)
    parsed = vars(parser.parse_args(argv, namespace=shadow))
    return {k: v for k, v in parsed.items() if v is not _Unset}


class _Unset:
    """Marks an option that was not given."""
