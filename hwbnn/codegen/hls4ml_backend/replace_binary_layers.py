"""ReplaceBinaryLayers: the hls4ml optimizer pass that puts hwbnn's exact units in the place of a
binary QONNX network's layers.

Contract. The pass runs once on the graph hls4ml's ONNX front end builds, before any of
hls4ml's own passes (it is the only pass of the flow :data:`FLOW`, listed first in the config's
``Flows``). It

- lowers the ONNX model hls4ml converts (config ``OnnxModel``) with
  :func:`hwbnn.frontend.lower.lower`
  and the input format of the config's ``Model: Hwbnn`` entry; the new layers' weights and
  thresholds are that IR's, so they are exact (no float arithmetic of hls4ml is involved);
- cuts the data path into segments (:mod:`.mapping`) and replaces the input stage by
  :class:`HwbnnInputThreshold` (binarized input) or by nothing (integer input), and every MatMul
  with the BatchNorm/affine ops and quantizer after it by :class:`HwbnnMvau`; the new layers
  take the IR layers' names, so ``LayerName`` configs (PE, SIMD, ReuseFactor, Trace) reach them;
- removes the constants and weight quantizers nothing reads any more;
- makes the model input unsigned ``B``-bit codes (``B`` from the IR's input format), streamed
  ``SIMD`` per beat (the first layer's SIMD; the input variable becomes ``[N/SIMD, SIMD]``, its
  flattened order unchanged): the C-sim and the IP read the hardware codes of DESIGN.md's input
  format, not float images;
- raises :class:`~hwbnn.errors.ModelError` naming the layer it cannot map, and
  :class:`~hwbnn.errors.ConfigError` for an io type other than io_stream or a bad folding;
- returns True (the graph changed).
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

from hls4ml.model.optimizer import ModelOptimizerPass
from hls4ml.model.types import IntegerPrecisionType
from qonnx.core.modelwrapper import ModelWrapper

from hwbnn.codegen.hls4ml_backend.layers import HwbnnInputThreshold, HwbnnMvau
from hwbnn.codegen.hls4ml_backend.mapping import (
    Segment,
    check_widths,
    plan_segments,
    resolve_folding,
)
from hwbnn.errors import ConfigError, ModelError
from hwbnn.frontend.lower import InputSpec, lower
from hwbnn.ir.types import InputThreshold
from hwbnn.plan import Plan, build_plan

PASS_NAME = "hwbnn_replace_binary_layers"
FLOW = "hwbnn_binary_layers"
#: Key of hwbnn's settings in the config's ``Model`` section (hls4ml keeps unknown keys there).
SETTINGS_KEY = "Hwbnn"


def settings_entry(spec: InputSpec) -> dict[str, Any]:
    """The ``Model: Hwbnn`` config entry that makes the pass lower with ``spec``."""
    entry: dict[str, Any] = {"InputLow": float(spec.low), "InputHigh": float(spec.high)}
    if spec.levels is not None:
        entry["InputLevels"] = int(spec.levels)
    return entry


def input_spec(config: Any) -> InputSpec:
    """The input format the pass lowers with (default: what the model's metadata says)."""
    entry = (config.config["HLSConfig"].get("Model") or {}).get(SETTINGS_KEY) or {}
    unknown = sorted(set(entry) - {"InputLevels", "InputLow", "InputHigh"})
    if unknown:
        raise ConfigError(f"unknown key {unknown[0]!r} in the config's Model: {SETTINGS_KEY}")
    levels = entry.get("InputLevels")
    return InputSpec(
        None if levels is None else int(levels),
        float(entry.get("InputLow", 0.0)),
        float(entry.get("InputHigh", 1.0)),
    )


def onnx_model(config: Any) -> ModelWrapper:
    """The model hls4ml converts (a ModelWrapper, ModelProto or path), as a fresh ModelWrapper."""
    source = config.config.get("OnnxModel")
    if isinstance(source, ModelWrapper):
        return ModelWrapper(source.model.SerializeToString())
    if source is None:
        raise ModelError(
            "the hls4ml config holds no OnnxModel; convert with convert_from_onnx_model"
        )
    return ModelWrapper(source if isinstance(source, str) else source.SerializeToString())


class ReplaceBinaryLayers(ModelOptimizerPass):
    """See the module docstring."""

    def __init__(self) -> None:
        self.name = PASS_NAME

    def transform(self, model: Any) -> bool:
        io_type = model.config.get_config_value("IOType")
        if io_type != "io_stream":
            raise ConfigError(
                f"hwbnn's hls4ml layers are streaming: use io_type='io_stream', not {io_type!r}"
            )
        net = lower(onnx_model(model.config), input_spec(model.config))
        segments = plan_segments(model, net)
        plan = build_plan(net, resolve_folding(model.config, net))
        check_widths(plan)
        input_var = model.get_input_variables()[0]
        input_var.shape = [plan.io.in_beats, plan.io.in_simd]
        input_var.type.precision = IntegerPrecisionType(plan.io.in_bits, signed=False)
        _rewrite(model, segments, plan)
        return True


def _rewrite(model: Any, segments: list[Segment], plan: Plan) -> None:
    replaced = {node.name for segment in segments for node in segment.nodes}
    taken = set(model.graph) - replaced
    for segment in segments:
        for node in segment.nodes:
            del model.output_vars[node.outputs[0]]
    units = iter(plan.units)
    new_nodes: dict[str, Any] = {}  # name of the first replaced layer -> its replacement
    source = segments[0].source
    for segment in segments:
        layer = segment.ir_layer
        if layer is None:  # integer input: the first MVAU reads the input codes
            continue
        if layer.name in taken:
            raise ModelError(f"hls4ml graph already has a layer named {layer.name}")
        kind = HwbnnInputThreshold if isinstance(layer, InputThreshold) else HwbnnMvau
        attrs = {"ir_layer": layer, "unit": next(units)}
        node = model.make_node(kind, layer.name, attrs, [source], [segment.sink])
        new_nodes[segment.nodes[0].name] = node
        source = segment.sink
    graph: OrderedDict[str, Any] = OrderedDict()
    for name, node in model.graph.items():
        if name in new_nodes:
            graph[new_nodes[name].name] = new_nodes[name]
        elif name not in replaced:
            graph[name] = node
    model.graph = graph
    _remove_unread(model)


def _remove_unread(model: Any) -> None:
    """Drop layers (constants, weight quantizers) whose outputs no layer reads."""
    while True:
        read = {name for node in model.graph.values() for name in node.inputs}
        dead = [
            node
            for node in model.graph.values()
            if node.class_name != "Input"
            and not any(o in read or o in model.outputs for o in node.outputs)
        ]
        if not dead:
            return
        for node in dead:
            for name in node.outputs:
                model.output_vars.pop(name, None)
            del model.graph[node.name]
