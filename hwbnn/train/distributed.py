"""Data-parallel training under ``torchrun`` (torch.distributed, DistributedDataParallel).

``torchrun --nproc-per-node N --no-python hwbnn train ...`` starts N copies of ``hwbnn train``;
each finds ``WORLD_SIZE``/``RANK`` in its environment (:func:`from_env`) and joins one process
group (gloo: the trainer runs on the CPU). Every process builds the same model from the seed,
and one epoch is the same sequence of global batches as in one process:

- **Data.** :class:`torch.utils.data.DistributedSampler` with the run's seed shuffles the
  training set (``randperm`` seeded ``seed + epoch``, the same on every rank) and gives rank
  ``r`` the positions ``r, r + N, r + 2N, ...``. Its padding (repeated samples that even out the
  ranks) is dropped, so each sample is seen once per epoch. ``--batch-size B`` stays the global
  batch: rank ``r`` takes ``B / N`` consecutive samples of its share, and the N shares of step
  ``k`` are exactly positions ``kB .. kB + B - 1`` of the permutation.
- **Loss.** Rank ``r`` scales its loss by ``N n_r / n`` (``n_r`` its samples, ``n`` the global
  batch); DDP averages the gradients over the N ranks, so the gradient is that of the global
  batch mean ``sum_r (n_r / n) L_r``, also for an uneven last batch. Extra trainable tensors of
  a method (outside the model) have their gradients averaged the same way.
- **BatchNorm.** ``torch.nn.SyncBatchNorm`` refuses CPU tensors, so in a training step every
  ``BatchNorm1d/2d`` computes its batch mean and biased variance over the global batch with two
  differentiable sums (:class:`_SumOverRanks`: an all-reduce forward whose backward all-reduces
  the gradients), ``y = gamma (x - mu) / sqrt(var + eps) + beta`` as in Ioffe and Szegedy 2015,
  and updates its running statistics with the unbiased variance as torch does. A method's own
  forward outside the step (bwnh's hashing, the same samples on every rank) stays local.

So the weights after an epoch equal those of one process with the same global batch up to float
rounding (sums in another order); tests/train/test_distributed.py measures the difference.
Rounding matters where a pre-activation ties a sign's threshold: torch's BatchNorm kernel can
give ``-1e-16`` for an integer pre-activation equal to its batch mean (float64: 1 of 22 such
ties in a trial), where the sums here give exactly 0 (sign +1); from such a tie the two runs
diverge (bwnh's hashed weights make ties common).
Within the first epoch the shuffle is the one-process trainer's (its generator's first
``randperm`` is ``randperm`` seeded ``seed``); later epochs reseed ``seed + epoch``, a different
permutation than the one-process trainer's next draw. A last batch of fewer than N samples (one
rank would have none) is skipped.

Brevitas' TorchScript JIT does not go through DDP: :func:`start` sets ``BREVITAS_JIT=0`` before
Brevitas is imported. Rank 0 alone writes the checkpoint, metrics and plots
(:func:`is_main_process`); the checkpoint is the unwrapped module's. Methods whose state is
per-process and cannot be kept equal are refused in one line at start (:data:`REFUSED`), and so
is any method this module does not list as checked (:data:`CHECKED`).
"""

from __future__ import annotations

import contextlib
import os
import sys
import types
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, cast

import torch
from torch import nn

from hwbnn.errors import ConfigError

#: methods that run the same under torchrun as in one process: their state is a function of the
#: (identical) weights, the epoch and the step, or of the global batch
CHECKED = frozenset(
    {
        "ste",
        "approxsign",
        "swishsign",
        "xnor",
        "xnorpp",
        "binaryrelax",
        "admm",
        "wq_loss",
        "projection_loss",
        "distill",
        "bn",
        "two_stage",
        "bwnh",
        "cbcn",
        "dbf",
        "fp",
    }
)

#: (method, when it cannot be distributed, why) for the checked methods with such a case
REFUSED: tuple[tuple[str, Callable[[Any], bool], str], ...] = (
    (
        "projection_loss",
        lambda args: args.center > 0,
        "its class centres are updated from each process's own features",
    ),
    (
        "distill",
        lambda args: args.adversarial,
        "its discriminators are trained by their own optimizer on each process's features",
    ),
    ("bn", lambda args: args.variant.value == "center", "its mean is of each process's batch"),
    (
        "distribution_loss",
        lambda args: True,
        "its per-channel statistics would be of each process's share of the batch",
    ),
)


