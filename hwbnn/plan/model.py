"""The hardware plan's types: frozen dataclasses, serialised as ``BUILD/plan.json``.

A :class:`Plan` is the backend-neutral description of one folded network: per layer a
:class:`UnitPlan` (identifier, every stream and arithmetic width, beat layout, memories, image
geometry, cycles), the width converters between units, the FIFO depth and the formats of the
top's two streams. :func:`hwbnn.plan.build_plan` makes and validates it; the RTL, HLS and
hls4ml generators, the resource estimate, the board top's link format and the Vitis adapter
only read it.
"""

from __future__ import annotations

import enum
import json
from dataclasses import MISSING, asdict, dataclass, fields
from typing import Any

from hwbnn.errors import ConfigError
from hwbnn.ir.folding import WeightStorage

#: Version of plan.json (2: graphs, with ``edges``); a reader takes 1 (a chain) and 2.
PLAN_FORMAT = 2
READABLE_FORMATS = (1, 2)


class UnitKind(enum.Enum):
    """Which hardware unit implements a layer."""

    INPUT_THRESHOLD = "input_threshold"
    MVAU = "mvau"
    DBF = "dbf"  # a Deterministic Binary Filter unit (rtl/hwbnn_dbf.v)
    SLIDING_WINDOW = "sliding_window"
    MAX_POOL = "max_pool"
    FORK = "fork"
    ADD_JOIN = "add_join"
    CONCAT = "concat"
    THRESHOLD = "threshold"
    INTERACTION = "interaction"
    MAJORITY_POOL = "majority_pool"  # rtl/hwbnn_window_majority.v after a window


#: the tuple fields of a :class:`UnitPlan` (lists in plan.json)
_TUPLE_FIELDS = (
    "inputs",
    "port_bits",
    "port_bipolar",
    "port_channels",
    "chain_bits",
    "interaction",
)


class MemoryKind(enum.Enum):
    WEIGHTS = "weights"
    THRESHOLDS = "thresholds"


@dataclass(frozen=True)
class Memory:
    """A ROM of a unit: ``lanes`` memories of ``depth`` words of ``lane_bits`` bits side by
    side (layouts in :mod:`hwbnn.plan.packing`); ``signed`` values in two's complement;
    ``storage`` where it lives (weights: the plan's choice, thresholds: always a ROM whose
    kind synthesis picks)."""

    kind: MemoryKind
    lanes: int
    depth: int
    lane_bits: int
    signed: bool = False
    storage: WeightStorage = WeightStorage.ROM

    @property
    def word_bits(self) -> int:
        """Bits of one word of the lanes side by side (a $readmemh line)."""
        return self.lanes * self.lane_bits

    @property
    def bits(self) -> int:
        return self.depth * self.word_bits


@dataclass(frozen=True)
class Window:
    """Image geometry of a sliding window or max pool: an (h, w, c) input, K x K windows with
    stride S and ``dilation`` D (taps D apart), padding (top, left, bottom, right) with
    ``pad_code`` (0 for a pool: bit 0 is the OR's neutral element), an (oh, ow) output, and
    ``rows`` rows of the line buffer of rtl/hwbnn_sliding_window.v."""

    h: int
    w: int
    c: int
    kernel: int
    stride: int
    padding: tuple[int, int, int, int]
    pad_code: int
    oh: int
    ow: int
    rows: int
    dilation: int = 1


