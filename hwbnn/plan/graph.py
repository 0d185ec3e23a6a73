"""The hardware plan of a graph: units as for a chain (:mod:`hwbnn.plan.build`) plus forks,
add-joins, concatenations and thresholds, and one :class:`~hwbnn.plan.model.Edge` per stream.

- fork: SIMD elements per beat in and out, ``outputs`` consumers (fork output i feeds the i-th
  reader in layer order);
- add-join: SIMD elements per beat of each input (``port_bits``, ``port_bipolar``) summed into
  ``out_bits``-bit integers; k inputs are k-1 two-input units whose partial sums have
  ``chain_bits`` bits;
- concatenation: per pixel ``port_channels[i] / SIMD`` beats of each input in turn;
- threshold: SIMD integers of ``port_bits[0]`` bits in (and SIMD side bits), SIMD outputs of
  ``out_bits`` bits; thresholds in SIMD lanes of C/SIMD words, each lane ``S * N`` two's
  complement thresholds of ``threshold_bits`` (selection-major, then step);
- CI-BCNN interaction: SIMD integers of ``port_bits[0]`` bits in, SIMD of ``out_bits`` (the
  width of the interacted range) out, ``steps`` = its levels; no memory (the graph is
  wired: the generators read it from the IR node).

Every edge but the top input's gets a FIFO of the default depth (:func:`hwbnn.plan.build.
auto_fifo_depth`, or the depth asked for); an input of a multi-input unit gets at least the
depth :mod:`hwbnn.plan.fifos` derives from the other branches' lag (the FIFO module holds
DEPTH + 1 beats).
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from hwbnn.errors import ConfigError
from hwbnn.ir.folding import Folding, LayerFolding, check_folding, initiation_interval, layer_cycles
from hwbnn.ir.types import (
    INPUT,
    AddJoin,
    Concat,
    DBFMatrixVector,
    Fork,
    InputThreshold,
    Interaction,
    Layer,
    MajorityPool,
    MatrixVector,
    Network,
    Threshold,
    ValueKind,
    bits_for_range,
)
from hwbnn.plan.build import (
    PlanError,
    auto_fifo_depth,
    build_chain_plan,
    dbf_unit,
    element_bits,
    image_unit,
    is_chain_plan,
    majority_unit,
    mvau_unit,
    threshold_unit,
)
from hwbnn.plan.fifos import port_lags
from hwbnn.plan.latency import frame_latency
from hwbnn.plan.model import Edge, Memory, MemoryKind, Plan, StreamFormat, UnitKind, UnitPlan
from hwbnn.plan.widths import identifier

_KINDS = {
    Fork: UnitKind.FORK,
    AddJoin: UnitKind.ADD_JOIN,
    Concat: UnitKind.CONCAT,
    Threshold: UnitKind.THRESHOLD,
    Interaction: UnitKind.INTERACTION,
}


def _graph_unit(
    net: Network,
    index: int,
    node: Fork | AddJoin | Concat | Threshold | Interaction,
    fold: LayerFolding,
    port_bits: tuple[int, ...],
) -> UnitPlan:
    """``port_bits``: the element bits each input's producer writes."""
    ins = net.in_edges(node.name)
    out = net.edge(node.name)
    simd = fold.simd
    fields: dict[str, Any] = {
        "index": index,
        "name": node.name,
        "ident": identifier(index, node.name),
        "kind": _KINDS[type(node)],
        "pe": 1,
        "simd": simd,
        "mw": ins[0].channels,
        "mh": out.channels,
        "pixels": out.pixels,
        "in_bits": port_bits[0],
        "out_bits": port_bits[0] if isinstance(node, Fork) else out.bits,
        "in_width": simd * port_bits[0],
        "out_width": simd * (port_bits[0] if isinstance(node, Fork) else out.bits),
        "in_beats": ins[0].elements // simd,
        "out_beats": out.elements // simd,
        "inner_beats": 0,
        "cycles": layer_cycles(node, fold, net),
        "is_output": False,
        "acc_bits": 0,
        "popcount_bits": 0,
        "threshold_bits": 0,
        "threshold_signed": False,
        "fifo_depth": 0,
        "port_bits": port_bits,
        "port_bipolar": tuple(e.kind is ValueKind.BITS for e in ins),
        "port_channels": tuple(e.channels for e in ins),
    }
    if isinstance(node, Fork):
        fields["outputs"] = len(net.consumers_of(node.name))
    elif isinstance(node, AddJoin):
        # hwbnn_add_join wants OUT_BITS >= max(EA, EB) + 1 (EA: 2 for bipolar bits, else A_BITS)
        low, high = ins[0].value_range
        width = 2 if ins[0].kind is ValueKind.BITS else port_bits[0]
        chain = []
        for e, bits in zip(ins[1:], port_bits[1:], strict=True):
            elow, ehigh = e.value_range
            low, high = low + elow, high + ehigh
            other = 2 if e.kind is ValueKind.BITS else bits
            width = max(bits_for_range(min(low, -1), high), max(width, other) + 1)
            chain.append(width)
        fields["chain_bits"] = tuple(chain)
        fields["out_bits"] = chain[-1]
        fields["out_width"] = simd * chain[-1]
    elif isinstance(node, Interaction):
        rows, cols = np.nonzero(node.signs)
        levels = node.levels
        sources = {(int(i), int(levels[j])) for i, j in zip(rows, cols, strict=True)}
        targets = int(np.count_nonzero(node.levels))
        counts = (node.deadzone, node.magnitude, node.edges, len(sources), targets)
        fields.update(steps=node.depth, interaction=counts)
    elif isinstance(node, Threshold):
        t = node.thresholds
        data = ins[0]
        width = max(
            port_bits[0] + 1,
            bits_for_range(min(data.low, int(t.min()), -1), max(data.high + 1, int(t.max()))),
        )
        lane_bits = t.shape[1] * t.shape[2] * width
        fields.update(
            steps=node.steps,
            side=node.has_side,
            out_base=node.out_base,
            threshold_bits=width,
            threshold_signed=True,
            thresholds=Memory(MemoryKind.THRESHOLDS, simd, node.channels // simd, lane_bits, True),
        )
    return UnitPlan(**fields)


def _unit(
    net: Network, index: int, node: Layer, fold: LayerFolding, port_bits: tuple[int, ...]
) -> UnitPlan:
    if isinstance(node, Fork | AddJoin | Concat | Threshold | Interaction):
        return _graph_unit(net, index, node, fold, port_bits)
    bits = element_bits(net, node)
    if isinstance(node, InputThreshold):
        unit = threshold_unit(index, node, fold, bits, 0)
    elif isinstance(node, MatrixVector):
        unit = mvau_unit(index, node, fold, 0)
    elif isinstance(node, DBFMatrixVector):
        unit = dbf_unit(index, node, fold, 0)
    elif isinstance(node, MajorityPool):
        unit = majority_unit(index, node, fold, 0)
    else:
        unit = image_unit(index, node, fold, bits, 0)
    edge = net.in_edges(node.name)[0]
    return dataclasses.replace(
        unit,
        port_bits=(unit.in_bits,),
        port_bipolar=(edge.kind is ValueKind.BITS,),
        port_channels=(edge.channels,),
    )


def build_plan(net: Network, folding: Folding, *, fifo_depth: int | None = None) -> Plan:
    """The validated hardware plan of ``net`` folded as ``folding``: a chain's
    (:func:`hwbnn.plan.build.build_chain_plan`) or a graph's (the module docstring), with the
    estimated frame latency (:func:`hwbnn.plan.latency.frame_latency`).

    Raises:
        PlanError (a ConfigError): naming the layer that does not fit.
    """
    if is_chain_plan(net):
        plan = build_chain_plan(net, folding, fifo_depth=fifo_depth)
    else:
        plan = _checked_graph_plan(net, folding, fifo_depth)
    return dataclasses.replace(plan, latency_cycles=frame_latency(net, plan))


def _checked_graph_plan(net: Network, folding: Folding, fifo_depth: int | None) -> Plan:
    """:func:`build_graph_plan` after checking the folding and the FIFO depth."""
    try:
        check_folding(net, folding)
    except PlanError:
        raise
    except ConfigError as exc:
        raise PlanError(str(exc)) from None
    depth = auto_fifo_depth(net, folding) if fifo_depth is None else fifo_depth
    if depth and depth < 2:
        raise PlanError(f"FIFO depth must be 0 (none) or at least 2, got {depth}")
    return build_graph_plan(net, folding, depth)


def build_graph_plan(net: Network, folding: Folding, depth: int) -> Plan:
    """The plan of a graph (see the module docstring); ``depth`` is the default FIFO depth of
    every edge (0: none except where a branch needs one)."""
    index_of = {node.name: i for i, node in enumerate(net.layers)}
    index_of[INPUT] = -1
    units: list[UnitPlan] = []
    for index, (node, fold) in enumerate(zip(net.layers, folding.layers, strict=True)):
        inputs = tuple(index_of[name] for name in net.inputs_of(node.name))
        port_bits = tuple(units[i].out_bits if i >= 0 else net.edge(INPUT).bits for i in inputs)
        unit = _unit(net, index, node, fold, port_bits)
        units.append(dataclasses.replace(unit, inputs=inputs))
    lags = port_lags(net, units, initiation_interval(net, folding))
    readers = [u for u in units if -1 in u.inputs]
    if len(readers) != 1:
        raise PlanError("the network input must be read by exactly one unit (add a fork)")
    first = readers[0]
    next_port: dict[int, int] = {}
    edges: list[Edge] = []
    for u in units:
        for port, src in enumerate(u.inputs):
            src_port = next_port.get(src, 0)
            next_port[src] = src_port + 1
            dst_width = u.in_per_beat * u.port_bits[port]
            if src < 0:
                edges.append(Edge(src, 0, u.index, port, dst_width, dst_width, u.in_beats, 0))
                continue
            producer = units[src]
            lag = lags.get((u.index, port), 0)
            fifo = max(depth, lag - 1) if lag else depth  # the module holds DEPTH + 1 beats
            edges.append(
                Edge(
                    src,
                    src_port,
                    u.index,
                    port,
                    producer.out_width,
                    dst_width,
                    producer.out_beats,
                    fifo,
                    lag,
                )
            )
    for edge in edges:
        a, b = edge.src_width, edge.dst_width
        if a % b and b % a:
            raise PlanError(
                f"layer {units[edge.dst].name}: input of {b} bits per beat and "
                f"{units[edge.src].name}'s output of {a} do not divide one another"
            )
    final = units[-1]
    io = StreamFormat(
        in_elements=net.input.elements,
        in_levels=net.input.levels,
        in_bits=first.port_bits[first.inputs.index(-1)],
        in_simd=first.in_per_beat,
        in_width=first.in_per_beat * first.port_bits[first.inputs.index(-1)],
        in_beats=net.input.elements // first.in_per_beat,
        classes=net.classes,
        out_pe=final.pe,
        acc_width=final.out_bits,
        out_width=final.out_width,
        out_beats=final.out_beats,
    )
    if final.pixels > 1:
        raise PlanError(
            f"layer {final.name}: an output layer of {final.pixels} pixels is not generated; "
            f"flatten the image into a dense output layer"
        )
    return Plan(
        source=net.source,
        units=tuple(units),
        converters=(),
        io=io,
        initiation_interval=initiation_interval(net, folding),
        fifo_depth=depth,
        edges=tuple(edges),
    )
