"""The operations and the wiring of binary DARTS cells (:mod:`hwbnn.nn.genotype`), shared by the
fixed network of a genotype (:mod:`hwbnn.nn.cellnet`) and the supernet of ``hwbnn search``.

Binary operations (``binary=True``; inputs and outputs are +-1 maps of scale 1)::

    conv_k      = sign(BN(Conv2d(+-1, k x k, stride s)(pad(x, -1, k // 2))))   k = 3, 5
    dil_conv_3x3 = sign(BN(Conv2d(+-1, 3 x 3, dilation 2, stride s)(pad(x, -1, 2))))
    max_pool_3x3 = MaxPool(3, s)(pad(x, -1, 1))           (= torch's -inf padding on +-1 values)
    avg_pool_3x3 = sign(AvgPool(3, s)(pad(x, -1, 1)))      (the majority of the 9 window values)
    identity     = x                   (s = 2: x[:, :, ::2, ::2], as MaxPool(kernel 1, stride 2))
    zero         = 0 * x[:, :, ::s, ::s]                   (the supernet only; never exported)

Every one maps (N, C, H, W) to (N, C, ceil(H / s), ceil(W / s)). Conv ops expose their
convolution as ``.conv`` (CP-NAS' kernel loss reads ``.conv.weight``). Their full-precision
twins (``binary=False``, CP-NAS' Parent, Zhuo et al., CVPR 2020) have the same modules with
float weights, padding 0, ReLU instead of sign and plain float pools (average excluding the
padding), so a binary child and its parent share parameter names and shapes.

A node's join: every edge of a node outputs +-1 values from a scale-1 binary quantizer (a
conv's sign, a max pool or identity of a sign's output, an average pool's sign), so the sum of
``m`` edges is an integer in [-m, m] and exports as a chain of ONNX ``Add`` of equally scaled
quantized tensors, which lowering makes an ``AddJoin`` (:mod:`hwbnn.frontend.passes.lower_add`).
The join's normalization has no learned scale: ``sign(BN(sum)) = sign((sum - mu) / sigma + b)``
with a per-channel bias ``b`` (``BatchNorm2d(affine=False)`` then ``+ b``); a positive BN scale
does not change a sign, and a join's ``Threshold`` cannot flip a channel (no weights to negate),
so the affine scale is left out rather than trained to a negative value lowering must refuse.
The join is a ``Threshold`` on the sum: ``sum >= ceil(mu - b * sigma)`` per channel.

A node with a single edge is that edge's output (already a +-1 map): ``sign(BN(x))`` of a +-1
``x`` is ``x``, ``-x`` or a constant, and lowering has no threshold on bits without a product.

The cell's output is the channel concatenation of its intermediate nodes (ONNX ``Concat`` of
binary edges of scale 1; :mod:`hwbnn.frontend.passes.lower_concat`).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from hwbnn.nn.conv import PadConstant, binary_conv, sign
from hwbnn.nn.genotype import Cell, Op

#: (kernel, dilation) of the convolution ops; padding ``dilation * (kernel // 2)`` keeps the size.
CONV_OPS: dict[Op, tuple[int, int]] = {
    Op.CONV_3X3: (3, 1),
    Op.CONV_5X5: (5, 1),
    Op.DIL_CONV_3X3: (3, 2),
}


def activation(binary: bool) -> nn.Module:
    """sign (a scale-1 binary quantizer) or, for a full-precision parent, ReLU."""
    return sign() if binary else nn.ReLU()


def conv2d(
    fan_in: int, fan_out: int, kernel: int, stride: int, dilation: int, binary: bool
) -> nn.Conv2d:
    """A bias-free convolution without padding: +-1 weights (scale 1) or float weights."""
    if binary:
        return binary_conv(fan_in, fan_out, kernel, stride, dilation)
    return nn.Conv2d(fan_in, fan_out, kernel, stride=stride, dilation=dilation, bias=False)


class ConvOp(nn.Module):
    """``act(BN(conv(pad(x))))``: pad with -1 (binary) or 0 (float) to keep ``ceil(H / s)``."""

    def __init__(
        self,
        fan_in: int,
        fan_out: int,
        kernel: int,
        stride: int,
        dilation: int = 1,
        binary: bool = True,
    ) -> None:
        super().__init__()
        pixels = dilation * (kernel // 2)
        self.pad = PadConstant(pixels, -1.0 if binary else 0.0) if pixels else nn.Identity()
        self.conv = conv2d(fan_in, fan_out, kernel, stride, dilation, binary)
        self.norm = nn.BatchNorm2d(fan_out)
        self.act = activation(binary)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.norm(self.conv(self.pad(x))))


class Preprocess(ConvOp):
    """A cell input: ``act(BN(Conv2d(1 x 1, stride)(x)))`` to the cell's channels; stride 2 when
    the input is at twice the cell's resolution (the output of the cell before a reduction)."""

    def __init__(self, fan_in: int, fan_out: int, stride: int = 1, binary: bool = True) -> None:
        super().__init__(fan_in, fan_out, 1, stride, 1, binary)


class Subsample(nn.Module):
    """Every ``stride``-th pixel of every ``stride``-th row: a max pool of kernel 1 (exports as
    an ONNX ``MaxPool`` with kernel 1, which lowering turns into a stream subsampler)."""

    def __init__(self, stride: int) -> None:
        super().__init__()
        self.pool = nn.MaxPool2d(1, stride)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pool(x)