@dataclass
class Distributed:
    """This process's place in a torchrun job; see the module docstring."""

    rank: int
    world_size: int
    group: Any = None  # the process group of the BatchNorm sums (not DDP's own)
    in_step: bool = False  # inside a training step's forward (BatchNorm over the ranks)

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def check(self, methods: Sequence[Any], batch_size: int) -> None:
        """One-line ConfigError for what cannot be distributed."""
        if batch_size % self.world_size:
            raise ConfigError(
                f"--batch-size {batch_size} is the global batch under torchrun; it must divide "
                f"by the {self.world_size} processes"
            )
        for method in methods:
            refused = [why for name, when, why in REFUSED if name == method.name]
            if method.name in CHECKED and not any(
                when(method.args) for name, when, _ in REFUSED if name == method.name
            ):
                continue
            why = refused[0] if refused else "it has not been checked under torchrun"
            raise ConfigError(
                f"method {method.describe()} cannot be distributed ({why}; "
                f"hwbnn/train/distributed.py); train it in one process"
            )

    def wrap(self, model: nn.Module) -> nn.Module:
        """Global-batch BatchNorm on ``model`` and the DDP module that trains it. The
        statistics are global only in the training step's forward (:class:`_Step`); a method's
        own forward of the same samples on every rank (bwnh's hashing) stays local."""
        for module in model.modules():
            if isinstance(module, nn.modules.batchnorm._BatchNorm):
                forward = types.MethodType(_global_batch_norm(self), module)
                module.forward = forward  # type: ignore[method-assign]  # this instance only
        # buffers are equal on every rank (global statistics): nothing to broadcast
        return nn.parallel.DistributedDataParallel(_Step(model, self), forward_sync_buffers=False)

    @staticmethod
    def unwrap(model: nn.Module) -> None:
        """Give ``model``'s BatchNorms back their own forward (for evaluation and export)."""
        for module in model.modules():
            if "forward" in vars(module):
                del module.forward

    def batches(
        self, n: int, batch_size: int, epoch: int, seed: int
    ) -> list[tuple[torch.Tensor, int]]:
        """This rank's indices of each global batch of an epoch, with the global batch size."""
        from torch.utils.data import Dataset, DistributedSampler

        indices = cast("Dataset[int]", range(n))  # a sampler needs only the length
        sampler: DistributedSampler[int] = DistributedSampler(
            indices, num_replicas=self.world_size, rank=self.rank, shuffle=True, seed=seed
        )
        sampler.set_epoch(epoch)
        mine = torch.tensor(list(sampler), dtype=torch.long)[
            : len(range(self.rank, n, self.world_size))
        ]
        local = batch_size // self.world_size
        out = []
        for k, start in enumerate(range(0, n, batch_size)):
            size = min(batch_size, n - start)
            if size >= self.world_size:  # every rank has a sample (module docstring)
                out.append((mine[k * local : (k + 1) * local], size))
        return out

    def loss_scale(self, local: int, size: int) -> float:
        """``N n_r / n``: DDP's average of the scaled losses is the global batch mean."""
        return self.world_size * local / size

    def average_gradients(self, params: Sequence[torch.Tensor]) -> None:
        """Average the gradients of tensors DDP does not own (a method's extra parameters)."""
        import torch.distributed as dist

        for p in params:
            if p.grad is not None:
                dist.all_reduce(p.grad, group=self.group)
                p.grad /= self.world_size

    def sum(self, *values: float) -> tuple[float, ...]:
        """Each value summed over the ranks (the epoch's loss and correct counts)."""
        import torch.distributed as dist

        total = torch.tensor(values, dtype=torch.float64)
        dist.all_reduce(total, group=self.group)
        return tuple(float(v) for v in total)


class _SumOverRanks(torch.autograd.Function):
    """``sum_r x_r`` on every rank; its gradient is again the sum over the ranks of the
    output's gradients (each rank's loss depends on every rank's share of the sum)."""

    @staticmethod
    def forward(ctx: Any, x: torch.Tensor, group: Any) -> torch.Tensor:
        import torch.distributed as dist

        ctx.group = group
        total = x.clone()
        dist.all_reduce(total, group=group)
        return total

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor, None]:
        return _SumOverRanks.apply(grad.contiguous(), ctx.group), None


