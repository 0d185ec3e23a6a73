"""Knowledge distillation from a full-precision teacher (Hinton, Vinyals and Dean, "Distilling
the Knowledge in a Neural Network", 2015), with RBCN's adversarial discriminators as an option
(Liu et al., "RBCN: Rectified Binary Convolutional Networks", IJCAI 2019).

- teacher: the full-precision model of the same topology (``fp``), trained first for
  ``teacher_epochs`` with the same seed and data, or loaded from ``teacher=PATH`` (a checkpoint),
- loss: ``(1 - alpha) CE(z_s, y) + alpha T^2 KL(softmax(z_t / T) || softmax(z_s / T))``,
- adversarial (``adversarial=true``): one discriminator ``D_l`` per hidden layer, an MLP
  ``Linear(h, 64) - LeakyReLU(0.2) - Linear(64, 1)`` on the pre-activations, trained (Adam,
  ``disc_lr``) to tell teacher from student, ``L_D = BCE(D(t), 1) + BCE(D(s), 0)``; the student
  adds ``adv_weight * sum_l BCE(D_l(s_l), 1)`` (it learns to produce teacher-like features).

Training-only: the exported graph is the baseline's.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import torch
from torch import nn
from torch.nn import functional as F

from hwbnn.errors import ConfigError
from hwbnn.nn.mlp import Scaling
from hwbnn.train.checkpoint import load_checkpoint
from hwbnn.train.methods.base import Batch, Method, TrainContext, arg, check
from hwbnn.train.methods.fp import FullPrecision
from hwbnn.train.methods.hooks import activation_modules, capture_inputs


def kd_loss(student: torch.Tensor, teacher: torch.Tensor, temperature: float) -> torch.Tensor:
    """``T^2 KL(softmax(teacher / T) || softmax(student / T))``, mean over the batch."""
    log_p_s = F.log_softmax(student / temperature, dim=1)
    log_p_t = F.log_softmax(teacher / temperature, dim=1)
    kl = (log_p_t.exp() * (log_p_t - log_p_s)).sum(dim=1).mean()
    return temperature**2 * kl


def discriminator(width: int) -> nn.Module:
    return nn.Sequential(nn.Linear(width, 64), nn.LeakyReLU(0.2), nn.Linear(64, 1))


class Distill(Method):
    name = "distill"
    summary = "knowledge distillation from a full-precision teacher (+ RBCN discriminators)"

    @dataclass(frozen=True)
    class Args:
        alpha: float = arg(0.5, "weight of the distillation term (CE gets 1 - alpha)")
        temperature: float = arg(4.0, "softmax temperature T")
        teacher_epochs: int = arg(0, "epochs of teacher training (0: as many as the student)")
        teacher: str = arg("", "checkpoint of a trained teacher (instead of training one)")
        adversarial: bool = arg(False, "add RBCN's per-layer discriminators")
        adv_weight: float = arg(0.1, "weight of the student's adversarial loss")
        disc_lr: float = arg(1e-3, "learning rate of the discriminators")

    def __init__(self, args: Args | None = None) -> None:
        super().__init__(args)
        a = self.args
        check(0 <= a.alpha <= 1, self.name, f"alpha must be in [0, 1], got {a.alpha}")
        check(a.temperature > 0 and a.teacher_epochs >= 0, self.name, "bad temperature/epochs")
        check(a.adv_weight >= 0 and a.disc_lr > 0, self.name, "bad adv_weight/disc_lr")
        self._student: list[torch.Tensor] = []
        self._teacher: list[torch.Tensor] = []

    def _teacher_model(self, ctx: TrainContext) -> nn.Module:
        if self.args.teacher:
            model, _ = load_checkpoint(Path(self.args.teacher))
            return model
        check(hasattr(ctx.config, "precision"), self.name, "cannot build a teacher for this model")
        if ctx.train_model is None:
            raise ConfigError("method 'distill': a teacher is trained only inside train()")
        cfg = replace(
            ctx.train_config,
            epochs=self.args.teacher_epochs or ctx.epochs,
            methods=(FullPrecision(),),
        )
        return ctx.train_model(replace(ctx.config, scaling=Scaling.NONE), cfg)

    def setup(self, ctx: TrainContext) -> None:
        rng = torch.get_rng_state()
        self.teacher = self._teacher_model(ctx).eval()
        torch.set_rng_state(rng)  # the student starts as it would without a teacher
        for p in self.teacher.parameters():
            p.requires_grad_(False)
        ctx.ce_weight = 1.0 - self.args.alpha
        self.discriminators: list[nn.Module] = []
        if self.args.adversarial:
            student = activation_modules(ctx.model, self.name)
            teacher = activation_modules(self.teacher, self.name)
            if len(student) != len(teacher):
                raise ConfigError(
                    f"method 'distill': teacher has {len(teacher)} hidden layers, student "
                    f"{len(student)}; adversarial distillation needs the same topology"
                )
            capture_inputs(student, self._student)
            capture_inputs(teacher, self._teacher)
            self.teacher.train()  # capture its features; BatchNorm uses running stats below
            for m in self.teacher.modules():
                if isinstance(m, nn.modules.batchnorm._BatchNorm):
                    m.eval()
            widths = [int(w.shape[1]) for w in self._probe_widths(ctx)]
            self.discriminators = [discriminator(w) for w in widths]
            params = [p for d in self.discriminators for p in d.parameters()]
            self.disc_optimizer = torch.optim.Adam(params, lr=self.args.disc_lr)

    def _probe_widths(self, ctx: TrainContext) -> list[torch.Tensor]:
        with torch.no_grad():
            self.teacher(torch.from_numpy(ctx.data.x_test[:2]))
        widths, self._teacher[:] = list(self._teacher), []
        return widths

    def loss(self, ctx: TrainContext, batch: Batch) -> torch.Tensor | None:
        with torch.no_grad():
            teacher_logits = self.teacher(batch.x)
        total = self.args.alpha * kd_loss(batch.logits, teacher_logits, self.args.temperature)
        if self.discriminators:
            real = torch.ones(len(batch.x), 1)
            for d, s in zip(self.discriminators, self._student, strict=True):
                total = total + self.args.adv_weight * F.binary_cross_entropy_with_logits(
                    d(s), real
                )
        return total

    def after_step(self, ctx: TrainContext, batch: Batch) -> None:
        if not self.discriminators:
            return
        real = torch.ones(len(batch.x), 1)
        fake = torch.zeros(len(batch.x), 1)
        losses = [
            F.binary_cross_entropy_with_logits(d(t.detach()), real)
            + F.binary_cross_entropy_with_logits(d(s.detach()), fake)
            for d, t, s in zip(self.discriminators, self._teacher, self._student, strict=True)
        ]
        self.disc_optimizer.zero_grad()
        torch.stack(losses).sum().backward()
        self.disc_optimizer.step()
        self._student.clear()
        self._teacher.clear()
