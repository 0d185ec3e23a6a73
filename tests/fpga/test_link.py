"""Frames/s a user gets from the board top: the core's rate, the UART's, and which one limits."""

from __future__ import annotations

import pytest

from hwbnn.errors import ConfigError
from hwbnn.fpga.board_top import check_baud, render_board_top
from hwbnn.fpga.boards import get_board
from hwbnn.fpga.link import LinkFormat, uart_baud

#: the digits MLP at 64 cycles/frame: 64 input codes of 5 bits one a beat (one byte each),
#: 10 classes as two beats of 5 accumulators of 9 bits (6 bytes each)
DIGITS = LinkFormat(in_elements=64, in_bits=5, in_simd=1, classes=10, out_pe=5, acc_width=9)


def test_uart_limits_the_digits_mlp_at_115200_baud() -> None:
    board = get_board("icebreaker")
    assert (DIGITS.frame_in_bytes, DIGITS.frame_out_bytes) == (64, 12)
    fr = DIGITS.frame_rate(board.clock_hz, 115_200, 64)
    assert fr.baud == 12_000_000 / 104  # 104 clocks per bit
    assert fr.core == 12_000_000 / 64
    assert fr.link == fr.baud / (10 * 64)
    assert round(fr.link) == 180 and fr.user == fr.link and fr.bottleneck == "UART"
    doc = fr.to_dict()
    assert doc["user"] == fr.link and doc["bottleneck"] == "UART" and doc["frame_in_bytes"] == 64


def test_core_limits_a_folded_design_at_3_mbaud() -> None:
    """12 MHz / 3 Mbaud is 4 clocks per bit, the UART's minimum: 4,688 frames/s of link."""
    board = get_board("icebreaker")
    check_baud(board.clock_hz, 3_000_000)
    fr = DIGITS.frame_rate(board.clock_hz, 3_000_000, 4096)
    assert fr.link == 3_000_000 / 640 and fr.core == 12_000_000 / 4096
    assert fr.user == fr.core and fr.bottleneck == "core"


def test_the_busier_direction_sets_the_link_rate() -> None:
    """Ten 16-bit accumulators a beat of one input bit: the results (20 bytes) outweigh the
    input (8 one-byte beats)."""
    link = LinkFormat(in_elements=8, in_bits=1, in_simd=1, classes=10, out_pe=1, acc_width=16)
    assert (link.frame_in_bytes, link.frame_out_bytes) == (8, 20)
    assert link.link_frames_per_second(1_000_000) == 1_000_000 / 200


@pytest.mark.parametrize(
    ("board", "baud", "ok"),
    [
        ("ulx3s-85f", 1_000_000, True),  # 25 clocks per bit, exact
        ("ulx3s-85f", 3_000_000, False),  # 8 clocks per bit give 3.125 Mbaud, 4.2 % off
        ("icebreaker", 3_000_000, True),  # 4 clocks per bit, exact
        ("icebreaker", 6_000_000, False),  # 2 clocks per bit
        ("orangecrab-25f", 3_000_000, True),  # 16 clocks per bit
    ],
)
def test_fast_baud_rates(board: str, baud: int, ok: bool) -> None:
    clk = get_board(board).clock_hz
    if ok:
        check_baud(clk, baud)
        assert uart_baud(clk, baud) == baud
    else:
        with pytest.raises(ConfigError):
            check_baud(clk, baud)


def test_board_top_states_the_link_rate() -> None:
    text = render_board_top(DIGITS, 12_000_000, 115_200)
    assert "At 115,385 baud (8N1, 10 bits a byte) the UART carries at most 180 frames/s" in text
