"""hwbnn.fpga.carry_chains: the trimmed netlist is the same function, with fewer chain ends.

The proof: a popcount and a few additions, subtractions and comparisons synthesized by the
project's ECP5 script, trimmed, and both netlists compared by yosys' SAT solver on a miter
built from yosys' own CCU2C/LUT4 simulation models (all combinational). A mutated trim (one
INIT bit of a shifted chain's new first half) must fail the same proof.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from hwbnn.fpga.boards import Family
from hwbnn.fpga.carry_chains import ChainTrim, trim_carry_chains, trim_file
from hwbnn.fpga.tools import ToolFailed, find_toolchain, run_tool
from hwbnn.fpga.yosys import render_script, run_yosys
from hwbnn.resources import rtl_files

TOP = """
module adders (
    input  wire [39:0] a, b,
    input  wire [7:0]  p, q,
    input  wire        c,
    output wire [6:0]  count,
    output wire [8:0]  sum,
    output wire [7:0]  diff,
    output wire        less,
    output wire [8:0]  sum_c
);
    hwbnn_popcount #(.N(40), .LEVELS_PER_REG(99)) u_count (.clk(1'b0), .rst(1'b0),
        .en(1'b0), .in_a(a), .in_sel(1'b0), .in_b(b), .in_tag(1'b0), .sum(count), .tag());
    assign sum = p + q;
    assign diff = p - q;
    assign less = p < q;
    assign sum_c = p + q + c;
endmodule
"""


def _carry(name: str, cin: str | int, cout: str | int, s0: Any, s1: Any, **params: str) -> Any:
    connections = {
        "CIN": [cin],
        "COUT": [cout],
        "A0": [10],
        "B0": [11],
        "C0": ["0"],
        "D0": ["1"],
        "A1": [12],
        "B1": [13],
        "C1": ["0"],
        "D1": ["1"],
        "S0": [s0],
        "S1": [s1],
    }
    directions = {p: "output" if p in ("S0", "S1", "COUT") else "input" for p in connections}
    parameters = {"INIT0": "1001011010101010", "INIT1": "1001011010101010"}
    parameters |= {"INJECT1_0": "NO", "INJECT1_1": "NO", **params}
    return name, {
        "type": "CCU2C",
        "connections": connections,
        "port_directions": directions,
        "parameters": parameters,
    }


def _module(*cells: Any, outputs: list[int]) -> dict[str, Any]:
    return {
        "modules": {
            "top": {
                "ports": {"y": {"direction": "output", "bits": outputs}},
                "cells": dict(cells),
            }
        }
    }


def test_a_dangling_cout_is_dropped_and_a_two_cell_chain_shifts() -> None:
    # two cells linked by bit 20; the last S1 (bit 23) and COUT (bit 24) are unread
    net = _module(_carry("c0", "0", 20, 21, 22), _carry("c1", 20, 24, 25, 23), outputs=[21, 22, 25])
    trim = trim_carry_chains(net)
    assert trim == ChainTrim(chains=1, couts_dropped=1, cins_dropped=0, shifted=1)
    c0, c1 = net["modules"]["top"]["cells"]["c0"], net["modules"]["top"]["cells"]["c1"]
    assert c0["connections"]["CIN"] == ["x"] and c1["connections"]["COUT"] == ["x"]
    # the new first half makes carry 0; the old halves moved up one place
    assert c0["parameters"]["INIT0"] == "0" * 16
    assert c0["connections"]["S1"] == [21] and c1["connections"]["S0"] == [22]
    assert c1["connections"]["S1"] == [25]


def test_a_used_top_half_or_a_read_cout_keeps_the_chain() -> None:
    used_top = _module(_carry("c0", "0", 30, 21, 22), outputs=[21, 22])
    assert trim_carry_chains(used_top) == ChainTrim(chains=1, couts_dropped=1)
    assert used_top["modules"]["top"]["cells"]["c0"]["connections"]["CIN"] == ["0"]
    read_cout = _module(_carry("c0", "0", 30, 21, 22), outputs=[21, 30])
    assert trim_carry_chains(read_cout) == ChainTrim(chains=1)
    from_fabric = _module(_carry("c0", 7, 30, 21, 22), outputs=[21])
    assert trim_carry_chains(from_fabric) == ChainTrim(chains=1, couts_dropped=1)
    assert from_fabric["modules"]["top"]["cells"]["c0"]["connections"]["CIN"] == [7]


def test_a_first_half_blind_to_its_carry_in_loses_cin() -> None:
    # A0 = B0 = the same bit: propagate A ^ B = 0, so COUT0 = A whatever CIN is
    name, cell = _carry("c0", "0", 30, 21, 22)
    cell["connections"]["B0"] = [10]
    net = _module((name, cell), outputs=[22])
    assert trim_carry_chains(net) == ChainTrim(chains=1, couts_dropped=1, cins_dropped=1)
    assert cell["connections"]["CIN"] == ["x"] and cell["connections"]["S0"] == ["x"]


def _synthesize(work: Path) -> Path:
    work.mkdir(parents=True, exist_ok=True)
    names = []
    for path in rtl_files("hwbnn_popcount"):
        (work / path.name).write_text(path.read_text())
        names.append(path.name)
    (work / "adders.v").write_text(TOP)
    tools = find_toolchain(Family.ECP5)
    script = render_script(Family.ECP5, [*names, "adders.v"], "adders", "synth.json", "s.json")
    run_yosys(tools.synth, script, work)
    return work / "synth.json"


def _prefixed(netlist: dict[str, Any], prefix: str) -> dict[str, Any]:
    """The netlist's own modules, renamed (two netlists in one yosys session); the cell
    library's black boxes are left out (yosys' simulation models take their place)."""
    own = {
        name: module
        for name, module in netlist["modules"].items()
        if not int(str(module.get("attributes", {}).get("blackbox", "0")), 2)
    }
    names = set(own)
    out: dict[str, Any] = {"modules": {}}
    for name, module in own.items():
        module = copy.deepcopy(module)
        for cell in module.get("cells", {}).values():
            if cell["type"] in names:
                cell["type"] = prefix + cell["type"]
        out["modules"][prefix + name] = module
    return out


def _free_carry_ins(netlist: dict[str, Any]) -> dict[str, Any]:
    """The carry cells' unconnected ("x") ports as yosys reads them: outputs left out, a
    carry-in a new input of the module (so that the proof holds for every carry-in)."""
    netlist = copy.deepcopy(netlist)
    for module in netlist["modules"].values():
        bits = [
            b
            for cell in module.get("cells", {}).values()
            for conn in cell["connections"].values()
            for b in conn
            if isinstance(b, int)
        ]
        bits += [
            b
            for port in module.get("ports", {}).values()
            for b in port["bits"]
            if isinstance(b, int)
        ]
        fresh = max(bits, default=1) + 1
        for cell in module.get("cells", {}).values():
            if cell["type"] != "CCU2C":
                continue
            for port in ("S0", "S1", "COUT"):
                if cell["connections"].get(port) == ["x"]:
                    del cell["connections"][port]
            if cell["connections"].get("CIN") == ["x"]:
                cell["connections"]["CIN"] = [fresh]
                module["ports"][f"free_cin_{fresh}"] = {"direction": "input", "bits": [fresh]}
                fresh += 1
    return netlist


def _equivalent(gold: dict[str, Any], gate: dict[str, Any], work: Path) -> bool:
    gate = _free_carry_ins(gate)
    # the gold netlist gets the same carry-in inputs, unused (the miter pairs the ports)
    gold = copy.deepcopy(gold)
    gold_top, gate_top = gold["modules"]["adders"], gate["modules"]["adders"]
    fresh = 1 << 30
    for name in gate_top["ports"]:
        if name.startswith("free_cin_"):
            gold_top["ports"][name] = {"direction": "input", "bits": [fresh]}
            fresh += 1
    (work / "gold.json").write_text(json.dumps(_prefixed(gold, "gold_")))
    (work / "gate.json").write_text(json.dumps(_prefixed(gate, "gate_")))
    script = "\n".join(
        [
            "read_verilog +/lattice/common_sim.vh +/lattice/ccu2c_sim.vh",
            "read_json gold.json",
            "read_json gate.json",
            "miter -equiv -make_assert gold_adders gate_adders miter",
            # elaborate the cells' INIT parameters, then inline the models
            "hierarchy -top miter",
            "setattr -mod -unset keep_hierarchy",
            "setattr -unset keep_hierarchy",
            "flatten miter",
            "sat -verify -prove-asserts miter",
        ]
    )
    (work / "equiv.ys").write_text(script + "\n")
    tools = find_toolchain(Family.ECP5)
    run = run_tool(tools.synth, ["-q", "-l", "equiv.log", "-s", "equiv.ys"], work, "equiv")
    log = (work / "equiv.log").read_text(errors="replace")
    if run.returncode == 0 and "SAT proof finished - no model found: SUCCESS" in log:
        return True
    if "SAT proof finished - model found: FAIL" in log:
        return False
    raise ToolFailed(f"the equivalence script failed (log: {work / 'equiv.log'})")


@pytest.mark.slow
def test_trimmed_netlist_is_the_same_function(tmp_path: Path) -> None:
    synth = _synthesize(tmp_path)
    gold = json.loads(synth.read_text())
    trim = trim_file(synth)
    gate = json.loads(synth.read_text())
    # every kind of trim happened on this design
    assert trim.couts_dropped > 0 and trim.cins_dropped > 0 and trim.shifted > 0, trim
    assert _equivalent(gold, gate, tmp_path)
    # the proof can fail: a shifted chain whose new first half makes carry 1 instead of 0
    broken = copy.deepcopy(gate)
    cells = broken["modules"]["adders"]["cells"].values()
    start = next(
        c
        for c in cells
        if c["type"] == "CCU2C"
        and c["connections"]["CIN"] == ["x"]
        and c["connections"]["A0"] == c["connections"]["B0"] == ["0"]
        and c["parameters"]["INIT0"] == "0" * 16
    )
    start["parameters"]["INIT0"] = "0" * 15 + "1"
    assert not _equivalent(gold, broken, tmp_path)
