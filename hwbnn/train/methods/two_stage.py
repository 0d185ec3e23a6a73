"""Two-stage schedule after Alizadeh, Fernandez-Marques, Lane and Gal ("A Systematic Study of
Binary Neural Networks' Optimisation", ICLR 2019): early in training, clipping the latent
weights and a small learning rate slow BNNs down; late, they help.

- stage 1 (from epoch 0): no weight clipping, constant learning rate ``lr * lr_factor``,
- switch: after the first epoch ``e`` whose training loss has not improved on the best so far by
  more than ``min_delta * best`` for ``patience`` epochs in a row (a plateau), and at the latest
  after ``max_fraction * epochs`` epochs,
- stage 2 (the remaining ``R`` epochs, ``S = R * steps_per_epoch`` steps): the latent weights
  are clipped to [-1, 1] at once and after every step, and the learning rate follows the cosine
  ``lr_k = lr/100 + (lr - lr/100) (1 + cos(pi k / S)) / 2`` for step ``k = 0 .. S-1`` of stage 2.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from hwbnn.train.methods.base import Method, Slot, TrainContext, arg, check
from hwbnn.train.methods.hooks import clip_binary_weights


class TwoStage(Method):
    name = "two_stage"
    summary = "Alizadeh et al.: no clipping + high lr, then clipping + lower lr after a plateau"
    slot = Slot.LR
    float_ok = True

    @dataclass(frozen=True)
    class Args:
        lr_factor: float = arg(3.0, "stage-1 learning rate as a multiple of --lr")
        patience: int = arg(2, "epochs without improvement that make a plateau")
        min_delta: float = arg(0.01, "relative improvement of the training loss that counts")
        max_fraction: float = arg(0.6, "latest switch, as a fraction of the epochs")

    def __init__(self, args: Args | None = None) -> None:
        super().__init__(args)
        a = self.args
        check(a.lr_factor > 0 and a.patience >= 1, self.name, "needs lr_factor > 0, patience >= 1")
        check(a.min_delta >= 0, self.name, "min_delta must be >= 0")
        check(0 < a.max_fraction <= 1, self.name, "max_fraction must be in (0, 1]")
        self.stage = 1
        self.switch_step: int | None = None
        self.best = math.inf
        self.stale = 0

    def setup(self, ctx: TrainContext) -> None:
        ctx.clip_weights = False

    def plateau(self, loss: float) -> bool:
        """Record one epoch's training loss; True once it has stalled ``patience`` epochs."""
        if loss < self.best * (1.0 - self.args.min_delta):
            self.best, self.stale = loss, 0
        else:
            self.stale += 1
        return self.stale >= self.args.patience

    def on_epoch_end(self, ctx: TrainContext, metrics: dict[str, float]) -> None:
        if self.stage != 1:
            return
        done = ctx.epoch + 1
        latest = max(1, math.floor(self.args.max_fraction * ctx.epochs))
        if self.plateau(metrics["train_loss"]) or done >= latest:
            self.start_stage_two(ctx, ctx.step)

    def start_stage_two(self, ctx: TrainContext, step: int) -> None:
        self.stage, self.switch_step = 2, step
        ctx.clip_weights = True
        clip_binary_weights(ctx.model)

    def learning_rate(self, ctx: TrainContext) -> float | None:
        lr = ctx.train_config.lr
        if self.stage == 1 or self.switch_step is None:
            return lr * self.args.lr_factor
        span = max(1, ctx.total_steps - self.switch_step)
        k = min(max(ctx.step - self.switch_step, 0), span - 1)
        low = lr / 100
        return low + (lr - low) * (1 + math.cos(math.pi * k / span)) / 2
