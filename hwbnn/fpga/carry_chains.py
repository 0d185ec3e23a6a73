"""Carry-chain ends that nextpnr-ecp5 would pad: trimmed in yosys' ECP5 netlist.

nextpnr-ecp5's packer (``ecp5/pack.cc``, ``split_carry_chain``) adds a whole CCU2C (two
TRELLIS_COMB cells) at the start of every carry chain whose CIN is connected, a constant
included (yosys ties the first CIN of an addition to 0), and another at the end of every
chain whose COUT is connected, even to a wire nothing reads. The popcounts of wide SIMD
units are hundreds of short chains, so these cells were a sixth of the logic of a fully
parallel network (a TFC-shaped net at 1 cycle/frame: 70,871 LUT4 before packing, 83,077
TRELLIS_COMB after). :func:`trim_carry_chains` rewrites the netlist so that the packer has
nothing to add where the same function needs no extra cell:

- a chain's last COUT that nothing reads is disconnected (no feed-out);
- a chain whose first CIN is a constant and whose first half ignores CIN (its LUT4, the
  carry's propagate, is 0 for every input it can see, so the carry out is the half's
  generate; its sum output is unread) gets its CIN disconnected (no feed-in);
- a chain whose first CIN is a constant ``k`` and whose last half is unused (its sum unread,
  its COUT unread) is shifted up by one half: a new first half makes the carry ``k`` by itself
  (propagate 0, generate ``k``) and every half moves one position up, into the same CCU2C
  cells (no feed-in, no new cell).

Other chains are left as yosys wrote them. A CCU2C half (yosys' ``ccu2c_sim.vh``): propagate
``P = LUT4(INIT)(A, B, C, D)``, generate ``G = INIT[{B, A}]``, ``S = P ^ CIN``,
``COUT = P ? CIN : G`` (INJECT1 "NO"). The rewritten netlist is the same function
(tests/fpga/test_carry_chains.py proves it with yosys' SAT solver on synthesized adders).
"""

from __future__ import annotations

import itertools
import json
from collections import Counter
from dataclasses import asdict, astuple, dataclass
from pathlib import Path
from typing import Any

CARRY = "CCU2C"
HALF_PORTS = ("A", "B", "C", "D", "S")
CONSTANTS = ("0", "1")


@dataclass(frozen=True)
class ChainTrim:
    """What :func:`trim_carry_chains` changed: chains seen, feed-outs and feed-ins avoided."""

    chains: int = 0
    couts_dropped: int = 0
    cins_dropped: int = 0
    shifted: int = 0

    def __add__(self, other: ChainTrim) -> ChainTrim:
        return ChainTrim(*(a + b for a, b in zip(astuple(self), astuple(other), strict=True)))

    @property
    def cells_saved(self) -> int:
        """TRELLIS_COMB cells the packer no longer adds (two per feed-in or feed-out)."""
        return 2 * (self.couts_dropped + self.cins_dropped + self.shifted)

    def as_dict(self) -> dict[str, int]:
        return {**asdict(self), "comb_cells_saved": self.cells_saved}


def trim_file(path: Path) -> ChainTrim:
    """Rewrite the yosys JSON netlist at ``path`` in place; what changed."""
    netlist = json.loads(path.read_text())
    trim = trim_carry_chains(netlist)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(netlist))
    tmp.replace(path)
    return trim


def trim_carry_chains(netlist: dict[str, Any]) -> ChainTrim:
    """Trim the carry chains of every module of a yosys JSON netlist (changed in place)."""
    total = ChainTrim()
    for module in netlist.get("modules", {}).values():
        total = total + _trim_module(module)
    return total


def _trim_module(module: dict[str, Any]) -> ChainTrim:
    cells: dict[str, dict[str, Any]] = module.get("cells", {})
    readers = _readers(module)
    carries = {name: cell for name, cell in cells.items() if cell["type"] == CARRY}
    # a chain link: a COUT read only by the CIN of another carry cell
    cin_of = {_bit(cell, "CIN"): name for name, cell in carries.items()}
    following: dict[str, str] = {}
    for name, cell in carries.items():
        cout = _bit(cell, "COUT")
        if isinstance(cout, int) and readers[cout] == 1 and cout in cin_of:
            following[name] = cin_of[cout]
    linked = set(following.values())
    chains = couts = cins = shifted = 0
    for head in sorted(set(carries) - linked):
        chain = [head]
        while chain[-1] in following:
            chain.append(following[chain[-1]])
        chains += 1
        first, last = carries[chain[0]], carries[chain[-1]]
        cout = _bit(last, "COUT")
        if isinstance(cout, int) and readers[cout] == 0:
            last["connections"]["COUT"] = ["x"]
            couts += 1
        cin = _bit(first, "CIN")
        if cin not in CONSTANTS:
            continue
        if _ignores_cin(first, readers):
            first["connections"]["CIN"] = ["x"]
            first["connections"]["S0"] = ["x"]
            cins += 1
        elif _top_half_unused(last, readers):
            _shift([carries[name] for name in chain], int(str(cin)))
            shifted += 1
    return ChainTrim(chains, couts, cins, shifted)


