"""``hwbnn bitstream``: the digits MLP on ECP5-85F and iCE40 UP5K, the Vivado project for
PYNQ-Z2, and the errors (bad board, build without rtl/, missing tool, too large) that must be
one line, exit non-zero and leave no bitstream.

The builds live under pytest's tmp_path (in /tmp): the YoWASP tools see them because every tool
runs inside the flow directory on relative paths.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from flow_builds import random_rtl_build

from hwbnn.cli import main
from hwbnn.fpga.bitstream import BitstreamConfig, bitstream_dir, run_bitstream_flow
from hwbnn.fpga.nextpnr import DesignTooLarge


def hwbnn(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run the hwbnn command line in a subprocess (so PATH can be changed)."""
    code = "import sys; from hwbnn.cli import main; sys.exit(main(sys.argv[1:]))"
    return subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, env=env, timeout=900
    )


def check_report(report: dict, board: str, bitstream: str) -> None:
    assert report["board"] == board and report["bitstream"] == bitstream
    for name in ("lut", "ff", "bram", "io"):
        used, available = report["resources"][name]["used"], report["resources"][name]["available"]
        assert 0 <= used <= available, (name, used, available)
    assert report["resources"]["lut"]["used"] > 100
    assert report["resources"]["io"]["used"] == 5  # clk, uart_rx, uart_tx, led[1:0]
    clock = report["clock"]
    assert clock["achieved_mhz"] > 0 and isinstance(clock["timing_met"], bool)
    assert clock["timing_met"] == (clock["achieved_mhz"] >= clock["requested_mhz"])
    assert report["estimate"]["luts"] > 0 and report["yosys_cells"]


@pytest.mark.slow
def test_digits_bitstream_ecp5_85f(digits_rtl_default: Path, capsys) -> None:
    build = digits_rtl_default
    stale = bitstream_dir(build, "ulx3s-85f")
    stale.mkdir(parents=True)
    (stale / "hwbnn_board_top.bit").write_bytes(b"old")
    assert main(["bitstream", str(build), "--board", "ulx3s-85f", "--json"]) == 0
    out = capsys.readouterr().out
    summary = json.loads(out.strip().splitlines()[-1])
    final = bitstream_dir(build, "ulx3s-85f")
    report = json.loads((final / "report.json").read_text())
    check_report(report, "ulx3s-85f", "hwbnn_board_top.bit")
    assert summary["ok"] and summary["clock"] == report["clock"]
    assert report["clock"]["requested_mhz"] == 25 and report["device"] == "LFE5U-85F"
    # the carry-chain ends were trimmed before nextpnr, which padded only the ends left (a
    # CCU2C, two cells, each) and added its constant-0 and constant-1 drivers ($PACKER_GND/VCC)
    trim = report["carry_chains"]
    assert trim["chains"] > 0 and trim["comb_cells_saved"] > 0
    ends_left = 2 * trim["chains"] - trim["couts_dropped"] - trim["cins_dropped"] - trim["shifted"]
    before = re.search(r"Total LUT4s:\s+(\d+)/", (final / "pnr.log").read_text())
    assert before is not None
    assert report["resources"]["lut"]["used"] - int(before.group(1)) <= 2 * ends_left + 2
    bit = (final / "hwbnn_board_top.bit").read_bytes()
    assert len(bit) > 10_000 and bit != b"old"
    assert not list(final.parent.glob(".ulx3s-85f.tmp-*"))
    assert "End of script" in (final / "synth.log").read_text()


@pytest.mark.slow
def test_digits_bitstream_ice40_up5k(digits_rtl_default: Path, capsys) -> None:
    build = digits_rtl_default
    assert main(["bitstream", str(build), "--board", "icebreaker", "--clock-mhz", "12"]) == 0
    out = capsys.readouterr().out
    assert "clock: achieved" in out and "timing" in out and "frames/s: core" in out
    report = json.loads((bitstream_dir(build, "icebreaker") / "report.json").read_text())
    check_report(report, "icebreaker", "hwbnn_board_top.bin")
    assert report["device"] == "iCE40UP5K" and report["resources"]["bram"]["available"] == 30
    assert (bitstream_dir(build, "icebreaker") / "hwbnn_board_top.bin").stat().st_size > 10_000