class _Step(nn.Module):
    """The model as DDP runs it in a training step: its BatchNorms use global statistics."""

    def __init__(self, model: nn.Module, job: Distributed) -> None:
        super().__init__()
        self.model = model
        self.job = job

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.job.in_step = True
        try:
            out: torch.Tensor = self.model(x)
        finally:
            self.job.in_step = False
        return out


def _global_batch_norm(job: Distributed) -> Callable[[nn.Module, torch.Tensor], torch.Tensor]:
    """A BatchNorm forward whose training-step statistics are of the global batch."""

    def total(x: torch.Tensor) -> torch.Tensor:
        out: torch.Tensor = _SumOverRanks.apply(x, job.group)
        return out

    def forward(self: Any, x: torch.Tensor) -> torch.Tensor:
        if not (self.training and job.in_step):
            return type(self).forward(self, x)
        dims = [0, *range(2, x.dim())]
        shape = [1, -1] + [1] * (x.dim() - 2)
        sums = total(torch.cat([x.sum(dims), x.new_tensor([x.numel() // x.shape[1]])]))
        count = sums[-1]
        mean = sums[:-1] / count
        var = total(((x - mean.view(shape)) ** 2).sum(dims)) / count
        y = (x - mean.view(shape)) / torch.sqrt(var.view(shape) + self.eps)
        if self.affine:
            y = y * self.weight.view(shape) + self.bias.view(shape)
        if self.track_running_stats:
            with torch.no_grad():
                self.num_batches_tracked += 1
                momentum = self.momentum
                if momentum is None:  # cumulative average, as torch
                    momentum = 1.0 / float(self.num_batches_tracked)
                unbiased = var * count / (count - 1)
                self.running_mean.mul_(1 - momentum).add_(momentum * mean)
                self.running_var.mul_(1 - momentum).add_(momentum * unbiased)
        return y

    return forward


_ACTIVE: Distributed | None = None


def from_env() -> tuple[int, int] | None:
    """(rank, world size) set by torchrun, or None for one process."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    return (int(os.environ.get("RANK", "0")), world) if world > 1 else None


def active() -> Distributed | None:
    """The torchrun job this process trains in (between :func:`start` and :func:`stop`).

    Raises:
        ConfigError: under torchrun without :func:`start` (e.g. ``hwbnn run``), where every
            process would train alone and write the same files.
    """
    if _ACTIVE is None and from_env() is not None:
        raise ConfigError(
            "under torchrun only `hwbnn train` trains data-parallel (hwbnn/train/distributed.py); "
            "run this command in one process"
        )
    return _ACTIVE


def is_main_process() -> bool:
    """True in one process and on rank 0: the process that writes files and prints."""
    return _ACTIVE is None or _ACTIVE.is_main


def start() -> Distributed | None:
    """Join the torchrun job of the environment (None: one process, nothing to do)."""
    global _ACTIVE
    place = from_env()
    if place is None:
        return None
    os.environ["BREVITAS_JIT"] = "0"  # Brevitas reads it when imported
    config = sys.modules.get("brevitas.config")
    if config is not None and getattr(config, "JIT_ENABLED", False):
        raise ConfigError(
            "Brevitas was imported with BREVITAS_JIT=1, whose TorchScript modules do not go "
            "through DistributedDataParallel; unset BREVITAS_JIT"
        )
    import torch.distributed as dist

    if not dist.is_initialized():
        dist.init_process_group(backend="gloo")  # the trainer runs on the CPU
    _ACTIVE = Distributed(place[0], place[1], dist.new_group(backend="gloo"))
    return _ACTIVE


def stop() -> None:
    global _ACTIVE
    import torch.distributed as dist

    _ACTIVE = None
    if dist.is_initialized():
        dist.destroy_process_group()


@contextlib.contextmanager
def session() -> Iterator[Distributed | None]:
    """:func:`start` ... :func:`stop` around a training command."""
    try:
        yield start()
    finally:
        if _ACTIVE is not None:
            stop()
