"""hwbnn::convert_width (hls/hwbnn/streams.hpp) in C simulation.

Width conversion must keep the contract's element order, LSB first: the concatenation of the
output beats (beat 0 in the low bits) equals the concatenation of the input beats. Each
configuration is compiled once (tests/hls/streams_tb.cpp) and run on random and patterned data.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hls_bench import Compiler, hex_tokens, run_testbench

from hwbnn.codegen.cxx import CompileError

# (IN_W, OUT_W, IN_BEATS)
CONFIGS = [
    (1, 8, 16),  # widen x8: bits into bytes
    (4, 12, 6),  # widen x3
    (64, 192, 3),  # widen x3 across 64-bit boundaries
    (32, 4, 3),  # narrow x8
    (130, 10, 2),  # narrow x13 from a word wider than 128 bits
    (7, 7, 5),  # same width: a copy
]
REPS = 3


def concatenate(words: list[int], width: int) -> int:
    """The bit string of a stream, beat 0 in the low bits."""
    return sum(word << (i * width) for i, word in enumerate(words))


def split(bits: int, width: int, count: int) -> list[int]:
    """The inverse of concatenate."""
    return [(bits >> (i * width)) & ((1 << width) - 1) for i in range(count)]


@pytest.mark.parametrize("config", CONFIGS, ids=lambda c: "{}to{}-beats{}".format(*c))
def test_convert_width_keeps_bit_order(config: tuple[int, int, int], compiler: Compiler) -> None:
    in_w, out_w, in_beats = config
    exe = compiler.testbench(
        "streams", {"TB_IN_W": in_w, "TB_OUT_W": out_w, "TB_IN_BEATS": in_beats}
    )
    rng = np.random.default_rng(in_w * 7 + out_w)
    count = REPS * in_beats
    out_count = count * in_w // out_w
    patterns = [
        [int.from_bytes(rng.bytes(in_w // 8 + 1), "little") % (1 << in_w) for _ in range(count)],
        [i % (1 << in_w) for i in range(count)],  # beat numbers: catch reordered beats
        [(1 << in_w) - 1 if i % 2 else 0 for i in range(count)],
    ]
    for beats in patterns:
        words = run_testbench(exe, [REPS, *hex_tokens(beats)])
        expected = split(concatenate(beats, in_w), out_w, out_count)
        assert words == expected  # Python ints: words may be wider than 64 bits


def test_convert_width_rejects_incompatible_widths(tmp_path: Path, compiler: Compiler) -> None:
    source = tmp_path / "broken.cpp"
    source.write_text(
        "#include <hwbnn/streams.hpp>\n"
        "hls::stream<ap_uint<3>> in;\n"
        "hls::stream<ap_uint<5>> out;\n"
        "int main() { hwbnn::convert_width<3, 5, 5>(in, out, 1); }\n"
    )
    with pytest.raises(CompileError) as failure:
        compiler.compile(source, tmp_path / "build")
    first_error = str(failure.value).splitlines()[1]
    assert "static assertion failed: hwbnn::convert_width: one of IN_W and OUT_W" in first_error
