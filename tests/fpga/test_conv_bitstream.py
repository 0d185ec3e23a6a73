"""``hwbnn bitstream`` for a convolutional network: the trained digits-cnn (window generators
with line buffers in block RAM, per-pixel MVAUs, an OR max pool) on ULX3S-85F (ECP5) at the
board's 25 MHz clock, with the report's resources, timing and the estimate of the new layer
kinds. The build lives under pytest's tmp_path; the YoWASP tools run inside the flow directory.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hwbnn.cli import main
from hwbnn.fpga.bitstream import bitstream_dir
from hwbnn.ir.folding import choose_folding


@pytest.mark.slow
def test_digits_cnn_bitstream_ecp5_85f(tmp_path: Path, digits_cnn, capsys) -> None:
    # a folding of 2304 cycles/frame: 10,850 frames/s at 25 MHz, small enough to place quickly
    folding = choose_folding(digits_cnn.net, 2304)
    folding_file = tmp_path / "folding.json"
    folding_file.write_text(folding.to_json(digits_cnn.net))
    build = tmp_path / "cnn"
    argv = ["compile", str(digits_cnn.onnx), "-o", str(build), "--target", "rtl"]
    assert main([*argv, "--folding", str(folding_file)]) == 0
    capsys.readouterr()
    assert main(["bitstream", str(build), "--board", "ulx3s-85f", "--json"]) == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    final = bitstream_dir(build, "ulx3s-85f")
    report = json.loads((final / "report.json").read_text())
    assert summary["ok"] and report["device"] == "LFE5U-85F"
    clock = report["clock"]
    assert clock["requested_mhz"] == 25 and clock["timing_met"], clock
    resources = report["resources"]
    assert 0 < resources["lut"]["used"] <= resources["lut"]["available"]
    assert resources["bram"]["used"] >= 1  # the line buffers and weight ROMs
    assert resources["io"]["used"] == 5  # clk, uart_rx, uart_tx, led[1:0]
    layers = {row["name"]: row for row in report["estimate"]["layers"]}
    window = next(name for name in layers if name.endswith("_window"))
    pool = next(name for name in layers if name.startswith("MaxPool"))
    assert layers[window]["memory_bits"] > 0 and layers[window]["lanes"] == 0
    assert layers[pool]["luts"] > 0
    assert (final / "hwbnn_board_top.bit").stat().st_size > 10_000
