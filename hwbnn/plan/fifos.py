"""FIFO depths on the branches of a graph, derived from where each stream's data comes from.

A unit with several inputs (an add-join, a concatenation, a threshold with a side input)
consumes pixel ``p`` of all its inputs together. Its inputs descend from one network input
through different units (a fork feeds both a convolution and a shortcut), and a convolution's
window for pixel ``p`` needs input pixels well past ``p`` (the rows below it). Meanwhile the
fork has sent those input pixels down the shortcut too, and they wait there: that branch's FIFO
must hold them, or the fork stalls, the convolution never sees the rows it needs, and the graph
deadlocks. On top of the data, the other branch's pipeline (window, MVAU, thresholds) keeps
beats in flight, and at the full rate the FIFO holds them as well.

For every stream below the point where the branches part (their nearest common ancestor, a
fork) we compute ``need[p]``: the last pixel of that fork's stream that pixel ``p`` depends on
(an image stream's pixels in raster order; a non-image stream is one pixel). Units map it: a
sliding window or max pool takes the input pixel at the bottom-right of its window (clipped to
the image), a dense layer (one output pixel) the last input pixel, everything else pixel by
pixel, a join the maximum over its inputs. With frames back to back, frame ``f`` shifts these
by ``f`` frames of the fork's stream.

For input port ``b`` of a multi-input unit ``J``, when ``J`` takes pixel ``p`` the fork has
sent ``need_J[p]``; port ``b``'s stream has then produced every pixel ``q`` with ``need_b[q] <=
need_J[p]``, of which ``J`` has taken ``p``. The lag is the largest difference over two frames
(the second covers the frame boundary), in pixels, times the stream's beats per pixel. The
slack is the beats that arrive at the network's rate (its initiation interval) while the
slowest other input's pipeline latency passes (:func:`unit_latency`), plus two beats for the
FIFO's own registers.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from hwbnn.ir.folding import WeightStorage
from hwbnn.ir.types import (
    INPUT,
    Layer,
    MajorityPool,
    MatrixVector,
    MaxPool,
    Network,
    SlidingWindow,
)
from hwbnn.plan.model import UnitKind, UnitPlan
from hwbnn.plan.widths import clog2

#: Beats added to every lag: registers of the FIFO and the joining unit, and a margin for the
#: latencies :func:`unit_latency` underestimates (measured minimum depths in
#: docs/graphs.md: the derived depth is 2 to 6 beats above them).
FIFO_REGISTER_BEATS = 8


def _window_need(
    in_need: np.ndarray,
    in_shape: tuple[int, int, int],
    out_hw: tuple[int, int],
    stride: int,
    top: int,
    left: int,
    extent: int,
) -> np.ndarray:
    """Per output pixel, ``in_need`` at the window's bottom-right image pixel (the window
    spans ``extent`` rows and columns: D*(K-1) + 1 with dilation D)."""
    h, w, _ = in_shape
    oh, ow = out_hw
    rows = np.clip(np.arange(oh) * stride - top + extent - 1, 0, h - 1)
    cols = np.clip(np.arange(ow) * stride - left + extent - 1, 0, w - 1)
    index = (rows[:, None] * w + cols[None, :]).reshape(-1)
    return np.maximum.accumulate(in_need[index])


def node_need(net: Network, node: Layer, ins: Sequence[np.ndarray]) -> np.ndarray:
    """Per output pixel of ``node``, the largest value of ``ins`` (one array per input stream,
    indexed by that stream's pixels) its output depends on: a sliding window's or max pool's
    bottom-right input pixel, a dense layer's last input pixel, else the same pixel (the
    maximum over the inputs). With pixel indices in, pixel indices come out
    (:func:`stream_needs`); with completion times, the time the pixel can start
    (:mod:`hwbnn.plan.latency`)."""
    out_pixels = net.edge(node.name).pixels
    if isinstance(node, SlidingWindow | MaxPool | MajorityPool):
        top, left, _, _ = node.padding
        oh, ow, _ = node.out_shape
        extent = node.extent if isinstance(node, SlidingWindow) else node.kernel
        return _window_need(ins[0], node.in_shape, (oh, ow), node.stride, top, left, extent)
    if isinstance(node, MatrixVector) and len(ins[0]) != out_pixels:
        return np.full(out_pixels, ins[0].max())
    return np.maximum.reduce(
        [np.broadcast_to(a if len(a) == out_pixels else a.max(), (out_pixels,)) for a in ins]
    )


def stream_needs(net: Network, root: str = INPUT) -> dict[str, np.ndarray]:
    """``need[p]`` of every stream downstream of ``root`` (see the module docstring), counted
    in pixels of ``root``'s stream, keyed by the writing node."""
    pixels = net.edge(root).pixels
    needs: dict[str, np.ndarray] = {root: np.arange(pixels)}
    zero = np.zeros(1, dtype=np.int64)
    for node in net.layers:
        if node.name in needs or not any(n in needs for n in net.inputs_of(node.name)):
            continue
        ins = [needs.get(name, zero) for name in net.inputs_of(node.name)]
        needs[node.name] = np.asarray(node_need(net, node, ins), dtype=np.int64)
    return needs


