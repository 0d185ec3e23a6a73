"""hwbnn.driver: the byte protocol, the serial transport, and a round trip through the
simulated board top (UART model in cocotb) that must classify exactly as hwbnn.reference.

The round trip runs the unchanged Driver in a cocotb bridge thread: 10 digits test images
with one frame in flight, then a partial frame of garbage, a line-break reset, and 10 more
images with two frames in flight. The board top runs at CLK_HZ/BAUD = 8 to keep the
simulation short; its error LED must stay dark.
"""

from __future__ import annotations

import json
from pathlib import Path

import cocotb
import numpy as np
import pytest
from cocotb.clock import Clock
from cocotb.task import bridge
from cocotb.triggers import ClockCycles

from hwbnn.driver import Driver, DriverError, SerialTransport, labels_from_accumulators
from hwbnn.errors import ConfigError
from hwbnn.fpga.link import LinkFormat
from hwbnn.sim.packing import pack_beats, unpack_beats
from hwbnn.sim.runner import get_tb_args, run_cocotb

CLK_HZ, BAUD = 1_000_000, 125_000  # 8 clock cycles per bit
POR_BITS = 6


@pytest.fixture(scope="module")
def digits_rtl_build(digits_binary, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The trained digits MLP compiled for RTL at 1024 cycles/frame."""
    import hwbnn

    build = tmp_path_factory.mktemp("driver") / "build"
    return hwbnn.compile(digits_binary.onnx, build, target="rtl", target_cycles=1024).path


# ------------------------------------------------------------------ the byte protocol


@pytest.mark.parametrize(
    ("in_bits", "in_simd", "out_pe", "acc_width"),
    [(5, 1, 1, 9), (8, 4, 2, 12), (1, 16, 5, 8), (3, 3, 10, 17)],
)
def test_link_encode_decode(in_bits: int, in_simd: int, out_pe: int, acc_width: int) -> None:
    link = LinkFormat(24 * in_simd, in_bits, in_simd, 10, out_pe, acc_width)
    rng = np.random.default_rng(in_bits)
    codes = rng.integers(0, 2**in_bits, (3, link.in_elements))
    data = link.encode(codes)
    assert len(data) == 3 * link.frame_in_bytes
    beats = [
        int.from_bytes(data[i : i + link.in_beat_bytes], "little")
        for i in range(0, len(data), link.in_beat_bytes)
    ]
    assert beats == pack_beats(codes, in_bits, in_simd)
    acc = rng.integers(-(2 ** (acc_width - 1)), 2 ** (acc_width - 1), (3, 10))
    out_beats = pack_beats(acc.reshape(-1, out_pe) & ((1 << acc_width) - 1), acc_width, out_pe)
    raw = b"".join(b.to_bytes(link.out_beat_bytes, "little") for b in out_beats)
    assert np.array_equal(link.decode(raw, 3), acc)
    assert np.array_equal(
        unpack_beats(out_beats, acc_width, out_pe, signed=True).reshape(3, 10), acc
    )


def test_link_rejects_out_of_step_bytes() -> None:
    link = LinkFormat(8, 5, 1, 10, 1, 9)  # 9-bit results in 2 bytes: 7 bits must be 0
    raw = bytearray(link.frame_out_bytes)
    raw[1] = 0x80
    with pytest.raises(ConfigError, match="out of step"):
        link.decode(bytes(raw), 1)
    with pytest.raises(ConfigError, match="result bytes"):
        link.decode(bytes(raw[:-1]), 1)


def test_labels_match_reference(digits_rtl_build: Path) -> None:
    from hwbnn.ir.serialize import load_network
    from hwbnn.reference import Reference

    net = load_network(digits_rtl_build)
    codes = np.random.default_rng(0).integers(0, net.input.levels, (50, net.input.elements))
    result = Reference(net).run_codes(codes)
    out = net.output_layer
    labels = labels_from_accumulators(result.accumulators, out.out_scale, out.out_bias)
    assert np.array_equal(labels, result.labels)


# ------------------------------------------------------------------ serial transport


def test_serial_transport_loopback() -> None:
    with SerialTransport("loop://", baud=115200, timeout_s=0.2) as port:
        port.write(b"\x01\x02\x03")
        assert port.read(3) == b"\x01\x02\x03"
        port.write(b"\x04")
        with pytest.raises(DriverError, match="expected 2 bytes, got 1"):
            port.read(2)
        port.reset()


def test_serial_transport_bad_port() -> None:
    with pytest.raises(DriverError, match="cannot open serial port"):
        SerialTransport("/dev/hwbnn-no-such-port")


class EchoBoard:
    """A transport that answers each frame with its first input codes as accumulators,
    recording how many frames were outstanding at each write (window accounting)."""

    def __init__(self, link: LinkFormat) -> None:
        self.link = link
        self.pending: list[bytes] = []
        self.max_outstanding = 0

    def write(self, data: bytes) -> None:
        self.pending.append(data)
        self.max_outstanding = max(self.max_outstanding, len(self.pending))

    def read(self, size: int) -> bytes:
        frame = self.pending.pop(0)
        codes = np.frombuffer(frame, dtype=np.uint8)[: self.link.classes].astype(np.int64)
        words = pack_beats(codes.reshape(-1, self.link.out_pe), self.link.acc_width, 1)
        return b"".join(w.to_bytes(self.link.out_beat_bytes, "little") for w in words)[:size]

    def reset(self) -> None:
        self.pending.clear()


@pytest.mark.parametrize("window", [1, 2, 5])
def test_driver_window(window: int) -> None:
    from hwbnn.ir.types import InputFormat

    link = LinkFormat(16, 8, 1, 10, 1, 12)
    fmt = InputFormat((16,), np.arange(256, dtype=np.float32))
    board = EchoBoard(link)
    driver = Driver(board, link, fmt, np.ones(10), np.zeros(10), window=window)
    codes = np.random.default_rng(1).integers(0, 256, (7, 16))
    result = driver.run_codes(codes)
    assert np.array_equal(result.accumulators, codes[:, :10])
    assert np.array_equal(result.labels, np.argmax(codes[:, :10], axis=1))
    assert board.max_outstanding == min(window, 7)
    with pytest.raises(ConfigError, match=r"lie in \[0, 255\]"):
        driver.run_codes(codes + 256)


# ------------------------------------------------------------------ simulated board round trip


@cocotb.test()
async def board_round_trip(dut):
    """The Driver classifies through the simulated board top, exactly as the reference."""
    from hwbnn.driver.cocotb_uart import CocotbUartTransport

    args = get_tb_args()
    codes = np.load(args["codes"])
    Clock(dut.clk, 10, unit="ns").start()
    cpb = args["clk_hz"] // args["baud"]
    transport = CocotbUartTransport(
        dut.uart_rx, dut.uart_tx, dut.clk, cpb, timeout_cycles=args["timeout_cycles"]
    )
    await ClockCycles(dut.clk, 2 ** args["por_bits"] + 10)  # power-on reset
    results = []
    first = Driver.from_build(Path(args["build"]), transport, window=1)
    results.append(await bridge(first.run_codes)(codes[:10]))
    assert int(dut.led.value) & 1 == 0, "receive error after the first frames"
    await transport.source.send(bytes([0x11, 0x07, 0x03]))  # a frame cut short
    second = Driver.from_build(Path(args["build"]), transport, window=2)
    await bridge(second.reset)()
    results.append(await bridge(second.run_codes)(codes[10:]))
    assert int(dut.led.value) & 1 == 0, "receive error (a byte was lost)"
    assert transport.sink.framing_errors == 0
    Path(args["results"]).write_text(
        json.dumps(
            {
                "accumulators": np.concatenate([r.accumulators for r in results]).tolist(),
                "labels": np.concatenate([r.labels for r in results]).tolist(),
            }
        )
    )


@pytest.mark.slow
def test_driver_round_trip_simulated_board(digits_rtl_build: Path, tmp_path: Path) -> None:
    from hwbnn.data import load_dataset
    from hwbnn.fpga.board_top import BOARD_TOP, write_board_sources
    from hwbnn.ir.folding import initiation_interval, load_folding
    from hwbnn.ir.serialize import load_network
    from hwbnn.reference import Reference, to_codes

    build = digits_rtl_build
    net = load_network(build)
    codes = to_codes(net.input, load_dataset("digits", None).x_test[:20])
    expected = Reference(net).run_codes(codes)
    np.save(tmp_path / "codes.npy", codes)
    link = LinkFormat.from_build(build)
    src = tmp_path / "src"
    names = write_board_sources(build, src, link, CLK_HZ, BAUD, por_bits=POR_BITS)
    frame_cycles = 10 * (CLK_HZ // BAUD) * (link.frame_in_bytes + link.frame_out_bytes)
    ii = initiation_interval(net, load_folding(build / "folding.json", net))
    run_cocotb(
        sources=[src / name for name in names],
        toplevel=BOARD_TOP,
        test_module=Path(__file__),
        build_dir=tmp_path / "sim",
        parameters={"MEM_DIR": str(src), "POR_BITS": POR_BITS},
        tb_args={
            "build": str(build),
            "codes": str(tmp_path / "codes.npy"),
            "results": str(tmp_path / "results.json"),
            "clk_hz": CLK_HZ,
            "baud": BAUD,
            "por_bits": POR_BITS,
            "timeout_cycles": 4 * (frame_cycles + ii) + 10_000,
        },
        test_filter="board_round_trip",
    )
    got = json.loads((tmp_path / "results.json").read_text())
    assert np.array_equal(np.array(got["accumulators"]), expected.accumulators)
    assert np.array_equal(np.array(got["labels"]), expected.labels)
