"""The configuration of a run: frozen dataclasses, one per part of the flow, loadable from TOML.

``hwbnn run --config FILE.toml`` reads a file of this shape (every key optional; a command-line
option given explicitly wins over the file, the file over the defaults)::

    out = "build/digits"
    [train]
    model = "digits-mlp"        # hwbnn.catalog.MODEL_NAMES
    # genotype = "search/genotype.json"   # instead of model: the network of a genotype
    dataset = "digits"
    epochs = 30
    methods = [["approxsign", []], ["two_stage", ["lr_factor=3"]]]
    [compile]
    target = "rtl"              # ir | rtl | hls | hls4ml
    target_cycles = 4096
    [verify]
    frames = 0                  # frames of the L0-L2 check (0: the whole test split)
    [sim]
    frames = 100
    simulator = "icarus"
    [bitstream]
    board = "ulx3s-85f"         # "none": no bitstream step

Values are checked when a config is built, so a bad file fails before any step runs, with the
key named.
"""

from __future__ import annotations

import dataclasses
import enum
import tomllib
import types
import typing
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from hwbnn.catalog import InputMode, ModelName, Target
from hwbnn.errors import ConfigError

#: Default cycles per frame of ``hwbnn run``'s accelerator (``hwbnn compile`` defaults to the
#: fully folded design instead).
RUN_TARGET_CYCLES = 4096


class Simulator(enum.Enum):
    ICARUS = "icarus"
    VERILATOR = "verilator"


E = typing.TypeVar("E", bound=enum.Enum)


def _member(kind: type[E], value: object, what: str) -> E:
    """``value`` (a member or its string) as a member of ``kind``, or a ConfigError naming
    ``what`` and the choices."""
    try:
        return kind(value)
    except ValueError:
        choices = ", ".join(str(m.value) for m in kind)
        raise ConfigError(f"{what}: unknown value {value!r}; choose one of {choices}") from None


def _positive(name: str, value: float | None) -> None:
    if value is not None and not value > 0:
        raise ConfigError(f"{name} must be positive, got {value}")


@dataclass(frozen=True)
class TrainOptions:
    """``hwbnn train``: which zoo model (or the network of a ``genotype.json``,
    :mod:`hwbnn.nn.cellnet`, instead) on which data, how long, with which methods."""

    model: ModelName = ModelName.DIGITS_MLP
    genotype: Path | None = None
    dataset: str = "digits"
    data_dir: Path | None = None
    input_mode: InputMode = InputMode.BINARY
    hidden: tuple[int, ...] | None = None
    epochs: int = 30
    seed: int = 0
    batch_size: int = 64
    lr: float = 0.01
    #: ``((NAME, (K=V, ...)), ...)``: methods of hwbnn.train.methods, in order
    methods: tuple[tuple[str, tuple[str, ...]], ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "model", _member(ModelName, self.model, "--model (train.model)"))
        object.__setattr__(self, "input_mode", _member(InputMode, self.input_mode, "--input-mode"))
        if self.data_dir is not None:
            object.__setattr__(self, "data_dir", Path(self.data_dir))
        if self.genotype is not None:
            object.__setattr__(self, "genotype", Path(self.genotype))
            if self.model is not ModelName.DIGITS_MLP or self.hidden is not None:
                raise ConfigError(
                    f"--genotype {self.genotype} defines the network; leave out --model "
                    f"{self.model.value} (train.model) and --hidden (train.hidden)"
                )
            from hwbnn.nn.genotype import load_genotype  # torch: only with a genotype

            load_genotype(self.genotype)  # a bad file fails before any step runs
        if self.hidden is not None and (not self.hidden or min(self.hidden) < 1):
            raise ConfigError(f"train.hidden: widths must be positive, got {self.hidden}")
        if self.epochs < 1:
            raise ConfigError(f"--epochs (train.epochs) must be >= 1, got {self.epochs}")
        if self.batch_size < 1:
            raise ConfigError(
                f"--batch-size (train.batch_size) must be >= 1, got {self.batch_size}"
            )
        _positive("--lr (train.lr)", self.lr)


