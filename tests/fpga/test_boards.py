"""Boards, constraint files, the board top template and its baud-rate checks."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from hwbnn.errors import ConfigError
from hwbnn.fpga.board_top import UART_MODULES, check_baud, render_board_top
from hwbnn.fpga.boards import BOARDS, Family, get_board
from hwbnn.fpga.link import LinkFormat
from hwbnn.fpga.tools import find_toolchain
from hwbnn.fpga.yosys import render_script, run_yosys
from hwbnn.resources import rtl_files, share_dir
from hwbnn.sim.runner import SimulatorNotFound, verilator_environment

PORTS = ("clk", "uart_rx", "uart_tx", "led[0]", "led[1]")


def test_unknown_board_lists_the_valid_ones() -> None:
    with pytest.raises(ConfigError) as info:
        get_board("ulx3s-99f")
    message = str(info.value)
    assert "unknown board 'ulx3s-99f'" in message
    for name in BOARDS:
        assert name in message


@pytest.mark.parametrize("name", sorted(BOARDS))
def test_constraints_place_every_port(name: str) -> None:
    board = BOARDS[name]
    text = (share_dir("fpga") / "boards" / board.constraints).read_text()
    for port in PORTS:
        if board.family is Family.ICE40:
            pattern = rf"^set_io {re.escape(port)}\s+\d+"
        elif board.family is Family.ECP5:
            pattern = rf'^LOCATE COMP "{re.escape(port)}" SITE "\w+";'
        else:
            pattern = rf"PACKAGE_PIN \w+ .*get_ports {{ {re.escape(port)} }}"
        assert re.search(pattern, text, re.MULTILINE), f"{name}: no pin for {port}"


def test_known_pins() -> None:
    """The pins documented in docs/boards.md."""
    ulx3s = (share_dir("fpga") / "boards" / "ulx3s.lpf").read_text()
    assert 'LOCATE COMP "clk" SITE "G2"' in ulx3s
    assert 'LOCATE COMP "uart_rx" SITE "M1"' in ulx3s and 'COMP "uart_tx" SITE "L4"' in ulx3s
    ice = (share_dir("fpga") / "boards" / "icebreaker.pcf").read_text()
    assert re.search(r"^set_io clk\s+35\b", ice, re.M)
    assert re.search(r"^set_io uart_rx\s+6\b", ice, re.M)
    assert re.search(r"^set_io uart_tx\s+9\b", ice, re.M)
    assert BOARDS["icebreaker"].clock_mhz == 12 and BOARDS["ulx3s-85f"].clock_mhz == 25


@pytest.mark.parametrize(
    ("clk_hz", "baud", "message"),
    [(12_000_000, 4_000_000, "too high"), (1000, 230, "off by"), (25_000_000, 0, "positive")],
)
def test_bad_baud_rates(clk_hz: int, baud: int, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        check_baud(clk_hz, baud)
    check_baud(12_000_000, 115_200)


def stand_in_top(link: LinkFormat) -> str:
    """A small hwbnn_top with the ports of ``link`` (every input reaches a register)."""
    return (
        "`default_nettype none\n"
        "/* verilator lint_off UNUSEDSIGNAL */ /* verilator lint_off UNUSEDPARAM */\n"
        'module hwbnn_top #(parameter MEM_DIR = ".") (\n'
        "  input wire clk, input wire rst,\n"
        f"  input wire [{link.in_width - 1}:0] s_axis_tdata, input wire s_axis_tvalid,\n"
        "  output wire s_axis_tready, input wire s_axis_tlast,\n"
        f"  output wire [{link.out_width - 1}:0] m_axis_tdata, output wire m_axis_tvalid,\n"
        "  input wire m_axis_tready, output wire m_axis_tlast);\n"
        "  reg [31:0] r; always @(posedge clk) r <= {31'd0, rst ^ s_axis_tvalid ^ "
        "s_axis_tlast ^ m_axis_tready ^ (^s_axis_tdata)};\n"
        "  assign s_axis_tready = r[0]; assign m_axis_tvalid = r[0];\n"
        f"  assign m_axis_tlast = r[0]; assign m_axis_tdata = {{{link.out_width}{{r[0]}}}};\n"
        "endmodule\n`default_nettype wire\n"
    )


@pytest.mark.parametrize("active_low", [False, True])
def test_board_top_lints_clean(tmp_path: Path, active_low: bool) -> None:
    """The rendered board top (with a stand-in hwbnn_top) passes verilator -Wall."""
    try:
        env = verilator_environment()
    except SimulatorNotFound as exc:
        pytest.skip(str(exc))
    import os

    link = LinkFormat(64, 5, 4, 10, 2, 9)
    text = render_board_top(link, 25_000_000, 115_200, active_low)
    assert ("~{frame_done, rx_error}" in text) == active_low
    (tmp_path / "hwbnn_board_top.v").write_text(text)
    (tmp_path / "hwbnn_top.v").write_text(stand_in_top(link))
    sources = [tmp_path / "hwbnn_board_top.v", tmp_path / "hwbnn_top.v"]
    sources += rtl_files(*UART_MODULES)
    result = subprocess.run(
        [
            "verilator",
            "--lint-only",
            "-Wall",
            "--top-module",
            "hwbnn_board_top",
            *map(str, sources),
        ],
        env=os.environ | env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "%Warning" not in result.stderr, result.stderr


def test_synthesis_keeps_the_reset_and_ready_copies(tmp_path: Path) -> None:
    """The registers copied for placement stay separate flip-flops through the bitstream
    flow's ECP5 synthesis: the two reset copies (accelerator, UART side) and the packer's copy
    of its first load strobe, which equals the strobe copies of the beat's first bytes (a
    784-byte beat has two levels of strobes). A keep on a reg keeps only its net, and yosys
    merged these once."""
    link = LinkFormat(784, 8, 784, 10, 10, 9)  # one 6,272-bit beat per frame (TFC-1)
    (tmp_path / "hwbnn_board_top.v").write_text(render_board_top(link, 25_000_000, 115_200, False))
    (tmp_path / "hwbnn_top.v").write_text(stand_in_top(link))
    files = ["hwbnn_board_top.v", "hwbnn_top.v"]
    for path in rtl_files(*UART_MODULES):
        shutil.copy(path, tmp_path / path.name)
        files.append(path.name)
    script = render_script(Family.ECP5, files, "hwbnn_board_top", "synth.json", "stat.json")
    run_yosys(find_toolchain(Family.ECP5).synth, script, tmp_path)
    module = json.loads((tmp_path / "synth.json").read_text())["modules"]["hwbnn_board_top"]
    nets = module["netnames"]
    assert nets["rst_accel"]["bits"] != nets["rst_link"]["bits"]
    strobes = [n["bits"] for name, n in nets.items() if name.endswith(".r_load")]
    assert len(strobes) == 10 + 49  # first level (one per 5) and one per 16 bytes
    assert "u_pack.ctl_load" in nets, "ctl_load was merged into another flip-flop"
    assert nets["u_pack.ctl_load"]["bits"] not in strobes
