"""hwbnn::sliding_window (hls/hwbnn/swg.hpp) in C simulation against the reference's
sliding_windows (hwbnn.reference.run_layer on a SlidingWindow), exactly.

Each configuration (image, kernel, stride, padding, SIMD, element bits, pad code, dilation) is
compiled
once (tests/hls/swg_tb.cpp) and run on random images and on an image of element numbers (which
catches any reordering), several frames back to back.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from hls_bench import Compiler, hex_tokens, pack_words, run_testbench, unpack_words

from hwbnn.codegen.cxx import CompileError
from hwbnn.ir.types import SlidingWindow
from hwbnn.reference import run_layer

REPS = 3


@dataclass(frozen=True)
class SwgCase:
    h: int
    w: int
    c: int
    k: int
    s: int
    pad: tuple[int, int, int, int]  # top, left, bottom, right
    simd: int
    bits: int = 1
    levels: int = 2
    pad_code: int = 0
    dilation: int = 1

    def layer(self) -> SlidingWindow:
        shape = (self.h, self.w, self.c)
        return SlidingWindow(
            "swg",
            shape,
            self.k,
            self.s,
            self.pad,
            self.levels,
            self.pad_code,
            dilation=self.dilation,
        )

    def defines(self) -> dict[str, str | int]:
        top, left, bottom, right = self.pad
        return {
            "TB_H": self.h,
            "TB_W": self.w,
            "TB_C": self.c,
            "TB_K": self.k,
            "TB_S": self.s,
            "TB_PT": top,
            "TB_PL": left,
            "TB_PB": bottom,
            "TB_PR": right,
            "TB_SIMD": self.simd,
            "TB_BITS": self.bits,
            "TB_PAD_CODE": self.pad_code,
            "TB_D": self.dilation,
        }

    def __str__(self) -> str:
        pad = "".join(map(str, self.pad))
        return (
            f"{self.h}x{self.w}x{self.c}-k{self.k}s{self.s}-pad{pad}-simd{self.simd}"
            f"-bits{self.bits}-code{self.pad_code}"
            + (f"-d{self.dilation}" if self.dilation > 1 else "")
        )


CASES = [
    SwgCase(5, 5, 1, 3, 1, (0, 0, 0, 0), 1),  # valid convolution, one channel
    SwgCase(6, 7, 3, 3, 1, (1, 1, 1, 1), 3),  # "same" padding, whole pixel per beat
    SwgCase(8, 8, 4, 3, 2, (1, 1, 1, 1), 2),  # stride 2, last row in no window (floor)
    SwgCase(7, 5, 4, 2, 2, (0, 1, 1, 0), 1),  # even kernel, asymmetric padding
    SwgCase(4, 4, 6, 1, 1, (0, 0, 0, 0), 3),  # 1x1 kernel
    SwgCase(9, 6, 2, 3, 3, (2, 0, 1, 2), 2),  # stride = kernel, asymmetric padding
    SwgCase(7, 8, 2, 2, 3, (0, 0, 0, 0), 1),  # stride > kernel: rows and columns skipped
    SwgCase(6, 6, 1, 5, 1, (4, 4, 4, 4), 1),  # windows mostly padding
    SwgCase(2, 3, 2, 3, 1, (1, 1, 1, 1), 1),  # image smaller than the kernel
    SwgCase(1, 5, 4, 1, 1, (0, 0, 0, 0), 4),  # one row
    SwgCase(5, 4, 4, 4, 1, (3, 0, 0, 3), 2),  # padding on two sides only
    SwgCase(6, 6, 3, 3, 1, (1, 1, 1, 1), 3, 8, 256, 0),  # 8-bit pixels (CNV's first layer)
    SwgCase(5, 4, 2, 3, 2, (1, 0, 2, 1), 1, 3, 5, 4),  # 3-bit codes, pad code 4
    SwgCase(8, 8, 1, 3, 1, (1, 1, 1, 1), 1, 5, 17, 16),  # digits' 5-bit codes, pad code 16
    SwgCase(4, 5, 4, 2, 1, (1, 1, 0, 0), 2, 2, 4, 3),  # 2-bit codes, 2 per beat
    # SIMD = m*C (sliding_window_mmv): m whole window positions per output beat
    SwgCase(6, 7, 3, 3, 1, (1, 1, 1, 1), 9),  # m = 3: a window row per beat
    SwgCase(6, 7, 2, 3, 1, (1, 0, 2, 1), 18),  # m = 9: the whole window
    SwgCase(8, 8, 4, 3, 2, (1, 1, 1, 1), 12),  # stride 2
    SwgCase(7, 8, 2, 2, 3, (0, 0, 0, 0), 8),  # stride > kernel, m = 4
    SwgCase(2, 3, 2, 3, 1, (1, 1, 1, 1), 6),  # image smaller than the kernel
    SwgCase(6, 6, 3, 3, 1, (0, 0, 0, 0), 27, 8, 256, 0),  # CNV's first layer, m = 9
    SwgCase(5, 4, 2, 3, 2, (1, 0, 2, 1), 6, 3, 5, 4),  # 3-bit codes, pad code 4
    # dilation D: taps D apart, padding up to D*(K-1)
    SwgCase(8, 8, 2, 3, 1, (2, 2, 2, 2), 1, dilation=2),  # 8x8 -> 8x8
    SwgCase(8, 7, 4, 3, 1, (2, 2, 2, 2), 2, dilation=2),  # two beats per pixel
    SwgCase(9, 9, 2, 3, 2, (3, 0, 1, 3), 2, dilation=3),  # strided, asymmetric
    SwgCase(6, 6, 3, 3, 1, (4, 1, 0, 2), 3, 8, 256, 0, dilation=2),  # 8-bit codes
    SwgCase(8, 8, 2, 3, 1, (2, 2, 2, 2), 6, dilation=2),  # m = 3 (sliding_window_mmv)
    SwgCase(7, 7, 2, 3, 2, (3, 3, 3, 3), 18, dilation=3),  # m = 9, strided
]


def simulate(exe: Path, case: SwgCase, codes: np.ndarray) -> np.ndarray:
    """Run the testbench on (frames, H*W*C) codes; return (frames, OH*OW*K*K*C) codes."""
    beats = pack_words(codes.reshape(-1, min(case.simd, case.c)), case.bits)
    words = run_testbench(exe, [len(codes), *hex_tokens(beats)])
    return unpack_words(words, case.simd, case.bits, signed=False).reshape(len(codes), -1)


@pytest.mark.parametrize("case", CASES, ids=str)
def test_sliding_window_matches_reference(case: SwgCase, compiler: Compiler) -> None:
    layer = case.layer()
    exe = compiler.testbench("swg", case.defines())
    rng = np.random.default_rng(zlib.crc32(str(case).encode()))
    numbers = np.arange(REPS * layer.in_elements).reshape(REPS, -1) % case.levels
    for codes in (rng.integers(0, case.levels, size=(REPS, layer.in_elements)), numbers):
        expected = run_layer(layer, codes)
        got = simulate(exe, case, codes)
        assert got.shape == expected.shape == (REPS, layer.out_elements)
        if not np.array_equal(got, expected):
            frame, element = np.argwhere(got != expected)[0]
            pixel, inner = divmod(int(element), layer.window)
            pytest.fail(
                f"{case}: frame {frame}, output pixel {pixel}, window element {inner}: "
                f"got {got[frame, element]}, expected {expected[frame, element]}"
            )


BROKEN = {
    # (H, W, C, K, S, padding top/left/bottom/right, SIMD, BITS, PAD_CODE): message
    (6, 6, 4, 3, 1, (0, 0, 0, 0), 3, 1, 0): "SIMD must divide C",
    (6, 6, 4, 3, 1, (3, 0, 0, 0), 1, 1, 0): "every padding must be smaller than D*(K-1)+1",
    (2, 6, 1, 5, 1, (1, 0, 1, 0), 1, 1, 0): "the window is larger than the padded image",
    (6, 6, 1, 3, 1, (1, 1, 1, 1), 1, 2, 4): "PAD_CODE needs BITS bits",
    (6, 6, 1, 3, 0, (0, 0, 0, 0), 1, 1, 0): "K, S and D must be at least 1",
}


@pytest.mark.parametrize("case", BROKEN, ids=lambda c: BROKEN[c].replace(" ", "-"))
def test_sliding_window_rejects_bad_instantiation(
    case: tuple, tmp_path: Path, compiler: Compiler
) -> None:
    """A bad instantiation stops compilation, and the first error names the problem."""
    h, w, c, k, s, pad, simd, bits, code = case
    args = ", ".join(map(str, (h, w, c, k, s, *pad, simd, bits, code)))
    source = tmp_path / "broken.cpp"
    source.write_text(
        "#include <hwbnn/swg.hpp>\n"
        f"typedef hwbnn::SwgTypes<{args}> T;\n"
        "hls::stream<T::word_t> in, out;\n"
        f"int main() {{ hwbnn::sliding_window<{args}>(in, out, 1); }}\n"
    )
    with pytest.raises(CompileError) as failure:
        compiler.compile(source, tmp_path / "build")
    first_error = str(failure.value).splitlines()[1]
    assert f"static assertion failed: hwbnn::sliding_window: {BROKEN[case]}" in first_error


def test_sliding_window_mmv_rejects_positions_not_dividing_the_window(
    tmp_path: Path, compiler: Compiler
) -> None:
    """SIMD = 4*C with a 3x3 kernel (4 does not divide 9) stops compilation, named."""
    args = "6, 6, 2, 3, 1, 0, 0, 0, 0, 8, 1, 0"
    source = tmp_path / "broken.cpp"
    source.write_text(
        "#include <hwbnn/swg.hpp>\n"
        f"typedef hwbnn::SwgMmvTypes<{args}> T;\n"
        "hls::stream<T::word_t> in;\nhls::stream<T::out_t> out;\n"
        f"int main() {{ hwbnn::sliding_window_mmv<{args}>(in, out, 1); }}\n"
    )
    with pytest.raises(CompileError) as failure:
        compiler.compile(source, tmp_path / "build")
    first_error = str(failure.value).splitlines()[1]
    assert "hwbnn::sliding_window_mmv: SIMD must be MMV*C with MMV > 1 dividing K*K" in first_error


def test_generated_top_with_window_positions_per_beat(tmp_path: Path) -> None:
    """SIMD = m*C (m whole window positions per beat: windows m = 9 and 3, a pool's window
    m = 4): the generated HLS top calls sliding_window_mmv and is exact against the reference
    in C simulation (the pool runs its library window at SIMD = C)."""
    from hwbnn.build import write_manifest
    from hwbnn.codegen.hls import generate_hls
    from hwbnn.ir.folding import Folding, LayerFolding
    from hwbnn.ir.serialize import save_network
    from hwbnn.sim.random_nets import ConvSpec, random_conv_net
    from hwbnn.verify.csim import verify_csim

    convs = (ConvSpec(4, 3, 1, 1), ConvSpec(8, 3, 1, 0, pool=2))
    net = random_conv_net(np.random.default_rng(5), (3, 8, 8), convs, (), 4, 256, False)
    folds = {"swg0": (1, 27), "conv0": (4, 27), "swg1": (1, 12), "conv1": (8, 12)}
    folds |= {"pool1": (1, 32), "fc0": (4, 72)}  # the pool's window: m = 4, a whole window
    folding = Folding(tuple(LayerFolding(*folds[layer.name]) for layer in net.layers))
    build = tmp_path / "build"
    save_network(net, build)
    write_manifest(build, target="hls", layers=[layer.name for layer in net.layers])
    generate_hls(net, folding, build / "model.onnx", build)
    top = (build / "hls" / "hwbnn_top.cpp").read_text()
    assert top.count("hwbnn::sliding_window_mmv<") == 2
    codes = np.random.default_rng(6).integers(0, 256, (6, net.input.elements))
    report = verify_csim(build, codes)
    assert report.ok, report.first_mismatch
    assert report.frames == 6


def test_generated_top_with_dilation_and_padded_pools(tmp_path: Path) -> None:
    """A dilated 3x3 conv (D = 2, pad 2), a padded 3x3 pool (stride 1), a 3x3 stride-2 pad-1
    pool (a dilated window at SIMD = m*C) and a 1x1 stride-2 pool: the generated HLS top passes
    D and the pools' padding to the library and is exact against the reference in C
    simulation."""
    from hwbnn.build import write_manifest
    from hwbnn.codegen.hls import generate_hls
    from hwbnn.ir.folding import Folding, LayerFolding
    from hwbnn.ir.serialize import save_network
    from hwbnn.sim.random_nets import ConvSpec, random_conv_net
    from hwbnn.verify.csim import verify_csim

    convs = (
        ConvSpec(4, 3, 1, 2, pool=3, dilation=2, pool_stride=1, pool_padding=1),
        ConvSpec(4, 3, 1, 2, pool=3, dilation=2, pool_stride=2, pool_padding=1),
        ConvSpec(4, 1, 1, 0, pool=1, pool_stride=2),
    )
    net = random_conv_net(np.random.default_rng(7), (2, 8, 8), convs, (), 3, 16, True)
    folds = {"input_threshold": (1, 2), "swg0": (1, 2), "conv0": (2, 6), "pool0": (1, 4)}
    folds |= {"swg1": (1, 12), "conv1": (4, 12), "pool1": (1, 2), "swg2": (1, 4)}
    folds |= {"conv2": (2, 4), "pool2": (1, 4), "fc0": (3, 8)}
    folding = Folding(tuple(LayerFolding(*folds[layer.name]) for layer in net.layers))
    build = tmp_path / "build"
    save_network(net, build)
    write_manifest(build, target="hls", layers=[layer.name for layer in net.layers])
    generate_hls(net, folding, build / "model.onnx", build)
    config = (build / "hls" / "hwbnn_config.h").read_text()
    assert config.count("static constexpr unsigned D = 2;") == 2
    assert config.count("static constexpr unsigned PAD_TOP = 1;  // padding with bit 0") == 2
    top = (build / "hls" / "hwbnn_top.cpp").read_text()
    assert top.count("hwbnn::sliding_window_mmv<") == 1
    codes = np.random.default_rng(8).integers(0, 16, (6, net.input.elements))
    report = verify_csim(build, codes)
    assert report.ok, report.first_mismatch
    assert report.frames == 6