def lag_pixels(join_need: np.ndarray, port_need: np.ndarray, frame: int) -> int:
    """The most pixels of a port's stream produced but not yet taken by the join, over two
    frames back to back (``frame``: network-input pixels per frame)."""
    joined = np.concatenate([join_need, join_need + frame])
    produced = np.concatenate([port_need, port_need + frame])
    count = np.searchsorted(produced, joined, side="right")  # pixels produced by then
    return int(max(0, (count - np.arange(len(joined))).max()))


def _half_count(u: UnitPlan) -> bool:
    """Whether hwbnn_mvau_lanes counts each PE's sparser weight half (constant one-word binary
    weights of at least 16 lanes), which takes one register more."""
    w = u.weights
    return (
        w is not None
        and w.storage is WeightStorage.CONSTANT
        and w.depth == 1
        and u.in_bits == 1
        and u.simd >= 16
    )


def dbf_latency(u: UnitPlan) -> int:
    """rtl/hwbnn_dbf.v's LATENCY: the input register, the lanes' registers (hwbnn_mvau_lanes:
    one per 3 adder levels of bits, 2 of codes, after the first; one more for a one-beat XNOR
    vector of at least 16 lanes; one before the running sum of deeper lanes), the slot, the
    issue, the products, their adder tree's registers (one per 2 levels after the first), the
    basis folds, the running sum and the output register."""
    per_reg = 3 if u.in_bits == 1 else 2
    lanes = (clog2(u.simd) - 1) // per_reg if u.simd > 1 else 0
    lanes += int(u.sf == 1 and u.in_bits == 1 and u.simd >= 16)
    lanes += int(u.sf > 1 and clog2(u.simd) > per_reg)  # a register before the running sum
    mb = u.bases_per_cycle
    tree = (clog2(mb) - 1) // 2 if mb > 1 else 0
    return lanes + tree + u.bases // mb + 5


def unit_latency(u: UnitPlan) -> int:
    """Cycles from a unit's last input beat of a pixel to its first output beat, as the
    modules of rtl/ state them (an estimate for the FIFO slack, not a timing guarantee)."""
    if u.kind is UnitKind.MVAU:
        per_reg = 3 if u.in_bits == 1 else 2  # hwbnn_mvau's TREE_LEVELS_PER_REG
        tree = (max(1, math.ceil(math.log2(u.simd))) - 1) // per_reg if u.simd > 1 else 0
        direct = u.sf == 1 and u.nf == 1  # no input buffer: one cycle less
        return u.sf + 5 + tree + int(_half_count(u)) - int(direct)
    if u.kind is UnitKind.SLIDING_WINDOW:
        return 3
    if u.kind in (UnitKind.MAX_POOL, UnitKind.MAJORITY_POOL):
        return 4
    if u.kind is UnitKind.DBF:
        return dbf_latency(u)
    if u.kind is UnitKind.INTERACTION:  # collector, a register per level, serializer
        return u.steps + 2
    if u.kind is UnitKind.INPUT_THRESHOLD:  # registered, or passed through at 1 beat/frame
        return 1 if u.in_beats > 1 else 0
    return 2


