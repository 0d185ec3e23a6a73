"""The spec of a design-space sweep (``hwbnn sweep SPEC.toml``) and its points.

A spec is a TOML file: a ``[grid]`` of lists whose product is the set of points, and the
sections of ``hwbnn run --config`` (:mod:`hwbnn.pipeline.config`) that every point shares::

    out = "sweeps/digits"        # the sweep directory (default: the spec's name beside it)
    clock_mhz = 100              # frames/s of points without a bitstream: at this clock
    [grid]
    models = ["digits-mlp"]      # hwbnn.catalog.MODEL_NAMES
    methods = ["baseline", "approxsign+two_stage(lr_factor=3)"]
    seeds = [0, 1]
    foldings = [64, 256]         # cycles/frame targets, or folding files (JSON, as folding.json)
    boards = ["none"]            # "none": no bitstream; else hwbnn.fpga.boards.BOARDS
    [train]
    epochs = 10
    [compile]
    target = "rtl"               # ir | rtl | hls | hls4ml
    [sim]
    frames = 20

A missing grid key takes the one value of its section (``train.model``, ``train.seed``, the
``[compile]`` folding, which is ``hwbnn run``'s 4,096 cycles/frame unless given; boards default
to ``none``). A method list is ``NAME(K=V,...)`` items joined by ``+``
(``baseline``: none). Points are the product models x methods x seeds x foldings x boards, in
that order. A point is identified by the sha256 of its options (:func:`point_key`): a sweep run
again skips the points that finished. Points that differ only in folding or board share one
training (:func:`train_key`).
"""

from __future__ import annotations

import hashlib
import json
import re
import tomllib
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from hwbnn.catalog import MODEL_NAMES
from hwbnn.errors import ConfigError
from hwbnn.pipeline.config import CompileOptions, RunConfig, config_from_dict, to_dict

GRID_KEYS = ("models", "methods", "seeds", "foldings", "boards")
TOP_KEYS = ("out", "clock_mhz", "grid")
BASELINE = "baseline"
_METHOD = re.compile(r"^\s*([A-Za-z_][\w]*)\s*(?:\((.*)\))?\s*$")


@dataclass(frozen=True)
class Point:
    """One point of the grid: the full run configuration and how the table names it."""

    key: str  # sha256 of the options (16 hex digits)
    name: str  # readable and unique: model-methods-sSEED-FOLDING-BOARD-KEY8
    model: str
    methods: str
    seed: int
    folding: str  # "64" (cycles/frame) or a folding file
    board: str  # "none" or a board name
    train_key: str
    cfg: RunConfig


@dataclass(frozen=True)
class Spec:
    path: Path
    out: Path
    clock_mhz: float
    points: tuple[Point, ...]


def parse_methods(text: str, where: str) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """``"approxsign+two_stage(lr_factor=3)"`` as the ``TrainOptions.methods`` tuple."""
    if text.strip() in (BASELINE, ""):
        return ()
    out = []
    for item in text.split("+"):
        match = _METHOD.match(item)
        if match is None:
            raise ConfigError(f"{where}: {item!r} is not NAME or NAME(K=V,...)")
        name, args = match.group(1), match.group(2)
        items = tuple(a.strip() for a in args.split(",") if a.strip()) if args else ()
        out.append((name, items))
    return tuple(out)


def _list(grid: dict[str, Any], key: str, default: list[Any], kind: tuple[type, ...]) -> list[Any]:
    values = grid.get(key, default)
    if not isinstance(values, list) or not values:
        raise ConfigError(f"grid.{key}: expected a non-empty list, got {values!r}")
    for value in values:
        if not isinstance(value, kind) or isinstance(value, bool):
            names = " or ".join(k.__name__ for k in kind)
            raise ConfigError(f"grid.{key}: expected {names} items, got {value!r}")
    if len(set(map(str, values))) != len(values):
        raise ConfigError(f"grid.{key}: {values!r} names a value twice")
    return values


