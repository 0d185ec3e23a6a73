"""The pools of hls/hwbnn/pool.hpp in C simulation against the reference, exactly:
hwbnn::max_pool (sliding_window into pool_or) against the OR pool (hwbnn.reference.run_layer on
a MaxPool), and hwbnn::majority_pool (sliding_window with padding into pool_majority) against
the majority pool (run_layer on a MajorityPool).

Each configuration is compiled once (tests/hls/pool_tb.cpp, tests/hls/majority_tb.cpp) and run
on random images of several densities of +1 bits, several frames back to back: for the max pool
densities that make windows of all -1, all +1 and a single +1 all occur (image, kernel, stride,
SIMD, padding with bit 0), for the majority pool per-channel thresholds (the sign's, its
neighbours, 0 and K*K+1) at kernel 3 with strides 1 and 2 and padding, and kernel 2.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest
from hls_bench import (
    Compiler,
    assert_images_equal,
    assert_rejected_first,
    hex_tokens,
    pack_words,
    run_testbench,
    unpack_words,
)

from hwbnn.ir.types import MajorityPool, MaxPool
from hwbnn.reference import run_layer

REPS = 3

CASES = [  # (H, W, C, K, S, SIMD[, padding top, left, bottom, right])
    (4, 4, 3, 2, 2, 1),  # the usual 2x2 pool
    (8, 8, 4, 2, 2, 4),  # whole pixel per beat
    (6, 6, 8, 2, 2, 2),  # SIMD between 1 and C
    (5, 7, 2, 3, 2, 2),  # overlapping windows, floor mode in both directions
    (6, 6, 1, 3, 1, 1),  # stride 1
    (7, 5, 6, 3, 3, 3),  # stride = kernel, floor mode
    (3, 3, 2, 3, 1, 1),  # one output pixel
    (4, 6, 2, 1, 2, 1),  # 1x1 kernel, stride 2: subsampling
    (5, 9, 4, 2, 3, 2),  # stride > kernel: rows and columns skipped
    (6, 6, 4, 3, 1, 2, 1, 1, 1, 1),  # DARTS' max_pool_3x3, stride 1, pad 1: same size
    (7, 6, 2, 3, 2, 1, 1, 1, 1, 1),  # stride 2, pad 1
    (5, 4, 2, 2, 1, 2, 1, 0, 0, 1),  # asymmetric padding
]

MAJORITY_CASES = [  # (H, W, C, K, S, padding, SIMD)
    (5, 5, 3, 3, 1, (1, 1, 1, 1), 1),  # avg_pool_3x3 of a normal cell
    (6, 6, 4, 3, 2, (1, 1, 1, 1), 2),  # of a reduction cell
    (7, 5, 6, 3, 2, (1, 0, 2, 1), 6),  # uneven padding, whole pixel per beat
    (4, 4, 8, 2, 1, (0, 0, 1, 1), 4),
]


def case_id(case: tuple[int, ...]) -> str:
    h, w, c, k, s, simd, *pad = case
    return f"{h}x{w}x{c}-k{k}s{s}-simd{simd}" + (f"-p{''.join(map(str, pad))}" if pad else "")


def majority_case_id(case: tuple) -> str:
    h, w, c, k, s, pad, simd = case
    return f"{h}x{w}x{c}-k{k}s{s}p{''.join(map(str, pad))}-simd{simd}"


def check_pool(
    exe: Path,
    layer: MaxPool | MajorityPool,
    simd: int,
    rng: np.random.Generator,
    densities: Sequence[float],
    what: str,
    before: Sequence[int] = (),
) -> None:
    """Run the testbench `exe` of `layer` on REPS random frames at each density of +1 bits
    (stdin: the tokens `before`, REPS, the input beats) and compare with the reference."""
    for density in densities:
        bits = (rng.random((REPS, layer.in_elements)) < density).astype(np.int64)
        expected = run_layer(layer, bits)
        tokens = [*before, REPS, *hex_tokens(pack_words(bits.reshape(-1, simd), 1))]
        got = unpack_words(run_testbench(exe, tokens), simd, 1, signed=False).reshape(REPS, -1)
        assert got.shape == expected.shape == (REPS, layer.out_elements)
        assert_images_equal(got, expected, layer.in_shape[2], f"{what}, density {density}")


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_max_pool_matches_reference(case: tuple[int, ...], compiler: Compiler) -> None:
    h, w, c, k, s, simd, *pad = case
    padding = (pad[0], pad[1], pad[2], pad[3]) if pad else (0, 0, 0, 0)
    layer = MaxPool("pool", (h, w, c), k, s, padding=padding)
    defines = {"TB_H": h, "TB_W": w, "TB_C": c, "TB_K": k, "TB_S": s, "TB_SIMD": simd}
    if pad:
        defines |= dict(zip(("TB_PT", "TB_PL", "TB_PB", "TB_PR"), pad, strict=True))
    exe = compiler.testbench("pool", defines)
    rng = np.random.default_rng(sum(case))
    check_pool(exe, layer, simd, rng, (0.5, 0.1, 0.9), case_id(case))


@pytest.mark.parametrize("case", MAJORITY_CASES, ids=majority_case_id)
def test_majority_pool_matches_reference(case: tuple, compiler: Compiler) -> None:
    h, w, c, k, s, pad, simd = case
    rng = np.random.default_rng(sum(case[:5]))
    t = rng.choice([0, k * k + 1, k * k // 2, k * k // 2 + 1, k * k // 2 + 2], size=c)
    layer = MajorityPool("pool", (h, w, c), k, s, pad, t)
    top, left, bottom, right = pad
    defines = {"TB_H": h, "TB_W": w, "TB_C": c, "TB_K": k, "TB_S": s, "TB_SIMD": simd}
    defines |= {"TB_PT": top, "TB_PL": left, "TB_PB": bottom, "TB_PR": right}
    exe = compiler.testbench("majority", defines)
    check_pool(exe, layer, simd, rng, (0.5, 0.3, 0.7), majority_case_id(case), t.tolist())


@pytest.mark.parametrize(
    ("call", "simd", "message"),
    [
        ("pool_or<2, 6, 4, 9>", 4, "hwbnn::pool_or: SIMD must divide C"),
        ("pool_or<2, 6, 3, 0>", 3, "hwbnn::pool_or: K, C and PIXELS must be at least 1"),
        ("max_pool<4, 4, 6, 5, 1, 2>", 2, "hwbnn::sliding_window: the window is larger than"),
        ("max_pool<4, 4, 2, 3, 1, 2, 3>", 2, "hwbnn::sliding_window: every padding must be"),
        ("pool_majority<3, 6, 4, 9>", 4, "hwbnn::pool_majority: SIMD must divide C"),
        ("pool_majority<3, 6, 3, 0>", 3, "hwbnn::pool_majority: K, C and PIXELS must be"),
    ],
)
def test_pool_rejects_bad_instantiation(
    call: str, simd: int, message: str, tmp_path: Path, compiler: Compiler
) -> None:
    """A bad instantiation stops compilation, and the first error names the problem."""
    thresholds = call.startswith("pool_majority")  # its thresholds [SIMD][C/SIMD] come before reps
    program = (
        "#include <hwbnn/pool.hpp>\n"
        f"hls::stream<ap_uint<{simd}>> in, out;\n"
        + (f"ap_uint<4> t[{simd}][2];\n" if thresholds else "")
        + f"int main() {{ hwbnn::{call}(in, out, {'t, ' if thresholds else ''}1); }}\n"
    )
    assert_rejected_first(compiler, tmp_path, program, message)
