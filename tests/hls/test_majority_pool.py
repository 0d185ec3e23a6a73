"""hwbnn::majority_pool (hls/hwbnn/pool.hpp: sliding_window with padding into pool_majority) in
C simulation against the reference's majority pool (hwbnn.reference.run_layer on a
MajorityPool), exactly.

Each configuration (image, kernel 3 at strides 1 and 2 with padding, kernel 2, SIMD) is
compiled once (tests/hls/majority_tb.cpp) and run on random images of several densities of +1
bits with per-channel thresholds (the sign's 5, its neighbours, 0 and K*K+1), several frames
back to back.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hls_bench import Compiler, hex_tokens, pack_words, run_testbench, unpack_words

from hwbnn.codegen.cxx import CompileError
from hwbnn.ir.types import MajorityPool
from hwbnn.reference import run_layer

REPS = 3

CASES = [  # (H, W, C, K, S, padding, SIMD)
    (5, 5, 3, 3, 1, (1, 1, 1, 1), 1),  # avg_pool_3x3 of a normal cell
    (6, 6, 4, 3, 2, (1, 1, 1, 1), 2),  # of a reduction cell
    (7, 5, 6, 3, 2, (1, 0, 2, 1), 6),  # uneven padding, whole pixel per beat
    (4, 4, 8, 2, 1, (0, 0, 1, 1), 4),
]


def case_id(case: tuple) -> str:
    h, w, c, k, s, pad, simd = case
    return f"{h}x{w}x{c}-k{k}s{s}p{''.join(map(str, pad))}-simd{simd}"


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_majority_pool_matches_reference(case: tuple, compiler: Compiler) -> None:
    h, w, c, k, s, pad, simd = case
    rng = np.random.default_rng(sum(case[:5]))
    t = rng.choice([0, k * k + 1, k * k // 2, k * k // 2 + 1, k * k // 2 + 2], size=c)
    layer = MajorityPool("pool", (h, w, c), k, s, pad, t)
    top, left, bottom, right = pad
    defines = {"TB_H": h, "TB_W": w, "TB_C": c, "TB_K": k, "TB_S": s, "TB_SIMD": simd}
    defines |= {"TB_PT": top, "TB_PL": left, "TB_PB": bottom, "TB_PR": right}
    exe = compiler.testbench("majority", defines)
    for density in (0.5, 0.3, 0.7):
        bits = (rng.random((REPS, layer.in_elements)) < density).astype(np.int64)
        expected = run_layer(layer, bits)
        tokens = [*t.tolist(), REPS, *hex_tokens(pack_words(bits.reshape(-1, simd), 1))]
        got = unpack_words(run_testbench(exe, tokens), simd, 1, signed=False).reshape(REPS, -1)
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
        ("pool_majority<3, 6, 4, 9>", 4, "hwbnn::pool_majority: SIMD must divide C"),
        ("pool_majority<3, 6, 3, 0>", 3, "hwbnn::pool_majority: K, C and PIXELS must be"),
    ],
)
def test_pool_majority_rejects_bad_instantiation(
    call: str, simd: int, message: str, tmp_path: Path, compiler: Compiler
) -> None:
    """A bad instantiation stops compilation, and the first error names the problem."""
    source = tmp_path / "broken.cpp"
    source.write_text(
        "#include <hwbnn/pool.hpp>\n"
        f"hls::stream<ap_uint<{simd}>> in, out;\n"
        f"ap_uint<4> t[{simd}][2];\n"
        f"int main() {{ hwbnn::{call}(in, out, t, 1); }}\n"
    )
    with pytest.raises(CompileError) as failure:
        compiler.compile(source, tmp_path / "build")
    first_error = str(failure.value).splitlines()[1]
    assert f"static assertion failed: {message}" in first_error
