"""The graph units of hls/hwbnn/graph.hpp (fork, add_join, concat, threshold) in C simulation.

Every configuration below is one template instantiation in a single build of
tests/hls/graph_tb.cpp (the lists are passed as X-macro defines), so the module compiles once;
each case then runs that build on random frames and compares the output, unpacked, exactly with
the golden model: hwbnn.reference.run_node on the IR node (hwbnn.ir.joins) the unit implements.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest
from hls_bench import (
    Compiler,
    assert_rejected_first,
    hex_tokens,
    pack_words,
    run_testbench,
    unpack_words,
)

from hwbnn.ir.edges import EdgeType, ValueKind, bits_edge
from hwbnn.ir.joins import AddJoin, Concat, Fork, Threshold
from hwbnn.reference import run_node

REPS = 3

# (WIDTH, BEATS, OUTPUTS)
FORK = [
    (1, 7, 2),  # 1-bit beats
    (130, 3, 3),  # beats wider than 128 bits
    (24, 5, 4),
    (8, 1, 2),  # one beat per frame
]
# (ELEMENTS, SIMD, A_BITS, A_BIPOLAR, B_BITS, B_BIPOLAR, OUT_BITS)
ADD_JOIN = [
    (16, 4, 1, True, 1, True, 3),  # bits + bits
    (12, 3, 7, False, 1, True, 8),  # accumulator + binary shortcut (Bi-Real)
    (6, 3, 1, False, 1, True, 3),  # a 1-bit two's complement (-1/0) input
    (8, 2, 1, True, 6, False, 7),  # binary first
    (10, 10, 5, False, 9, False, 10),  # a whole frame per beat, different widths
    (6, 1, 4, False, 4, False, 9),  # output wider than needed: sign extension
]
# (C0, C1, SIMD, ELEM_BITS, PIXELS)
CONCAT = [
    (4, 2, 2, 1, 9),  # binary image
    (6, 9, 3, 5, 4),  # integer image
    (8, 8, 8, 1, 1),  # non-image, one beat per input
    (3, 5, 1, 12, 6),
]
# (C, SIMD, IN_BITS, STEPS, SIDE, OUT_BITS, OUT_BASE, THRESH_BITS, PIXELS)
THRESHOLD = [
    (8, 4, 6, 1, 1, 1, 0, 7, 4),  # the Bi-Real shortcut: side-selected, one bit out
    (6, 2, 8, 1, 0, 1, 0, 12, 3),  # one bit out, no side input, thresholds beyond the inputs
    (5, 5, 4, 3, 0, 3, 0, 5, 2),  # 0..3 out
    (4, 1, 10, 7, 1, 4, -4, 6, 3),  # side-selected multi-step, negative base, narrow thresholds
    (12, 3, 1, 2, 1, 3, -1, 2, 2),  # 1-bit (-1/0) input
    (16, 16, 16, 2, 0, 3, 1, 17, 1),  # 16 lanes of 16 bits, base 1
]


def x_macros(configs: Sequence[tuple[int | bool, ...]]) -> str:
    """The X-macro list of graph_tb.cpp: X(arguments) per configuration."""
    return " ".join("X({})".format(",".join(str(int(v)) for v in c)) for c in configs)


DEFINES = {
    "TB_FORK": x_macros(FORK),
    "TB_ADD_JOIN": x_macros(ADD_JOIN),
    "TB_CONCAT": x_macros(CONCAT),
    "TB_THRESHOLD": x_macros(THRESHOLD),
}


def run_unit(compiler: Compiler, unit: str, index: int, tokens: Sequence[str | int]) -> list[int]:
    return run_testbench(compiler.testbench("graph", DEFINES), [unit, index, REPS, *tokens])


def signed_range(bits: int) -> tuple[int, int]:
    return -(1 << (bits - 1)), (1 << (bits - 1)) - 1


def signed_values(rng: np.random.Generator, bits: int, shape: tuple[int, ...]) -> np.ndarray:
    """Random two's complement `bits`-bit integers, both ends of the range included."""
    low, high = signed_range(bits)
    values = rng.integers(low, high + 1, size=shape)
    values.flat[0], values.flat[-1] = low, high
    return values


def int_edge(elements: int, image: tuple[int, int, int] | None, bits: int) -> EdgeType:
    """The edge of `bits`-bit two's complement integers."""
    return EdgeType(elements, image, ValueKind.INT, *signed_range(bits))


