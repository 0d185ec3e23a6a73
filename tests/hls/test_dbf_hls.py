"""hwbnn::dbf (hls/hwbnn/dbf.hpp) in C simulation against hwbnn.reference.

Each configuration is compiled once (tests/hls/dbf_tb.cpp) and run on random codes, alpha of
ALPHA_BITS bits and inputs (bits or unsigned codes); the expected outputs come from
hwbnn.reference.run_layer on the IR node (hwbnn.ir.dbf), with thresholds next to attained
values of y and one channel always +1, one always -1.
"""

from __future__ import annotations

import numpy as np
import pytest
from hls_bench import Compiler, hex_tokens, pack_words, run_testbench, unpack_words

from hwbnn.ir.types import DBFMatrixVector
from hwbnn.reference import run_layer

# (MW, MH, M, PE, SIMD, MB, INPUT_BITS, ALPHA_BITS, THRESHOLDS, PIXELS)
CONFIGS = [
    (16, 8, 4, 2, 4, 4, 1, 4, True, 1),
    (24, 6, 8, 3, 6, 2, 1, 3, False, 1),  # 2 of 8 bases per iteration
    (12, 6, 4, 2, 3, 1, 4, 6, True, 1),  # integer input, one basis per iteration
    (20, 4, 4, 4, 5, 4, 8, 4, False, 1),  # an output layer on 8-bit codes
    (9, 6, 1, 3, 9, 1, 1, 4, True, 4),  # one basis, four pixels per frame
]
REPS = 5


@pytest.mark.parametrize("config", CONFIGS, ids=lambda c: "-".join(map(str, c)))
def test_dbf_matches_reference(config: tuple, compiler: Compiler) -> None:
    mw, mh, m, pe, simd, mb, bits, alpha_bits, with_thresholds, pixels = config
    rng = np.random.default_rng(mw * 1000 + mh * 10 + m)
    codes = rng.integers(0, 2, (m, mw)).astype(bool)
    largest = (1 << (alpha_bits - 1)) - 1
    alpha = rng.integers(-largest, largest + 1, (mh, m))
    alpha[0] = largest
    levels = 1 << bits
    x = rng.integers(0, levels, (REPS, pixels * mw))
    x[0] = levels - 1
    ones = np.ones(mh)
    out_layer = DBFMatrixVector("dut", codes, alpha, bits, levels, None, ones, 0 * ones, pixels)
    y = run_layer(out_layer, x)
    layer, tokens = out_layer, [REPS, *codes.astype(int).reshape(-1).tolist()]
    tokens += alpha.reshape(-1).tolist()
    if with_thresholds:
        low, high = out_layer.acc_range
        picked = y.reshape(-1, mh)[rng.integers(0, REPS * pixels, mh), np.arange(mh)]
        t = np.clip(picked + rng.integers(-1, 2, mh), low, high + 1)
        t[0], t[-1] = low, high + 1
        layer = DBFMatrixVector("dut", codes, alpha, bits, levels, t, pixels=pixels)
        tokens += t.tolist()
    expected = run_layer(layer, x).reshape(-1, mh)
    defines = {
        "TB_MW": mw,
        "TB_MH": mh,
        "TB_M": m,
        "TB_PE": pe,
        "TB_SIMD": simd,
        "TB_MB": mb,
        "TB_INPUT_BITS": bits,
        "TB_ALPHA_BITS": alpha_bits,
        "TB_ACC_BITS": layer.acc_bits,
        "TB_THRESHOLDS": int(with_thresholds),
        "TB_PIXELS": pixels,
    }
    exe = compiler.testbench("dbf", defines)
    tokens += hex_tokens(pack_words(x.reshape(-1, simd), bits))
    words = run_testbench(exe, tokens)
    field = 1 if with_thresholds else layer.acc_bits
    got = unpack_words(words, pe, field, signed=not with_thresholds).reshape(-1, mh)
    assert np.array_equal(got, expected)
