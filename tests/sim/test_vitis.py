"""The top bench through the Vitis HLS adapter (hwbnn.sim.vitis), on our RTL wrapped behind
exactly the ports Vitis exports (tests/sim/vitis_wrapper.py).

The trained digits MLP (binarized input, 5-bit codes: 20-bit input beats padded to 24, 45-bit
output words padded to 48) runs under random input gaps and output backpressure with block
control through AXI4-Lite (what hwbnn.codegen.hls's top exports as), ap_ctrl_hs ports with and
without a reps port, and ap_ctrl_none, with and without TLAST; the accumulators must equal the
reference exactly. Broken DUTs (pad bits set, ap_done missing, wrong reps register) must be
reported. Port recognition is checked on Verilog written the way Vitis writes it.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import replace
from pathlib import Path

import pytest
from vitis_wrapper import WRAPPER, top_localparams, wrapper_dut, write_vitis_wrapper

from hwbnn.cli import main
from hwbnn.codegen.rtl import TOP, rtl_sources
from hwbnn.data import load_digits
from hwbnn.errors import ConfigError
from hwbnn.ir.serialize import load_network
from hwbnn.reference import to_codes
from hwbnn.sim.top import II_TOLERANCE, SimConfig
from hwbnn.sim.vitis import (
    VITIS_HLS_TOP,
    DutPorts,
    SimDut,
    module_ports,
    ports_from_verilog,
    stream_sizes,
)
from hwbnn.verify.rtl import verify_rtl

FRAMES = 40
# (PE, SIMD) of input_threshold, MatMul_0 128x64, MatMul_1 128x128, MatMul_2 10x128
FOLDING = [(1, 4), (8, 16), (64, 4), (5, 32)]
LAYERS = ["input_threshold", "MatMul_0", "MatMul_1", "MatMul_2"]

# The shape of a Vitis HLS export (non-ANSI ports) of hwbnn_top, ports as UG1399 names them.
VITIS_STYLE = """
(* CORE_GENERATION_INFO="hwbnn_top,hls_ip_2023_2,{HLS_INPUT_TYPE=cxx}" *)
module hwbnn_top (
        s_axi_control_AWVALID, s_axi_control_AWREADY, s_axi_control_AWADDR,
        ap_clk,
        ap_rst_n,
        interrupt,
        in_r_TDATA,
        in_r_TVALID,
        in_r_TREADY,
        out_r_TDATA,
        out_r_TVALID,
        out_r_TREADY
);
parameter    C_S_AXI_CONTROL_ADDR_WIDTH = 5;
input   s_axi_control_AWVALID;
output   s_axi_control_AWREADY;
input  [C_S_AXI_CONTROL_ADDR_WIDTH - 1:0] s_axi_control_AWADDR;
input   ap_clk;
input   ap_rst_n;
output   interrupt;
input  [23:0] in_r_TDATA;   // 20 bits used
input   in_r_TVALID;
output   in_r_TREADY;
output  [47:0] out_r_TDATA;
output   out_r_TVALID;
input   out_r_TREADY;
endmodule
"""


@pytest.fixture(scope="module")
def digits_build(tmp_path_factory: pytest.TempPathFactory, digits_binary) -> Path:
    out = tmp_path_factory.mktemp("vitis")
    rows = [
        {"layer": layer, "pe": pe, "simd": simd}
        for layer, (pe, simd) in zip(LAYERS, FOLDING, strict=True)
    ]
    (out / "folding.json").write_text(json.dumps({"layers": rows}))
    build = out / "build"
    argv = ["compile", str(digits_binary.onnx), "-o", str(build), "--target", "rtl"]
    assert main([*argv, "--folding", str(out / "folding.json")]) == 0
    return build


def _codes(build: Path):
    return to_codes(load_network(build).input, load_digits().x_test[:FRAMES])


def _complaints(record) -> str:
    """Everything a record says went wrong, in one string."""
    details = record.details
    return " ".join(
        [str(record.first_mismatch), *details["framing_errors"], *details["protocol_errors"]]
    )


def _check(record, timed: bool = True) -> None:
    assert record.ok, record.problem
    for phase in record.details["phases"]:
        assert phase["frames_received"] == phase["frames"] and phase["mismatches"] == 0
    if timed:
        spacings, ii = record.details["cycle_spacings"], record.details["initiation_interval"]
        assert record.details["ii_within_tolerance"], (spacings, ii)
        assert abs(record.cycles_per_frame - ii) <= II_TOLERANCE


def test_vitis_ports_are_recognised() -> None:
    ports = ports_from_verilog(module_ports(VITIS_STYLE, "hwbnn_top"), 0x10)
    assert ports == VITIS_HLS_TOP
    ansi = "module t (input wire ap_clk, input wire ap_rst, input wire ap_start,"
    ansi += " output wire ap_done, input wire [7:0] a_TDATA, output wire [15:0] b_TDATA,"
    ansi += " output wire [0:0] b_TLAST, input wire [31:0] reps); endmodule"
    ports = ports_from_verilog(module_ports(ansi, "t"), None)
    assert (ports.reset, ports.reset_active_low, ports.ctrl) == ("ap_rst", False, "hs")
    assert (ports.in_prefix, ports.out_prefix, ports.reps_port) == ("a_", "b_", "reps")
    assert (ports.in_tlast, ports.out_tlast) == (False, True)


def test_unrecognised_ports_are_one_line_errors() -> None:
    with pytest.raises(ConfigError, match="no ap_clk"):
        ports_from_verilog(module_ports(VITIS_STYLE.replace("ap_clk", "clk"), "hwbnn_top"), 16)
    two = VITIS_STYLE.replace("input   ap_rst_n;", "input   ap_rst_n;\ninput [7:0] x_TDATA;")
    with pytest.raises(ConfigError, match="one input and one output"):
        ports_from_verilog(module_ports(two, "hwbnn_top"), 16)
    with pytest.raises(ConfigError, match="no module other"):
        module_ports(VITIS_STYLE, "other")
    with pytest.raises(ConfigError, match="unknown block control"):
        DutPorts(ctrl="ap_ctrl_chain")


def test_sizes_from_the_plan_equal_the_rtl_localparams(digits_build: Path) -> None:
    sizes = stream_sizes(digits_build)
    local = top_localparams(next(p for p in rtl_sources(digits_build) if p.stem == TOP))
    assert sizes == {name: local[name] for name in sizes}
    assert (sizes["IN_WIDTH"], sizes["OUT_WIDTH"]) == (20, 45)  # both padded by Vitis


WRAPPED = [
    pytest.param("axilite", False, True, id="axilite"),  # what our HLS top exports as
    pytest.param("hs", True, True, id="hs-tlast"),
    pytest.param("hs", False, False, id="hs-noreps"),  # one ap_start per frame
    pytest.param("none", False, True, id="none"),
]


@pytest.mark.slow
@pytest.mark.parametrize(("ctrl", "tlast", "reps"), WRAPPED)
def test_wrapped_top_through_the_adapter(
    tmp_path: Path, digits_build: Path, ctrl: str, tlast: bool, reps: bool
) -> None:
    dut = wrapper_dut(digits_build, tmp_path / "wrapper", ctrl=ctrl, tlast=tlast, reps=reps)
    assert dut.ports.ctrl == ctrl and dut.ports.out_tlast == tlast
    assert dut.ports.clock == "ap_clk" and dut.ports.reset_active_low
    cfg = SimConfig(seed=3, gap_prob=0.3, backpressure_prob=0.5, ii_frames=6)
    record = verify_rtl(digits_build, _codes(digits_build), cfg, dut=dut)
    assert record.engine == f"{dut.label}-rtl/icarus"
    # One frame per ap_start cannot overlap frames: no throughput to compare.
    _check(record, timed=reps)


def _broken(tmp_path: Path, build: Path, old: str, new: str, **kwargs) -> SimDut:
    dut = wrapper_dut(build, tmp_path / "wrapper", **kwargs)
    path = dut.sources[-1]
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))
    return dut


@pytest.mark.slow
def test_broken_duts_are_reported(tmp_path: Path, digits_build: Path) -> None:
    codes = _codes(digits_build)[:6]
    cfg = SimConfig(seed=1, ii_frames=0)
    # pad bits of out_r_TDATA set
    dut = _broken(tmp_path / "a", digits_build, "{3{1'b0}}", "{3{1'b1}}", ctrl="none")
    record = verify_rtl(digits_build, codes, cfg, dut=dut)
    assert not record.ok and "bits above 45 are not 0" in _complaints(record)
    # ap_done never pulses
    dut = _broken(
        tmp_path / "b",
        digits_build,
        "assign ap_done    = done_pulse;",
        "assign ap_done    = 1'b0;",
        ctrl="hs",
    )
    record = verify_rtl(digits_build, codes, cfg, dut=dut)
    assert not record.ok and "ap_ctrl" in _complaints(record)
    # reps written to the wrong register: the block runs zero frames
    dut = wrapper_dut(digits_build, tmp_path / "c", ctrl="axilite")
    dut = replace(dut, ports=replace(dut.ports, reps_offset=0x18))
    record = verify_rtl(digits_build, codes, cfg, dut=dut)
    assert not record.ok and record.details["phases"][0]["frames_received"] == 0


@pytest.mark.slow
def test_cli_sim_vitis_rtl(tmp_path: Path, digits_build: Path, capsys) -> None:
    """hwbnn sim BUILD --vitis-rtl DIR on a directory of Verilog and memory files."""
    rtl = tmp_path / "exported"
    rtl.mkdir()
    for path in (digits_build / "rtl").iterdir():
        shutil.copy(path, rtl / path.name)
    write_vitis_wrapper(digits_build, rtl, ctrl="axilite")
    argv = ["sim", str(digits_build), "--dataset", "digits", "--n", "12", "--ii-frames", "5"]
    argv += ["--vitis-rtl", str(rtl), "--vitis-top", WRAPPER, "--json"]
    assert main(argv) == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["ok"] and summary["frames"] == 12
    assert summary["engine"] == "vitis-rtl/icarus"
    assert summary["details"]["sim_dir"].endswith("vitis-icarus")
