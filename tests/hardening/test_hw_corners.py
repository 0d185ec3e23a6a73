"""Corner inputs through the generated RTL (L4, Icarus) and the HLS C++ (L3, g++), exact.

Every net gets the same battery (:func:`corner_codes`): all codes 0, 1, the largest and the
one below it; elements alternating 0 / largest both ways; every code's bits alternating
(0101..., 1010...), also per element; a single largest code in zeros and a single 0 in
largest codes (first and last element); a ramp through every code; for images a
checkerboard, alternating rows, alternating columns and alternating channels. They reach
the extremes random inputs rarely do: an integer first layer at its largest and smallest
sums (every net's first rows have all-+1 and all-(-1) weights, so the accumulator's full
width is used), binarized inputs all -1 or all +1, constant-output channels (thresholds 0
and N+1), and -1 padding next to all +1 pixels. Nets: the digits MLP's input (64 codes of
17 levels, an 8x8 image, binarized by input thresholds) with one hidden layer, 8-bit codes
straight into the output layer, and a conv net with an 8-bit first convolution, padding,
stride, an OR pool and a hidden dense layer. Each runs under random gaps and backpressure
(hwbnn.verify.rtl, Icarus) and through the C simulation (hwbnn.verify.csim, g++), judged
against the reference. (A residual graph, a 1-bit input and an 8-bit MLP with a hidden layer
passed the same battery too, and were left out to keep within the suite's CI time.)
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from hwbnn.codegen import write_build
from hwbnn.codegen.cxx import STRICT_FLAGS
from hwbnn.ir.folding import Folding, choose_folding
from hwbnn.ir.types import Network
from hwbnn.reference import Reference
from hwbnn.sim.random_nets import ConvSpec, random_conv_net, random_mlp
from hwbnn.sim.top import SimConfig
from hwbnn.verify.csim import verify_csim
from hwbnn.verify.rtl import verify_rtl


def _alternating_bits(bits: int, levels: int, start: int) -> int:
    """The code whose bits alternate from bit ``start`` up (0101... or 1010...), the top bit
    dropped while the code is not below ``levels``."""
    code = sum(1 << b for b in range(start, bits, 2))
    while code >= levels:
        code &= ~(1 << (code.bit_length() - 1))
    return code


def corner_codes(net: Network) -> tuple[list[str], np.ndarray]:
    """Names and (frames, elements) codes of the corner inputs of ``net``, duplicates
    dropped (first name kept)."""
    fmt = net.input
    n, top, bits = fmt.elements, fmt.levels - 1, fmt.bits
    index = np.arange(n)
    a, b = _alternating_bits(bits, fmt.levels, 0), _alternating_bits(bits, fmt.levels, 1)
    rows: dict[str, np.ndarray] = {
        "zeros": np.zeros(n),
        "ones": np.ones(n),
        "max": np.full(n, top),
        "max-1": np.full(n, top - 1),
        "alternate 0/max": np.where(index % 2, top, 0),
        "alternate max/0": np.where(index % 2, 0, top),
        "bits 0101": np.full(n, a),
        "bits 1010": np.full(n, b),
        "bits alternate by element": np.where(index % 2, b, a),
        "one max first": np.where(index == 0, top, 0),
        "one max last": np.where(index == n - 1, top, 0),
        "one zero first": np.where(index == 0, 0, top),
        "one zero last": np.where(index == n - 1, 0, top),
        "ramp": index % fmt.levels,
    }
    if fmt.image_shape is not None:
        c, h, w = fmt.shape
        cc, hh, ww = np.meshgrid(np.arange(c), np.arange(h), np.arange(w), indexing="ij")
        for name, odd in (
            ("checkerboard", (hh + ww) % 2),
            ("rows", hh % 2),
            ("columns", ww % 2),
            ("channels", cc % 2),
        ):
            image = np.where(odd == 1, top, 0)[None]
            rows[name] = fmt.to_stream(image)[0]
            rows[f"{name} inverted"] = fmt.to_stream(top - image)[0]
    names, unique = [], []
    for name, row in rows.items():
        row = row.astype(np.int64)
        if not any(np.array_equal(row, u) for u in unique):
            names.append(name)
            unique.append(row)
    return names, np.stack(unique)


NetMaker = Callable[[], tuple[Network, Folding]]


def digits_mlp() -> tuple[Network, Folding]:
    net = random_mlp(np.random.default_rng(31), 64, [32], 10, 17, True, (1, 8, 8))
    return net, choose_folding(net, 32)


def int8_linear() -> tuple[Network, Folding]:
    """8-bit codes straight into the output layer: accumulators reach +-32 * 255."""
    net = random_mlp(np.random.default_rng(33), 32, [], 6, 256, False)
    return net, choose_folding(net, 8)


def int8_conv() -> tuple[Network, Folding]:
    convs = (ConvSpec(4, 3, 1, 1), ConvSpec(8, 3, 2, 1, pool=2))
    net = random_conv_net(np.random.default_rng(35), (2, 7, 7), convs, (8,), 4, 256, False)
    return net, choose_folding(net, 200)


NETS: dict[str, NetMaker] = {
    "digits_mlp": digits_mlp,
    "int8_linear": int8_linear,
    "int8_conv": int8_conv,
}


def test_corner_codes_are_codes_and_distinct() -> None:
    for make in NETS.values():
        net, _ = make()
        names, codes = corner_codes(net)
        assert len(names) == len(codes) >= 8
        assert codes.min() == 0 and codes.max() == net.input.levels - 1
        assert len(np.unique(codes, axis=0)) == len(codes)
    assert _alternating_bits(5, 17, 0) == 0b00101 and _alternating_bits(5, 17, 1) == 0b01010
    assert _alternating_bits(8, 256, 0) == 0x55 and _alternating_bits(8, 256, 1) == 0xAA


def test_corners_reach_the_accumulator_extremes() -> None:
    """The all-largest input drives the all-+1 row of an integer first layer to its largest
    sum, and the all-(-1) row to its smallest (so the full accumulator width is used)."""
    net, _ = int8_linear()
    names, codes = corner_codes(net)
    acc = Reference(net).run_codes(codes).accumulators
    largest = net.layers[0].mw * 255
    assert acc[names.index("max"), 0] == largest and acc[names.index("max"), 1] == -largest


@pytest.mark.parametrize("name", list(NETS))
def test_rtl_corner_inputs_exact(tmp_path: Path, name: str) -> None:
    net, folding = NETS[name]()
    write_build(net, folding, tmp_path / "build")
    names, codes = corner_codes(net)
    cfg = SimConfig(seed=5, gap_prob=0.3, backpressure_prob=0.5, ii_frames=4)
    record = verify_rtl(tmp_path / "build", codes, cfg)
    assert record.ok, f"{record.first_mismatch} (frames: {names})"
    stress = record.details["phases"][0]
    assert stress["frames"] == stress["frames_received"] == len(codes)


@pytest.fixture(scope="module")
def prelude_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Precompiled ap_types headers shared by this module's C simulations."""
    return tmp_path_factory.mktemp("prelude")


@pytest.mark.parametrize("name", list(NETS))
def test_hls_corner_inputs_exact(tmp_path: Path, prelude_cache: Path, name: str) -> None:
    net, folding = NETS[name]()
    write_build(net, folding, tmp_path / "build", target="hls")
    names, codes = corner_codes(net)
    flags = (*STRICT_FLAGS, "-Winvalid-pch")
    record = verify_csim(tmp_path / "build", codes, flags=flags, cache_dir=prelude_cache)
    assert record.ok, f"{record.first_mismatch} (frames: {names})"
    assert record.frames == len(codes)