def _edge_latency(units: list[UnitPlan], src: int, dst: UnitPlan, interval: int) -> int:
    """Cycles a stream's own parts hold a beat back at ``interval`` cycles per frame: a
    widening width converter waits for ``ratio - 1`` source beats."""
    if src < 0:
        return 0
    producer = units[src]
    port = dst.inputs.index(src)
    ratio = (dst.in_per_beat * dst.port_bits[port]) // max(1, producer.out_width)
    if ratio <= 1:
        return 0
    return (ratio - 1) * interval // max(1, producer.out_beats)


def path_latency(units: list[UnitPlan], index: int, stop: set[int], interval: int) -> int:
    """The longest pipeline latency from the units in ``stop`` (or the top input) down to
    unit ``index``, inclusive, with the width converters on the way."""
    memo: dict[int, int] = {}

    def walk(i: int) -> int:
        if i < 0 or i in stop:
            return 0
        if i not in memo:
            u = units[i]
            memo[i] = unit_latency(u) + max(
                walk(j) + _edge_latency(units, j, u, interval) for j in u.inputs
            )
        return memo[i]

    return walk(index)


def ancestors(units: list[UnitPlan], index: int) -> set[int]:
    """The indices of every unit upstream of unit ``index`` (not the top input)."""
    seen: set[int] = set()
    todo = [index]
    while todo:
        i = todo.pop()
        for j in units[i].inputs:
            if j >= 0 and j not in seen:
                seen.add(j)
                todo.append(j)
    return seen


def port_lags(net: Network, units: list[UnitPlan], interval: int) -> dict[tuple[int, int], int]:
    """Beats of FIFO every input port of a multi-input unit needs at ``interval`` cycles per
    frame: (unit, port) -> beats. Pixels are counted in the stream of the branches' nearest
    common ancestor (a fork), whose stream is where they part."""
    lags: dict[tuple[int, int], int] = {}
    needs_of: dict[str, dict[str, np.ndarray]] = {}  # per branching point: its streams' needs
    for u in units:
        if len(u.inputs) < 2:
            continue
        node = net.layers[u.index]
        sources = net.inputs_of(node.name)
        branch = [ancestors(units, j) | {j} if j >= 0 else set() for j in u.inputs]
        shared = set.intersection(*branch)
        root = net.layers[max(shared)].name if shared else INPUT
        if root not in needs_of:
            needs_of[root] = stream_needs(net, root)
        needs = needs_of[root]
        frame = net.edge(root).pixels
        join_need = needs[node.name]
        for port, (src, name) in enumerate(zip(u.inputs, sources, strict=True)):
            edge = net.edge(name)
            per_beat = units[src].out_per_beat if src >= 0 else units[0].in_per_beat
            beats_per_pixel = max(1, edge.channels // per_beat)
            pixels = lag_pixels(join_need, needs.get(name, join_need), frame)
            others = [
                path_latency(units, j, shared, interval) + _edge_latency(units, j, u, interval)
                for k, j in enumerate(u.inputs)
                if k != port
            ]
            mine = path_latency(units, src, shared, interval)
            behind = max(0, max(others) - mine)
            beats = edge.elements // per_beat  # per frame, arriving every interval cycles
            slack = -(-behind * beats // interval) + FIFO_REGISTER_BEATS
            lags[(u.index, port)] = pixels * beats_per_pixel + slack
    return lags
