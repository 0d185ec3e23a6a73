"""CI-BCNN: channel-wise interactions mined by reinforcement learning (Wang, Lu, Tao and Zhou,
"Learning Channel-wise Interactions for Binary Convolutional Neural Networks", CVPR 2019; the
authors' code: repository ZiweiWangTHU/CI-BCNN, ``main.py`` and ``RL_network.py``).

Model: every binary convolution's integer output ``Y`` passes an interaction graph before its
BatchNorm (:mod:`hwbnn.nn.ci_bcnn`): an edge ``i -> j`` with sign ``s`` adds ``s * c * t(Y'_i)``
to ``Y_j``, ``t`` the ternary deadzone of width ``m``, in topological order. Per layer
``m = deadzone * N`` and ``c = magnitude * N`` rounded to integers (``N`` the convolution's
fan-in; the authors use m = 200, c = 100 on a ResNet-20 with N = 720..2880). The graphs start
empty; they are stored in the checkpoint as buffers and exported as comparisons, 1x1 integer
convolutions and Adds (:mod:`hwbnn.export.ci_bcnn`).

Mining alternates with training: after ``warmup`` training epochs, and then before every
``mine_every``-th epoch, a mining phase of ``mining_steps`` steps runs with the network in eval
mode. A step draws ``mining_batch`` training images and, layer by layer, lets the layer's agent
(:mod:`hwbnn.train.methods.ci_policy`) add ``edges_per_step`` edges, then remove as many; each
proposal is scored by the change of the cross-entropy ``L`` on the step's images:

    r = +1 if L_before - L_after > tolerance,  -1 if < -tolerance,  else 0

and kept only if ``r > 0`` (an added edge with ``r <= 0`` is taken out again, a removed one put
back), as in the authors' ``dependency_mining``. A layer holds at most ``max_edges`` edges. After
the phase each agent's policy takes a REINFORCE step with the discounted returns (``gamma``) of
its add and of its remove rewards, learning rate ``policy_lr``.

Differences from the paper: the policy is a table of logits per signed edge and layer, not a
ConvLSTM over the layers' dependency and influence matrices, so it sees no state and layers do
not share it; the edge's sign is part of the action instead of being read from a predicted
influence matrix (discretised at +-0.04); a proposal never closes a cycle (masked out), and a
signed pair is proposed at most once per phase; the reward omits the authors' extra term (the
mean sign of ``|Y_i| - |Y_j|`` over the edges) and their scaling ``50 * (r - 0.03)``; the
returns are discounted over the steps of one phase (the authors train the agent after every
batch on that batch's rewards); mining starts after a fixed number of epochs, not at an
accuracy. The interaction rule follows the issue, see :mod:`hwbnn.nn.ci_bcnn`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import torch
from brevitas.nn import QuantConv2d
from torch import nn

from hwbnn.nn.ci_bcnn import ChannelInteraction
from hwbnn.train.methods.base import Method, TrainContext, arg, check
from hwbnn.train.methods.ci_policy import EdgePolicy


class CIBCNN(Method):
    name = "ci_bcnn"
    summary = "CI-BCNN channel interactions mined by a policy-gradient agent (conv models)"

    @dataclass(frozen=True)
    class Args:
        deadzone: float = arg(0.25, "deadzone m of t as a fraction of the conv fan-in")
        magnitude: float = arg(0.125, "interaction magnitude c as a fraction of the fan-in")
        edges_per_step: int = arg(1, "edges each layer's agent adds (and removes) per step")
        max_edges: int = arg(32, "most edges per layer")
        warmup: int = arg(1, "training epochs before the first mining phase")
        mine_every: int = arg(1, "epochs between mining phases")
        mining_steps: int = arg(4, "mining steps (batches) per phase")
        mining_batch: int = arg(128, "training images per mining step")
        epsilon: float = arg(0.05, "probability of a random action (epsilon-greedy)")
        gamma: float = arg(0.99, "discount of the rewards within a phase")
        tolerance: float = arg(0.003, "loss change below which the reward is 0")
        policy_lr: float = arg(0.5, "learning rate of the policy's logits")
        seed: int = arg(0, "seed of the agent and of the mining batches")

    def __init__(self, args: Args | None = None) -> None:
        super().__init__(args)
        a = self.args
        for name in ("deadzone", "magnitude"):
            check(0 < getattr(a, name) <= 1, self.name, f"{name} must be in (0, 1]")
        for name in ("edges_per_step", "max_edges", "mine_every", "mining_steps"):
            check(getattr(a, name) >= 1, self.name, f"{name} must be >= 1")
        check(a.mining_batch >= 2, self.name, "mining_batch must be >= 2")
        check(a.warmup >= 0, self.name, "warmup must be >= 0")
        check(0 <= a.epsilon <= 1 and 0 <= a.gamma <= 1, self.name, "epsilon, gamma in [0, 1]")
        check(a.tolerance >= 0 and a.policy_lr > 0, self.name, "tolerance >= 0, policy_lr > 0")
        self._policies: list[EdgePolicy] = []
        self._layers: list[ChannelInteraction] = []
        self._rng = np.random.default_rng(a.seed)

    def configure(self, config: Any) -> Any:
        check(
            hasattr(config, "ci_magnitude"),
            self.name,
            "channel interactions exist for convolutional nets (digits-cnn, mnist-cnn, cnv), "
            "not MLPs or residual nets",
        )
        check(
            not config.dbf_bases,
            self.name,
            "DBF layers scale the convolution outputs; CI-BCNN needs their integer dot products",
        )
        return replace(config, ci_deadzone=self.args.deadzone, ci_magnitude=self.args.magnitude)

    def setup(self, ctx: TrainContext) -> None:
        self._layers = [m for m in ctx.model.modules() if isinstance(m, ChannelInteraction)]
        check(bool(self._layers), self.name, "the model has no interaction layers")
        self._policies = [
            EdgePolicy(layer.channels, self.args.epsilon, self._rng) for layer in self._layers
        ]

    def on_epoch_start(self, ctx: TrainContext) -> None:
        # after every method's setup: xnorpp's scales would sit between conv and interaction
        check(
            _follow_convolutions(ctx.model, self._layers),
            self.name,
            "an interaction layer does not read a binary convolution's integer output "
            "(xnorpp's scales?); train CI-BCNN without methods that change the convolutions' "
            "outputs",
        )
        due = ctx.epoch - self.args.warmup
        if due >= 0 and due % self.args.mine_every == 0:
            self.mine(ctx)

    def on_epoch_end(self, ctx: TrainContext, metrics: dict[str, float]) -> None:
        metrics["ci_edges"] = float(sum(len(layer.graph().edges) for layer in self._layers))

    # -- mining ----------------------------------------------------------------------------
    def mine(self, ctx: TrainContext) -> None:
        """One mining phase (see the module docstring); leaves the model in eval mode."""
        x_train, y_train = ctx.data.require_train()
        size = min(self.args.mining_batch, len(x_train))
        history: list[dict[str, tuple[list, list]]] = [
            {"add": ([], []), "remove": ([], [])} for _ in self._layers
        ]
        for policy in self._policies:
            policy.new_phase()
        ctx.model.eval()
        for _ in range(self.args.mining_steps):
            pick = self._rng.choice(len(x_train), size=size, replace=False)
            x, y = torch.from_numpy(x_train[pick]), torch.from_numpy(y_train[pick])
            loss = _loss(ctx.model, x, y)
            for layer, policy, record in zip(self._layers, self._policies, history, strict=True):
                for kind in ("add", "remove"):
                    loss = self._propose(ctx.model, layer, policy, kind, (x, y, loss), record)
        for policy, record in zip(self._policies, history, strict=True):
            for grads, rewards in record.values():
                policy.update(grads, rewards, self.args.gamma, self.args.policy_lr)

    def _propose(
        self,
        model: nn.Module,
        layer: ChannelInteraction,
        policy: EdgePolicy,
        kind: str,
        batch: tuple[torch.Tensor, torch.Tensor, float],
        record: dict[str, tuple[list, list]],
    ) -> float:
        """Let ``policy`` act on ``layer``, score it, keep or undo it; returns the new loss."""
        x, y, before = batch
        signs = layer.signs.numpy().copy()
        edges = int(np.count_nonzero(signs))
        count = self.args.edges_per_step
        if kind == "add":
            count = min(count, self.args.max_edges - edges)
            proposal = policy.add(signs, count) if count > 0 else None
        else:
            proposal = policy.remove(signs, count)
        if proposal is None:
            return before
        new_signs, grad = proposal
        _set_signs(layer, new_signs)
        after = _loss(model, x, y)
        tol = self.args.tolerance
        reward = 1.0 if before - after > tol else -1.0 if after - before > tol else 0.0
        record[kind][0].append(grad)
        record[kind][1].append(reward)
        if reward > 0:
            return after
        _set_signs(layer, signs)
        return before


def _set_signs(layer: ChannelInteraction, signs: np.ndarray) -> None:
    with torch.no_grad():
        layer.signs.copy_(torch.from_numpy(signs))


@torch.no_grad()
def _loss(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    return float(nn.functional.cross_entropy(model(x), y))


def _follow_convolutions(model: nn.Module, layers: list[ChannelInteraction]) -> bool:
    """Every interaction layer comes right after a binary convolution in its container."""
    for parent in model.modules():
        children = list(parent.children())
        for before, child in zip(children[:-1], children[1:], strict=True):
            if child in layers and not isinstance(before, QuantConv2d):
                return False
    return True
