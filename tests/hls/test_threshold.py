"""hwbnn::threshold_input (hls/hwbnn/threshold.hpp) in C simulation against NumPy.

Each configuration is compiled once (tests/hls/threshold_tb.cpp) and run on random codes with
random thresholds over the whole range 0..2^INPUT_BITS, including both ends (0: always +1,
2^INPUT_BITS: always -1) and thresholds equal to the code they meet.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hls_bench import Compiler, hex_tokens, pack_words, run_testbench

from hwbnn.codegen.cxx import CompileError

# (N, SIMD, INPUT_BITS)
CONFIGS = [
    (12, 1, 8),  # one element per beat
    (64, 64, 8),  # a whole frame per beat: 512-bit beats
    (30, 6, 8),  # in between
    (20, 4, 1),  # 1-bit codes
    (9, 3, 3),  # 3-bit codes
]
REPS = 4


def contract_model(codes: np.ndarray, thresholds: np.ndarray) -> np.ndarray:
    """bit = (code >= T), element by element; codes (frames, N)."""
    return (codes >= thresholds[None, :]).astype(np.int64)


@pytest.mark.parametrize("config", CONFIGS, ids=lambda c: "n{}-simd{}-bits{}".format(*c))
def test_threshold_input_matches_contract(config: tuple[int, int, int], compiler: Compiler) -> None:
    n, simd, bits = config
    exe = compiler.testbench("threshold", {"TB_N": n, "TB_SIMD": simd, "TB_INPUT_BITS": bits})
    rng = np.random.default_rng(n * 1000 + simd * 10 + bits)
    top = 1 << bits
    for trial in range(3):
        codes = rng.integers(0, top, size=(REPS, n))
        thresholds = rng.integers(0, top + 1, size=n)
        thresholds[: n // 4] = codes[0, : n // 4]  # code == T gives +1
        if trial == 0:
            thresholds[::3] = 0
            thresholds[1::3] = top
        tokens: list[str | int] = [REPS, *thresholds.tolist()]
        tokens += hex_tokens(pack_words(codes.reshape(-1, simd), bits))
        words = run_testbench(exe, tokens)
        got = np.array([[(w >> s) & 1 for s in range(simd)] for w in words]).reshape(REPS, n)
        assert np.array_equal(got, contract_model(codes, thresholds))


def test_threshold_input_rejects_bad_simd(tmp_path: Path, compiler: Compiler) -> None:
    source = tmp_path / "broken.cpp"
    source.write_text(
        "#include <hwbnn/threshold.hpp>\n"
        "typedef hwbnn::InputThresholdTypes<10, 4, 8> T;\n"
        "hls::stream<T::in_t> in;\n"
        "hls::stream<T::out_t> out;\n"
        "T::threshold_t t[4][T::FOLD];\n"
        "int main() { hwbnn::threshold_input<10, 4, 8>(in, out, t, 1); }\n"
    )
    with pytest.raises(CompileError) as failure:
        compiler.compile(source, tmp_path / "build")
    first_error = str(failure.value).splitlines()[1]
    assert "static assertion failed: hwbnn::threshold_input: SIMD must divide N" in first_error