class Zero(nn.Module):
    """The missing edge, ``0 * x[:, :, ::s, ::s]`` (only in the supernet's mixed ops)."""

    def __init__(self, stride: int) -> None:
        super().__init__()
        self.stride = stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s = self.stride
        return x[:, :, ::s, ::s] * 0.0


def make_op(op: Op, channels: int, stride: int, binary: bool = True) -> nn.Module:
    """The module of ``op`` on ``channels`` channels with ``stride`` (1 or 2); see the module
    docstring for the binary and full-precision forms."""
    if stride not in (1, 2):
        raise ValueError(f"{op.value}: stride must be 1 or 2, got {stride}")
    if op in CONV_OPS:
        kernel, dilation = CONV_OPS[op]
        return ConvOp(channels, channels, kernel, stride, dilation, binary)
    if op is Op.MAX_POOL_3X3:
        if binary:
            return nn.Sequential(PadConstant(1, -1.0), nn.MaxPool2d(3, stride))
        return nn.MaxPool2d(3, stride, padding=1)
    if op is Op.AVG_POOL_3X3:
        if binary:
            return nn.Sequential(PadConstant(1, -1.0), nn.AvgPool2d(3, stride), sign())
        return nn.AvgPool2d(3, stride, padding=1, count_include_pad=False)
    if op is Op.IDENTITY:
        return Subsample(stride) if stride > 1 else nn.Identity()
    if op is Op.ZERO:
        return Zero(stride)
    raise ValueError(f"unknown operation {op!r}")


class NodeJoin(nn.Module):
    """``act(BN(sum of inputs) + bias)`` with a scale-free BN (see the module docstring) for a
    node of ``edges`` >= 2 edges; a node of one edge passes its input unchanged (no modules)."""

    def __init__(self, channels: int, binary: bool = True, edges: int = 2) -> None:
        super().__init__()
        self.single = edges == 1
        if not self.single:
            self.norm = nn.BatchNorm2d(channels, affine=False)
            self.bias = nn.Parameter(torch.zeros(channels))
            self.act = activation(binary)

    def forward(self, inputs: Sequence[torch.Tensor]) -> torch.Tensor:
        if self.single:
            (x,) = inputs
            return x
        total = inputs[0]
        for x in inputs[1:]:
            total = total + x
        if self.training:
            normed = self.norm(total)
        else:  # BN's eval form as explicit per-channel ops: ONNX export needs no channel count
            n = self.norm
            assert n.running_mean is not None and n.running_var is not None
            scale = torch.rsqrt(n.running_var + n.eps).view(1, -1, 1, 1)
            normed = (total - n.running_mean.view(1, -1, 1, 1)) * scale
        return self.act(normed + self.bias.view(1, -1, 1, 1))


def cell_sources(cell: Cell) -> tuple[tuple[int, ...], ...]:
    """The source node of every edge of every intermediate node of a fixed cell."""
    return tuple(tuple(edge.source for edge in edges) for edges in cell.nodes)


def dense_sources(steps: int) -> tuple[tuple[int, ...], ...]:
    """The supernet's sources: intermediate node ``j`` (from 2) reads every node ``0..j-1``."""
    return tuple(tuple(range(j)) for j in range(2, steps + 2))


def edge_stride(source: int, reduction: bool) -> int:
    """The stride of an edge: 2 on the edges from the cell inputs of a reduction cell."""
    return 2 if reduction and source < 2 else 1


def cell_forward(
    sources: Sequence[Sequence[int]],
    edges: Sequence[Sequence[nn.Module]],
    joins: Sequence[nn.Module],
    s0: torch.Tensor,
    s1: torch.Tensor,
) -> torch.Tensor:
    """The cell's output: node ``j`` (from 2) is ``joins[j - 2]`` of ``edges[j - 2][k]`` applied
    to node ``sources[j - 2][k]``; nodes 0 and 1 are ``s0`` and ``s1`` (preprocessed); the
    output is the channel concatenation of the intermediate nodes."""
    states = [s0, s1]
    for node_sources, node_edges, join in zip(sources, edges, joins, strict=True):
        inputs = [op(states[i]) for i, op in zip(node_sources, node_edges, strict=True)]
        states.append(join(inputs))
    if len(states) == 3:  # one intermediate node: no Concat of a single tensor
        return states[2]
    return torch.cat(states[2:], dim=1)


class FixedCell(nn.Module):
    """A genotype's cell: preprocessing of its two inputs, its edges and node joins."""

    def __init__(
        self,
        cell: Cell,
        channels: int,
        in0: int,
        in1: int,
        reduction: bool,
        reduction_prev: bool,
        binary: bool = True,
    ) -> None:
        super().__init__()
        self.cell = cell
        self.reduction = reduction
        self.pre0 = Preprocess(in0, channels, 2 if reduction_prev else 1, binary)
        self.pre1 = Preprocess(in1, channels, 1, binary)
        self.sources = cell_sources(cell)
        self.edges = nn.ModuleList(
            nn.ModuleList(
                make_op(e.op, channels, edge_stride(e.source, reduction), binary) for e in node
            )
            for node in cell.nodes
        )
        self.joins = nn.ModuleList(NodeJoin(channels, binary, len(node)) for node in cell.nodes)
        self.out_channels = cell.steps * channels

    def forward(self, s0: torch.Tensor, s1: torch.Tensor) -> torch.Tensor:
        edges = [list(node.children()) for node in self.edges]
        return cell_forward(self.sources, edges, list(self.joins), self.pre0(s0), self.pre1(s1))
