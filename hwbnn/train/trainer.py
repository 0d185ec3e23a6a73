"""The trainer: Adam on cross-entropy with clipped latent weights (Courbariaux et al. 2016).

After every optimizer step the latent float weights of binary layers are clipped to [-1, 1], so
the clipped straight-through estimator keeps passing gradient to them. The learning rate follows
a cosine schedule from ``lr`` to ``lr / 100``. Training is deterministic for a given seed.

``TrainConfig.methods`` adds training methods from the literature (:mod:`hwbnn.train.methods`):
their hooks run in the given order around this loop (model options, losses, schedules, weight
transforms); with no methods the loop is the plain one above.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from tqdm import tqdm

from hwbnn.data import Dataset
from hwbnn.nn import BinaryNet, ModelConfig, build_model
from hwbnn.train import distributed
from hwbnn.train.methods.base import Batch, Method, TrainContext, check_composition
from hwbnn.train.methods.hooks import clip_binary_weights


@dataclass(frozen=True)
class TrainConfig:
    epochs: int = 30
    seed: int = 0
    batch_size: int = 64
    lr: float = 0.01
    weight_decay: float = 0.0
    progress: bool = True
    methods: tuple[Method, ...] = ()  # training methods (hwbnn.train.methods), in order


@dataclass
class TrainResult:
    model: BinaryNet
    history: list[dict[str, float]] = field(default_factory=list)
    methods: list[str] = field(default_factory=list)

    @property
    def test_accuracy(self) -> float:
        return self.history[-1]["test_accuracy"] if self.history else float("nan")


def predict(model: nn.Module, x: np.ndarray, batch_size: int = 1024) -> np.ndarray:
    """Logits of ``model`` (in eval mode) for float images ``x``."""
    model.eval()
    out = []
    with torch.no_grad():
        for start in range(0, len(x), batch_size):
            out.append(model(torch.from_numpy(x[start : start + batch_size])).numpy())
    return np.concatenate(out)


def accuracy(model: nn.Module, x: np.ndarray, y: np.ndarray) -> float:
    return float(np.mean(predict(model, x).argmax(axis=1) == y))


def train(config: ModelConfig, data: Dataset, cfg: TrainConfig) -> TrainResult:
    """Train a fresh model of ``config`` on ``data``; returns the model and per-epoch metrics."""
    if cfg.epochs < 1:
        raise ValueError(f"epochs must be >= 1, got {cfg.epochs}")
    methods = check_composition(cfg.methods)
    dist = distributed.active()  # under torchrun (hwbnn.train.distributed), else None
    if dist is not None:
        dist.check(methods, cfg.batch_size)
    torch.manual_seed(cfg.seed)
    x_train, y_train = data.require_train()
    for method in methods:
        config = method.configure(config)
    model = build_model(config)
    steps_per_epoch = (len(x_train) + cfg.batch_size - 1) // cfg.batch_size
    ctx = TrainContext(model, config, data, cfg, cfg.epochs, steps_per_epoch)
    ctx.train_model = lambda sub_config, sub_cfg: train(sub_config, data, sub_cfg).model
    for method in methods:
        method.setup(ctx)
    extra = [p for m in methods for p in m.parameters()]
    params = list(model.parameters()) + extra
    net = model if dist is None else dist.wrap(model)
    optimizer = torch.optim.Adam(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(
        optimizer, T_max=cfg.epochs * steps_per_epoch, eta_min=cfg.lr / 100
    )
    xt = torch.from_numpy(x_train)
    yt = torch.from_numpy(y_train)
    generator = torch.Generator().manual_seed(cfg.seed)
    loss_fn = nn.CrossEntropyLoss()
    result = TrainResult(model, methods=[m.describe() for m in methods])
    show = cfg.progress and distributed.is_main_process()
    bar = tqdm(range(cfg.epochs), desc="train", unit="epoch", disable=not show)
    for epoch in bar:
        ctx.epoch = epoch
        for method in methods:
            method.on_epoch_start(ctx)
        model.train()
        if dist is None:
            order = torch.randperm(len(xt), generator=generator)
            starts = range(0, len(order), cfg.batch_size)
            batches = [
                (order[s : s + cfg.batch_size], min(cfg.batch_size, len(xt) - s)) for s in starts
            ]
        else:  # this rank's share of each global batch
            batches = dist.batches(len(xt), cfg.batch_size, epoch, cfg.seed)
        total_loss, correct = 0.0, 0
        for idx, size in batches:
            if size < 2:  # BatchNorm needs two samples
                continue
            logits = net(xt[idx])
            loss = loss_fn(logits, yt[idx])
            batch = Batch(xt[idx], yt[idx], logits)
            if ctx.ce_weight != 1.0:
                loss = ctx.ce_weight * loss
            for method in methods:
                term = method.loss(ctx, batch)
                if term is not None:
                    loss = loss + term
            optimizer.zero_grad()
            if dist is None:
                loss.backward()
            else:
                (loss * dist.loss_scale(len(idx), size)).backward()
                dist.average_gradients(extra)
            rate = next((r for r in (m.learning_rate(ctx) for m in methods) if r is not None), None)
            if rate is not None:  # a method owns the learning rate (check_composition: one)
                for group in optimizer.param_groups:
                    group["lr"] = rate
            optimizer.step()
            if rate is None:
                schedule.step()
            if ctx.clip_weights:
                clip_binary_weights(model)
            for method in methods:
                method.after_step(ctx, batch)
            ctx.step += 1
            total_loss += loss.item() * len(idx)
            correct += int((logits.argmax(1) == yt[idx]).sum())
        if dist is not None:  # the whole training set's figures, on every rank
            total_loss, hits = dist.sum(total_loss, correct)
            correct = int(hits)
        metrics = {
            "epoch": epoch + 1,
            "train_loss": total_loss / len(xt),
            "train_accuracy": correct / len(xt),
            "test_accuracy": accuracy(model, data.x_test, data.y_test),
        }
        for method in methods:
            method.on_epoch_end(ctx, metrics)
        result.history.append(metrics)
        bar.set_postfix(loss=f"{metrics['train_loss']:.3f}", test=f"{metrics['test_accuracy']:.3f}")
    if dist is not None:
        dist.unwrap(model)  # the plain module is evaluated, saved and exported
    for method in methods:
        method.finish(ctx)
    if methods:  # the deployable model after the methods' training-only changes are undone
        result.history[-1]["test_accuracy"] = accuracy(model, data.x_test, data.y_test)
    model.eval()
    return result


def write_metrics(out: Path, result: TrainResult, extra: dict[str, Any]) -> Path:
    """DIR/metrics.json: per-epoch history plus the final test_accuracy."""
    path = out / "metrics.json"
    payload = {"test_accuracy": result.test_accuracy, "epochs": result.history, **extra}
    if result.methods:
        payload["methods"] = result.methods
    path.write_text(json.dumps(payload, indent=2) + "\n")
    return path


def plot_learning_curve(out: Path, result: TrainResult) -> Path:
    """DIR/learning_curve.png: training loss and train/test accuracy per epoch."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    epochs = [m["epoch"] for m in result.history]
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(9, 3.5))
    ax_loss.plot(epochs, [m["train_loss"] for m in result.history])
    ax_loss.set(xlabel="epoch", ylabel="training loss", title="loss")
    ax_acc.plot(epochs, [m["train_accuracy"] for m in result.history], label="train")
    ax_acc.plot(epochs, [m["test_accuracy"] for m in result.history], label="test")
    ax_acc.set(xlabel="epoch", ylabel="accuracy", title="accuracy", ylim=(0, 1))
    ax_acc.legend()
    fig.tight_layout()
    path = out / "learning_curve.png"
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