def _digest(obj: Any) -> str:
    text = json.dumps(to_dict(obj), sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def train_key(cfg: RunConfig) -> str:
    """The training a point needs (model, data, seed, methods, epochs, ...)."""
    return _digest(cfg.train)


def point_key(cfg: RunConfig) -> str:
    """A point's identity: every option of its steps (the output directory aside)."""
    return _digest(replace(cfg, out=Path(".")))


def _folding(value: int | str | None, base: CompileOptions, spec_dir: Path) -> CompileOptions:
    """A grid folding as the compile options (None: the ``[compile]`` section's own)."""
    if value is None:
        return base
    if isinstance(value, int):
        if value < 1:
            raise ConfigError(f"grid.foldings: cycles/frame must be >= 1, got {value}")
        return replace(base, target_cycles=value, target_fps=None, folding=None)
    return replace(base, folding=spec_dir / value, target_cycles=None, target_fps=None)


def _fold_label(value: int | str | None, base: CompileOptions) -> str:
    if value is None:
        if base.folding is not None:
            return base.folding.stem
        if base.target_fps is not None:
            return f"fps{base.target_fps:g}"
        return f"c{base.target_cycles}" if base.target_cycles else "folded"
    return f"c{value}" if isinstance(value, int) else Path(value).stem


def label(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.=]+", "_", text).strip("_") or BASELINE


def load_spec(path: Path) -> Spec:
    """Read and check a sweep spec; every error names the key and the file."""
    path = Path(path)
    try:
        doc = tomllib.loads(path.read_text())
    except FileNotFoundError:
        raise ConfigError(f"{path}: sweep spec not found") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc})") from None
    try:
        return _spec(path, doc)
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}") from None


def _spec(path: Path, doc: dict[str, Any]) -> Spec:
    from hwbnn.fpga.boards import BOARDS
    from hwbnn.train.methods import build_methods

    unknown = sorted(set(doc) - set(TOP_KEYS) - {"train", "compile", "verify", "sim", "bitstream"})
    if unknown:
        raise ConfigError(
            f"unknown key {unknown[0]!r}; a sweep spec has {', '.join(TOP_KEYS)} "
            f"and the sections of hwbnn run --config"
        )
    grid = doc.get("grid", {})
    if not isinstance(grid, dict):
        raise ConfigError("grid: expected a [grid] table")
    extra = sorted(set(grid) - set(GRID_KEYS))
    if extra:
        raise ConfigError(f"grid: unknown key {extra[0]!r}; known: {', '.join(GRID_KEYS)}")
    sections = {k: v for k, v in doc.items() if k not in TOP_KEYS}
    base = config_from_dict(sections)
    clock = doc.get("clock_mhz", 100.0)
    if not isinstance(clock, int | float) or isinstance(clock, bool) or not clock > 0:
        raise ConfigError(f"clock_mhz: expected a positive number, got {clock!r}")
    models = _list(grid, "models", [base.train.model.value], (str,))
    for model in models:
        if model not in MODEL_NAMES:
            raise ConfigError(
                f"grid.models: unknown model {model!r}; choose from {', '.join(MODEL_NAMES)}"
            )
    methods = _list(grid, "methods", [BASELINE], (str,))
    parsed = {m: parse_methods(m, "grid.methods") for m in methods}
    for text, spec in parsed.items():
        try:
            build_methods(spec)
        except ConfigError as exc:
            raise ConfigError(f"grid.methods {text!r}: {exc}") from None
    seeds = _list(grid, "seeds", [base.train.seed], (int,))
    foldings: list[int | str | None] = [None]  # the [compile] section's folding
    if "foldings" in grid:
        foldings = _list(grid, "foldings", [], (int, str))
    boards = _list(grid, "boards", ["none"], (str,))
    for board in boards:
        if board != "none" and board not in BOARDS:
            raise ConfigError(
                f"grid.boards: unknown board {board!r}; choose none or one of "
                f"{', '.join(sorted(BOARDS))}"
            )
    out = Path(doc["out"]) if "out" in doc else path.with_suffix("")
    if not out.is_absolute():
        out = path.parent / out
    out = out.absolute()  # the table names every build where it is
    points = []
    for model in models:
        for method in methods:
            for seed in seeds:
                train = replace(base.train, model=model, seed=seed, methods=parsed[method])
                for fold in foldings:
                    compile_opts = _folding(fold, base.compile, path.parent)
                    for board in boards:
                        bitstream = replace(
                            base.bitstream, board=None if board == "none" else board
                        )
                        cfg = replace(base, train=train, compile=compile_opts, bitstream=bitstream)
                        key = point_key(cfg)
                        fold_label = _fold_label(fold, base.compile)
                        name = "-".join(
                            [model, label(method), f"s{seed}", label(fold_label), board, key[:8]]
                        )
                        points.append(
                            Point(
                                key,
                                name,
                                model,
                                method,
                                seed,
                                fold_label if fold is None else str(fold),
                                board,
                                train_key(cfg),
                                replace(cfg, out=out / "points" / name),
                            )
                        )
    return Spec(path, out, float(clock), tuple(points))


__all__ = ["Point", "Spec", "load_spec", "parse_methods", "point_key", "train_key"]
