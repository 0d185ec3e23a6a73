"""The search loop: alternating weight and architecture steps, the scheduled reductions, a
checkpoint after every epoch, and the genotype at the end (``S/genotype.json`` and a picture of
its cells, ``S/cells.png``: :func:`hwbnn.report.cell_plot.plot_genotype`).

Data: the training split of the data set, shuffled once by the seed and cut into a training
part (weights) and a validation part (architecture, sampled accuracies), as DARTS does; the
test split is never read. Every epoch visits the training part in batches (an order drawn
from ``(seed, epoch)``), each batch a first-order DARTS architecture step on the next
validation batch then a weight step. After the epochs of the schedule
(:func:`hwbnn.search.reduce.abandon_epochs`) sub-networks are sampled (a generator seeded by
``(seed, epoch)``): ``sample_rounds`` (T) rounds, each trying every operation of the
searcher's sampled set once per edge; each sampled network is trained for one epoch on the
training part (the shared weights, the weight optimiser, a batch order drawn from ``(seed,
epoch)``), then evaluated on the whole validation part, and every edge abandons one
operation. Accuracies are measured with batch statistics (a sampled sub-network's BN
statistics differ from the supernet's running ones), the running statistics left as they were.

Checkpoint: ``S/search_state.pt`` after every epoch, written to a temporary file and renamed
(a kill leaves the previous epoch's whole), holding the configuration, the epoch, every
module's state, the optimisers, the history and the elapsed time. A search started with the
same configuration resumes from it; every random draw depends only on the seed and the epoch,
so a resumed search ends with the genotype of an uninterrupted one.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable, Iterator
from itertools import accumulate, pairwise
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from tqdm import tqdm

from hwbnn.data.datasets import load_dataset
from hwbnn.errors import ConfigError, DataError
from hwbnn.nn.genotype import OPS, CellKind, Genotype
from hwbnn.report.cell_plot import plot_genotype
from hwbnn.search.bnas import BnasSearch
from hwbnn.search.config import Method, SearchConfig
from hwbnn.search.cost import cost_table, genotype_luts
from hwbnn.search.cpnas import CpnasSearch
from hwbnn.search.derive import derive_genotype, remaining_ops
from hwbnn.search.reduce import abandon, credit, sample_plan, with_hardware
from hwbnn.search.supernet import Sample

STATE_FILE = "search_state.pt"
STATE_FORMAT = "hwbnn-search-state/2"  # 2: BNAS' selection likelihood


def split(cfg: SearchConfig, data_dir: Path | None) -> tuple[torch.Tensor, ...]:
    """(x_train, y_train, x_val, y_val) from the data set's training split."""
    data = load_dataset(cfg.dataset, data_dir)
    x, y = data.require_train()
    order = np.random.default_rng(cfg.seed).permutation(len(x))
    n_val = int(round(len(x) * cfg.val_fraction))
    if n_val < 2 or len(x) - n_val < 2:
        raise DataError(f"{cfg.dataset}: too few training images ({len(x)}) to search")
    val, train = order[:n_val], order[n_val:]
    return (
        torch.from_numpy(x[train]),
        torch.from_numpy(y[train]),
        torch.from_numpy(x[val]),
        torch.from_numpy(y[val]),
    )


@contextlib.contextmanager
def batch_statistics(modules: list[nn.Module]) -> Iterator[None]:
    """Evaluate with batch statistics (train mode, no gradient), restoring every BN buffer."""
    saved = [
        {k: v.clone() for k, v in m.state_dict().items() if "running" in k or "num_b" in k}
        for m in modules
    ]
    for m in modules:
        m.train()
    try:
        with torch.no_grad():
            yield
    finally:
        for m, buffers in zip(modules, saved, strict=True):
            m.load_state_dict(buffers, strict=False)


def _save(path: Path, state: dict[str, Any]) -> None:
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    torch.save(state, tmp)
    os.replace(tmp, path)


def _load(path: Path, cfg: SearchConfig) -> dict[str, Any]:
    try:
        state = torch.load(path, weights_only=True)
    except Exception as exc:  # noqa: BLE001 - any unreadable file is reported the same way
        raise DataError(f"{path}: cannot read the search checkpoint ({exc}); remove it") from None
    if not isinstance(state, dict) or state.get("format") != STATE_FORMAT:
        raise DataError(f"{path}: not a search checkpoint of this version; remove it")
    saved = state["config"]
    wanted = cfg.to_dict()
    if saved != wanted:
        diff = [f"{k} {saved.get(k)!r} -> {v!r}" for k, v in wanted.items() if saved.get(k) != v]
        raise ConfigError(
            f"{path}: a search with another configuration ({', '.join(diff)}) is saved there; "
            "use another --out, or the same options to resume it"
        )
    return state


