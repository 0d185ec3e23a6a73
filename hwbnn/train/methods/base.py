"""The contract between the trainer and a training method.

A method is an object with typed arguments (a frozen dataclass ``Args``, parsed from ``k=v``
strings) and hooks the trainer calls, in the order the methods were given:

- ``configure(config) -> config``: model options (scales, BatchNorm variant, precision); the
  changed config is stored in the checkpoint, so the exported graph is the trained one;
- ``setup(ctx)``: after the model is built, before the optimizer: swap sign estimators, add
  parametrizations, train a teacher, register forward hooks;
- ``parameters()``: extra trainable tensors for the main optimizer (e.g. learned loss scales);
- ``on_epoch_start(ctx)`` / ``on_epoch_end(ctx, metrics)``: schedules and phase changes;
- ``learning_rate(ctx) -> float | None``: a method that returns a value owns the learning rate
  (the trainer's cosine schedule is then off);
- ``loss(ctx, batch) -> Tensor | None``: a term added to ``ctx.ce_weight * cross_entropy``;
- ``after_step(ctx, batch)``: after the optimizer step and the weight clipping;
- ``finish(ctx)``: undo training-only changes, so the model is the deployable one.

Every hook is a no-op by default. ``slot`` (a :class:`Slot`) names what a method controls
exclusively (at most one method per slot, :func:`check_composition`); ``float_ok`` says whether
it makes sense on the full-precision baseline.

Layering: the methods sit below the trainer (:mod:`hwbnn.train.trainer` imports them, never the
reverse). A method that needs a training run of its own (distillation's teacher) calls
``ctx.train_model``, which the trainer provides.
"""

from __future__ import annotations

import dataclasses
import typing
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from enum import Enum, StrEnum
from typing import Any, ClassVar

import torch
from torch import nn

from hwbnn.errors import ConfigError

TRUE = ("1", "true", "yes", "on")
FALSE = ("0", "false", "no", "off")


def arg(default: Any, help: str) -> Any:
    """A documented method argument (a dataclass field with help text); its type is bool, int,
    float, str or an Enum (whose values are the accepted strings)."""
    return field(default=default, metadata={"help": help})


class Slot(StrEnum):
    """What a method controls exclusively (at most one method per slot)."""

    ESTIMATOR = "estimator"  # the sign's gradient rule
    SCALE = "scale"  # per-channel scales of the binary layers
    WEIGHTS = "weights"  # the forward weights or their initialisation
    LR = "lr"  # the learning rate and the weight clipping
    NORM = "norm"  # the normalisation of hidden layers
    PRECISION = "precision"  # binary or full-precision model


@dataclass
class Batch:
    """One training step's inputs, labels and logits."""

    x: torch.Tensor
    y: torch.Tensor
    logits: torch.Tensor


@dataclass
class TrainContext:
    """What the hooks see: the model, the data, the position in training and the knobs that
    methods may turn (``clip_weights``, ``ce_weight``). ``train_model(config, train_config)``
    trains a fresh model on the same data with the trainer and returns it (None outside a
    training run)."""

    model: nn.Module
    config: Any
    data: Any
    train_config: Any
    epochs: int
    steps_per_epoch: int
    epoch: int = 0
    step: int = 0
    clip_weights: bool = True
    ce_weight: float = 1.0
    train_model: Callable[[Any, Any], nn.Module] | None = None

    @property
    def total_steps(self) -> int:
        return self.epochs * self.steps_per_epoch


class Method:
    """Base class of the training methods; see the module docstring."""

    name: ClassVar[str] = ""
    summary: ClassVar[str] = ""
    slot: ClassVar[Slot | None] = None
    float_ok: ClassVar[bool] = False

    @dataclass(frozen=True)
    class Args:
        pass

    def __init__(self, args: Any = None) -> None:
        self.args: Any = args if args is not None else self.Args()

    @classmethod
    def from_strings(cls, items: list[str]) -> Method:
        """Build the method from ``k=v`` strings; unknown names or bad values are ConfigErrors
        that list the valid arguments."""
        return cls(parse_args(cls, items))

    def describe(self) -> str:
        values = ", ".join(f"{f.name}={_text(getattr(self.args, f.name))}" for f in _fields(self))
        return f"{self.name}({values})" if values else self.name

    # -- hooks (no-ops) -------------------------------------------------------------------
    def configure(self, config: Any) -> Any:
        return config

    def setup(self, ctx: TrainContext) -> None:
        pass

    def parameters(self) -> list[nn.Parameter]:
        return []

    def on_epoch_start(self, ctx: TrainContext) -> None:
        pass

    def learning_rate(self, ctx: TrainContext) -> float | None:
        return None

    def loss(self, ctx: TrainContext, batch: Batch) -> torch.Tensor | None:
        return None

    def after_step(self, ctx: TrainContext, batch: Batch) -> None:
        pass

    def on_epoch_end(self, ctx: TrainContext, metrics: dict[str, float]) -> None:
        pass

    def finish(self, ctx: TrainContext) -> None:
        pass


