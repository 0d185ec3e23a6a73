"""hwbnn::mvau (hls/hwbnn/mvau.hpp) in C simulation against a NumPy model of the numeric contract.

Each configuration is compiled once (tests/hls/mvau_tb.cpp) and run on several data sets:
random weights, inputs and near-boundary thresholds, then extreme ones (thresholds 0 and N+1,
inputs all -1/+1 or 0/max, weight rows all -1/+1) that reach the ends of every accumulator.
The testbench checks the unit against a plain C++ loop; this module checks it against NumPy
through the documented weight, threshold and stream layouts. A configuration with PIXELS > 1
(a convolution's output pixels) streams frames of PIXELS vectors; the others use the default
PIXELS = 1.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from hls_bench import (
    Compiler,
    assert_rejected_first,
    clog2,
    hex_tokens,
    pack_words,
    run_testbench,
    unpack_words,
)

REPS = 3


@dataclass(frozen=True)
class MvauConfig:
    """One template instantiation; input_bits None is bipolar input (XnorMul); pixels 1 uses
    the template's default."""

    mw: int
    mh: int
    pe: int
    simd: int
    input_bits: int | None
    thresholds: bool
    pixels: int = 1

    @property
    def product(self) -> str:
        if self.input_bits is None:
            return "hwbnn::XnorMul"
        return f"hwbnn::IntBinaryProduct<{self.input_bits}>"

    @property
    def code_bits(self) -> int:
        return 1 if self.input_bits is None else self.input_bits

    @property
    def magnitude(self) -> int:
        """Largest |accumulator| (popcount N, or N * max code)."""
        return self.mw * ((1 << self.code_bits) - 1)

    @property
    def out_bits(self) -> int:
        """Bits per channel in an output word: 1, or the signed dot product's width."""
        return 1 if self.thresholds else clog2(self.magnitude + 1) + 1

    @property
    def threshold_range(self) -> tuple[int, int]:
        """Smallest and largest useful threshold."""
        if self.input_bits is None:
            return 0, self.mw + 1
        return -self.magnitude, self.magnitude + 1

    def defines(self) -> dict[str, str | int]:
        activation = "ThresholdActivation" if self.thresholds else "PassThroughActivation"
        defines: dict[str, str | int] = {
            "TB_MW": self.mw,
            "TB_MH": self.mh,
            "TB_PE": self.pe,
            "TB_SIMD": self.simd,
            "TB_PRODUCT": self.product,
            "TB_ACTIVATION": f"hwbnn::{activation}",
        }
        if self.pixels != 1:
            defines["TB_PIXELS"] = self.pixels
        return defines

    def __str__(self) -> str:
        kind = "bipolar" if self.input_bits is None else f"int{self.input_bits}"
        mode = "thresholds" if self.thresholds else "accumulators"
        pixels = f"-pixels{self.pixels}" if self.pixels != 1 else ""
        return f"{kind}-{self.mw}x{self.mh}-pe{self.pe}-simd{self.simd}-{mode}{pixels}"


CONFIGS = [
    MvauConfig(8, 4, 1, 1, None, True),  # fully folded
    MvauConfig(16, 8, 8, 16, None, True),  # fully parallel
    MvauConfig(24, 12, 3, 6, None, True),  # in between, sizes not powers of two
    MvauConfig(1, 2, 1, 1, None, True),  # fan-in 1: popcount of 1 bit
    MvauConfig(3, 2, 1, 1, None, False),  # fully folded
    MvauConfig(10, 6, 2, 5, None, False),  # in between
    MvauConfig(16, 4, 4, 16, None, False),  # fully parallel
    MvauConfig(1, 1, 1, 1, None, False),  # dot products -1 and +1 in 2 bits
    MvauConfig(4, 2, 1, 1, 8, True),  # 8-bit pixels, fully folded
    MvauConfig(12, 6, 2, 3, 8, True),  # in between
    MvauConfig(20, 10, 10, 20, 8, False),  # fully parallel, 160-bit beats, 140-bit words
    MvauConfig(9, 6, 3, 3, 2, False),  # 2-bit codes
    MvauConfig(6, 4, 4, 6, 1, True),  # 1-bit unsigned codes 0/1 (not bipolar)
    MvauConfig(18, 4, 2, 6, None, True, 16),  # a 3x3 convolution of 2 channels on 4x4 pixels
    MvauConfig(27, 8, 1, 3, 8, True, 9),  # CNV's first layer: 3x3x3 8-bit windows
    MvauConfig(8, 6, 3, 4, None, False, 5),  # accumulators for every pixel
]


