"""The whole speed table in one command: the machine and versions, then the reference against
execute_onnx and onnxruntime (benchmarks/reference_speed.py), L4 frames/s per engine on the
digits MLP (benchmarks/rtl_sim_speed.py: Icarus and Verilator under cocotb, and the fast
engine), and the fast engine on TFC/SFC/LFC-shaped tops over the MNIST test set with the
harness build times (benchmarks/fast_sim.py).

Usage: python benchmarks/table.py [--data-dir ../shared/data]
Each part runs as its own process, one after another (about 5 minutes on 2 cores); its table is
printed as it comes. Results in docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import os
import platform
import shutil
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
PACKAGES = (
    "hwbnn",
    "numpy",
    "numba",
    "torch",
    "brevitas",
    "qonnx",
    "onnxruntime",
    "cocotb",
    "verilator",
)


def _version(package: str) -> str:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def _tool(command: list[str]) -> str:
    if shutil.which(command[0]) is None:
        return "not found"
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    return (result.stdout or result.stderr).strip().splitlines()[0]


def machine() -> list[str]:
    """One line per fact: CPU, cores, Python, package and simulator versions."""
    cpu = platform.processor() or platform.machine()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        names = [
            ln.split(":", 1)[1].strip()
            for ln in cpuinfo.read_text().splitlines()
            if ln.startswith("model name")
        ]
        cpu = names[0] if names else cpu
    lines = [f"CPU: {cpu}, {os.cpu_count()} cores; Python {platform.python_version()}"]
    lines.append(", ".join(f"{p} {_version(p)}" for p in PACKAGES))
    lines.append(f"{_tool(['iverilog', '-V'])}; {_tool(['g++', '--version'])}")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=Path("../shared/data"))
    args = parser.parse_args()
    for line in machine():
        print(line)
    parts = [
        ("Reference (L2) vs execute_onnx (L1) vs onnxruntime", ["reference_speed.py"]),
        ("L4 frames/s per engine, digits MLP", ["rtl_sim_speed.py", "--frames", "200"]),
        ("L4 fast engine at full scale", ["fast_sim.py", "--data-dir", str(args.data_dir)]),
    ]
    for title, command in parts:
        print(f"\n## {title}\n", flush=True)
        subprocess.run([sys.executable, str(HERE / command[0]), *command[1:]], check=True)


if __name__ == "__main__":
    main()
