"""Estimated latency of one frame through a planned network, over its longest path.

The frame's first input beat enters at cycle 0 and its beats follow one per cycle. Walking the
units in topological order, each stream gets the cycle at which every pixel of it is complete
(a dense stream is one pixel). A unit can finish pixel ``p`` once the input pixels it needs are
complete (:func:`hwbnn.plan.fifos.node_need`: the bottom-right pixel of a window, the whole
vector of a dense layer, the same pixel of every input of a join) and its pipeline has passed
(:func:`hwbnn.plan.fifos.unit_latency`), plus its ``tail``: the cycles it spends on the pixel
after its last input arrives. A matrix-vector unit reads the vector while it computes its
first neuron fold and then computes the other folds (``(NF-1)*SF`` cycles); a window
generator (and a max pool's) emits the beats of the pixel's window, one per cycle; a CI-BCNN
interaction emits a pixel's C/SIMD beats after it has them all; the other units pass beats
through (tail 0). It also cannot finish pixel ``p`` sooner than
``cycles/pixels`` after pixel ``p-1``:

    done[p] = max(ready[p] + tail, done[p-1] + cycles/pixels)

Each stream FIFO on the way adds two cycles (hwbnn_axis_fifo: a beat written into an empty FIFO
leaves two cycles later), each width converter one, and a converter that splits a
beat into ``r`` narrower beats ``r - 1`` more (the last of them leaves ``r - 1`` cycles after
the first). The estimate is the last output
beat's cycle: the latency :mod:`hwbnn.sim.top` measures from a frame's first accepted input
beat to its last output beat with the pipeline empty. It ignores stalls from full streams
(none when the FIFOs are deep enough, as on the branches) and each module's exact schedule;
docs/graphs.md compares it with measured latencies.
"""

from __future__ import annotations

import numpy as np

from hwbnn.ir.types import INPUT, Network
from hwbnn.plan.fifos import node_need, unit_latency
from hwbnn.plan.model import Plan, UnitKind, UnitPlan


def _tail(u: UnitPlan) -> float:
    """Cycles from a pixel's last needed input to its last output beat, after the latency."""
    if u.kind is UnitKind.MVAU:
        return (u.nf - 1) * u.sf
    if u.kind is UnitKind.DBF:  # an output beat every M / bases-per-cycle cycles
        return (u.nf - 1) * (u.bases // u.bases_per_cycle)
    if u.kind is UnitKind.SLIDING_WINDOW:
        return u.out_beats / u.pixels - 1
    if u.kind in (UnitKind.MAX_POOL, UnitKind.MAJORITY_POOL):
        return u.inner_beats / u.pixels - 1
    if u.kind is UnitKind.INTERACTION:  # the pixel's beats leave after all have arrived
        return u.out_beats / u.pixels - 1
    return 0.0


#: cycles from a beat entering an empty stream FIFO to it leaving (rtl/hwbnn_axis_fifo.v)
FIFO_CYCLES = 2


def _converter_cycles(src_width: int, dst_width: int) -> int:
    """Cycles from a source beat's arrival at a width converter to its last element leaving:
    one (the register), plus ``ratio - 1`` when it splits a beat into ``ratio`` narrower ones
    (they leave one per cycle)."""
    if src_width == dst_width:
        return 0
    return src_width // dst_width if src_width > dst_width else 1


def _stream_cycles(plan: Plan, dst: int) -> int:
    """Cycles the FIFOs and width converters in front of unit ``dst`` add: ``FIFO_CYCLES``
    per FIFO, :func:`_converter_cycles` per converter."""
    if plan.is_graph:
        edges = [e for e in plan.edges if e.dst == dst and e.src >= 0]
        return max(
            [
                FIFO_CYCLES * (e.fifo_depth > 0) + _converter_cycles(e.src_width, e.dst_width)
                for e in edges
            ],
            default=0,
        )
    if dst == 0:
        return 0
    before = plan.units[dst - 1]
    conv = plan.converter_after(dst - 1)
    width = _converter_cycles(conv.in_width, conv.out_width) if conv is not None else 0
    return FIFO_CYCLES * (before.fifo_depth > 0) + width


def frame_latency(net: Network, plan: Plan) -> int:
    """Estimated cycles from a frame's first input beat to its last output beat (see the
    module docstring)."""
    in_pixels = net.edge(INPUT).pixels
    per_input_pixel = plan.io.in_beats // in_pixels
    done: dict[str, np.ndarray] = {
        INPUT: (np.arange(in_pixels, dtype=np.float64) + 1) * per_input_pixel - 1
    }
    for node, u in zip(net.layers, plan.units, strict=True):
        ins = [done[name] for name in net.inputs_of(node.name)]
        ready = np.asarray(node_need(net, node, ins), dtype=np.float64)
        ready = ready + _stream_cycles(plan, u.index) + unit_latency(u)
        pixels = len(ready)
        per_pixel = u.cycles / pixels
        start = np.arange(pixels) * per_pixel
        done[node.name] = np.maximum.accumulate(ready + _tail(u) - start) + start
    return int(np.ceil(done[net.layers[-1].name][-1]))
