"""Which hls4ml layers make up which IR layer, and each IR layer's folding from the hls4ml config.

The graph hls4ml's ONNX front end builds from a prepared QONNX model (:func:`hwbnn.frontend.lower.
prepare`) has one data path, ``Input -> ... -> output``, with the weights, scales and BatchNorm
parameters hanging off it as ``Constant`` layers (and weight quantizers). The data path is cut at
its ``MatMul`` layers, which carry the names of the IR's matrix-vector layers:

    [input stage] MatMul_0 [BN/affine ... quantizer] MatMul_1 [...] ... MatMul_L [affine ...]

- input stage: layout and affine ops ending in the input quantizer; an IR
  :class:`~hwbnn.ir.types.InputThreshold` (binarized input) or nothing (integer input, where
  the first MVAU reads the codes);
- one segment per IR :class:`~hwbnn.ir.types.MatrixVector`: the MatMul and everything up to the
  next MatMul (the BatchNorm/affine ops and, for a hidden layer, the binary quantizer).

Folding: ``LayerName[<IR layer name>]`` may give ``PE`` and ``SIMD``; a layer without them gets
the cheapest (PE, SIMD) whose cycles per frame ``(MH/PE)*(MW/SIMD)`` reach its hls4ml
``ReuseFactor`` (layer, then layer type, then model; hls4ml's meaning: how often one multiplier
is reused per frame; the fastest if none does) and fits the previous layer's output beat: fewest
lanes (``PE*SIMD``) first, then fewer PEs and wider SIMD. The choice is made layer by layer, given
the layers before; :func:`hwbnn.ir.folding.choose_folding` (what ``hwbnn compile`` uses) instead
minimises the lanes of all layers together for one common target. The model input is streamed
SIMD_0 codes per beat (the first layer's SIMD), so any first SIMD fits it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from hwbnn.errors import ConfigError, ModelError
from hwbnn.ir.folding import (
    Folding,
    LayerFolding,
    check_folding,
    folding_options,
    layer_cycles,
)
from hwbnn.ir.types import InputThreshold, Layer, MatrixVector, Network
from hwbnn.plan import Plan

QUANTIZERS = frozenset({"BipolarQuant", "Quant"})
#: hls4ml classes the front end makes of the ONNX ops that lowering absorbs into a layer.
ABSORBED = frozenset({"Reshape", "Merge", "BatchNormOnnx"}) | QUANTIZERS
#: Elementwise ops (Merge ``op``) that lowering accepts: Add, Sub, Mul, Div with a constant.
MERGE_OPS = frozenset({"add", "subtract", "multiply", "divide"})
#: Class names of the replacement layers (their LayerType config applies).
CLASS_OF = {InputThreshold: "HwbnnInputThreshold", MatrixVector: "HwbnnMvau"}


@dataclass(frozen=True)
class Segment:
    """Data-path layers replaced by one IR layer (``ir_layer`` None: dropped, integer input)."""

    ir_layer: Layer | None
    nodes: tuple[Any, ...]
    source: str  # tensor the segment reads
    sink: str  # tensor the segment writes


def label(node: Any) -> str:
    return f"hls4ml layer {node.name} ({node.class_name})"


def data_chain(model: Any) -> list[Any]:
    """The layers on the data path in graph order; raises ModelError unless it is one chain."""
    if len(model.inputs) != 1 or len(model.outputs) != 1:
        raise ModelError(
            f"hwbnn maps single-input single-output graphs; this one has inputs {model.inputs} "
            f"and outputs {model.outputs}"
        )
    tensor = model.inputs[0]
    data = {tensor}
    chain: list[Any] = []
    for node in model.graph.values():
        if node.class_name == "Input":
            continue
        used = [name for name in node.inputs if name in data]
        if not used:
            continue  # a constant, or a quantizer of constants
        if used != [tensor]:
            raise ModelError(f"{label(node)}: the data path branches; hwbnn maps a chain")
        if len(node.outputs) != 1:
            raise ModelError(f"{label(node)}: has {len(node.outputs)} outputs; expected one")
        chain.append(node)
        tensor = node.outputs[0]
        data.add(tensor)
    if tensor != model.outputs[0]:
        raise ModelError(
            f"the data path ends in {tensor!r}, not in the graph output {model.outputs[0]!r}"
        )
    return chain


def hls4ml_name(name: str, class_name: str) -> str:
    """The layer name hls4ml's ONNX front end gives an ONNX node (sanitize_layer_name)."""
    name = name.replace(".", "_")
    return class_name.lower() + name if name[:1].isdigit() else name


def _check_absorbed(nodes: list[Any], what: str) -> None:
    for node in nodes:
        if node.class_name not in ABSORBED:
            raise ModelError(
                f"{label(node)}: cannot be part of {what}; hwbnn maps MatMul layers with "
                f"binary weights, BatchNormalization or Add/Sub/Mul/Div by constants, "
                f"Flatten/Reshape and binary quantizers"
            )
        if node.class_name == "Merge" and node.get_attr("op") not in MERGE_OPS:
            raise ModelError(f"{label(node)}: elementwise {node.get_attr('op')} is not mappable")


