"""Config and function-call templates of the hwbnn layers for hls4ml's Vivado/Vitis backends.

A layer's config (written by hls4ml into ``firmware/parameters.h``) is a struct of sizes and
library types plus the layer's memories as constant arrays in the library's layout:

- MVAU weights ``w<i>[PE][NF*SF]`` of ``ap_uint<SIMD>``: word ``nf*SF + sf`` of lane ``p`` holds
  row ``nf*PE + p``, columns ``sf*SIMD ..``, column ``sf*SIMD + s`` at bit ``s`` (bit 1 = +1);
- MVAU thresholds ``t<i>[PE][NF]``: channel ``nf*PE + p`` at ``[p][nf]``;
- input thresholds ``t<i>[SIMD][N/SIMD]``: element ``f*SIMD + s`` at ``[s][f]``.

The function call (in ``firmware/<project>.cpp``) runs one frame through ``nnet_hwbnn.h``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from hls4ml.backends.template import FunctionCallTemplate, LayerConfigTemplate

from hwbnn.codegen.cxx import LITERAL_BITS, activation_type, cxx_word, product_type
from hwbnn.codegen.hls4ml_backend.layers import HwbnnInputThreshold, HwbnnMvau
from hwbnn.ir.types import InputThreshold, MatrixVector
from hwbnn.plan import UnitPlan
from hwbnn.plan.packing import lane_words, value_lanes, weight_lanes

INCLUDE = "nnet_utils/nnet_hwbnn.h"
#: Array elements per line of generated C++.
PER_LINE = 8


def cxx_array(declaration: str, rows: list[list[str]]) -> str:
    """``static const DECLARATION = {{...}, ...};`` with PER_LINE elements per line."""
    lines = [f"static const {declaration} = {{"]
    for row in rows:
        lines.append("    {")
        for start in range(0, len(row), PER_LINE):
            lines.append("        " + ", ".join(row[start : start + PER_LINE]) + ",")
        lines.append("    },")
    lines.append("};")
    return "\n".join(lines)


mvau_config_template = """struct config{index} {{
    static const unsigned mw = {mw};
    static const unsigned mh = {mh};
    static const unsigned pe = {pe};
    static const unsigned simd = {simd};
    static const unsigned input_bits = {input_bits};
    typedef {product} product;
    typedef {activation} activation;
    typedef hwbnn::MvauTypes<mw, mh, pe, simd, product, activation> types;
    static_assert(types::OUT_BITS == {out_bits}, "hwbnn: output field width != hls4ml type");
}};
{memories}
"""

threshold_config_template = """struct config{index} {{
    static const unsigned n = {n};
    static const unsigned simd = {simd};
    static const unsigned input_bits = {input_bits};
}};
{memories}
"""

mvau_function_template = (
    "nnet::hwbnn_mvau<{input_t}, {output_t}, {config}>({input}, {output}, w{index}, t{index});"
)
mvau_output_function_template = (
    "nnet::hwbnn_mvau_output<{input_t}, {output_t}, {config}>({input}, {output}, w{index});"
)
threshold_function_template = (
    "nnet::hwbnn_threshold_input<{input_t}, {output_t}, {config}>({input}, {output}, t{index});"
)


def limbs(value: int, count: int) -> list[str]:
    """``value`` as ``count`` 64-bit limbs, least significant first, as C++ literals."""
    mask = (1 << LITERAL_BITS) - 1
    return [f"0x{(value >> (LITERAL_BITS * i)) & mask:x}ULL" for i in range(count)]


def mvau_memories(index: int, layer: MatrixVector, unit: UnitPlan) -> str:
    """Weight words and thresholds of an MVAU (layouts: hwbnn.plan.packing). Synthesis sees
    constant ``ap_uint`` arrays; the C simulation fills the weight array from plain 64-bit
    limbs at start-up, as g++ needs minutes for large static ``ap_uint`` initialisers (hls4ml
    loads weights from text files in C simulation for the same reason)."""
    words = lane_words(weight_lanes(layer.weights, unit.pe, unit.simd))
    weights = unit.weights
    assert weights is not None
    count = -(-weights.lane_bits // LITERAL_BITS)
    declaration = f"ap_uint<{weights.lane_bits}> w{index}[{weights.lanes}][{weights.depth}]"
    parts = [
        "#ifdef __SYNTHESIS__",
        cxx_array(declaration, [[cxx_word(w, weights.lane_bits) for w in lane] for lane in words]),
        "#else",
        f"static {declaration};",
        cxx_array(
            f"unsigned long long w{index}_limbs[{weights.lanes}][{weights.depth}][{count}]",
            [["{" + ", ".join(limbs(w, count)) + "}" for w in lane] for lane in words],
        ),
        f"static const bool w{index}_filled = nnet::hwbnn_io::fill_words(w{index}, "
        f"w{index}_limbs);",
        "#endif",
    ]
    if layer.thresholds is not None and unit.thresholds is not None:
        parts.append(_thresholds(f"config{index}::types::threshold_t t{index}", layer, unit))
    return "\n".join(parts)


def _thresholds(declaration: str, layer: InputThreshold | MatrixVector, unit: UnitPlan) -> str:
    """The threshold array ``[lane][word]`` of a unit's threshold memory."""
    memory = unit.thresholds
    assert memory is not None and layer.thresholds is not None
    table = lane_words(value_lanes(layer.thresholds, memory.lanes))
    rows = [[str(v) for v in lane] for lane in table]
    return cxx_array(f"{declaration}[{memory.lanes}][{memory.depth}]", rows)


