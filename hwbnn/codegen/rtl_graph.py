"""The generated top of a graph: one link per planned edge (hwbnn.plan.Edge), each with its
FIFO and width converter, and every unit's module instances connected port by port.

Link names: ``<src ident>_to_<dst ident>_p<port>`` as the producer writes it, ``..._buf``
after the edge's FIFO, ``..._in`` after its width converter. A fork drives its outputs'
links through concatenated ports (output i at the low end of the concatenation); an add-join
or concatenation of k inputs is a chain of k-1 two-input units joined by ``<ident>_j<i>``
links; a threshold without a side input ties its side port off.
"""

from __future__ import annotations

from collections.abc import Sequence

from hwbnn.codegen.rtl_stages import Block, Link, Param, Stage
from hwbnn.plan import Plan, UnitKind

_SIGNALS = ("tdata", "tvalid", "tready", "tlast")


def _stream(port: str, link: str) -> list[tuple[str, str]]:
    return [(f"{port}_{sig}", f"{link}_{sig}") for sig in _SIGNALS]


def _fanout(port: str, links: Sequence[str]) -> list[tuple[str, str]]:
    """A fork's output port driving several links (output i = links[i], low end first)."""
    return [
        (f"{port}_{sig}", "{" + ", ".join(f"{n}_{sig}" for n in reversed(links)) + "}")
        for sig in _SIGNALS
    ]


def _tied_off(port: str, width: int) -> list[tuple[str, str]]:
    return [
        (f"{port}_tdata", f"{width}'d0"),
        (f"{port}_tvalid", "1'b0"),
        (f"{port}_tready", ""),
        (f"{port}_tlast", "1'b0"),
    ]


def _edge_links(
    plan: Plan,
) -> tuple[list[Block], list[Link], dict[tuple[int, int], str], dict[tuple[int, int], str]]:
    """Per edge: the producer's link, its FIFO and converter; the names producers write and
    consumers read, keyed (unit, port)."""
    blocks: list[Block] = []
    links: list[Link] = []
    writes: dict[tuple[int, int], str] = {}
    reads: dict[tuple[int, int], str] = {}
    for e in plan.edges:
        if e.src < 0:
            reads[(e.dst, e.dst_port)] = "s_axis"
            continue
        src, dst = plan.units[e.src], plan.units[e.dst]
        base = plan.edge_name(e)
        what = f"layer {src.index} ({src.name}) -> layer {dst.index} ({dst.name}) port {e.dst_port}"
        links.append(Link(base, e.src_width, what))
        writes[(e.src, e.src_port)] = current = base
        if e.fifo_depth:
            link = Link(f"{base}_buf", e.src_width, f"{what}, after the FIFO")
            lag = f" (branch lag {e.lag_beats} beats)" if e.lag_beats else ""
            blocks.append(
                Block(
                    "hwbnn_axis_fifo",
                    f"u_{base}_fifo",
                    _params(("DATA_WIDTH", e.src_width), ("DEPTH", e.fifo_depth)),
                    current,
                    link.name,
                    f"FIFO of {e.fifo_depth} + 1 beats on {what}{lag}",
                )
            )
            links.append(link)
            current = link.name
        if e.src_width != e.dst_width:
            link = Link(f"{base}_in", e.dst_width, f"{what}, after the width converter")
            blocks.append(
                Block(
                    "hwbnn_axis_width_converter",
                    f"u_{base}_width",
                    _params(("IN_WIDTH", e.src_width), ("OUT_WIDTH", e.dst_width)),
                    current,
                    link.name,
                    f"width converter {e.src_width} -> {e.dst_width} bits",
                )
            )
            links.append(link)
            current = link.name
        reads[(e.dst, e.dst_port)] = current
    return blocks, links, writes, reads


def _params(*pairs: tuple[str, int]) -> tuple[Param, ...]:
    return tuple(Param(name, value) for name, value in pairs)


def graph_blocks(plan: Plan, stages: Sequence[Stage]) -> tuple[list[Block], list[Link]]:
    """The instances and internal links of a graph's top (see the module docstring): each
    unit's instances, then the FIFOs and converters of the edges."""
    edge_blocks, links, writes, reads = _edge_links(plan)
    blocks: list[Block] = []
    last = len(plan.units) - 1
    for stage in stages:
        u = stage.plan
        ins = [reads[(u.index, port)] for port in range(len(u.inputs))]
        outs = ["m_axis"] if u.index == last else [writes[(u.index, k)] for k in range(u.outputs)]
        comment = f"layer {u.index} ({u.name}): {stage.summary}, {u.cycles} cycles/frame"
        count = len(stage.units)
        for k, unit in enumerate(stage.units):
            inst = f"u_{u.ident}{unit.suffix}"
            final = k == count - 1
            if final:
                out = outs[0]
            else:
                out = f"{u.ident}{unit.suffix}_out"
                links.append(Link(out, unit.out_width, f"layer {u.index} part {k + 1} output"))
            note = comment + (f"; part {k + 1} of {count}" if count > 1 else "")
            ports: list[tuple[str, str]]
            if u.kind in (UnitKind.ADD_JOIN, UnitKind.CONCAT):
                first = ins[0] if k == 0 else f"{u.ident}{stage.units[k - 1].suffix}_out"
                ports = _stream("s0_axis", first) + _stream("s1_axis", ins[k + 1])
                ports += _stream("m_axis", out)
            elif u.kind is UnitKind.THRESHOLD:
                side = _stream("s1_axis", ins[1]) if u.side else _tied_off("s1_axis", u.simd)
                ports = _stream("s_axis", ins[0]) + side + _stream("m_axis", out)
            elif u.kind is UnitKind.FORK:
                ports = _stream("s_axis", ins[0]) + _fanout("m_axis", outs)
            else:  # one input: thresholds, MVAU, window; a pool's two parts in a row
                src = ins[0] if k == 0 else f"{u.ident}{stage.units[k - 1].suffix}_out"
                ports = _stream("s_axis", src) + _stream("m_axis", out)
            blocks.append(Block(unit.module, inst, unit.params, "", "", note, tuple(ports)))
    return blocks + edge_blocks, links