def plan_segments(model: Any, net: Network) -> list[Segment]:
    """Cut the data path of ``model`` into the segments of ``net``'s layers."""
    chain = data_chain(model)
    cuts = [i for i, node in enumerate(chain) if node.class_name == "MatMul"]
    units = [layer for layer in net.layers if isinstance(layer, MatrixVector)]
    if len(cuts) != len(units):
        raise ModelError(
            f"the hls4ml graph has {len(cuts)} MatMul layers on its data path, the lowered "
            f"network {len(units)} matrix-vector layers"
        )
    if not cuts or cuts[0] == 0:
        raise ModelError("the hls4ml graph has no input quantizer before its first MatMul")
    stage = chain[: cuts[0]]
    _check_absorbed(stage, "the input stage")
    if stage[-1].class_name not in QUANTIZERS:
        raise ModelError(f"{label(stage[-1])}: the input stage must end in a quantizer")
    first = net.layers[0] if isinstance(net.layers[0], InputThreshold) else None
    segments = [Segment(first, tuple(stage), model.inputs[0], stage[-1].outputs[0])]
    ends = [*cuts[1:], len(chain)]
    for start, end, unit in zip(cuts, ends, units, strict=True):
        nodes = chain[start:end]
        matmul = nodes[0]
        if matmul.name != hls4ml_name(unit.name, "MatMul"):
            raise ModelError(
                f"{label(matmul)} stands where the lowered network has layer {unit.name}; "
                f"convert the model prepared by hwbnn.frontend.lower.prepare"
            )
        if matmul.inputs[0] != segments[-1].sink:
            raise ModelError(f"{label(matmul)}: its data input must be its first input")
        _check_absorbed(nodes[1:], f"layer {unit.name}")
        if not unit.is_output and nodes[-1].class_name not in QUANTIZERS:
            raise ModelError(f"{label(nodes[-1])}: layer {unit.name} must end in a quantizer")
        segments.append(Segment(unit, tuple(nodes), segments[-1].sink, nodes[-1].outputs[0]))
    return segments


def _setting(config: Any, layer: Layer, key: str) -> Any:
    hls = config.config["HLSConfig"]
    for table, name in (("LayerName", layer.name), ("LayerType", CLASS_OF[type(layer)])):
        entry = (hls.get(table) or {}).get(name) or {}
        if key in entry:
            return entry[key]
    return None


def _positive(value: Any, layer: Layer, key: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(f"layer {layer.name}: {key} must be a positive integer, got {value!r}")
    return value


def resolve_folding(config: Any, net: Network) -> Folding:
    """Per-layer (PE, SIMD) from the hls4ml config (see the module docstring), checked."""
    chosen: list[LayerFolding] = []
    previous: int | None = None  # elements per beat of the incoming stream
    for layer in net.layers:
        pe, simd = _setting(config, layer, "PE"), _setting(config, layer, "SIMD")
        if pe is not None or simd is not None:
            fold = LayerFolding(
                1 if pe is None else _positive(pe, layer, "PE"),
                1 if simd is None else _positive(simd, layer, "SIMD"),
            )
        else:
            rf = _setting(config, layer, "ReuseFactor")
            rf = _positive(config.model_rf if rf is None else rf, layer, "ReuseFactor")
            assert isinstance(layer, InputThreshold | MatrixVector), (
                "hls4ml projects hold dense networks only"
            )
            options = [
                f
                for f in folding_options(layer)
                if previous is None or previous % f.simd == 0 or f.simd % previous == 0
            ]
            meeting = [f for f in options if layer_cycles(layer, f) <= rf]
            if meeting:
                fold = min(meeting, key=lambda f: (f.pe * f.simd, f.pe, -f.simd))
            else:
                fold = min(options, key=lambda f: (layer_cycles(layer, f), f.pe * f.simd))
        chosen.append(fold)
        previous = fold.simd if isinstance(layer, InputThreshold) else fold.pe
    folding = Folding(tuple(chosen))
    check_folding(net, folding)
    return folding


#: ap_int's default width limit; hls4ml projects include ap_int.h without raising it.
AP_INT_MAX_W = 1024


def check_widths(plan: Plan) -> None:
    """Raise ConfigError naming the layer if a stream word of the project exceeds ap_int's
    default 1024 bits (input beats, output words; a weight word is SIMD bits, within a beat)."""
    for unit in plan.units:
        widest = max(unit.in_width, unit.out_width)
        if widest > AP_INT_MAX_W:
            raise ConfigError(
                f"layer {unit.name}: a {widest}-bit stream word exceeds ap_int's {AP_INT_MAX_W} "
                f"bits in an hls4ml project; choose a smaller PE/SIMD"
            )