def run_search(
    cfg: SearchConfig,
    out: Path,
    data_dir: Path | None = None,
    progress: bool = True,
    on_epoch: Callable[[int], None] | None = None,
) -> Genotype:
    """Search (or resume the search in ``out``) and write ``out/genotype.json``.

    Runs torch on one thread (restored after): the supernet's tensors are tiny, and on a
    shared 2-core machine one thread was ten times faster per step than two.
    """
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return _run(cfg, out, data_dir, progress, on_epoch)
    finally:
        torch.set_num_threads(threads)


def _run(
    cfg: SearchConfig,
    out: Path,
    data_dir: Path | None,
    progress: bool,
    on_epoch: Callable[[int], None] | None,
) -> Genotype:
    out.mkdir(parents=True, exist_ok=True)
    state_path = out / STATE_FILE
    for stale in out.glob(f".{STATE_FILE}.tmp-*"):  # a save that a kill interrupted
        stale.unlink()
    xt, yt, xv, yv = split(cfg, data_dir)
    torch.manual_seed(cfg.seed)
    in_channels, classes = int(xt.shape[1]), int(max(yt.max(), yv.max()) + 1)
    searcher = (CpnasSearch if cfg.method is Method.CPNAS else BnasSearch)(
        cfg, in_channels, classes
    )
    modules = searcher.modules()
    weights_opt = torch.optim.Adam(searcher.weight_parameters(), lr=cfg.lr)
    arch_opt = torch.optim.Adam(
        searcher.arch.parameters(),
        lr=cfg.arch_lr,
        betas=(0.5, 0.999),
        weight_decay=cfg.arch_weight_decay,
    )
    image = (int(xt.shape[2]), int(xt.shape[3]))
    costs = {
        k: torch.from_numpy(v).float()
        for k, v in cost_table(cfg.layout, image, cfg.channels, cfg.steps, cfg.cycles).items()
    }
    start, history, elapsed = 0, [], 0.0
    if state_path.exists():
        state = _load(state_path, cfg)
        for name, module in modules.items():
            module.load_state_dict(state["modules"][name])
        weights_opt.load_state_dict(state["weights_opt"])
        arch_opt.load_state_dict(state["arch_opt"])
        start, history, elapsed = state["epoch"], state["history"], state["elapsed"]
    networks = list(searcher.networks())
    bar = tqdm(
        range(start, cfg.epochs),
        desc=f"search {cfg.method.value}",
        unit="epoch",
        initial=start,
        total=cfg.epochs,
        disable=not progress,
    )
    for epoch in bar:
        began = time.monotonic()
        record = _epoch(
            cfg, searcher, networks, weights_opt, arch_opt, costs, epoch, (xt, yt, xv, yv)
        )
        history.append(record)
        elapsed += time.monotonic() - began
        bar.set_postfix(val=f"{record['val_accuracy']:.3f}", ops=record["ops_per_edge"])
        _save(
            state_path,
            {
                "format": STATE_FORMAT,
                "config": cfg.to_dict(),
                "epoch": epoch + 1,
                "modules": {name: m.state_dict() for name, m in modules.items()},
                "weights_opt": weights_opt.state_dict(),
                "arch_opt": arch_opt.state_dict(),
                "history": history,
                "elapsed": elapsed,
            },
        )
        if on_epoch is not None:
            on_epoch(epoch + 1)
    bar.close()
    arch = searcher.arch
    genotype = derive_genotype(
        {k: arch.op_weights(k).detach().numpy() for k in CellKind},
        {k: arch.edge_weights(k).detach().numpy() for k in CellKind},
        {k: arch.active(k).numpy() for k in CellKind},
        steps=cfg.steps,
        layout=cfg.layout,
        channels=cfg.channels,
        stem_channels=cfg.stem_channels,
    )
    luts = genotype_luts(genotype, image, cfg.cycles)
    record = {
        "method": cfg.method.value,
        "dataset": cfg.dataset,
        "seed": cfg.seed,
        "epochs": cfg.epochs,
        "wall_time_s": round(elapsed, 1),
        "cost_weight": cfg.cost_weight,
        "cycles": cfg.cycles,
        "estimated_cell_luts": luts,
        "supernet_val_accuracy": history[-1]["val_accuracy"] if history else None,
        "config": cfg.to_dict(),
        "reductions": [h["abandoned"] for h in history if h["abandoned"]],
    }
    genotype = Genotype(
        genotype.normal,
        genotype.reduce,
        genotype.layout,
        genotype.channels,
        genotype.stem_channels,
        search=record,
    )
    genotype.save(out / "genotype.json")
    plot_genotype(genotype, out / "cells.png")
    return genotype