@dataclass(frozen=True)
class CompileOptions:
    """``hwbnn compile``: the target, the folding (a file, a cycle budget or a frame rate) and
    the input format of models that do not record it."""

    target: Target = Target.RTL
    folding: Path | None = None
    target_cycles: int | None = None
    target_fps: float | None = None
    clock_mhz: float = 100.0  # clock of --target-fps
    input_levels: int | None = None
    input_range: tuple[float, float] = (0.0, 1.0)

    def __post_init__(self) -> None:
        object.__setattr__(self, "target", _member(Target, self.target, "--target"))
        if self.folding is not None:
            object.__setattr__(self, "folding", Path(self.folding))
        given = [
            self.folding is not None,
            self.target_cycles is not None,
            self.target_fps is not None,
        ]
        if sum(given) > 1:
            raise ConfigError(
                "give one of a folding file, a target cycles/frame or a target "
                "frames/s, not several"
            )
        if self.target_cycles is not None and self.target_cycles < 1:
            raise ConfigError(f"--target-cycles must be >= 1, got {self.target_cycles}")
        _positive("--target-fps", self.target_fps)
        _positive("--clock-mhz", self.clock_mhz)
        low, high = self.input_range
        if not high > low:
            raise ConfigError(f"--input-range needs LOW < HIGH, got {low} {high}")
        if self.input_levels is not None and self.input_levels < 2:
            raise ConfigError(f"--input-levels must be >= 2, got {self.input_levels}")
        if self.cycles_budget is not None and self.cycles_budget < 1:
            raise ConfigError(
                f"target frames/s {self.target_fps:g} exceeds one frame per cycle "
                f"at {self.clock_mhz:g} MHz"
            )

    @property
    def cycles_budget(self) -> int | None:
        """Cycles per frame the folding chooser must meet (None: the fully folded design)."""
        if self.target_fps is not None:
            return int(self.clock_mhz * 1e6 // self.target_fps)
        return self.target_cycles


@dataclass(frozen=True)
class VerifyOptions:
    """The L0-L2 check: ``frames`` test images (0: the whole test split)."""

    frames: int = 0

    def __post_init__(self) -> None:
        if self.frames < 0:
            raise ConfigError(f"--verify-frames (verify.frames) must be >= 0, got {self.frames}")


@dataclass(frozen=True)
class SimOptions:
    """RTL simulation (L4) and C-simulation (L3): test images (0: all), engine, stress
    randomness."""

    frames: int = 100
    simulator: Simulator = Simulator.ICARUS
    seed: int = 0
    gap_prob: float = 0.3
    backpressure_prob: float = 0.3
    ii_frames: int = 8
    waves: bool = False
    fast: bool = False  # L4 in the compiled Verilator harness (hwbnn.sim.fast)
    soak_frames: int = 0  # L4 on this many frames, the test images looped (0: each once)

    def __post_init__(self) -> None:
        object.__setattr__(self, "simulator", _member(Simulator, self.simulator, "--sim"))
        if self.frames < 0:
            raise ConfigError(f"--sim-frames (sim.frames) must be >= 0, got {self.frames}")
        if self.soak_frames < 0:
            raise ConfigError(
                f"--soak-frames (sim.soak_frames) must be >= 0, got {self.soak_frames}"
            )
        for name in ("gap_prob", "backpressure_prob"):
            if not 0.0 <= getattr(self, name) < 1.0:
                flag = "--" + name.replace("_", "-")
                raise ConfigError(
                    f"{flag} (sim.{name}) must be in [0, 1), got {getattr(self, name)}"
                )


@dataclass(frozen=True)
class BitstreamOptions:
    """``hwbnn bitstream``: the board (None: no bitstream step) and the P&R options."""

    board: str | None = "ulx3s-85f"
    clock_mhz: float | None = None  # timing target (default: the board's clock)
    baud: int = 115200
    tools: str = "auto"
    seed: int = 1
    strict_timing: bool = False

    def __post_init__(self) -> None:
        if self.board == "none":
            object.__setattr__(self, "board", None)
        _positive("--clock-mhz (bitstream.clock_mhz)", self.clock_mhz)
        _positive("--baud (bitstream.baud)", self.baud)


@dataclass(frozen=True)
class RunConfig:
    """Everything ``hwbnn run`` does, part by part; ``out`` is the build directory."""

    out: Path = Path("build/digits")
    train: TrainOptions = field(default_factory=TrainOptions)
    compile: CompileOptions = field(
        default_factory=lambda: CompileOptions(target_cycles=RUN_TARGET_CYCLES)
    )
    verify: VerifyOptions = field(default_factory=VerifyOptions)
    sim: SimOptions = field(default_factory=SimOptions)
    bitstream: BitstreamOptions = field(default_factory=BitstreamOptions)


#: the mutually exclusive ways of choosing the folding
FOLDING_KEYS = frozenset({"folding", "target_cycles", "target_fps"})

SECTIONS: dict[str, type] = {
    "train": TrainOptions,
    "compile": CompileOptions,
    "verify": VerifyOptions,
    "sim": SimOptions,
    "bitstream": BitstreamOptions,
}


def _coerce(name: str, hint: Any, value: Any) -> Any:
    """A TOML value as the field's type: Paths, Enums, tuples; ints where floats are wanted."""
    origin = typing.get_origin(hint)
    args = [a for a in typing.get_args(hint) if a is not type(None)]
    if value is None:
        return None
    if origin in (typing.Union, types.UnionType) and args:
        return _coerce(name, args[0], value)
    if hint is Path:
        return Path(value)
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        try:
            return hint(value)
        except ValueError:
            choices = ", ".join(str(m.value) for m in hint)
            raise ConfigError(f"{name}: unknown value {value!r}; choose one of {choices}") from None
    if origin is tuple:
        if not isinstance(value, list | tuple):
            raise ConfigError(f"{name}: expected a list, got {value!r}")
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_coerce(name, args[0], v) for v in value)
        return tuple(_coerce(name, a, v) for a, v in zip(args, value, strict=False))
    if hint is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if isinstance(hint, type) and not isinstance(value, hint):
        raise ConfigError(f"{name}: expected {hint.__name__}, got {value!r}")
    return value


