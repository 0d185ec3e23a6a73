"""hwbnn::max_pool (hls/hwbnn/pool.hpp: sliding_window into pool_or) in C simulation against
the reference's OR pool (hwbnn.reference.run_layer on a MaxPool), exactly.

Each configuration (image, kernel, stride, SIMD, padding with bit 0) is compiled once
(tests/hls/pool_tb.cpp) and run on random images of several densities of +1 bits, so that
windows of all -1, all +1 and a single +1 all occur, several frames back to back.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hls_bench import Compiler, hex_tokens, pack_words, run_testbench, unpack_words

from hwbnn.codegen.cxx import CompileError
from hwbnn.ir.types import MaxPool
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


def case_id(case: tuple[int, ...]) -> str:
    h, w, c, k, s, simd, *pad = case
    return f"{h}x{w}x{c}-k{k}s{s}-simd{simd}" + (f"-p{''.join(map(str, pad))}" if pad else "")


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
    for density in (0.5, 0.1, 0.9):
        bits = (rng.random((REPS, layer.in_elements)) < density).astype(np.int64)
        expected = run_layer(layer, bits)
        words = run_testbench(exe, [REPS, *hex_tokens(pack_words(bits.reshape(-1, simd), 1))])
        got = unpack_words(words, simd, 1, signed=False).reshape(REPS, -1)
        assert got.shape == expected.shape == (REPS, layer.out_elements)
        if not np.array_equal(got, expected):
            frame, element = np.argwhere(got != expected)[0]
            pixel, channel = divmod(int(element), c)
            pytest.fail(
                f"{case_id(case)}, density {density}: frame {frame}, output pixel {pixel}, "
                f"channel {channel}: got {got[frame, element]}, expected {expected[frame, element]}"
            )


@pytest.mark.parametrize(
    ("call", "simd", "message"),
    [
        ("pool_or<2, 6, 4, 9>", 4, "hwbnn::pool_or: SIMD must divide C"),
        ("pool_or<2, 6, 3, 0>", 3, "hwbnn::pool_or: K, C and PIXELS must be at least 1"),
        ("max_pool<4, 4, 6, 5, 1, 2>", 2, "hwbnn::sliding_window: the window is larger than"),
        ("max_pool<4, 4, 2, 3, 1, 2, 3>", 2, "hwbnn::sliding_window: every padding must be"),
    ],
)
def test_pool_rejects_bad_instantiation(
    call: str, simd: int, message: str, tmp_path: Path, compiler: Compiler
) -> None:
    """A bad instantiation stops compilation, and the first error names the problem."""
    source = tmp_path / "broken.cpp"
    source.write_text(
        "#include <hwbnn/pool.hpp>\n"
        f"hls::stream<ap_uint<{simd}>> in, out;\n"
        f"int main() {{ hwbnn::{call}(in, out, 1); }}\n"
    )
    with pytest.raises(CompileError) as failure:
        compiler.compile(source, tmp_path / "build")
    first_error = str(failure.value).splitlines()[1]
    assert f"static assertion failed: {message}" in first_error
