"""C simulation of generated HLS code (L3, hwbnn.sim.csim run, hwbnn.verify.csim judged)
against the reference (L2), exactly, on random IRs (dense and convolutional: sliding windows
with padding and stride, OR pools, integer and binary first layers, several foldings); the
compile cache, the testbench's own checks, the record in verification.json, and the errors."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from hwbnn.build import write_manifest
from hwbnn.codegen.cxx import DEFAULT_FLAGS, STRICT_FLAGS
from hwbnn.codegen.hls import generate_hls, write_matrix
from hwbnn.errors import ConfigError, DataError
from hwbnn.ir.folding import (
    Folding,
    LayerFolding,
    check_folding,
    choose_folding,
    out_width,
    vector_width,
)
from hwbnn.ir.serialize import save_network
from hwbnn.ir.types import (
    InputFormat,
    InputThreshold,
    MatrixVector,
    MaxPool,
    Network,
    SlidingWindow,
    bits_for_range,
)
from hwbnn.reference import Reference
from hwbnn.sim.csim import CsimError, build_csim, run_csim, source_key
from hwbnn.sim.random_nets import ConvSpec, random_cnv, random_conv_net
from hwbnn.verify.csim import verify_csim
from hwbnn.verify.record import Level, read_results

SIZES = (2, 3, 4, 6, 8, 12, 16)


def _with_edges(values: np.ndarray, low: int, high: int, rng: np.random.Generator) -> np.ndarray:
    """Put both extreme thresholds (always +1, always -1) at random channels when there is room."""
    values = values.copy()
    if len(values) >= 2:
        i, j = rng.choice(len(values), size=2, replace=False)
        values[i], values[j] = low, high
    return values


def random_network(rng: np.random.Generator, kind: str, hidden: list[int], classes: int) -> Network:
    """A random network: first layer per `kind`, XNOR hidden layers, an output layer.

    Thresholds cover their whole range and always include both ends somewhere.
    """
    n_in = int(rng.choice(SIZES[1:]))
    levels = 2 if kind == "bipolar" else int(rng.choice([3, 4, 5, 9, 17]))
    fmt = InputFormat((n_in,), np.arange(levels, dtype=np.float32) / (levels - 1))
    layers: list[InputThreshold | MatrixVector] = []
    if kind == "input_threshold":
        t = _with_edges(rng.integers(0, levels + 1, n_in), 0, levels, rng)
        layers.append(InputThreshold("in_thresh", t, levels))
        levels = 2
    widths = [n_in, *hidden, classes]
    for i, (mw, mh) in enumerate(zip(widths, widths[1:], strict=False)):
        weights = rng.random((mh, mw)) < rng.uniform(0.2, 0.8)
        bits = bits_for_range(0, levels - 1)  # the plan refuses other widths (tests/plan)
        last = i == len(widths) - 2
        if last:
            scale, bias = rng.uniform(0.5, 2, mh), rng.uniform(-1, 1, mh)
            layers.append(MatrixVector(f"fc{i}", weights, bits, levels, None, scale, bias))
        else:
            low, high = (0, mw + 1) if levels == 2 else (-mw * (levels - 1), mw * (levels - 1) + 1)
            t = _with_edges(rng.integers(low, high + 1, mh), low, high, rng)
            layers.append(MatrixVector(f"fc{i}", weights, bits, levels, thresholds=t))
        levels = 2
    return Network(fmt, tuple(layers))


def random_folding(net: Network, rng: np.random.Generator) -> Folding:
    """PE and SIMD drawn among the divisors, each layer compatible with the previous one
    (SIMD divides an image stage's channels, PE is 1 for every unit but an MVAU)."""
    folds: list[LayerFolding] = []
    previous: int | None = None
    for layer in net.layers:
        n = vector_width(layer)
        simds = [d for d in range(1, n + 1) if n % d == 0]
        simds = [s for s in simds if previous is None or previous % s == 0 or s % previous == 0]
        simd = int(rng.choice(simds))
        pe = 1
        if isinstance(layer, MatrixVector):
            pe = int(rng.choice([d for d in range(1, layer.mh + 1) if layer.mh % d == 0]))
        folds.append(LayerFolding(pe, simd))
        previous = out_width(layer, folds[-1])
    folding = Folding(tuple(folds))
    check_folding(net, folding)
    return folding


def make_build(net: Network, folding: Folding, build: Path) -> Path:
    """A build directory as `hwbnn compile --target hls` makes it, from an IR."""
    save_network(net, build)
    write_manifest(build, target="hls", layers=[layer.name for layer in net.layers])
    generate_hls(net, folding, build / "model.onnx", build)
    return build


#: Warnings are errors, and a precompiled header that g++ cannot use is one too.
CHECKED_FLAGS = (*STRICT_FLAGS, "-Winvalid-pch")


@pytest.fixture(scope="session")
def prelude_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Precompiled ap_types headers shared by the compiles of this test process."""
    return tmp_path_factory.mktemp("prelude")


def random_codes(net: Network, rng: np.random.Generator, frames: int) -> np.ndarray:
    codes = rng.integers(0, net.input.levels, size=(frames, net.input.elements))
    codes[0] = 0  # the extreme inputs too
    codes[1] = net.input.levels - 1
    return codes


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["input_threshold", "integer"])
@settings(
    max_examples=3,  # two compiles each
    deadline=None,
    phases=[Phase.explicit, Phase.reuse, Phase.generate],  # every shrink step would compile
    suppress_health_check=[HealthCheck.too_slow],
)
@given(
    seed=st.integers(0, 2**32 - 1),
    hidden=st.lists(st.sampled_from(SIZES), min_size=0, max_size=2),
    classes=st.sampled_from([2, 3, 4, 6, 10]),
)
def test_csim_equals_reference_on_random_networks(
    prelude_cache: Path, kind: str, seed: int, hidden: list[int], classes: int
) -> None:
    rng = np.random.default_rng(seed)
    net = random_network(rng, kind, hidden, classes)
    codes = random_codes(net, rng, 64)
    with tempfile.TemporaryDirectory() as tmp:
        for k in range(2):  # two foldings of the same network
            folding = random_folding(net, rng)
            build = make_build(net, folding, Path(tmp) / f"build{k}")
            report = verify_csim(build, codes, flags=STRICT_FLAGS)  # AP_INT_MAX_W: its own prelude
            assert report.ok, (report.first_mismatch, folding)
            assert report.frames == 64 and report.details["compiled"]


def test_csim_bipolar_input_network(tmp_path: Path, prelude_cache: Path) -> None:
    """Bipolar input codes (2 levels) straight into an XNOR layer, no input thresholds."""
    rng = np.random.default_rng(8)
    net = random_network(rng, "bipolar", [6], 3)
    build = make_build(net, random_folding(net, rng), tmp_path / "b")
    codes = random_codes(net, rng, 32)
    report = verify_csim(build, codes, flags=CHECKED_FLAGS, cache_dir=prelude_cache)
    assert report.ok, report.first_mismatch


def test_csim_wide_streams_and_words(tmp_path: Path) -> None:
    """8-bit codes, 160 per beat (1280-bit stream: AP_INT_MAX_W), 96-bit weight words."""
    rng = np.random.default_rng(7)
    levels = 256
    fmt = InputFormat((160,), np.arange(levels, dtype=np.float32) / 255)
    bound = 160 * 255
    t0 = _with_edges(rng.integers(-2000, 2000, 96), -bound, bound + 1, rng)
    net = Network(
        fmt,
        (
            MatrixVector("wide", rng.random((96, 160)) < 0.5, 8, levels, thresholds=t0),
            MatrixVector("out", rng.random((3, 96)) < 0.5, 1, 2, None, np.ones(3), np.zeros(3)),
        ),
    )
    folding = Folding((LayerFolding(8, 160), LayerFolding(3, 96)))
    build = make_build(net, folding, tmp_path / "build")
    codes = random_codes(net, rng, 40)
    report = verify_csim(build, codes, flags=STRICT_FLAGS)  # AP_INT_MAX_W: its own prelude
    assert report.ok, report.first_mismatch


@pytest.fixture(scope="module")
def compiled_build(tmp_path_factory: pytest.TempPathFactory) -> tuple[Network, Path]:
    """One small build, compiled once with the command's flags for the tests below."""
    rng = np.random.default_rng(11)
    net = random_network(rng, "input_threshold", [8], 4)
    build = make_build(net, random_folding(net, rng), tmp_path_factory.mktemp("csim") / "b")
    _, compiled, _ = build_csim(build)
    assert compiled
    return net, build


def test_second_run_reuses_the_binary(compiled_build) -> None:
    net, build = compiled_build
    rng = np.random.default_rng(0)
    executable, compiled, _ = build_csim(build)
    assert not compiled
    mtime = executable.stat().st_mtime_ns
    report = verify_csim(build, random_codes(net, rng, 30))
    assert report.ok and not report.details["compiled"]
    assert executable.stat().st_mtime_ns == mtime
    # the key covers the sources and the flags
    hls_dir = build / "hls"
    key = source_key(hls_dir, "g++", DEFAULT_FLAGS)
    assert source_key(hls_dir, "g++", STRICT_FLAGS) != key
    assert source_key(hls_dir, "clang++", DEFAULT_FLAGS) != key
    config = hls_dir / "hwbnn_config.h"
    text = config.read_text()
    config.write_text(text + "// edited\n")
    assert source_key(hls_dir, "g++", DEFAULT_FLAGS) != key
    config.write_text(text)
    assert source_key(hls_dir, "g++", DEFAULT_FLAGS) == key


def test_testbench_checks_expected_and_inputs(compiled_build, tmp_path: Path) -> None:
    """The testbench alone, as Vitis HLS's csim_design runs it."""
    net, build = compiled_build
    executable, _, _ = build_csim(build)
    hls_dir = build / "hls"

    def tb(*args: Path) -> subprocess.CompletedProcess:
        command = [str(executable), *map(str, args)]
        return subprocess.run(command, capture_output=True, text=True, check=False)

    out = tmp_path / "out.txt"
    ok = tb(hls_dir / "tb_input.txt", out, hls_dir / "tb_expected.txt")
    assert ok.returncode == 0 and "match" in ok.stdout
    wrong = tmp_path / "wrong.txt"
    expected = np.loadtxt(hls_dir / "tb_expected.txt", skiprows=1, dtype=np.int64, ndmin=2)
    expected[3, 2] += 1
    write_matrix(wrong, expected)
    bad = tb(hls_dir / "tb_input.txt", out, wrong)
    assert bad.returncode == 1 and "MISMATCH frame 3 class 2" in bad.stderr
    short = tmp_path / "short.txt"
    write_matrix(short, np.zeros((2, net.input.elements - 1), dtype=np.int64))
    assert tb(short, out).returncode == 2
    high = tmp_path / "high.txt"
    write_matrix(high, np.full((2, net.input.elements), net.input.levels))
    result = tb(high, out)
    assert result.returncode == 2 and "outside" in result.stderr


def test_tampered_weights_are_caught(compiled_build, tmp_path: Path, prelude_cache: Path) -> None:
    """Flip one weight word in the generated code: recompiled, and the record names the layer,
    channel and frame of the first difference."""
    net, original = compiled_build
    build = tmp_path / "b"
    shutil.copytree(original, build)
    # the output layer's first weight word: one weight of class 0 changes sign, which moves
    # that accumulator by +-2 in every frame
    header = next((build / "hls").glob(f"params_l{len(net.layers) - 1}_*.h"))
    text = header.read_text()
    pos = text.index("0x", text.index("_weights["))
    end = text.index("ULL", pos)
    flipped = int(text[pos + 2 : end], 16) ^ 1
    header.write_text(text[: pos + 2] + format(flipped, f"0{end - pos - 2}x") + text[end:])
    rng = np.random.default_rng(5)
    codes = random_codes(net, rng, 200)
    report = verify_csim(build, codes, flags=CHECKED_FLAGS, cache_dir=prelude_cache)
    assert report.details["compiled"] and not report.ok
    assert (report.level, report.engine) == (Level.L3, "g++")
    assert report.mismatches == report.frames == 200
    expected = Reference(net).run_codes(codes).accumulators
    layer = net.output_layer.name
    assert report.first_mismatch is not None
    prefix = f"layer {layer} accumulators, frame 0, channel 0: expected {expected[0, 0]}, got "
    assert report.first_mismatch.startswith(prefix)
    assert abs(int(report.first_mismatch[len(prefix) :]) - expected[0, 0]) == 2
    assert read_results(build) == [report]


def test_record_and_codes_check(compiled_build, tmp_path: Path) -> None:
    """The L3 record lands in verification.json (replacing the previous one); codes outside
    the input format are refused before anything runs."""
    net, original = compiled_build
    build = tmp_path / "b"
    shutil.copytree(original, build)
    rng = np.random.default_rng(9)
    first = verify_csim(build, random_codes(net, rng, 25), command="test")
    second = verify_csim(build, random_codes(net, rng, 5))
    assert first.ok and first.frames == 25 and first.command == "test" and first.date
    assert second.ok and second.frames == 5 and second.first_mismatch is None
    assert read_results(build) == [second]
    assert second.details["frames_per_second"] > 0 and (build / "csim" / "run.log").is_file()
    with pytest.raises(DataError, match=r"outside \[0, "):
        verify_csim(build, random_codes(net, rng, 2) + net.input.levels)


def test_build_without_hls_code(tmp_path: Path) -> None:
    rng = np.random.default_rng(2)
    net = random_network(rng, "integer", [], 3)
    build = tmp_path / "b"
    save_network(net, build)
    write_manifest(build, target="ir")
    codes = random_codes(net, rng, 2)
    with pytest.raises(CsimError) as caught:
        verify_csim(build, codes)
    assert "--target hls" in str(caught.value) and str(build) in str(caught.value)
    with pytest.raises(ConfigError, match="not an hwbnn build directory"):
        verify_csim(tmp_path / "nothing", codes)


def test_missing_compiler(tmp_path: Path, monkeypatch) -> None:
    rng = np.random.default_rng(4)
    net = random_network(rng, "integer", [4], 2)
    build = make_build(net, random_folding(net, rng), tmp_path / "b")
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    with pytest.raises(CsimError, match="'g\\+\\+' not found on PATH"):
        run_csim(build, random_codes(net, rng, 2))
    with pytest.raises(CsimError, match="^cannot build the C simulation"):
        verify_csim(build, random_codes(net, rng, 2))
    assert not (build / "csim").exists() and read_results(build) == []


def test_compile_error_is_one_line_with_a_log(tmp_path: Path) -> None:
    rng = np.random.default_rng(6)
    net = random_network(rng, "integer", [], 2)
    build = make_build(net, random_folding(net, rng), tmp_path / "b")
    params = build / "hls" / "hwbnn_params.cpp"
    params.write_text(params.read_text() + "this is not C++;\n")
    with pytest.raises(CsimError) as caught:
        build_csim(build)
    message = str(caught.value)
    assert "\n" not in message and "error:" in message and "compile.log" in message
    assert (build / "csim" / "compile.log").is_file()
    assert not [p for p in (build / "csim").iterdir() if p.name != "compile.log"]


# -- convolutional networks -------------------------------------------------------------------

CONV_NETS = {
    # name: (image (C, H, W), convolutions, hidden, classes, input levels, binarize input)
    "binary-pad-pool": (
        (1, 8, 8),
        [ConvSpec(4, 3, 1, 1, 2), ConvSpec(6, 3, 1, 0)],
        [8],
        5,
        17,
        True,
    ),
    "integer-stride2": (
        (3, 9, 9),
        [ConvSpec(4, 3, 2, 1), ConvSpec(6, 2, 1, 0, 2)],
        [],
        4,
        256,
        False,
    ),
    "integer-3bit-1x1": ((2, 6, 5), [ConvSpec(4, 1, 1, 0), ConvSpec(4, 3, 2, 2)], [6], 3, 5, False),
    "binary-pool3-stride3": (
        (2, 10, 10),
        [ConvSpec(6, 2, 1, 1, 3), ConvSpec(4, 2, 2, 0)],
        [],
        6,
        9,
        True,
    ),
    # 3x3 majority pools (the binary avg_pool_3x3), stride 1 and 2, padded with -1
    "binary-majority": (
        (2, 7, 7),
        [ConvSpec(4, 3, 1, 1, majority=1), ConvSpec(6, 3, 1, 1, majority=2)],
        [],
        4,
        17,
        True,
    ),
}


def conv_net(name: str, seed: int = 0) -> Network:
    image, convs, hidden, classes, levels, binarize = CONV_NETS[name]
    rng = np.random.default_rng(seed)
    return random_conv_net(rng, image, convs, hidden, classes, levels, binarize)


@pytest.mark.parametrize("name", CONV_NETS)
def test_csim_equals_reference_on_conv_nets(name: str, tmp_path: Path, prelude_cache: Path) -> None:
    """Two foldings: fully folded (PE = SIMD = 1) and a random one with width converters."""
    net = conv_net(name)
    rng = np.random.default_rng(len(name))
    codes = random_codes(net, rng, 24)
    unfolded = Folding(tuple(LayerFolding(1, 1) for _ in net.layers))
    for k, folding in enumerate((unfolded, random_folding(net, rng))):
        build = make_build(net, folding, tmp_path / f"build{k}")
        report = verify_csim(build, codes, flags=CHECKED_FLAGS, cache_dir=prelude_cache)
        assert report.ok, (report.first_mismatch, folding)
        assert report.frames == 24


def test_csim_pool_first_and_bipolar_image_input(tmp_path: Path, prelude_cache: Path) -> None:
    """Image stages right at the input: input thresholds -> OR pool -> convolution, and
    bipolar (2-level) image codes straight into a sliding window."""
    rng = np.random.default_rng(21)
    levels = 4
    fmt = InputFormat((2, 6, 6), np.arange(levels, dtype=np.float32) / (levels - 1))
    swg = SlidingWindow("swg", (3, 3, 2), 2, 1, (1, 0, 0, 1))
    conv_t = rng.integers(0, 10, 4)
    pooled = Network(
        fmt,
        (
            InputThreshold("thresh", rng.integers(0, levels + 1, 72), levels),
            MaxPool("pool", (6, 6, 2), 2, 2),
            swg,
            MatrixVector("conv", rng.random((4, 8)) < 0.5, 1, 2, conv_t, pixels=swg.pixels),
            MatrixVector("out", rng.random((3, 36)) < 0.5, 1, 2, None, np.ones(3), np.zeros(3)),
        ),
    )
    bipolar_fmt = InputFormat((3, 5, 4), np.array([-1.0, 1.0], dtype=np.float32))
    window = SlidingWindow("swg", (5, 4, 3), 3, 1, (1, 1, 1, 1))
    bipolar = Network(
        bipolar_fmt,
        (
            window,
            MatrixVector(
                "conv", rng.random((4, 27)) < 0.5, 1, 2, rng.integers(10, 18, 4), pixels=20
            ),
            MatrixVector("out", rng.random((2, 80)) < 0.5, 1, 2, None, np.ones(2), np.zeros(2)),
        ),
    )
    for k, net in enumerate((pooled, bipolar)):
        folding = random_folding(net, rng)
        build = make_build(net, folding, tmp_path / f"build{k}")
        codes = random_codes(net, rng, 16)
        report = verify_csim(build, codes, flags=CHECKED_FLAGS, cache_dir=prelude_cache)
        assert report.ok, (report.first_mismatch, folding)


@pytest.mark.slow
@settings(
    max_examples=4,  # one compile each
    deadline=None,
    phases=[Phase.explicit, Phase.reuse, Phase.generate],  # every shrink step would compile
    suppress_health_check=[HealthCheck.too_slow],
)
@given(
    seed=st.integers(0, 2**32 - 1),
    size=st.tuples(st.integers(3, 8), st.integers(3, 8)),
    channels=st.integers(1, 3),
    kernel=st.integers(1, 3),
    stride=st.integers(1, 2),
    padding=st.integers(0, 2),
    pool=st.sampled_from([0, 2]),
    binarize=st.booleans(),
)
def test_csim_equals_reference_on_random_conv_geometry(
    prelude_cache: Path,
    seed: int,
    size: tuple[int, int],
    channels: int,
    kernel: int,
    stride: int,
    padding: int,
    pool: int,
    binarize: bool,
) -> None:
    """One convolution of random geometry (then an optional pool, a 3x3 convolution when it
    fits, and the output layer), random folding."""
    rng = np.random.default_rng(seed)
    padding = min(padding, kernel - 1)
    h, w = size
    oh = (h + 2 * padding - kernel) // stride + 1
    ow = (w + 2 * padding - kernel) // stride + 1
    pool = pool if min(oh, ow) >= pool else 0
    convs = [ConvSpec(int(rng.integers(2, 6)), kernel, stride, padding, pool)]
    if min(oh, ow) // max(pool, 1) >= 3:
        convs.append(ConvSpec(int(rng.integers(2, 5))))
    levels = int(rng.choice([3, 16, 256]))
    net = random_conv_net(
        rng, (channels, h, w), convs, [], int(rng.integers(2, 5)), levels, binarize
    )
    codes = random_codes(net, rng, 12)
    folding = random_folding(net, rng)
    with tempfile.TemporaryDirectory() as tmp:
        build = make_build(net, folding, Path(tmp) / "build")
        report = verify_csim(build, codes, flags=CHECKED_FLAGS, cache_dir=prelude_cache)
        assert report.ok, (report.first_mismatch, folding)


@pytest.mark.slow
def test_csim_cnv_shaped_net(tmp_path: Path, prelude_cache: Path) -> None:
    """A CNV-shaped random net with an integer first layer, at the folding the chooser picks for
    20,000 cycles per frame (wide SIMD keeps the weight arrays, and so g++, small: about 20 s of
    CPU to compile, 0.4 s per frame), on a few images."""
    rng = np.random.default_rng(0)
    net = random_cnv(rng)
    fc0 = next(layer for layer in net.layers if layer.name == "fc0")
    assert fc0.in_elements == 256  # the convolutions end at 1 x 1 x 256
    folding = choose_folding(net, 20_000)
    build = make_build(net, folding, tmp_path / "build")
    codes = random_codes(net, rng, 3)
    report = verify_csim(build, codes, flags=CHECKED_FLAGS, cache_dir=prelude_cache)
    assert report.ok, report.first_mismatch
