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
from dataclasses import asdict, dataclass, fields
from typing import Any

#: Version of plan.json; a reader refuses another.
PLAN_FORMAT = 1


class UnitKind(enum.Enum):
    """Which hardware unit implements a layer."""

    INPUT_THRESHOLD = "input_threshold"
    MVAU = "mvau"
    SLIDING_WINDOW = "sliding_window"
    MAX_POOL = "max_pool"


class MemoryKind(enum.Enum):
    WEIGHTS = "weights"
    THRESHOLDS = "thresholds"


@dataclass(frozen=True)
class Memory:
    """A ROM of a unit: ``lanes`` memories of ``depth`` words of ``lane_bits`` bits side by
    side (layouts in :mod:`hwbnn.plan.packing`); ``signed`` values in two's complement."""

    kind: MemoryKind
    lanes: int
    depth: int
    lane_bits: int
    signed: bool = False

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
    stride S, padding (top, left, bottom, right) with ``pad_code`` (none for a pool), an
    (oh, ow) output, and ``rows`` rows of the line buffer of rtl/hwbnn_sliding_window.v."""

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


@dataclass(frozen=True)
class UnitPlan:
    """One layer's unit. Elements per beat: SIMD in, PE out for an MVAU, SIMD out otherwise.

    ``mw``/``mh``: fan-in and output channels of an MVAU, N of input thresholds, C of an image
    stage. ``in_bits``/``out_bits``: bits per stream element (out: 1, or the accumulator width
    of the output layer; an image stage passes its elements through). ``in_width`` and
    ``out_width`` are beat widths, ``in_beats``/``out_beats`` beats per frame; a max pool's
    two parts (window generator, OR) are joined by ``inner_beats`` beats of ``in_width`` bits.
    ``acc_bits``/``popcount_bits``/``threshold_bits``: an MVAU's accumulator, popcount (bipolar
    input) and threshold widths (input thresholds: INPUT_BITS + 1); 0 where they do not apply.
    ``fifo_depth``: beats of the FIFO after the unit (0: none; never after the last).
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
    def nf(self) -> int:
        """Neuron folds MH / PE (MVAU)."""
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
            for name in ("weights", "thresholds"):
                if unit[name] is not None:
                    unit[name]["kind"] = unit[name]["kind"].value
        return {"format": PLAN_FORMAT, **doc}

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=1) + "\n"

    @classmethod
    def from_dict(cls, doc: dict[str, Any]) -> Plan:
        """Inverse of :meth:`to_dict`; KeyError/TypeError/ValueError on a malformed document."""
        if doc.get("format") != PLAN_FORMAT:
            raise ValueError(f"plan format {doc.get('format')!r}, expected {PLAN_FORMAT}")
        units = []
        for entry in doc["units"]:
            unit = _only(UnitPlan, entry)
            unit["kind"] = UnitKind(unit["kind"])
            for name in ("weights", "thresholds"):
                if unit.get(name) is not None:
                    memory = _only(Memory, unit[name])
                    unit[name] = Memory(**{**memory, "kind": MemoryKind(memory["kind"])})
            if unit.get("window") is not None:
                window = _only(Window, unit["window"])
                unit["window"] = Window(**{**window, "padding": tuple(window["padding"])})
            units.append(UnitPlan(**unit))
        return cls(
            source=str(doc["source"]),
            units=tuple(units),
            converters=tuple(Converter(**_only(Converter, c)) for c in doc["converters"]),
            io=StreamFormat(**_only(StreamFormat, doc["io"])),
            initiation_interval=int(doc["initiation_interval"]),
            fifo_depth=int(doc["fifo_depth"]),
        )


def _only(cls: type, entry: dict[str, Any]) -> dict[str, Any]:
    """The keys of ``entry`` that are fields of ``cls``; KeyError naming a missing one."""
    names = [f.name for f in fields(cls)]
    missing = [n for n in names if n not in entry and n not in ("weights", "thresholds", "window")]
    if missing:
        raise KeyError(f"{cls.__name__} lacks {missing[0]!r}")
    return {n: entry[n] for n in names if n in entry}