def threshold_memories(index: int, layer: InputThreshold, unit: UnitPlan) -> str:
    types = f"hwbnn::InputThresholdTypes<{unit.mw}, {unit.simd}, {unit.in_bits}>"
    return _thresholds(f"{types}::threshold_t t{index}", layer, unit)


def _mvau_fields(node: Any, unit: UnitPlan) -> dict[str, Any]:
    return {
        "mw": unit.mw,
        "mh": unit.mh,
        "pe": unit.pe,
        "simd": unit.simd,
        "input_bits": unit.in_bits,
        "product": product_type(unit.in_bits),
        "activation": activation_type(unit.is_output),
        "out_bits": unit.out_bits,
        "memories": mvau_memories(node.index, node.get_attr("ir_layer"), unit),
    }


def _threshold_fields(node: Any, unit: UnitPlan) -> dict[str, Any]:
    return {
        "n": unit.mw,
        "simd": unit.simd,
        "input_bits": unit.in_bits,
        "memories": threshold_memories(node.index, node.get_attr("ir_layer"), unit),
    }


class _ConfigTemplate(LayerConfigTemplate):
    """A layer's config struct: ``template`` filled with the node's index and ``fields``."""

    def __init__(
        self, layer: type, template: str, fields: Callable[[Any, UnitPlan], dict[str, Any]]
    ) -> None:
        super().__init__(layer)
        self.template, self.fields = template, fields

    def format(self, node: Any) -> str:
        return self.template.format(index=node.index, **self.fields(node, node.get_attr("unit")))


class _CallTemplate(FunctionCallTemplate):
    """A layer's function call: ``output`` for the output layer, else ``hidden``."""

    def __init__(self, layer: type, hidden: str, output: str) -> None:
        super().__init__(layer, include_header=[INCLUDE])
        self.hidden, self.output = hidden, output

    def format(self, node: Any) -> str:
        template = self.output if node.get_attr("unit").is_output else self.hidden
        return template.format(**self._default_function_params(node))


class HwbnnMvauConfigTemplate(_ConfigTemplate):
    def __init__(self) -> None:
        super().__init__(HwbnnMvau, mvau_config_template, _mvau_fields)


class HwbnnMvauFunctionTemplate(_CallTemplate):
    def __init__(self) -> None:
        super().__init__(HwbnnMvau, mvau_function_template, mvau_output_function_template)


class HwbnnInputThresholdConfigTemplate(_ConfigTemplate):
    def __init__(self) -> None:
        super().__init__(HwbnnInputThreshold, threshold_config_template, _threshold_fields)


class HwbnnInputThresholdFunctionTemplate(_CallTemplate):
    def __init__(self) -> None:
        super().__init__(HwbnnInputThreshold, *(threshold_function_template,) * 2)


TEMPLATES = (
    HwbnnMvauConfigTemplate,
    HwbnnMvauFunctionTemplate,
    HwbnnInputThresholdConfigTemplate,
    HwbnnInputThresholdFunctionTemplate,
)