def _readers(module: dict[str, Any]) -> Counter[int]:
    """How many cell inputs and module outputs read each bit (unknown directions: all read)."""
    readers: Counter[int] = Counter()
    for port in module.get("ports", {}).values():
        if port.get("direction") != "input":
            readers.update(b for b in port["bits"] if isinstance(b, int))
    for cell in module.get("cells", {}).values():
        directions = cell.get("port_directions", {})
        for port, bits in cell["connections"].items():
            if directions.get(port) != "output":
                readers.update(b for b in bits if isinstance(b, int))
    return readers


def _bit(cell: dict[str, Any], port: str) -> int | str:
    bits = cell["connections"].get(port, ["x"])
    return bits[0] if bits else "x"


def _init(cell: dict[str, Any], half: int) -> int:
    value = cell["parameters"][f"INIT{half}"]
    return int(value, 2) if isinstance(value, str) else int(value)


def _injects(cell: dict[str, Any], half: int) -> bool:
    return str(cell["parameters"].get(f"INJECT1_{half}", "NO")).strip() == "YES"


def _ignores_cin(cell: dict[str, Any], readers: Counter[int]) -> bool:
    """Half 0's propagate is 0 for every value its inputs can take, and S0 is unread."""
    if _injects(cell, 0):
        return False
    s0 = _bit(cell, "S0")
    if isinstance(s0, int) and readers[s0] > 0:
        return False
    inputs = [_bit(cell, f"{port}0") for port in "ABCD"]
    if any(isinstance(b, str) and b not in CONSTANTS for b in inputs):
        return False
    nets = sorted({b for b in inputs if isinstance(b, int)})
    init = _init(cell, 0)
    for values in itertools.product((0, 1), repeat=len(nets)):
        value = dict(zip(nets, values, strict=True))
        index = sum((int(b) if isinstance(b, str) else value[b]) << k for k, b in enumerate(inputs))
        if (init >> index) & 1:
            return False
    return True


def _top_half_unused(cell: dict[str, Any], readers: Counter[int]) -> bool:
    """Half 1 of the chain's last cell feeds nothing (its sum and the chain's COUT unread)."""
    s1, cout = _bit(cell, "S1"), _bit(cell, "COUT")
    return not any(isinstance(b, int) and readers[b] > 0 for b in (s1, cout))


def _shift(chain: list[dict[str, Any]], carry_in: int) -> None:
    """Move every half up one position; the new first half makes the constant ``carry_in``."""
    halves = [_half(cell, h) for cell in chain for h in (0, 1)]
    # propagate LUT4(0, 0, 0, 1) = INIT[8] = 0, generate INIT[{B, A}] = INIT[0] = carry_in
    start = {
        "INIT": format(carry_in, "016b"),
        "INJECT1": "NO",
        "A": ["0"],
        "B": ["0"],
        "C": ["0"],
        "D": ["1"],
        "S": ["x"],
    }
    moved = [start, *halves[:-1]]
    for k, cell in enumerate(chain):
        for h in (0, 1):
            _set_half(cell, h, moved[2 * k + h])
    chain[0]["connections"]["CIN"] = ["x"]
    chain[-1]["connections"]["COUT"] = ["x"]


def _half(cell: dict[str, Any], h: int) -> dict[str, Any]:
    half = {port: cell["connections"].get(f"{port}{h}", ["x"]) for port in HALF_PORTS}
    half["INIT"] = cell["parameters"][f"INIT{h}"]
    half["INJECT1"] = cell["parameters"].get(f"INJECT1_{h}", "NO")
    return half


def _set_half(cell: dict[str, Any], h: int, half: dict[str, Any]) -> None:
    for port in HALF_PORTS:
        cell["connections"][f"{port}{h}"] = half[port]
    cell["parameters"][f"INIT{h}"] = half["INIT"]
    cell["parameters"][f"INJECT1_{h}"] = half["INJECT1"]
