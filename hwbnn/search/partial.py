"""PC-DARTS' partial channel connections and edge normalisation (Xu et al., "PC-DARTS:
Partial Channel Connections for Memory-Efficient Architecture Search", ICLR 2020), on which
BNAS and CP-NAS build.

Partial channels. A mixed operation on edge (i, j) sends only the first ``C / K`` channels of
its input ``x`` through the candidate operations and lets the other ``C - C / K`` bypass::

    f(x) = shuffle_K( concat( sum_o p_o * o(x[:C/K]),  bypass(x[C/K:]) ) )

with ``p = softmax(alpha)`` over the operations still in the search space, ``bypass`` the
identity (a 2 x 2 max pool with stride 2 on a reduction edge: the OR of +-1 bits) and
``shuffle_K`` the channel shuffle of ShuffleNet (view the C channels as a K x C/K matrix,
transpose it, flatten), so that the next step samples other channels. K = 1 is DARTS' mixed
operation (Liu et al., ICLR 2019).

Edge normalisation. Node j sums its incoming edges weighted by ``softmax(beta_j)`` over its
input nodes i < j; the weight kept for an operation in the genotype is then
``softmax(beta_j)_i * softmax(alpha_ij)_o`` (:func:`edge_weights`), which smooths the choice
of edges that partial channels make noisy.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn
from torch.nn import functional as F


def channel_shuffle(x: torch.Tensor, groups: int) -> torch.Tensor:
    """ShuffleNet's shuffle: channel ``g * (C/groups) + r`` moves to ``r * groups + g``."""
    n, c, h, w = x.shape
    if c % groups:
        raise ValueError(f"{c} channels do not split into {groups} groups")
    return x.view(n, groups, c // groups, h, w).transpose(1, 2).reshape(n, c, h, w)


def masked_softmax(alpha: torch.Tensor, active: torch.Tensor) -> torch.Tensor:
    """``softmax(alpha)`` over the entries where ``active`` is True, 0 elsewhere (the
    operations that BNAS / CP-NAS have abandoned take no weight), along the last axis."""
    return F.softmax(alpha.masked_fill(~active, float("-inf")), dim=-1)


def node_edge_ranges(steps: int) -> list[range]:
    """The edge indices of each intermediate node: node ``j = 2 + s`` has ``j`` incoming edges
    (from nodes 0..j-1), numbered consecutively over the nodes (DARTS' order)."""
    ranges, start = [], 0
    for s in range(steps):
        ranges.append(range(start, start + 2 + s))
        start += 2 + s
    return ranges


def edge_count(steps: int) -> int:
    return sum(2 + s for s in range(steps))


def edge_weights(beta: torch.Tensor, steps: int) -> torch.Tensor:
    """PC-DARTS' edge normalisation: ``softmax`` of ``beta`` over each node's input edges,
    concatenated in edge order (shape ``(edge_count(steps),)``)."""
    return torch.cat([F.softmax(beta[list(r)], dim=-1) for r in node_edge_ranges(steps)])


class PartialMixedOp(nn.Module):
    """The mixed operation of one edge with partial channels (see the module docstring).

    ``ops[k]`` is the module of the k-th operation of :data:`hwbnn.nn.genotype.OPS` on the
    ``C / K`` sampled channels, or None for ``zero`` (it contributes nothing and is not run).
    """

    def __init__(self, ops: Sequence[nn.Module | None], channels: int, k: int, stride: int):
        super().__init__()
        if k < 1 or channels % k:
            raise ValueError(f"partial channels: K={k} must divide the {channels} channels")
        self.k, self.channels, self.stride = k, channels, stride
        self.ops = nn.ModuleList([nn.Identity() if op is None else op for op in ops])
        self.is_zero = [op is None for op in ops]

    def forward(
        self, x: torch.Tensor, weights: torch.Tensor, sample: int | None = None
    ) -> torch.Tensor:
        """``weights``: the operations' weights (0 for abandoned ones, which are skipped);
        ``sample``: run that one operation alone with weight 1 (a sampled sub-network)."""
        part = self.channels // self.k
        head, rest = x[:, :part], x[:, part:]
        live = weights.detach() != 0
        mixed: torch.Tensor | None = None
        for index, op in enumerate(self.ops):
            if sample is not None:
                if index != sample:
                    continue
                scale: torch.Tensor | float = 1.0
            else:
                if not live[index]:
                    continue
                scale = weights[index]
            if self.is_zero[index]:
                continue
            y = scale * op(head)
            mixed = y if mixed is None else mixed + y
        if mixed is None:  # only zero: a zero map of the output size
            h, w = head.shape[2] // self.stride, head.shape[3] // self.stride
            mixed = head.new_zeros(head.shape[0], part, h, w)
        if self.k == 1:
            return mixed
        if self.stride > 1:
            rest = F.max_pool2d(rest, 2, 2)
        return channel_shuffle(torch.cat([mixed, rest], dim=1), self.k)
