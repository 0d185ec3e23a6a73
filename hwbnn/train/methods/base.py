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

Every hook is a no-op by default. ``slot`` names what a method controls exclusively (at most one
method per slot); ``float_ok`` says whether it makes sense on the full-precision baseline.
"""

from __future__ import annotations

import dataclasses
import typing
from dataclasses import dataclass, field
from typing import Any, ClassVar

import torch
from torch import nn

from hwbnn.errors import ConfigError

TRUE = ("1", "true", "yes", "on")
FALSE = ("0", "false", "no", "off")


def arg(default: Any, help: str, choices: tuple[str, ...] | None = None) -> Any:
    """A documented method argument (a dataclass field with help text and optional choices)."""
    return field(default=default, metadata={"help": help, "choices": choices})


@dataclass
class Batch:
    """One training step's inputs, labels and logits."""

    x: torch.Tensor
    y: torch.Tensor
    logits: torch.Tensor


@dataclass
class TrainContext:
    """What the hooks see: the model, the data, the position in training and the knobs that
    methods may turn (``clip_weights``, ``ce_weight``)."""

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

    @property
    def total_steps(self) -> int:
        return self.epochs * self.steps_per_epoch


class Method:
    """Base class of the training methods; see the module docstring."""

    name: ClassVar[str] = ""
    summary: ClassVar[str] = ""
    slot: ClassVar[str | None] = None
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
        values = ", ".join(f"{f.name}={getattr(self.args, f.name)}" for f in _fields(self))
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


def _fields(method: Method | type[Method]) -> tuple[dataclasses.Field, ...]:
    return dataclasses.fields(method.Args)


def describe_args(cls: type[Method]) -> str:
    """``name: type = default (help)`` for every argument, for error messages and docs."""
    hints = typing.get_type_hints(cls.Args)
    parts = []
    for f in _fields(cls):
        kind = hints[f.name].__name__
        choices = f.metadata.get("choices")
        if choices:
            kind = "|".join(choices)
        parts.append(f"{f.name}: {kind} = {f.default} ({f.metadata.get('help', '')})")
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
    choices = f.metadata.get("choices")
    if choices and text not in choices:
        raise ConfigError(f"{where}: expected one of {list(choices)}, got {text!r}")
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
