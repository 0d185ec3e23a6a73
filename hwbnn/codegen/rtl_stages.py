"""Planning the generated top's stages: one :class:`Stage` per IR layer, its module instances
(:class:`Unit`, with :class:`Param` values or memory files), stream widths and cycles.

- input thresholds: ``hwbnn_input_threshold`` (threshold ROM file);
- matrix-vector unit: ``hwbnn_mvau``, OUTPUT_MODE 1 for the output layer, VECTORS = pixels;
- sliding window: ``hwbnn_sliding_window`` (ELEM_BITS 1 on bits, else the input code width);
- max pool: ``hwbnn_sliding_window`` without padding, then ``hwbnn_window_or``.

:func:`plan_stages` checks the folding and writes the memory files (hwbnn.codegen.memfiles).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from hwbnn.codegen.memfiles import (
    mvau_widths,
    write_input_threshold_memfile,
    write_mvau_memfiles,
)
from hwbnn.errors import ConfigError
from hwbnn.ir.folding import Folding, LayerFolding, check_folding, layer_cycles
from hwbnn.ir.types import InputThreshold, MatrixVector, MaxPool, Network, SlidingWindow


@dataclass(frozen=True)
class Param:
    """One parameter of an instance: an integer, or a memory file name (under MEM_DIR)."""

    name: str
    value: int | None = None
    file: str | None = None


@dataclass(frozen=True)
class Unit:
    """One module instance of a layer (a max pool has two: window generator, then window OR)."""

    module: str
    suffix: str  # instance u_<prefix><suffix>
    params: tuple[Param, ...]
    out_width: int  # bits per output beat


@dataclass(frozen=True)
class Stage:
    """One layer: what the top needs to instantiate and connect it."""

    index: int
    layer_name: str
    prefix: str  # identifier: instance u_<prefix>, memory files <prefix>_*.hex
    units: tuple[Unit, ...]  # in stream order
    in_width: int  # bits per input beat
    cycles: int  # cycles per frame
    summary: str  # one line for the header table

    @property
    def out_width(self) -> int:
        """Bits per output beat (of the last unit)."""
        return self.units[-1].out_width


def verilog_identifier(index: int, name: str) -> str:
    """``l<index>_<name>`` with every character outside [A-Za-z0-9_] replaced by '_'."""
    return f"l{index}_" + re.sub(r"[^A-Za-z0-9_]", "_", name).strip("_")


def _plan_input_threshold(
    index: int, layer: InputThreshold, fold: LayerFolding, bits: int, out_dir: Path
) -> Stage:
    prefix = verilog_identifier(index, layer.name)
    path = write_input_threshold_memfile(layer.thresholds, fold.simd, bits, out_dir, prefix)
    n = layer.in_elements
    return Stage(
        index=index,
        layer_name=layer.name,
        prefix=prefix,
        units=(
            Unit(
                "hwbnn_input_threshold",
                "",
                (
                    Param("N", n),
                    Param("SIMD", fold.simd),
                    Param("INPUT_BITS", bits),
                    Param("THRESH_FILE", file=path.name),
                ),
                fold.simd,
            ),
        ),
        in_width=fold.simd * bits,
        cycles=layer_cycles(layer, fold),
        summary=f"input thresholds N={n} SIMD={fold.simd} INPUT_BITS={bits}",
    )


def _plan_mvau(index: int, layer: MatrixVector, fold: LayerFolding, out_dir: Path) -> Stage:
    prefix = verilog_identifier(index, layer.name)
    weight_path, thresh_path = write_mvau_memfiles(
        layer.weights, layer.thresholds, fold.pe, fold.simd, layer.input_bits, out_dir, prefix
    )
    params = [
        Param("MW", layer.mw),
        Param("MH", layer.mh),
        Param("PE", fold.pe),
        Param("SIMD", fold.simd),
        Param("INPUT_BITS", layer.input_bits),
        Param("OUTPUT_MODE", 1 if layer.is_output else 0),
        Param("VECTORS", layer.pixels),
        Param("WEIGHT_FILE", file=weight_path.name),
    ]
    if thresh_path is not None:
        params.append(Param("THRESH_FILE", file=thresh_path.name))
    acc_width = mvau_widths(layer.mw, layer.input_bits).acc_width
    out = "accumulators" if layer.is_output else "thresholds"
    return Stage(
        index=index,
        layer_name=layer.name,
        prefix=prefix,
        units=(
            Unit(
                "hwbnn_mvau",
                "",
                tuple(params),
                fold.pe * acc_width if layer.is_output else fold.pe,
            ),
        ),
        in_width=fold.simd * layer.input_bits,
        cycles=layer_cycles(layer, fold),
        summary=(
            f"mvau MW={layer.mw} MH={layer.mh} PE={fold.pe} SIMD={fold.simd} "
            f"INPUT_BITS={layer.input_bits}"
            + (f" VECTORS={layer.pixels}" if layer.pixels > 1 else "")
            + f" -> {out}"
        ),
    )


def _window_params(
    layer: SlidingWindow | MaxPool,
    simd: int,
    padding: tuple[int, int, int, int],
    elem_bits: int,
    pad_code: int,
) -> tuple[Param, ...]:
    h, w, c = layer.in_shape
    top, left, bottom, right = padding
    return (
        Param("IN_H", h),
        Param("IN_W", w),
        Param("CHANNELS", c),
        Param("KERNEL", layer.kernel),
        Param("STRIDE", layer.stride),
        Param("PAD_TOP", top),
        Param("PAD_LEFT", left),
        Param("PAD_BOTTOM", bottom),
        Param("PAD_RIGHT", right),
        Param("SIMD", simd),
        Param("ELEM_BITS", elem_bits),
        Param("PAD_CODE", pad_code),
    )


def _plan_window(index: int, layer: SlidingWindow, fold: LayerFolding, input_bits: int) -> Stage:
    """A sliding window on bits (ELEM_BITS 1) or on the input codes (``input_bits`` each)."""
    bits = 1 if layer.input_levels == 2 else input_bits
    params = _window_params(layer, fold.simd, layer.padding, bits, layer.pad_code)
    h, w, c = layer.in_shape
    return Stage(
        index=index,
        layer_name=layer.name,
        prefix=verilog_identifier(index, layer.name),
        units=(Unit("hwbnn_sliding_window", "", params, fold.simd * bits),),
        in_width=fold.simd * bits,
        cycles=layer_cycles(layer, fold),
        summary=(
            f"sliding window {h}x{w}x{c} K={layer.kernel} S={layer.stride} "
            f"pad={'/'.join(map(str, layer.padding))} SIMD={fold.simd} ELEM_BITS={bits}"
        ),
    )


def _plan_pool(index: int, layer: MaxPool, fold: LayerFolding) -> Stage:
    """A max pool: the windows of its OR (sliding window, no padding), then the OR."""
    h, w, c = layer.in_shape
    window = _window_params(layer, fold.simd, (0, 0, 0, 0), 1, 0)
    reduce = (Param("CHANNELS", c), Param("KERNEL", layer.kernel), Param("SIMD", fold.simd))
    return Stage(
        index=index,
        layer_name=layer.name,
        prefix=verilog_identifier(index, layer.name),
        units=(
            Unit("hwbnn_sliding_window", "_window", window, fold.simd),
            Unit("hwbnn_window_or", "", reduce, fold.simd),
        ),
        in_width=fold.simd,
        cycles=layer_cycles(layer, fold),
        summary=(f"max pool (OR) {h}x{w}x{c} K={layer.kernel} S={layer.stride} SIMD={fold.simd}"),
    )


def plan_stages(net: Network, folding: Folding, out_dir: Path) -> list[Stage]:
    """Check the folding (ConfigError naming the layer), write the memory files into
    ``out_dir`` and plan every layer."""
    check_folding(net, folding)
    if net.output_layer.pixels > 1:
        raise ConfigError(
            f"layer {net.output_layer.name}: an output layer of {net.output_layer.pixels} pixels "
            "is not generated; flatten the image into a dense output layer"
        )
    stages = []
    for index, (layer, fold) in enumerate(zip(net.layers, folding.layers, strict=True)):
        try:
            if isinstance(layer, InputThreshold):
                stage = _plan_input_threshold(index, layer, fold, net.input.bits, out_dir)
            elif isinstance(layer, SlidingWindow):
                stage = _plan_window(index, layer, fold, net.input.bits)
            elif isinstance(layer, MaxPool):
                stage = _plan_pool(index, layer, fold)
            else:
                stage = _plan_mvau(index, layer, fold, out_dir)
        except ValueError as exc:  # a value the module cannot hold (memfiles checks ranges)
            raise ConfigError(f"layer {layer.name}: {exc}") from None
        stages.append(stage)
    return stages