@dataclass(frozen=True)
class UnitPlan:
    """One layer's unit. Elements per beat: SIMD in, PE out for an MVAU, SIMD out otherwise.

    ``mw``/``mh``: fan-in and output channels of an MVAU, N of input thresholds, C of an image
    stage. ``in_bits``/``out_bits``: bits per stream element (out: 1, or the accumulator width
    of the output layer; an image stage passes its elements through). ``in_width`` and
    ``out_width`` are beat widths, ``in_beats``/``out_beats`` beats per frame; a max pool's
    two parts (window generator, OR) are joined by ``inner_beats`` beats of ``in_width`` bits,
    as are a majority pool's (window generator with padding, thresholded count).
    ``acc_bits``/``popcount_bits``/``threshold_bits``: an MVAU's accumulator, popcount (bipolar
    input) and threshold widths (input thresholds: INPUT_BITS + 1); 0 where they do not apply.
    ``fifo_depth``: beats of the FIFO after the unit in a chain (0: none; never after the
    last); a graph's FIFOs are on its :class:`Edge` entries.

    Graphs: ``inputs`` are the producing units' indices per input port (-1: the top's s_axis),
    ``emits_acc`` an MVAU writing accumulators (the output layer or a hidden one),
    ``port_bits``/``port_bipolar``/``port_channels`` each port's element bits, whether they
    are bipolar bits, and channels; ``chain_bits`` the element bits of an add-join's partial
    sums (k inputs: k-1 two-input units, the last one's is ``out_bits``); ``steps``, ``side``
    and ``out_base`` a threshold's steps per channel, side input and output offset;
    ``outputs`` a fork's consumers. ``bases``/``alpha_bits``/``bases_per_cycle``: a DBF
    unit's M, alpha width and basis fold (``popcount_bits`` is then the width of a basis
    product, ``threshold_bits`` of a threshold on ``y``). A CI-BCNN interaction's ``steps`` are
    its levels (pipeline stages) and ``interaction`` its (deadzone m, magnitude c, edges,
    (source, level) pairs compared, interacted channels).
    """

    index: int
    name: str
    ident: str
    kind: UnitKind
    pe: int
    simd: int
    mw: int
    mh: int
    pixels: int
    in_bits: int
    out_bits: int
    in_width: int
    out_width: int
    in_beats: int
    out_beats: int
    inner_beats: int
    cycles: int
    is_output: bool
    acc_bits: int
    popcount_bits: int
    threshold_bits: int
    threshold_signed: bool
    fifo_depth: int
    weights: Memory | None = None
    thresholds: Memory | None = None
    window: Window | None = None
    inputs: tuple[int, ...] = ()
    emits_acc: bool = False
    port_bits: tuple[int, ...] = ()
    port_bipolar: tuple[bool, ...] = ()
    port_channels: tuple[int, ...] = ()
    chain_bits: tuple[int, ...] = ()
    steps: int = 0
    side: bool = False
    out_base: int = 0
    outputs: int = 1
    bases: int = 0  # M, the basis codes of a DBF unit
    alpha_bits: int = 0  # bits of a DBF unit's alpha
    bases_per_cycle: int = 0  # a DBF unit's products with alpha per channel per cycle
    interaction: tuple[int, ...] = ()

    @property
    def is_threshold(self) -> bool:
        return self.kind is UnitKind.INPUT_THRESHOLD

    @property
    def is_mvau(self) -> bool:
        return self.kind is UnitKind.MVAU

    @property
    def is_window(self) -> bool:
        return self.kind is UnitKind.SLIDING_WINDOW

    @property
    def is_pool(self) -> bool:
        return self.kind is UnitKind.MAX_POOL

    @property
    def is_majority(self) -> bool:
        return self.kind is UnitKind.MAJORITY_POOL

    @property
    def out_per_beat(self) -> int:
        """Elements per output beat: PE of an MVAU, ``min(SIMD, C)`` of a max pool (at
        SIMD = m*C its window stream carries m positions per beat, its output one pixel),
        SIMD otherwise."""
        if self.kind in (UnitKind.MAX_POOL, UnitKind.MAJORITY_POOL):
            return min(self.simd, self.mw)
        return self.pe if self.kind in (UnitKind.MVAU, UnitKind.DBF) else self.simd

    @property
    def in_per_beat(self) -> int:
        """Elements per input beat: ``min(SIMD, C)`` for a sliding window or max pool (at
        SIMD = m*C its window stream carries m positions per beat, its input one pixel), SIMD
        otherwise."""
        if self.kind in (UnitKind.SLIDING_WINDOW, UnitKind.MAX_POOL, UnitKind.MAJORITY_POOL):
            return min(self.simd, self.mw)
        return self.simd

    @property
    def is_dbf(self) -> bool:
        return self.kind is UnitKind.DBF

    @property
    def nf(self) -> int:
        """Neuron folds MH / PE (MVAU, DBF)."""
        return self.mh // self.pe

    @property
    def sf(self) -> int:
        """Synapse folds MW / SIMD."""
        return self.mw // self.simd

    @property
    def has_memories(self) -> bool:
        return self.weights is not None or self.thresholds is not None

    @property
    def stream_beats(self) -> int:
        """Beats per frame of the longest stream the unit writes (a pool's inner stream)."""
        return max(self.out_beats, self.inner_beats)