# -- tests ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "index", range(len(FORK)), ids=lambda i: "w{}-beats{}-out{}".format(*FORK[i])
)
def test_fork_copies_every_beat(index: int, compiler: Compiler) -> None:
    width, beats, outputs = FORK[index]
    node = Fork("fork", inputs=("input",))
    rng = np.random.default_rng(index)
    words = [
        int.from_bytes(rng.bytes(width // 8 + 1), "little") % (1 << width)
        for _ in range(REPS * beats)
    ]
    words[0] = (1 << width) - 1
    got = run_unit(compiler, "fork", index, hex_tokens(words))
    # The words as frames of 1-bit elements, bit i of beat b element b*WIDTH + i.
    bits = np.array([[(w >> i) & 1 for i in range(width)] for w in words]).reshape(REPS, -1)
    want = run_node(node, [bits], [bits_edge(beats * width, None)])
    assert got == pack_words(want.reshape(-1, width), 1) * outputs


@pytest.mark.parametrize(
    "index", range(len(ADD_JOIN)), ids=lambda i: "n{}-simd{}-a{}{}-b{}{}-out{}".format(*ADD_JOIN[i])
)
def test_add_join_sums_elementwise(index: int, compiler: Compiler) -> None:
    elements, simd, a_bits, a_bipolar, b_bits, b_bipolar, out_bits = ADD_JOIN[index]
    node = AddJoin("join", inputs=("a", "b"))
    rng = np.random.default_rng(100 + index)
    streams, inputs, edges = [], [], []
    for bits, bipolar in ((a_bits, a_bipolar), (b_bits, b_bipolar)):
        shape = (REPS, elements)
        data = rng.integers(0, 2, size=shape) if bipolar else signed_values(rng, bits, shape)
        streams.append(hex_tokens(pack_words(data.reshape(-1, simd), bits)))
        inputs.append(data)
        edges.append(bits_edge(elements, None) if bipolar else int_edge(elements, None, bits))
    got = run_unit(compiler, "add_join", index, streams[0] + streams[1])
    sums = unpack_words(got, simd, out_bits, signed=True).reshape(REPS, elements)
    assert np.array_equal(sums, run_node(node, inputs, edges))


@pytest.mark.parametrize(
    "index", range(len(CONCAT)), ids=lambda i: "c{}+{}-simd{}-bits{}-px{}".format(*CONCAT[i])
)
def test_concat_interleaves_channels_per_pixel(index: int, compiler: Compiler) -> None:
    c0, c1, simd, bits, pixels = CONCAT[index]
    node = Concat("cat", inputs=("a", "b"))
    rng = np.random.default_rng(200 + index)
    inputs = [signed_values(rng, bits, (REPS, pixels * c)) for c in (c0, c1)]
    tokens = [t for x in inputs for t in hex_tokens(pack_words(x.reshape(-1, simd), bits))]
    got = run_unit(compiler, "concat", index, tokens)
    out = unpack_words(got, simd, bits, signed=True).reshape(REPS, -1)
    edges = [int_edge(pixels * c, (1, pixels, c) if pixels > 1 else None, bits) for c in (c0, c1)]
    assert np.array_equal(out, run_node(node, inputs, edges))


@pytest.mark.parametrize(
    "index",
    range(len(THRESHOLD)),
    ids=lambda i: "c{}-simd{}-in{}-steps{}-side{}-out{}-base{}-t{}-px{}".format(*THRESHOLD[i]),
)
def test_threshold_counts_met_thresholds(index: int, compiler: Compiler) -> None:
    c, simd, in_bits, steps, side, out_bits, out_base, thresh_bits, pixels = THRESHOLD[index]
    rng = np.random.default_rng(300 + index)
    shape = (REPS, pixels * c)
    data = signed_values(rng, in_bits, shape)
    # Thresholds: both ends of their range (met by every input or by none when wider than the
    # inputs), half drawn from that range, half from the inputs' range and one above it, and
    # some equal to an input they meet.
    t_low, t_high = signed_range(thresh_bits)
    x_low, x_high = signed_range(in_bits)
    table = np.where(
        rng.integers(0, 2, size=(c, side + 1, steps)) == 1,
        rng.integers(t_low, t_high + 1, size=(c, side + 1, steps)),
        np.clip(rng.integers(x_low, x_high + 2, size=(c, side + 1, steps)), t_low, t_high),
    )
    table[0, :, :] = t_low
    table[-1, :, :] = t_high
    # element c of frame 0 is channel c
    table[1 : c // 2, :, 0] = np.clip(data[0, 1 : c // 2, None], t_low, t_high)
    table = np.sort(table, axis=2)
    node = Threshold("thr", table, inputs=("x", "s") if side else ("x",), out_base=out_base)
    side_bits = rng.integers(0, 2, size=shape) if side else None
    tokens: list[str | int] = table.reshape(-1).tolist()
    tokens += hex_tokens(pack_words(data.reshape(-1, simd), in_bits))
    if side_bits is not None:
        tokens += hex_tokens(pack_words(side_bits.reshape(-1, simd), 1))
    got = run_unit(compiler, "threshold", index, tokens)
    binary = out_bits == 1
    out = unpack_words(got, simd, out_bits, signed=not binary).reshape(shape)
    edges = [int_edge(shape[1], None, in_bits)] + ([bits_edge(shape[1], None)] if side else [])
    want = run_node(node, [data] if side_bits is None else [data, side_bits], edges)
    assert binary == node.binary_output
    assert np.array_equal(out, want)
    assert len(np.unique(want)) > 1


REJECTED = [
    (
        "hwbnn::AddJoinTypes<8, 4, 5, false, 1, true, 5> T;",
        "hwbnn::add_join: OUT_BITS must hold every sum",
    ),
    (
        "hwbnn::ThresholdTypes<6, 4, 8, 1, 0, 1, 0, 9> T;",
        "hwbnn::threshold: SIMD must divide C",
    ),
    (
        "hwbnn::ThresholdTypes<4, 2, 8, 3, 0, 2, 0, 9> T;",
        "hwbnn::threshold: OUT_BITS must hold OUT_BASE..OUT_BASE+STEPS",
    ),
    (
        "hwbnn::ConcatTypes<4, 6, 4, 1> T;",
        "hwbnn::concat: SIMD must divide both C0 and C1",
    ),
]


@pytest.mark.parametrize(
    "declaration,message", REJECTED, ids=["add-out-bits", "thr-simd", "thr-out-bits", "cat-simd"]
)
def test_bad_parameters_are_rejected_first(
    declaration: str, message: str, tmp_path: Path, compiler: Compiler
) -> None:
    program = (
        f"#include <hwbnn/graph.hpp>\ntypedef {declaration}\n"
        "int main() { return sizeof(T) > 0 ? 0 : 1; }\n"
    )
    assert_rejected_first(compiler, tmp_path, program, message)