def _section(cls: type, name: str, table: dict[str, Any], base: Any) -> Any:
    hints = typing.get_type_hints(cls)
    known = {f.name for f in fields(cls)}
    unknown = sorted(set(table) - known)
    if unknown:
        raise ConfigError(
            f"[{name}]: unknown key {unknown[0]!r}; known: {', '.join(sorted(known))}"
        )
    values = {key: _coerce(f"{name}.{key}", hints[key], value) for key, value in table.items()}
    return replace(base, **values)


def config_from_dict(doc: dict[str, Any], base: RunConfig | None = None) -> RunConfig:
    """A RunConfig from a parsed TOML document, over ``base`` (default: the defaults)."""
    cfg = base or RunConfig()
    unknown = sorted(set(doc) - {"out", *SECTIONS})
    if unknown:
        raise ConfigError(f"unknown key {unknown[0]!r}; known: out, {', '.join(SECTIONS)}")
    updates: dict[str, Any] = {}
    if "out" in doc:
        updates["out"] = Path(doc["out"])
    for name, cls in SECTIONS.items():
        if name in doc:
            if not isinstance(doc[name], dict):
                raise ConfigError(f"{name}: expected a [{name}] table")
            table = dict(doc[name])
            if name == "compile" and FOLDING_KEYS & set(table):
                # one way of choosing the folding replaces the others (the run's default is a
                # cycle budget)
                table = {**dict.fromkeys(FOLDING_KEYS), **table}
            updates[name] = _section(cls, name, table, getattr(cfg, name))
    return replace(cfg, **updates)


def load_config(path: Path, base: RunConfig | None = None) -> RunConfig:
    """Read a TOML run configuration (see the module docstring)."""
    try:
        doc = tomllib.loads(Path(path).read_text())
    except FileNotFoundError:
        raise ConfigError(f"{path}: config file not found") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc})") from None
    try:
        return config_from_dict(doc, base)
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}") from None


def to_dict(obj: Any) -> Any:
    """A config as plain JSON/TOML values (Paths and Enums as strings), for hashing and logs."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: to_dict(getattr(obj, f.name)) for f in fields(obj)}
    if isinstance(obj, enum.Enum):
        return obj.value
    if isinstance(obj, Path):
        return str(obj)
    if isinstance(obj, tuple | list):
        return [to_dict(v) for v in obj]
    return obj