@dataclass(frozen=True)
class Converter:
    """A width converter after unit ``after``: beats of ``in_width`` bits (``in_beats`` per
    frame) to beats of ``out_width`` bits; one width divides the other."""

    after: int
    in_width: int
    out_width: int
    in_beats: int


@dataclass(frozen=True)
class Edge:
    """A stream of a graph: output ``src_port`` of unit ``src`` (-1: the top's s_axis) to
    input ``dst_port`` of unit ``dst``; beats of ``src_width`` bits (``beats`` per frame),
    read as beats of ``dst_width`` bits (a width converter where they differ), through a FIFO
    of ``fifo_depth`` beats (0: none) sized by :mod:`hwbnn.plan.fifos` (``lag_beats``: the
    part that covers the other branches' lag)."""

    src: int
    src_port: int
    dst: int
    dst_port: int
    src_width: int
    dst_width: int
    beats: int
    fifo_depth: int
    lag_beats: int = 0


@dataclass(frozen=True)
class StreamFormat:
    """The top's streams. Input: ``in_beats`` beats of ``in_simd`` codes of ``in_bits`` bits
    (code ``i`` at bits ``[(i % in_simd)*in_bits +: in_bits]`` of beat ``i // in_simd``), codes
    ``0 .. in_levels-1``. Output: ``out_beats`` beats of ``out_pe`` two's complement
    accumulators of ``acc_width`` bits (class ``nf*out_pe + p`` at bits
    ``[p*acc_width +: acc_width]`` of beat ``nf``)."""

    in_elements: int
    in_levels: int
    in_bits: int
    in_simd: int
    in_width: int
    in_beats: int
    classes: int
    out_pe: int
    acc_width: int
    out_width: int
    out_beats: int