def _text(value: Any) -> str:
    return str(value.value) if isinstance(value, Enum) else str(value)


def _fields(method: Method | type[Method]) -> tuple[dataclasses.Field, ...]:
    return dataclasses.fields(method.Args)


def describe_args(cls: type[Method]) -> str:
    """``name: type = default (help)`` for every argument, for error messages and docs."""
    hints = typing.get_type_hints(cls.Args)
    parts = []
    for f in _fields(cls):
        kind = hints[f.name]
        name = "|".join(m.value for m in kind) if issubclass(kind, Enum) else kind.__name__
        default = f.default.value if isinstance(f.default, Enum) else f.default
        parts.append(f"{f.name}: {name} = {default} ({f.metadata.get('help', '')})")
    return "; ".join(parts) if parts else "none"


def _convert(cls: type[Method], f: dataclasses.Field, kind: type, text: str) -> Any:
    where = f"method {cls.name!r} argument {f.name}"
    if kind is bool:
        if text.lower() in TRUE:
            return True
        if text.lower() in FALSE:
            return False
        raise ConfigError(f"{where}: expected true or false, got {text!r}")
    if kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            raise ConfigError(f"{where}: expected {kind.__name__}, got {text!r}") from None
    if issubclass(kind, Enum):
        try:
            return kind(text)
        except ValueError:
            valid = [m.value for m in kind]
            raise ConfigError(f"{where}: expected one of {valid}, got {text!r}") from None
    return text


def parse_args(cls: type[Method], items: list[str]) -> Any:
    """The ``Args`` of ``cls`` from ``k=v`` strings."""
    hints = typing.get_type_hints(cls.Args)
    by_name = {f.name: f for f in _fields(cls)}
    values: dict[str, Any] = {}
    for item in items:
        key, sep, text = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise ConfigError(f"method {cls.name!r}: expected k=v, got {item!r}")
        if key not in by_name and not by_name:
            raise ConfigError(f"method {cls.name!r} takes no arguments, got {key!r}")
        if key not in by_name:
            raise ConfigError(
                f"method {cls.name!r} has no argument {key!r}; valid: {describe_args(cls)}"
            )
        values[key] = _convert(cls, by_name[key], hints[key], text.strip())
    try:
        return cls.Args(**values)
    except ValueError as exc:
        raise ConfigError(f"method {cls.name!r}: {exc}") from None


def check(condition: bool, method: str, message: str) -> None:
    """Raise a ConfigError ``method NAME: message`` unless ``condition`` holds."""
    if not condition:
        raise ConfigError(f"method {method!r}: {message}")


def check_composition(methods: Sequence[Method]) -> tuple[Method, ...]:
    """Reject duplicates, two methods in one slot, and binary-only methods with ``fp``."""
    names = [m.name for m in methods]
    for name in set(names):
        if names.count(name) > 1:
            raise ConfigError(f"training method {name!r} given twice")
    slots: dict[Slot, str] = {}
    for method in methods:
        if method.slot is None:
            continue
        if method.slot in slots:
            raise ConfigError(
                f"training methods {slots[method.slot]!r} and {method.name!r} both set the "
                f"{method.slot.value}; choose one"
            )
        slots[method.slot] = method.name
    if Slot.PRECISION in slots:
        binary_only = [m.name for m in methods if not m.float_ok]
        if binary_only:
            raise ConfigError(
                f"the full-precision baseline 'fp' has no binary weights or signs for "
                f"{binary_only}; it composes only with bn and two_stage"
            )
    return tuple(methods)
