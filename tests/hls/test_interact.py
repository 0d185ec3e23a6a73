"""hwbnn::interact (hls/hwbnn/interact.hpp) in C simulation against the reference (run_node on
an IR Interaction), on the random DAGs and boundary values of tests/rtl/test_hwbnn_interact.py
(its cases, without the bench's stall settings): every output element exact."""

from __future__ import annotations

import sys
import zlib
from pathlib import Path

import numpy as np
import pytest
from hls_bench import Compiler, hex_tokens, pack_words, run_testbench

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "rtl"))
from test_hwbnn_interact import CASES, Case, make_data  # noqa: E402

REPS = 3


@pytest.mark.parametrize("case", CASES[:5], ids=lambda c: c.id)
def test_interact_matches_the_reference(case: Case, compiler: Compiler) -> None:
    node, data, out_bits = make_data(case, zlib.crc32(case.id.encode()))
    x, expected = data["inputs"][:REPS], data["expected"][:REPS]
    defines = {
        "TB_C": case.channels,
        "TB_SIMD": case.simd,
        "TB_IN_BITS": case.in_bits,
        "TB_OUT_BITS": out_bits,
        "TB_LEVELS": node.depth,
        "TB_DEADZONE": node.deadzone,
        "TB_MAGNITUDE": node.magnitude,
        "TB_PIXELS": case.pixels,
    }
    exe = compiler.testbench("interact", defines)
    tokens: list[str | int] = [REPS, *node.levels.tolist(), *node.signs.T.reshape(-1).tolist()]
    tokens += np.asarray(node.negate, dtype=int).tolist()
    tokens += hex_tokens(pack_words(x.reshape(-1, case.simd), case.in_bits))
    words = run_testbench(exe, tokens)
    mask, half = (1 << out_bits) - 1, 1 << (out_bits - 1)
    fields = [(w >> (s * out_bits)) & mask for w in words for s in range(case.simd)]
    got = np.array([f - (1 << out_bits) if f >= half else f for f in fields]).reshape(x.shape)
    assert np.array_equal(got, expected)