def contract_model(
    cfg: MvauConfig, weights: np.ndarray, inputs: np.ndarray, thresholds: np.ndarray | None
) -> np.ndarray:
    """Outputs (vectors, MH) by the numeric contract: weights (MH, MW) bits, inputs
    (vectors, MW)."""
    if cfg.input_bits is None:
        acc = (inputs[:, None, :] == weights[None, :, :]).sum(axis=-1)  # popcount of XNOR
        dot = 2 * acc - cfg.mw
    else:
        acc = inputs @ (2 * weights - 1).T  # sum of (w ? +k : -k)
        dot = acc
    if thresholds is None:
        return dot
    return (acc >= thresholds[None, :]).astype(np.int64)


def stdin_tokens(
    cfg: MvauConfig, weights: np.ndarray, inputs: np.ndarray, thresholds: np.ndarray | None
) -> list[str | int]:
    """The testbench's input: frames, weights[p][nf*SF+sf], thresholds[p][nf], then the input
    beats of every vector (PIXELS vectors per frame)."""
    nf, sf = cfg.mh // cfg.pe, cfg.mw // cfg.simd
    assert len(inputs) % cfg.pixels == 0
    tokens: list[str | int] = [len(inputs) // cfg.pixels]
    for p in range(cfg.pe):
        rows = weights[p :: cfg.pe]  # channels nf*PE+p, nf = 0..NF-1
        tokens += hex_tokens(pack_words(rows.reshape(nf * sf, cfg.simd), 1))
    if thresholds is not None:
        tokens += thresholds.reshape(nf, cfg.pe).T.ravel().tolist()
    tokens += hex_tokens(pack_words(inputs.reshape(-1, cfg.simd), cfg.code_bits))
    return tokens


def simulate(
    exe: Path,
    cfg: MvauConfig,
    weights: np.ndarray,
    inputs: np.ndarray,
    thresholds: np.ndarray | None,
) -> np.ndarray:
    """Run the testbench and decode its words into (vectors, MH) channel values."""
    words = run_testbench(exe, stdin_tokens(cfg, weights, inputs, thresholds))
    assert len(words) == len(inputs) * (cfg.mh // cfg.pe)
    fields = unpack_words(words, cfg.pe, cfg.out_bits, signed=not cfg.thresholds)
    return fields.reshape(len(inputs), cfg.mh)  # word nf, field p -> channel nf*PE+p


Case = tuple[np.ndarray, np.ndarray, np.ndarray | None]  # weights, inputs, thresholds


def random_case(cfg: MvauConfig, rng: np.random.Generator) -> Case:
    weights = rng.integers(0, 2, size=(cfg.mh, cfg.mw))
    inputs = rng.integers(0, 1 << cfg.code_bits, size=(REPS * cfg.pixels, cfg.mw))
    if not cfg.thresholds:
        return weights, inputs, None
    # Thresholds at, just above and just below attained accumulators, so comparisons are tight.
    lo, hi = cfg.threshold_range
    attained = contract_model(cfg, weights, inputs[:1], None)[0]
    if cfg.input_bits is None:
        attained = (attained + cfg.mw) // 2  # dot -> popcount
    thresholds = np.clip(attained + rng.integers(-1, 2, size=cfg.mh), lo, hi)
    return weights, inputs, thresholds


def extreme_case(cfg: MvauConfig) -> Case:
    kind = np.arange(cfg.mh) % 3
    weights = np.empty((cfg.mh, cfg.mw), dtype=np.int64)
    weights[kind == 0] = 0  # all -1
    weights[kind == 1] = 1  # all +1
    weights[kind == 2] = np.arange(cfg.mw) % 2  # alternating
    top = (1 << cfg.code_bits) - 1  # largest code: +1 for bipolar input
    inputs = np.stack([np.zeros(cfg.mw), np.full(cfg.mw, top), np.arange(cfg.mw) % 2 * top])
    inputs = np.tile(inputs.astype(np.int64), (cfg.pixels, 1))  # 3 frames of PIXELS vectors
    if not cfg.thresholds:
        return weights, inputs, None
    lo, hi = cfg.threshold_range
    thresholds = np.where(np.arange(cfg.mh) % 2 == 0, lo, hi)
    return weights, inputs, thresholds


@pytest.mark.parametrize("cfg", CONFIGS, ids=str)
def test_mvau_matches_contract(cfg: MvauConfig, compiler: Compiler) -> None:
    exe = compiler.testbench("mvau", cfg.defines())
    rng = np.random.default_rng(zlib.crc32(str(cfg).encode()))
    cases = [random_case(cfg, rng) for _ in range(3)] + [extreme_case(cfg)]
    for weights, inputs, thresholds in cases:
        expected = contract_model(cfg, weights, inputs, thresholds)
        got = simulate(exe, cfg, weights, inputs, thresholds)
        mismatch = np.argwhere(got != expected)
        assert np.array_equal(got, expected), (
            f"{cfg}: first mismatch at (vector, channel) {tuple(mismatch[0])}: "
            f"got {got[tuple(mismatch[0])]}, expected {expected[tuple(mismatch[0])]}"
        )


@pytest.mark.parametrize("cfg", [CONFIGS[2], CONFIGS[9]], ids=str)
def test_mvau_extreme_thresholds_fix_the_output(cfg: MvauConfig, compiler: Compiler) -> None:
    """The lowest useful threshold (0, or -M) always gives +1 (bit 1), the highest (N+1, or
    M+1) always -1 (bit 0), whatever the input."""
    exe = compiler.testbench("mvau", cfg.defines())
    rng = np.random.default_rng(7)
    weights = rng.integers(0, 2, size=(cfg.mh, cfg.mw))
    inputs = rng.integers(0, 1 << cfg.code_bits, size=(8, cfg.mw))
    lo, hi = cfg.threshold_range
    pattern = np.arange(cfg.mh) % 2  # 0: lowest threshold, 1: highest
    got = simulate(exe, cfg, weights, inputs, np.where(pattern == 0, lo, hi))
    assert np.array_equal(got, np.tile(1 - pattern, (8, 1)))


BROKEN = {
    # case: (MW, MH, PE, SIMD, activation, pass thresholds, expected message)
    "pe-not-dividing-mh": (8, 6, 4, 2, "Threshold", True, "PE must divide MH"),
    "simd-not-dividing-mw": (10, 4, 2, 4, "Threshold", True, "SIMD must divide MW"),
    "zero-pe": (8, 4, 0, 2, "Threshold", True, "PE must divide MH"),
    "thresholds-missing": (8, 4, 2, 4, "Threshold", False, "this Activation needs thresholds"),
    "thresholds-unused": (8, 4, 2, 4, "PassThrough", True, "this Activation takes no thresholds"),
}


@pytest.mark.parametrize("case", BROKEN, ids=str)
def test_mvau_rejects_bad_instantiation(case: str, tmp_path: Path, compiler: Compiler) -> None:
    """A bad instantiation stops compilation, and the first error names the problem."""
    mw, mh, pe, simd, activation, pass_thresholds, message = BROKEN[case]
    args = f"{mw}, {mh}, {pe}, {simd}, hwbnn::XnorMul, hwbnn::{activation}Activation"
    program = (
        "#include <hwbnn/mvau.hpp>\n"
        f"typedef hwbnn::MvauTypes<{args}> T;\n"
        "hls::stream<T::in_t> in;\n"
        "hls::stream<T::out_t> out;\n"
        f"T::weight_t w[{max(pe, 1)}][T::WMEM];\n"
        f"T::threshold_t t[{max(pe, 1)}][T::NF];\n"
        f"int main() {{ hwbnn::mvau<{args}>(in, out, w, {'t, ' if pass_thresholds else ''}1); }}\n"
    )
    assert_rejected_first(compiler, tmp_path, program, f"hwbnn::mvau: {message}")
