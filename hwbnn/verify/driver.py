"""The host driver's round trip (level DRIVER): :class:`hwbnn.driver.Driver` classifies frames
through the simulated board top (UART bridge + accelerator, hwbnn.fpga.board_top), and its
accumulators and labels are judged against the reference.

The board top runs at ``clk_hz / baud`` clock cycles per UART bit (8 by default, to keep the
simulation short) in ``BUILD/sim/driver-<simulator>/``; the bench (hwbnn/verify/driver_bench.py)
sends the first half of the frames with one frame in flight, a partial frame and a line-break
reset, then the rest with two in flight. The board's receive-error LED or a UART framing error
makes the record fail even when every frame matches. Engine ``uart/<simulator>``.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import numpy as np

from hwbnn.errors import ConfigError, HwbnnError
from hwbnn.fpga.board_top import BOARD_TOP, write_board_sources
from hwbnn.fpga.link import LinkFormat
from hwbnn.ir.folding import initiation_interval, load_folding
from hwbnn.ir.serialize import load_network
from hwbnn.reference import Reference
from hwbnn.sim.runner import SIM_LOG, SimulationFailed, SimulatorNotFound, run_cocotb
from hwbnn.verify.inputs import frame_codes
from hwbnn.verify.judge import judge
from hwbnn.verify.record import Level, VerificationRecord, record_result

BENCH = Path(__file__).resolve().with_name("driver_bench.py")
#: simulated clock and baud rate: 8 clock cycles per UART bit
CLK_HZ, BAUD = 1_000_000, 125_000
#: power-on reset of the simulated board top: 2**POR_BITS cycles
POR_BITS = 6


class DriverSimError(HwbnnError):
    """The driver round trip could not run (no simulator, a build or bench failure)."""


def verify_driver(
    build: Path,
    codes: np.ndarray,
    *,
    simulator: str = "icarus",
    clk_hz: int = CLK_HZ,
    baud: int = BAUD,
    command: str = "",
    progress: bool = False,
    verbose: bool = False,
) -> VerificationRecord:
    """Run the driver round trip on input ``codes`` (frames, elements), judge accumulators and
    labels against the reference and store the DRIVER record in BUILD/verification.json;
    return it (a mismatch does not raise).

    Raises:
        ConfigError: no frames, or a clock that is not a multiple of 4 times the baud rate.
        DriverSimError: the simulator is missing or failed.
    """
    build = Path(build).resolve()
    net = load_network(build)
    codes = frame_codes(codes, "send through the driver")
    if clk_hz % baud or clk_hz // baud < 4:
        raise ConfigError(f"clk_hz {clk_hz} must be a multiple of 4 * baud ({baud})")
    expected = Reference(net).run_codes(codes)  # also checks the codes
    link = LinkFormat.from_build(build)
    sim_dir = build / "sim" / f"driver-{simulator}"
    src = sim_dir / "src"
    src.mkdir(parents=True, exist_ok=True)
    names = write_board_sources(build, src, link, clk_hz, baud, por_bits=POR_BITS)
    np.save(sim_dir / "codes.npy", codes)
    results = sim_dir / "driver_results.json"
    results.unlink(missing_ok=True)
    frame_cycles = 10 * (clk_hz // baud) * (link.frame_in_bytes + link.frame_out_bytes)
    ii = initiation_interval(net, load_folding(build / "folding.json", net))
    start = time.perf_counter()
    try:
        run_cocotb(
            sources=[src / name for name in names],
            toplevel=BOARD_TOP,
            test_module=BENCH,
            build_dir=sim_dir,
            # relative to the simulator's working directory: the build's path stays out of
            # the Verilog string (quotes, backslashes)
            parameters={"MEM_DIR": os.path.relpath(src, sim_dir), "POR_BITS": POR_BITS},
            simulator=simulator,
            tb_args={
                "build": str(build),
                "codes": str(sim_dir / "codes.npy"),
                "results": str(results),
                "clk_hz": clk_hz,
                "baud": baud,
                "por_bits": POR_BITS,
                "timeout_cycles": 4 * (frame_cycles + ii) + 10_000,
            },
            logs=None if verbose else sim_dir,
            progress=len(codes) if progress else None,
        )
    except (SimulatorNotFound, SimulationFailed) as exc:
        text = " ".join(str(exc).split())
        raise DriverSimError(f"driver round trip failed: {text[:400]}") from None
    seconds = time.perf_counter() - start
    doc = json.loads(results.read_text())
    layer = net.output_layer.name
    acc = judge(
        expected.accumulators,
        np.array(doc["accumulators"], dtype=np.int64).reshape(-1, net.classes),
        layer=layer,
    )
    labels = judge(
        expected.labels, np.array(doc["labels"], dtype=np.int64), layer=layer, what="labels"
    )
    bad = set(acc.mismatched_frames) | set(labels.mismatched_frames)
    protocol = [
        f"receive-error LED lit after part {k + 1} of the round trip"
        for k, lit in enumerate(doc["led_errors"])
        if lit
    ]
    if doc["uart_framing_errors"]:
        protocol.append(f"{doc['uart_framing_errors']} UART framing errors on the board's output")
    return record_result(
        build,
        VerificationRecord(
            level=Level.DRIVER,
            engine=f"uart/{simulator}",
            frames=len(codes),
            mismatches=len(bad),
            first_mismatch=acc.first_mismatch or labels.first_mismatch,
            seconds=round(seconds, 2),
            command=command,
            details={
                "protocol_errors": protocol,
                "label_mismatches": labels.mismatches,
                "clk_hz": clk_hz,
                "baud": baud,
                "driver_seconds": round(doc["driver_seconds"], 2),
                "sim_dir": str(sim_dir),
                "log": None if verbose else str(sim_dir / SIM_LOG),
            },
        ),
    )
