"""The generated top's stages: one :class:`Stage` per planned unit (hwbnn.plan), its module
instances (:class:`Unit`, with :class:`Param` values or memory files) and a summary line.

- input thresholds: ``hwbnn_input_threshold`` (threshold ROM file);
- matrix-vector unit: ``hwbnn_mvau``, OUTPUT_MODE 1 for the output layer, VECTORS = pixels;
- DBF unit: ``hwbnn_dbf`` with its codes, alpha and thresholds as literal parameters;
- sliding window: ``hwbnn_sliding_window`` (ELEM_BITS = the plan's element bits);
- max pool: ``hwbnn_sliding_window`` without padding, then ``hwbnn_window_or``;
- majority pool: ``hwbnn_sliding_window`` with its padding (pad bit 0), then
  ``hwbnn_window_majority``, its thresholds as a parameter (:mod:`hwbnn.codegen.majority`);
- CI-BCNN interaction: ``hwbnn_interact``, its graph as parameters
  (:mod:`hwbnn.codegen.interaction`).

Every number comes from the plan; :func:`plan_stages` also writes the memory files
(hwbnn.codegen.memfiles).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from hwbnn.codegen.interaction import interaction_scalars, interaction_vectors, verilog_literal
from hwbnn.codegen.majority import majority_thresholds
from hwbnn.codegen.memfiles import write_unit_memories
from hwbnn.ir.folding import WeightStorage
from hwbnn.ir.types import (
    DBFMatrixVector,
    Interaction,
    Layer,
    MajorityPool,
    MatrixVector,
    Network,
)
from hwbnn.plan import Plan, UnitKind, UnitPlan
from hwbnn.plan.packing import dbf_constants, weight_constant


@dataclass(frozen=True)
class Param:
    """One parameter of an instance: an integer, a memory file name (under MEM_DIR), or a
    Verilog literal (the constant weights)."""

    name: str
    value: int | None = None
    file: str | None = None
    literal: str | None = None


#: rtl/hwbnn_mvau.v's WEIGHT_STORAGE code of each storage
STORAGE_CODES = {
    WeightStorage.ROM: 0,
    WeightStorage.BLOCK_RAM: 1,
    WeightStorage.LUT_ROM: 2,
    WeightStorage.CONSTANT: 3,
}


@dataclass(frozen=True)
class Unit:
    """One module instance of a layer (a max pool has two: window generator, then window OR)."""

    module: str
    suffix: str  # instance u_<prefix><suffix>
    params: tuple[Param, ...]
    out_width: int  # bits per output beat


@dataclass(frozen=True)
class Block:
    """One module instance between two stream links (``s_axis``/``m_axis`` are the top ports)."""

    module: str
    inst: str
    params: tuple[Param, ...]
    src: str
    dst: str
    comment: str
    ports: tuple[tuple[str, str], ...] = ()  # explicit connections (graphs); else src/dst


@dataclass(frozen=True)
class Link:
    """An internal AXI4-Stream link: wires ``<name>_tdata/_tvalid/_tready/_tlast``."""

    name: str
    width: int
    comment: str


@dataclass(frozen=True)
class Stage:
    """One planned unit (``plan``): the module instances that implement it (instances
    ``u_<ident><suffix>``, memory files ``<ident>_*.hex``) and a summary line."""

    plan: UnitPlan
    units: tuple[Unit, ...]  # in stream order
    summary: str  # one line for the header table


def _window_params(u: UnitPlan) -> tuple[Param, ...]:
    g = u.window
    assert g is not None
    top, left, bottom, right = g.padding
    return (
        Param("IN_H", g.h),
        Param("IN_W", g.w),
        Param("CHANNELS", g.c),
        Param("KERNEL", g.kernel),
        Param("STRIDE", g.stride),
        Param("DILATION", g.dilation),
        Param("PAD_TOP", top),
        Param("PAD_LEFT", left),
        Param("PAD_BOTTOM", bottom),
        Param("PAD_RIGHT", right),
        Param("SIMD", u.simd),
        Param("ELEM_BITS", u.in_bits),
        Param("PAD_CODE", g.pad_code),
    )


def _memory_params(u: UnitPlan, layer: Layer, files: list[str]) -> tuple[Param, ...]:
    """WEIGHT_STORAGE, the weight file or (constant weights) the WEIGHTS literal, and the
    threshold file if any (``files``: the unit's memory files, weights first if stored)."""
    assert u.weights is not None and isinstance(layer, MatrixVector)
    storage = u.weights.storage
    code = Param("WEIGHT_STORAGE", STORAGE_CODES[storage])
    if storage is not WeightStorage.CONSTANT:
        weights, thresholds = Param("WEIGHT_FILE", file=files[0]), files[1:]
    else:
        value = weight_constant(layer.weights, u.pe, u.simd)
        weights, thresholds = Param("WEIGHTS", literal=f"{u.mw * u.mh}'h{value:x}"), files
    return (code, weights, *(Param("THRESH_FILE", file=file) for file in thresholds))


def _dbf_params(u: UnitPlan, layer: DBFMatrixVector) -> tuple[Param, ...]:
    """rtl/hwbnn_dbf.v's parameters: sizes from the plan, the codes, alpha and thresholds as
    sized literals (hwbnn.plan.packing.dbf_constants)."""
    acc, alpha_bits = u.acc_bits, layer.alpha_bits
    codes, alpha, thresholds = dbf_constants(
        layer.codes, layer.alpha, layer.thresholds, alpha_bits, acc
    )
    return (
        Param("MW", u.mw),
        Param("MH", u.mh),
        Param("BASES", layer.bases),
        Param("PE", u.pe),
        Param("BASES_PER_CYCLE", u.bases_per_cycle),
        Param("SIMD", u.simd),
        Param("INPUT_BITS", u.in_bits),
        Param("OUTPUT_MODE", 1 if u.emits_acc else 0),
        Param("VECTORS", u.pixels),
        Param("ALPHA_BITS", alpha_bits),
        Param("ACC_WIDTH", acc),
        Param("CODES", literal=f"{layer.bases * u.mw}'h{codes:x}"),
        Param("ALPHA", literal=f"{u.mh * layer.bases * alpha_bits}'h{alpha:x}"),
        Param("THRESHOLDS", literal=f"{u.mh * (acc + 1)}'h{thresholds:x}"),
    )


def _instances(u: UnitPlan, files: list[str], layer: Layer) -> tuple[tuple[Unit, ...], str]:
    """The module instances of a unit and its summary line."""
    params: tuple[Param, ...]
    if u.kind is UnitKind.INPUT_THRESHOLD:
        params = (
            Param("N", u.mw),
            Param("SIMD", u.simd),
            Param("INPUT_BITS", u.in_bits),
            Param("THRESH_FILE", file=files[0]),
        )
        summary = f"input thresholds N={u.mw} SIMD={u.simd} INPUT_BITS={u.in_bits}"
        return (Unit("hwbnn_input_threshold", "", params, u.out_width),), summary
    if u.kind is UnitKind.MVAU:
        params = (
            Param("MW", u.mw),
            Param("MH", u.mh),
            Param("PE", u.pe),
            Param("SIMD", u.simd),
            Param("INPUT_BITS", u.in_bits),
            Param("OUTPUT_MODE", 1 if u.emits_acc or u.is_output else 0),
            Param("VECTORS", u.pixels),
            *_memory_params(u, layer, files),
        )
        summary = (
            f"mvau MW={u.mw} MH={u.mh} PE={u.pe} SIMD={u.simd} INPUT_BITS={u.in_bits}"
            + (f" VECTORS={u.pixels}" if u.pixels > 1 else "")
            + f" -> {'accumulators' if u.emits_acc or u.is_output else 'thresholds'}"
            + (f", weights {u.weights.storage.value}" if u.weights is not None else "")
        )
        return (Unit("hwbnn_mvau", "", params, u.out_width),), summary
    if u.kind is UnitKind.DBF:
        assert isinstance(layer, DBFMatrixVector)
        return (Unit("hwbnn_dbf", "", _dbf_params(u, layer), u.out_width),), (
            f"dbf MW={u.mw} MH={u.mh} M={layer.bases} PE={u.pe} SIMD={u.simd} "
            f"BASES_PER_CYCLE={u.bases_per_cycle} "
            f"INPUT_BITS={u.in_bits}"
            + (f" VECTORS={u.pixels}" if u.pixels > 1 else "")
            + f" -> {'accumulators' if u.emits_acc else 'thresholds'}, constant codes and alpha"
        )
    if isinstance(layer, Interaction):
        return _interaction_instance(u, layer)
    if isinstance(layer, MajorityPool):
        return _majority_instances(u, layer)
    if u.kind in _GRAPH_UNITS:
        return _graph_instances(u, files)
    g = u.window
    assert g is not None
    if u.kind is UnitKind.SLIDING_WINDOW:
        summary = (
            f"sliding window {g.h}x{g.w}x{g.c} K={g.kernel} S={g.stride} "
            + (f"D={g.dilation} " if g.dilation > 1 else "")
            + f"pad={'/'.join(map(str, g.padding))} SIMD={u.simd} ELEM_BITS={u.in_bits}"
        )
        return (Unit("hwbnn_sliding_window", "", _window_params(u), u.out_width),), summary
    reduce = (Param("CHANNELS", g.c), Param("KERNEL", g.kernel), Param("SIMD", u.simd))
    summary = (
        f"max pool (OR) {g.h}x{g.w}x{g.c} K={g.kernel} S={g.stride} "
        + (f"pad={'/'.join(map(str, g.padding))} " if any(g.padding) else "")
        + f"SIMD={u.simd}"
    )
    return (
        Unit("hwbnn_sliding_window", "_window", _window_params(u), u.simd * u.in_bits),
        Unit("hwbnn_window_or", "", reduce, u.out_width),
    ), summary


def _majority_instances(u: UnitPlan, layer: MajorityPool) -> tuple[tuple[Unit, ...], str]:
    g = u.window
    assert g is not None
    value, width = majority_thresholds(layer)
    reduce = (
        Param("CHANNELS", g.c),
        Param("KERNEL", g.kernel),
        Param("SIMD", u.simd),
        Param("THRESHOLDS", literal=verilog_literal(value, width)),
    )
    summary = (
        f"majority pool {g.h}x{g.w}x{g.c} K={g.kernel} S={g.stride} "
        f"pad={'/'.join(map(str, g.padding))} SIMD={u.simd}"
    )
    return (
        Unit("hwbnn_sliding_window", "_window", _window_params(u), u.simd),
        Unit("hwbnn_window_majority", "", reduce, u.out_width),
    ), summary


def _interaction_instance(u: UnitPlan, layer: Interaction) -> tuple[tuple[Unit, ...], str]:
    scalars = interaction_scalars(layer)
    params = (
        Param("CHANNELS", u.mw),
        Param("SIMD", u.simd),
        Param("IN_BITS", u.in_bits),
        Param("OUT_BITS", u.out_bits),
        *(Param(name, value) for name, value in scalars.items()),
        *(
            Param(name, literal=verilog_literal(value, width))
            for name, (value, width) in interaction_vectors(layer).items()
        ),
    )
    summary = (
        f"CI-BCNN interaction C={u.mw} SIMD={u.simd} IN_BITS={u.in_bits} OUT_BITS={u.out_bits}"
        f" LEVELS={layer.depth} edges={layer.edges} m={layer.deadzone} c={layer.magnitude}"
    )
    return (Unit("hwbnn_interact", "", params, u.out_width),), summary


_GRAPH_UNITS = (UnitKind.FORK, UnitKind.ADD_JOIN, UnitKind.CONCAT, UnitKind.THRESHOLD)


def _graph_instances(u: UnitPlan, files: list[str]) -> tuple[tuple[Unit, ...], str]:
    """Forks, thresholds, and add-joins and concatenations as chains of two-input units
    (instance suffixes ``_j1``, ``_j2``, ... for all but the last)."""
    params: tuple[Param, ...]
    if u.kind is UnitKind.FORK:
        params = (Param("WIDTH", u.in_width), Param("OUTPUTS", u.outputs))
        summary = f"fork to {u.outputs} SIMD={u.simd} ELEM_BITS={u.in_bits}"
        return (Unit("hwbnn_fork", "", params, u.out_width),), summary
    if u.kind is UnitKind.THRESHOLD:
        params = (
            Param("CHANNELS", u.mw),
            Param("SIMD", u.simd),
            Param("IN_BITS", u.in_bits),
            Param("STEPS", u.steps),
            Param("SIDE", int(u.side)),
            Param("OUT_BITS", u.out_bits),
            Param("OUT_BASE", u.out_base),
            Param("THRESH_WIDTH", u.threshold_bits),
            Param("THRESH_FILE", file=files[0]),
        )
        summary = f"threshold C={u.mw} SIMD={u.simd} IN_BITS={u.in_bits} STEPS={u.steps}" + (
            " with side input" if u.side else ""
        )
        return (Unit("hwbnn_threshold", "", params, u.out_width),), summary
    k = len(u.port_bits)
    units = []
    if u.kind is UnitKind.ADD_JOIN:
        a_bits, a_bipolar = u.port_bits[0], u.port_bipolar[0]
        for j in range(1, k):
            out_bits = u.chain_bits[j - 1]
            params = (
                Param("SIMD", u.simd),
                Param("A_BITS", a_bits),
                Param("A_BIPOLAR", int(a_bipolar)),
                Param("B_BITS", u.port_bits[j]),
                Param("B_BIPOLAR", int(u.port_bipolar[j])),
                Param("OUT_BITS", out_bits),
            )
            suffix = "" if j == k - 1 else f"_j{j}"
            units.append(Unit("hwbnn_add_join", suffix, params, u.simd * out_bits))
            a_bits, a_bipolar = out_bits, False
        summary = f"add-join of {k} SIMD={u.simd} OUT_BITS={u.out_bits}"
        return tuple(units), summary
    channels = u.port_channels[0]
    for j in range(1, k):
        params = (
            Param("SIMD", u.simd),
            Param("ELEM_BITS", u.in_bits),
            Param("C0", channels),
            Param("C1", u.port_channels[j]),
            Param("PIXELS", u.pixels),
        )
        suffix = "" if j == k - 1 else f"_j{j}"
        units.append(Unit("hwbnn_concat", suffix, params, u.out_width))
        channels += u.port_channels[j]
    summary = f"concat of {k} channels {'+'.join(map(str, u.port_channels))} SIMD={u.simd}"
    return tuple(units), summary


def plan_stages(plan: Plan, net: Network, out_dir: Path) -> list[Stage]:
    """The stages of ``plan`` (of ``net``), writing their memory files into ``out_dir``."""
    stages = []
    for unit, layer in zip(plan.units, net.layers, strict=True):
        files = [path.name for path in write_unit_memories(unit, layer, out_dir)]
        instances, summary = _instances(unit, files, layer)
        stages.append(Stage(unit, instances, summary))
    return stages