def _epoch(
    cfg: SearchConfig,
    searcher: BnasSearch,
    networks: list[nn.Module],
    weights_opt: torch.optim.Optimizer,
    arch_opt: torch.optim.Optimizer,
    costs: dict[CellKind, torch.Tensor],
    epoch: int,
    data: tuple[torch.Tensor, ...],
) -> dict[str, Any]:
    xt, yt, xv, yv = data
    generator = torch.Generator().manual_seed(cfg.seed * 100_003 + epoch)
    order = torch.randperm(len(xt), generator=generator)
    val_order = torch.randperm(len(xv), generator=generator)
    for net in networks:
        net.train()
    seen, loss_sum, correct = 0, 0.0, 0
    for b, s in enumerate(range(0, len(order), cfg.batch_size)):
        idx = order[s : s + cfg.batch_size]
        if len(idx) < 2:  # BatchNorm needs two samples
            continue
        v = val_order[(b * cfg.batch_size) % len(xv) :][: cfg.batch_size]
        if len(v) >= 2:  # first-order DARTS: the architecture on a validation batch
            arch_opt.zero_grad()
            loss = searcher.arch_loss(xv[v], yv[v])
            if cfg.cost_weight:
                hardware = sum((searcher.arch.op_weights(k) * costs[k]).sum() for k in CellKind)
                loss = loss + cfg.cost_weight * hardware
            loss.backward()
            arch_opt.step()
        weights_opt.zero_grad()
        loss, logits = searcher.weight_loss(xt[idx], yt[idx])
        loss.backward()
        weights_opt.step()
        searcher.after_weight_step()
        seen += len(idx)
        loss_sum += float(loss.detach()) * len(idx)
        correct += int((logits.argmax(dim=1) == yt[idx]).sum())
    with batch_statistics(networks):
        logits, _ = searcher.child(xv, searcher.arch)
        val_accuracy = float((logits.argmax(dim=1) == yv).float().mean())
    abandoned: dict[str, Any] = {}
    if epoch + 1 in cfg.reductions:
        abandoned = {
            "epoch": epoch + 1,
            **_reduce(cfg, searcher, networks, weights_opt, costs, epoch, data),
        }
    active = searcher.arch.active(CellKind.NORMAL)
    return {
        "epoch": epoch + 1,
        "loss": loss_sum / max(seen, 1),
        "train_accuracy": correct / max(seen, 1),
        "val_accuracy": val_accuracy,
        "ops_per_edge": int(active.sum(dim=1).max()),
        "abandoned": abandoned,
    }


def _reduce(
    cfg: SearchConfig,
    searcher: BnasSearch,
    networks: list[nn.Module],
    weights_opt: torch.optim.Optimizer,
    costs: dict[CellKind, torch.Tensor],
    epoch: int,
    data: tuple[torch.Tensor, ...],
) -> dict[str, Any]:
    """Sample sub-networks, train each for one epoch, credit their validation accuracies,
    abandon one operation per edge (each score weighed by its LUTs, :func:`with_hardware`);
    the abandoned operations by cell kind and edge."""
    xt, yt, xv, yv = data
    arch = searcher.arch
    kinds = list(CellKind)
    masks = [arch.active(k).numpy().copy() for k in kinds]
    sampled = np.concatenate([searcher.candidates(k) for k in kinds])
    # each kind's columns of a plan row: its edges, in kinds order
    bounds = accumulate((len(m) for m in masks), initial=0)
    spans = [slice(start, stop) for start, stop in pairwise(bounds)]
    rng = np.random.default_rng([cfg.seed, epoch])
    plan = np.concatenate([sample_plan(sampled, rng) for _ in range(cfg.sample_rounds)])
    generator = torch.Generator().manual_seed(cfg.seed * 100_003 + epoch + 50_000)
    accuracies: dict[str, list[float]] = {}
    for row in plan:
        sample: Sample = {k: row[span] for k, span in zip(kinds, spans, strict=True)}
        for net in networks:
            net.train()
        order = torch.randperm(len(xt), generator=generator)
        for s in range(0, len(order), cfg.batch_size):
            idx = order[s : s + cfg.batch_size]
            if len(idx) < 2:  # BatchNorm needs two samples
                continue
            weights_opt.zero_grad()
            searcher.sampled_loss(xt[idx], yt[idx], sample).backward()
            weights_opt.step()
        with batch_statistics(networks):
            for name, acc in searcher.sampled_accuracy(xv, yv, sample).items():
                accuracies.setdefault(name, []).append(acc)
    dropped: dict[str, Any] = {}
    for i, kind in enumerate(kinds):
        columns = plan[:, spans[i]]
        scored = {name: credit(columns, np.array(a), len(OPS)) for name, a in accuracies.items()}
        scores = with_hardware(searcher.scores(kind, scored), costs[kind].numpy(), cfg.cost_weight)
        before = masks[i]
        after = abandon(scores, before)
        arch.set_active(kind, torch.from_numpy(after))
        dropped[kind.value] = [
            ops[0].value if ops else None for ops in remaining_ops(before & ~after)
        ]
    return dropped
