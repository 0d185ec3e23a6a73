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

import numpy as np
from hls4ml.backends.template import FunctionCallTemplate, LayerConfigTemplate

from hwbnn.codegen.hls4ml_backend.layers import (
    HwbnnInputThreshold,
    HwbnnMvau,
    dot_bits,
    product_type,
)
from hwbnn.ir.types import InputThreshold, MatrixVector

INCLUDE = "nnet_utils/nnet_hwbnn.h"
#: Array elements per line of generated C++.
PER_LINE = 8
#: Widest ap_uint a C++ integer literal can initialise.
LITERAL_BITS = 64


def weight_words(weights: np.ndarray, pe: int, simd: int) -> list[list[int]]:
    """Pack bool weights (MH, MW) into the MVAU layout ``[p][nf*SF + sf]`` of SIMD-bit ints."""
    mh, mw = weights.shape
    nf, sf = mh // pe, mw // simd
    tiles = weights.reshape(nf, pe, sf, simd).transpose(1, 0, 2, 3).reshape(pe, nf * sf, simd)
    packed = np.packbits(tiles, axis=-1, bitorder="little")  # bit s of a word: byte s // 8
    return [[int.from_bytes(word.tobytes(), "little") for word in lane] for lane in packed]


def lane_major(values: np.ndarray, lanes: int) -> np.ndarray:
    """Per-channel values (n,) as ``[lane][fold]``: element ``f*lanes + l`` at ``[l][f]``."""
    return np.asarray(values, dtype=np.int64).reshape(-1, lanes).T


def cxx_word(value: int, bits: int) -> str:
    """A C++ initialiser of ``ap_uint<bits>`` holding ``value`` exactly."""
    if bits <= LITERAL_BITS:
        return f"0x{value:x}ULL"
    return f'ap_uint<{bits}>("{value:x}", 16)'


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


def mvau_memories(index: int, layer: MatrixVector, pe: int, simd: int) -> str:
    """Weight words and thresholds of an MVAU. Synthesis sees constant ``ap_uint`` arrays; the
    C simulation fills the weight array from plain 64-bit limbs at start-up, as g++ needs
    minutes for large static ``ap_uint`` initialisers (hls4ml loads weights from text files in
    C simulation for the same reason)."""
    words = weight_words(layer.weights, pe, simd)
    wmem = (layer.mh // pe) * (layer.mw // simd)
    count = -(-simd // LITERAL_BITS)
    declaration = f"ap_uint<{simd}> w{index}[{pe}][{wmem}]"
    parts = [
        "#ifdef __SYNTHESIS__",
        cxx_array(declaration, [[cxx_word(w, simd) for w in lane] for lane in words]),
        "#else",
        f"static {declaration};",
        cxx_array(
            f"unsigned long long w{index}_limbs[{pe}][{wmem}][{count}]",
            [["{" + ", ".join(limbs(w, count)) + "}" for w in lane] for lane in words],
        ),
        f"static const bool w{index}_filled = nnet::hwbnn_io::fill_words(w{index}, "
        f"w{index}_limbs);",
        "#endif",
    ]
    if layer.thresholds is not None:
        table = lane_major(layer.thresholds, pe)
        t_rows = [[str(int(v)) for v in lane] for lane in table]
        declaration = f"config{index}::types::threshold_t t{index}[{pe}][{layer.mh // pe}]"
        parts.append(cxx_array(declaration, t_rows))
    return "\n".join(parts)


def threshold_memories(index: int, layer: InputThreshold, simd: int, input_bits: int) -> str:
    table = lane_major(layer.thresholds, simd)
    rows = [[str(int(v)) for v in lane] for lane in table]
    fold = layer.in_elements // simd
    declaration = (
        f"hwbnn::InputThresholdTypes<{layer.in_elements}, {simd}, {input_bits}>::threshold_t "
        f"t{index}[{simd}][{fold}]"
    )
    return cxx_array(declaration, rows)


class HwbnnMvauConfigTemplate(LayerConfigTemplate):
    def __init__(self) -> None:
        super().__init__(HwbnnMvau)

    def format(self, node) -> str:
        layer: MatrixVector = node.get_attr("ir_layer")
        pe, simd = int(node.get_attr("pe")), int(node.get_attr("simd"))
        activation = "PassThroughActivation" if layer.is_output else "ThresholdActivation"
        return mvau_config_template.format(
            index=node.index,
            mw=layer.mw,
            mh=layer.mh,
            pe=pe,
            simd=simd,
            input_bits=layer.input_bits,
            product=product_type(layer),
            activation=f"hwbnn::{activation}",
            out_bits=dot_bits(layer) if layer.is_output else 1,
            memories=mvau_memories(node.index, layer, pe, simd),
        )


class HwbnnMvauFunctionTemplate(FunctionCallTemplate):
    def __init__(self) -> None:
        super().__init__(HwbnnMvau, include_header=[INCLUDE])

    def format(self, node) -> str:
        params = self._default_function_params(node)
        layer: MatrixVector = node.get_attr("ir_layer")
        template = mvau_output_function_template if layer.is_output else mvau_function_template
        return template.format(**params)


class HwbnnInputThresholdConfigTemplate(LayerConfigTemplate):
    def __init__(self) -> None:
        super().__init__(HwbnnInputThreshold)

    def format(self, node) -> str:
        layer: InputThreshold = node.get_attr("ir_layer")
        simd, input_bits = int(node.get_attr("simd")), int(node.get_attr("input_bits"))
        return threshold_config_template.format(
            index=node.index,
            n=layer.in_elements,
            simd=simd,
            input_bits=input_bits,
            memories=threshold_memories(node.index, layer, simd, input_bits),
        )


class HwbnnInputThresholdFunctionTemplate(FunctionCallTemplate):
    def __init__(self) -> None:
        super().__init__(HwbnnInputThreshold, include_header=[INCLUDE])

    def format(self, node) -> str:
        return threshold_function_template.format(**self._default_function_params(node))


TEMPLATES = (
    HwbnnMvauConfigTemplate,
    HwbnnMvauFunctionTemplate,
    HwbnnInputThresholdConfigTemplate,
    HwbnnInputThresholdFunctionTemplate,
)
