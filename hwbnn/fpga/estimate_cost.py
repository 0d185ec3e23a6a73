"""The folding chooser's cost from the resource estimate, and the chooser for a board.

:func:`estimate_cost` prices one node at one folding with :func:`hwbnn.fpga.estimate.
estimate_unit` on a device: ``(LUTs, block RAMs)`` (on iCE40 LUTs plus half the FFs, the logic
cells a design needs; see :func:`board_fit`), so
:func:`hwbnn.ir.folding.choose_folding` minimises the estimated LUTs, then block RAMs, instead
of lanes. Width converters between nodes are not priced (the chooser's cost is per node).
Graph nodes (forks, joins, concatenations, thresholds) are priced one LUT per bit of an input
beat (SIMD times the element bits), which orders their foldings as their estimate does.

:func:`choose_for_board` adds the board's capacity: the cheapest folding meeting the target
whose estimate of the whole board top fits, or the fewest cycles/frame that fit (the
pipeline's error names them: hwbnn.pipeline.compile.check_board_fit).
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass

from hwbnn.errors import ConfigError
from hwbnn.fpga.boards import Board, Device, Family
from hwbnn.fpga.estimate import Estimate, converter_cost, estimate_plan, estimate_unit
from hwbnn.fpga.link import LinkFormat
from hwbnn.ir.folding import Folding, LayerCost, LayerFolding, choose_folding, max_cycles
from hwbnn.ir.types import (
    DBFMatrixVector,
    InputThreshold,
    Layer,
    MajorityPool,
    MatrixVector,
    MaxPool,
    Network,
    SlidingWindow,
)
from hwbnn.plan import Converter, UnitPlan, build_plan
from hwbnn.plan.build import (
    dbf_unit,
    element_bits,
    image_unit,
    majority_unit,
    mvau_unit,
    threshold_unit,
)


def bridge_cost(link: LinkFormat) -> tuple[int, int]:
    """(LUTs, FFs) of the board top's UART bridge around ``hwbnn_top`` (receiver, transmitter,
    byte/beat packers, power-on reset): measured 150 LUT4 and 162 FFs on iCE40 with 5-bit input
    and 45-bit output beats, most of it fixed, the rest registers per beat bit, and a LUT per
    output bit (the byte multiplexer). The input packer's registers load by clock enable, no
    LUT per bit (yosys, ECP5, hwbnn_uart_bytes_to_beats alone: 21 LUT4 + 5 CCU2C and 12,608
    FFs at 6,272 bits, 17 + 4 and 1,587 at 784; hwbnn_uart_beats_to_bytes: 181 LUT4 at 160
    bits, 665 at 640)."""
    return 110 + link.out_width, 80 + 2 * (link.in_width + link.out_width)


#: nextpnr-ecp5's packed cells (TRELLIS_COMB) per LUT4 slot of yosys after the carry-chain
#: trim (hwbnn.fpga.carry_chains): the chain ends the trim cannot spare (a chain whose carry out
#: is its result, as in a comparison, or whose carry in is a constant and every half used) keep
#: a whole CCU2C each. Measured: 1.026 (one MVAU, 256x16 PE 16 SIMD 256 constant), 1.031
#: (CNV at 4,800 cycles/frame: 64,438 slots, 66,460 cells), 1.066 (TFC at 1 cycle/frame, its
#: 784 input comparisons still carry chains: 70,383 slots, 75,001 cells).
ECP5_PACKING = 1.03


@dataclass(frozen=True)
class ResourceFit:
    """One resource of a board: the estimate of the whole board top and what the FPGA has."""

    name: str
    estimated: int
    available: int

    @property
    def fraction(self) -> float:
        return self.estimated / self.available

    @property
    def fits(self) -> bool:
        return self.estimated <= self.available


def board_fit(est: Estimate, device: Device, link: LinkFormat) -> tuple[ResourceFit, ...]:
    """The estimate of the board top (``est`` plus the UART bridge, :func:`bridge_cost`)
    against ``device``, per resource: LUT4 (LUT6 on 7-series), FFs and block RAMs.

    On iCE40 a logic cell holds one LUT4 and one FF, which share it only when the LUT drives
    the FF, so the logic resource is logic cells, counted as LUT4s plus half the FFs (nextpnr:
    6,406 cells for 4,667 LUT4 + 2,725 FFs, digits MLP at 64 cycles/frame; 811 for 586 + 432
    fully folded). ECP5 slices hold LUT4s and FFs apart, so they are checked apart, the LUT4s
    as nextpnr packs them: :data:`ECP5_PACKING` more cells than LUT4 slots."""
    bridge_luts, bridge_ffs = bridge_cost(link)
    luts, ffs = est.luts + bridge_luts, est.ffs + bridge_ffs
    if device.family is Family.ICE40:
        logic = ResourceFit("logic cells (LUT4 + FF)", luts + math.ceil(ffs / 2), device.luts)
    elif device.family is Family.ECP5:
        logic = ResourceFit("LUT4 (packed)", math.ceil(luts * ECP5_PACKING), device.luts)
    else:
        logic = ResourceFit(f"LUT{device.lut_inputs}", luts, device.luts)
    return (
        logic,
        ResourceFit("FF", ffs, device.ffs),
        ResourceFit("block RAM", est.brams, device.brams),
    )


def unit_of(net: Network, layer: Layer, fold: LayerFolding) -> UnitPlan | None:
    """The planned unit of a chain node (input thresholds, MVAU, window, pool) at ``fold``
    without the rest of the plan; None for graph nodes."""
    if isinstance(layer, InputThreshold):
        return threshold_unit(0, layer, fold, element_bits(net, layer), 0)
    if isinstance(layer, MatrixVector):
        return mvau_unit(0, layer, fold, 0)
    if isinstance(layer, DBFMatrixVector):
        return dbf_unit(0, layer, fold, 0)
    if isinstance(layer, SlidingWindow | MaxPool):
        return image_unit(0, layer, fold, element_bits(net, layer), 0)
    if isinstance(layer, MajorityPool):
        return majority_unit(0, layer, fold, 0)
    return None


def estimate_cost(net: Network, device: Device) -> LayerCost:
    """The chooser's cost of a node of ``net`` on ``device``: ``(LUTs, block RAMs)`` of its
    estimate (see the module docstring), each computed once and kept; its ``converter``
    prices the width converter between two chain layers of different stream widths."""
    return _EstimateCost(net, device)


class _EstimateCost:
    """:func:`estimate_cost`: a node's ``(LUTs, block RAMs)``, and a converter's."""

    def __init__(self, net: Network, device: Device) -> None:
        self.net = net
        self.device = device
        self.prices: dict[tuple[str, LayerFolding], tuple[float, float]] = {}
        self.brams_first = False  # (block RAMs, LUTs) instead: least block RAM first

    def brams_first_order(self) -> _EstimateCost:
        """The same prices (shared) as ``(block RAMs, LUTs)``, converters included."""
        swapped = copy.copy(self)
        swapped.brams_first = True
        return swapped

    def _order(self, price: tuple[float, float]) -> tuple[float, float]:
        return (price[1], price[0]) if self.brams_first else price

    def _in_bits(self, layer: Layer) -> int:
        return max(e.bits for e in self.net.in_edges(layer.name))

    def _logic(self, luts: int, ffs: int) -> float:
        half_ffs = self.device.family is Family.ICE40  # a logic cell per LUT4 and per 2 FFs
        return float(luts + (math.ceil(ffs / 2) if half_ffs else 0))

    def __call__(self, layer: Layer, fold: LayerFolding) -> tuple[float, float]:
        key = (layer.name, fold)
        if key not in self.prices:
            unit = unit_of(self.net, layer, fold)
            if unit is None:
                self.prices[key] = (float(fold.simd * self._in_bits(layer)), 0.0)
            else:
                est = estimate_unit(unit, self.device)
                self.prices[key] = (self._logic(est.luts, est.ffs), float(est.brams))
        return self._order(self.prices[key])

    def converter(self, layer: Layer, previous: int, simd: int) -> tuple[float, float]:
        """The converter from ``previous`` to ``simd`` elements per beat in front of ``layer``
        (hwbnn.fpga.estimate.converter_cost)."""
        bits = self._in_bits(layer)
        luts, ffs = converter_cost(Converter(0, previous * bits, simd * bits, 1))
        return self._order((self._logic(luts, ffs), 0.0))


def board_fits(net: Network, folding: Folding, board: Board) -> tuple[ResourceFit, ...]:
    """The estimate of the board top of ``net`` folded as ``folding`` against ``board``."""
    plan = build_plan(net, folding)
    est = estimate_plan(plan, board.device)
    return board_fit(est, board.device, LinkFormat.from_plan(plan))


@dataclass(frozen=True)
class BoardChoice:
    """What :func:`choose_for_board` found: ``folding`` fits the board when ``fits``; else it
    is the cheapest folding meeting the target, and ``fastest_fitting`` the fewest
    cycles/frame at which the chooser finds one that fits (None: not even fully folded)."""

    folding: Folding
    fits: bool
    fastest_fitting: int | None = None


def choose_for_board(net: Network, target_cycles: int, board: Board) -> BoardChoice:
    """The cheapest folding (:func:`estimate_cost`) meeting ``target_cycles`` whose board top
    fits ``board``: least LUTs first, else least block RAM. When neither fits, the fewest
    cycles/frame that fit are searched by bisection between the target and the fully folded
    design (ConfigError from the chooser when no folding meets the target at all)."""
    cost = _EstimateCost(net, board.device)

    def fitting(target: int) -> Folding | None:
        for order in (cost, cost.brams_first_order()):
            try:
                folding = choose_folding(net, target, order)
            except ConfigError:
                return None
            if all(f.fits for f in board_fits(net, folding, board)):
                return folding
        return None

    cheapest = choose_folding(net, target_cycles, cost)
    found = fitting(target_cycles)
    if found is not None:
        return BoardChoice(found, True)
    top = max_cycles(net)
    if top <= target_cycles or fitting(top) is None:
        return BoardChoice(cheapest, False, None)
    low, high = target_cycles, top  # low does not fit, high does
    while high - low > 1:
        middle = (low + high) // 2
        if fitting(middle) is None:
            low = middle
        else:
            high = middle
    return BoardChoice(cheapest, False, high)