def test_vivado_project_for_pynq(digits_rtl_default: Path, capsys) -> None:
    build = digits_rtl_default
    assert main(["bitstream", str(build), "--board", "pynq-z2", "--clock-mhz", "100"]) == 0
    out = capsys.readouterr().out
    assert "vivado -mode batch -source build.tcl" in out and "no bitstream was made" in out
    final = bitstream_dir(build, "pynq-z2")
    assert not list(final.glob("*.bit"))
    report = json.loads((final / "report.json").read_text())
    assert report["bitstream"] is None and report["clock"]["achieved_mhz"] is None
    rate = report["frame_rate"]  # the fully folded MLP at the board's 125 MHz, 115,200 baud
    assert rate["core"] == 125e6 / report["initiation_interval"]
    assert rate["link"] == rate["baud"] / (
        10 * max(rate["frame_in_bytes"], rate["frame_out_bytes"])
    )
    assert rate["user"] == min(rate["core"], rate["link"]) and rate["bottleneck"] == "UART"
    assert f"a user gets {round(rate['link'])} frames/s (the UART limits)" in out
    tcl = (final / "build.tcl").read_text()
    assert "set part xc7z020clg400-1" in tcl
    order = [
        "create_project -in_memory",
        "read_xdc constraints.xdc",
        "synth_design -top $top -part $part",
        "\nopt_design",
        "\nplace_design",
        "\nroute_design",
        "report_utilization -file reports/utilization.rpt",
        "report_timing_summary -max_paths",
        "write_bitstream -force $top.bit",
    ]
    positions = [tcl.index(step) for step in order]
    assert positions == sorted(positions)
    for line in tcl.splitlines():
        if line.startswith("read_verilog "):
            assert (final / line.split()[1]).is_file(), line
    assert "read_verilog hwbnn_board_top.v" in tcl and "read_verilog hwbnn_uart_rx.v" in tcl
    xdc = (final / "constraints.xdc").read_text()
    assert "create_clock -add -name clk -period 10.000 [get_ports { clk }]" in xdc
    assert "PACKAGE_PIN H16" in xdc


def test_unknown_board(digits_rtl_default: Path, capsys) -> None:
    assert main(["bitstream", str(digits_rtl_default), "--board", "de10-nano"]) == 1
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "unknown board 'de10-nano'" in err
    assert "ulx3s-85f" in err and "icebreaker" in err and "pynq-z2" in err


def test_build_without_rtl(tmp_path: Path, digits_binary, capsys) -> None:
    import hwbnn

    hwbnn.compile(digits_binary.onnx, tmp_path / "b", target="ir")
    assert main(["bitstream", str(tmp_path / "b"), "--board", "icebreaker"]) == 1
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "--target rtl" in err
    assert not (tmp_path / "b" / "bitstream").exists()


def test_missing_tool_leaves_no_bitstream(digits_rtl_default: Path, tmp_path: Path) -> None:
    """No tool on PATH and system tools asked for: one line, exit 1, the old bitstream gone."""
    old = bitstream_dir(digits_rtl_default, "orangecrab-25f")
    old.mkdir(parents=True, exist_ok=True)
    (old / "hwbnn_board_top.bit").write_bytes(b"stale")
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    env = {k: v for k, v in os.environ.items() if k != "PATH"} | {"PATH": str(empty)}
    result = hwbnn(
        "bitstream",
        str(digits_rtl_default),
        "--board",
        "orangecrab-25f",
        "--tools",
        "system",
        env=env,
    )
    assert result.returncode == 1
    err = result.stderr.strip()
    assert err.count("\n") == 0, err
    assert err.startswith("hwbnn: error: flow tool not found: yosys, nextpnr-ecp5, ecppack"), err
    assert not old.exists()
    assert not list(old.parent.glob("orangecrab-25f*/*.bit"))


@pytest.mark.slow
def test_design_too_large_for_up5k(tmp_path: Path) -> None:
    """784 -> 256 -> 10 fully folded: 200 kbit of weights, the UP5K has 120 kbit of block RAM."""
    build = random_rtl_build(tmp_path / "big", 784, (256,), 10, target_cycles=784 * 256)
    with pytest.raises(DesignTooLarge) as info:
        run_bitstream_flow(build, BitstreamConfig(board="icebreaker"))
    message = str(info.value)
    assert "\n" not in message and "design too large for iCE40UP5K" in message
    assert "ICESTORM_RAM" in message, message
    assert not bitstream_dir(build, "icebreaker").exists()
    failed = bitstream_dir(build, "icebreaker").with_name("icebreaker.failed")
    assert (failed / "pnr.log").is_file() and "DesignTooLarge" in (failed / "error.txt").read_text()
    assert not list(failed.glob("*.bin")) and not list(failed.glob("*.asc"))