@dataclass(frozen=True)
class Plan:
    """The hardware plan of a folded network (see the module docstring)."""

    source: str
    units: tuple[UnitPlan, ...]
    converters: tuple[Converter, ...]
    io: StreamFormat
    initiation_interval: int
    fifo_depth: int
    edges: tuple[Edge, ...] = ()
    latency_cycles: int = 0  # estimated over the longest path (hwbnn.plan.latency); 0: unknown

    @property
    def is_graph(self) -> bool:
        """True when the units are not one chain (their streams are the ``edges``)."""
        return any(u.inputs not in ((), (u.index - 1,)) for u in self.units) or any(
            u.kind in _GRAPH_KINDS for u in self.units
        )

    def require_chain(self, target: str) -> None:
        """ConfigError when the plan is a graph: the hls4ml project maps chains of layers
        only (the rtl and hls targets render graphs)."""
        if self.is_graph:
            kinds = sorted({u.kind.value for u in self.units if u.kind in _GRAPH_KINDS})
            raise ConfigError(
                f"{self.source or 'network'}: a branching network ({', '.join(kinds)}) cannot "
                f"be generated for --target {target}, which maps chains of layers only; use "
                f"--target hls or --target rtl"
            )

    def edge_name(self, edge: Edge) -> str:
        """The stream of ``edge`` (not the top's input) in generated tops:
        ``<producer ident>_to_<consumer ident>_p<input port>``."""
        return f"{self.units[edge.src].ident}_to_{self.units[edge.dst].ident}_p{edge.dst_port}"

    def converter_after(self, index: int) -> Converter | None:
        return next((c for c in self.converters if c.after == index), None)

    def top_localparams(self) -> dict[str, int]:
        """The localparams of the generated Verilog top, which testbenches read back."""
        io = self.io
        return {
            "IN_ELEMENTS": io.in_elements,
            "IN_BITS": io.in_bits,
            "IN_SIMD": io.in_simd,
            "IN_WIDTH": io.in_width,
            "IN_BEATS": io.in_beats,
            "CLASSES": io.classes,
            "OUT_PE": io.out_pe,
            "ACC_WIDTH": io.acc_width,
            "OUT_WIDTH": io.out_width,
            "OUT_BEATS": io.out_beats,
            "LAYERS": len(self.units),
            "II_CYCLES": self.initiation_interval,
        }

    def to_dict(self) -> dict[str, Any]:
        doc = asdict(self)
        for unit in doc["units"]:
            unit["kind"] = unit["kind"].value
            for name in _TUPLE_FIELDS:
                unit[name] = list(unit[name])
            for name in ("weights", "thresholds"):
                if unit[name] is not None:
                    unit[name]["kind"] = unit[name]["kind"].value
                    unit[name]["storage"] = unit[name]["storage"].value
        return {"format": PLAN_FORMAT, **doc}

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=1) + "\n"

    @classmethod
    def from_dict(cls, doc: dict[str, Any]) -> Plan:
        """Inverse of :meth:`to_dict`; KeyError/TypeError/ValueError on a malformed document."""
        if doc.get("format") not in READABLE_FORMATS:
            raise ValueError(f"plan format {doc.get('format')!r}, expected {PLAN_FORMAT}")
        units = []
        for entry in doc["units"]:
            unit = _only(UnitPlan, entry)
            unit["kind"] = UnitKind(unit["kind"])
            for name in ("weights", "thresholds"):
                if unit.get(name) is not None:
                    memory = _only(Memory, unit[name])
                    storage = WeightStorage(memory.get("storage", WeightStorage.ROM.value))
                    unit[name] = Memory(
                        **{**memory, "kind": MemoryKind(memory["kind"]), "storage": storage}
                    )
            if unit.get("window") is not None:
                window = _only(Window, unit["window"])
                unit["window"] = Window(**{**window, "padding": tuple(window["padding"])})
            for name in _TUPLE_FIELDS:
                if name in unit:
                    unit[name] = tuple(unit[name])
            units.append(UnitPlan(**unit))
        return cls(
            source=str(doc["source"]),
            units=tuple(units),
            converters=tuple(Converter(**_only(Converter, c)) for c in doc["converters"]),
            io=StreamFormat(**_only(StreamFormat, doc["io"])),
            initiation_interval=int(doc["initiation_interval"]),
            fifo_depth=int(doc["fifo_depth"]),
            edges=tuple(Edge(**_only(Edge, e)) for e in doc.get("edges", ())),
            latency_cycles=int(doc.get("latency_cycles", 0)),
        )


def _only(cls: type, entry: dict[str, Any]) -> dict[str, Any]:
    """The keys of ``entry`` that are fields of ``cls``; KeyError naming a missing one."""
    names = [f.name for f in fields(cls)]
    required = [f.name for f in fields(cls) if f.default is MISSING]
    missing = [n for n in required if n not in entry]
    if missing:
        raise KeyError(f"{cls.__name__} lacks {missing[0]!r}")
    return {n: entry[n] for n in names if n in entry}


_GRAPH_KINDS = (
    UnitKind.FORK,
    UnitKind.ADD_JOIN,
    UnitKind.CONCAT,
    UnitKind.THRESHOLD,
    UnitKind.INTERACTION,
)
