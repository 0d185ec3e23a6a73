"""C simulation (level L3 of the verification ladder) of a build made with ``--target hls``.

``build/hls/`` holds the generated top function and testbench (hwbnn.codegen.hls). They are
compiled with g++ against the ap_types headers bundled with hls4ml into
``build/csim/hwbnn_csim-<key>``, where the key hashes every source file, the compiler name and
the flags: a second run with unchanged sources reuses the binary. Input codes go to the
testbench through a file, the accumulators come back through a file, and they are compared with
the reference (hwbnn.reference) exactly: ``np.array_equal``, no tolerance.
"""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from hwbnn.codegen.cxx import (
    DEFAULT_FLAGS,
    CompileError,
    CompilerNotFound,
    ap_types_dir,
    compile_executable,
    first_error_lines,
)
from hwbnn.codegen.hls import HLS_DIR, read_matrix, write_matrix
from hwbnn.errors import ConfigError, HwbnnError
from hwbnn.ir.types import Network
from hwbnn.reference import Reference

CSIM_DIR = "csim"
EXECUTABLE = "hwbnn_csim"
#: What the bundled hls_stream.h prints when a stream is read empty or destroyed non-empty.
STREAM_WARNING = "WARNING: Hls::stream"
#: Flags of the weight arrays' translation unit: g++ compiles large ap_uint initialisers an
#: order of magnitude faster unoptimised, and unoptimised C++ with exceptions (clean-up code for
#: every partly built array) as slowly again. The arrays are only read, so speed is unaffected.
PARAMS_FLAGS = ("-std=c++14", "-O0", "-fno-exceptions")


class CsimError(HwbnnError):
    """The C simulation could not run: no hls/ in the build, no compiler, a compile error, or a
    testbench failure."""


class CsimMismatch(HwbnnError):
    """The C simulation ran but its accumulators differ from the reference."""

    def __init__(self, report: CsimReport) -> None:
        self.report = report
        first = report.first_mismatch or {}
        super().__init__(
            f"C-sim accumulators differ from the reference in {report.mismatched_frames} of "
            f"{report.frames} frames ({report.mismatched_values} values); first: frame "
            f"{first.get('frame')}, class {first.get('class')} of layer {report.layer}: "
            f"C-sim {first.get('csim')}, reference {first.get('reference')}"
        )


@dataclass(frozen=True)
class CsimRun:
    """Accumulators of one C-simulation run and how long hwbnn_top took."""

    accumulators: np.ndarray  # (frames, classes) int64
    seconds: float
    compiled: bool  # False: the cached binary was reused
    compile_seconds: float


@dataclass(frozen=True)
class CsimReport:
    """C-sim vs reference on one set of frames."""

    frames: int
    classes: int
    layer: str  # the output layer's name
    mismatched_frames: int
    mismatched_values: int
    first_mismatch: dict[str, int] | None  # frame, class, csim, reference
    seconds: float
    compiled: bool
    compile_seconds: float

    @property
    def ok(self) -> bool:
        return self.mismatched_values == 0

    @property
    def frames_per_second(self) -> float:
        return self.frames / self.seconds if self.seconds > 0 else float("inf")

    def to_dict(self) -> dict[str, Any]:
        return {
            "frames": self.frames,
            "classes": self.classes,
            "mismatches": self.mismatched_frames,
            "mismatched_values": self.mismatched_values,
            "first_mismatch": self.first_mismatch,
            "csim_seconds": self.seconds,
            "frames_per_second": self.frames_per_second,
            "compiled": self.compiled,
            "compile_seconds": self.compile_seconds,
        }


def hls_sources(build: Path) -> Path:
    """The build's hls/ directory; CsimError telling how to make it if it is missing."""
    directory = Path(build) / HLS_DIR
    if not (directory / "hwbnn_top.cpp").is_file() or not (directory / "hwbnn_tb.cpp").is_file():
        if not (Path(build) / "manifest.json").is_file():
            raise ConfigError(f"{build}: not an hwbnn build directory (no manifest.json)")
        raise CsimError(
            f"{build} has no generated HLS code ({directory} is missing): compile it with "
            f"`hwbnn compile MODEL -o {build} --target hls`"
        )
    return directory


def source_key(hls_dir: Path, compiler: str, flags: Sequence[str]) -> str:
    """Hash of every C++ source and header under hls_dir, the compiler name and the flags."""
    digest = hashlib.sha256()
    digest.update("\0".join([compiler, *flags, *PARAMS_FLAGS, str(ap_types_dir())]).encode())
    files = [p for p in hls_dir.rglob("*") if p.suffix in (".h", ".hpp", ".cpp") and p.is_file()]
    for path in sorted(files):
        digest.update(b"\0" + path.relative_to(hls_dir).as_posix().encode() + b"\0")
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


#: The headers every translation unit parses first; with a prelude cache they are precompiled.
PRELUDE = "#include <ap_int.h>\n#include <hls_stream.h>\n"


def ap_int_max_w(hls_dir: Path) -> int | None:
    """The AP_INT_MAX_W that hwbnn_config.h defines, or None."""
    match = re.search(r"#define AP_INT_MAX_W (\d+)", (hls_dir / "hwbnn_config.h").read_text())
    return int(match.group(1)) if match else None


def precompiled_prelude(
    cache_dir: Path, compiler: str, flags: Sequence[str], max_w: int
) -> list[str]:
    """Options that make the compiler include ap_int.h and hls_stream.h precompiled.

    The header (AP_INT_MAX_W, then PRELUDE) and its .gch live in cache_dir/prelude-<key>, the
    key hashing everything the precompiled state depends on, so builds compiled with the same
    flags share it. A .gch that g++ finds unusable is ignored and the header parsed instead.
    """
    key = hashlib.sha256(
        "\0".join([compiler, *flags, str(max_w), str(ap_types_dir()), PRELUDE]).encode()
    ).hexdigest()[:16]
    directory = Path(cache_dir) / f"prelude-{key}"
    header = directory / "hwbnn_prelude.h"
    if not (directory / "hwbnn_prelude.h.gch").is_file():
        directory.mkdir(parents=True, exist_ok=True)
        scratch = directory / f"hwbnn_prelude.h.tmp{os.getpid()}"
        scratch.write_text(f"#define AP_INT_MAX_W {max_w}\n{PRELUDE}")
        os.replace(scratch, header)
        gch = compile_executable(
            [header],
            directory,
            f"hwbnn_prelude.h.gch.tmp{os.getpid()}",
            system_include_dirs=[ap_types_dir()],
            flags=[*flags, "-x", "c++-header"],
            compiler=compiler,
        )
        os.replace(gch, directory / "hwbnn_prelude.h.gch")
    return ["-include", str(header)]


def build_csim(
    build: Path,
    *,
    compiler: str = "g++",
    flags: Sequence[str] = DEFAULT_FLAGS,
    cache_dir: Path | None = None,
) -> tuple[Path, bool, float]:
    """Compile build/hls/ into build/csim/ unless a binary of the same sources exists.

    hwbnn_params.cpp (the weight arrays) is compiled with PARAMS_FLAGS plus the warning options
    of `flags`, the top function and the testbench with `flags`. With `cache_dir`, the ap_types
    headers are precompiled there once and shared by every build that uses the same directory
    (parsing them is about half of a small design's compile). Returns (executable,
    compiled_now, compile_seconds).
    """
    hls_dir = hls_sources(build)
    out_dir = Path(build) / CSIM_DIR
    name = f"{EXECUTABLE}-{source_key(hls_dir, compiler, flags)}"
    executable = out_dir / name
    if executable.is_file():
        return executable, False, 0.0
    scratch = f"{name}.tmp{os.getpid()}"
    warnings = [flag for flag in flags if flag.startswith("-W")]

    def compile_to(sources: list[Path], target: str, target_flags: Sequence[str]) -> Path:
        return compile_executable(
            sources,
            out_dir,
            target,
            include_dirs=[hls_dir, hls_dir / "include"],
            system_include_dirs=[ap_types_dir()],
            flags=target_flags,
            compiler=compiler,
        )

    start = time.perf_counter()
    try:
        params_flags = [*PARAMS_FLAGS, *warnings]
        main_flags = list(flags)
        max_w = ap_int_max_w(hls_dir)
        if cache_dir is not None and max_w is not None:
            params_flags += precompiled_prelude(cache_dir, compiler, params_flags, max_w)
            main_flags += precompiled_prelude(cache_dir, compiler, main_flags, max_w)
        params = compile_to(
            [hls_dir / "hwbnn_params.cpp"], f"{scratch}.params.o", [*params_flags, "-c"]
        )
        top_and_tb = [hls_dir / "hwbnn_top.cpp", hls_dir / "hwbnn_tb.cpp", params]
        compiled = compile_to(top_and_tb, scratch, main_flags)
    except CompilerNotFound as exc:
        raise CsimError(f"cannot build the C simulation: {exc}") from None
    except CompileError as exc:
        log = out_dir / "compile.log"
        log.write_text(" ".join(exc.command) + "\n" + exc.output)
        for partial in out_dir.glob(f"{scratch}*"):
            partial.unlink(missing_ok=True)
        first = (first_error_lines(exc.output, 1) or ["(no output)"])[0]
        raise CsimError(
            f"{compiler} could not compile {hls_dir}: {first} (full log: {log})"
        ) from None
    except BaseException:
        for partial in out_dir.glob(f"{scratch}*"):
            partial.unlink(missing_ok=True)
        raise
    params.unlink()
    os.replace(compiled, executable)
    for stale in out_dir.glob(f"{EXECUTABLE}-*"):
        if stale != executable and ".tmp" not in stale.name:
            stale.unlink(missing_ok=True)
    return executable, True, time.perf_counter() - start


def run_csim(
    build: Path,
    codes: np.ndarray,
    *,
    compiler: str = "g++",
    flags: Sequence[str] = DEFAULT_FLAGS,
    cache_dir: Path | None = None,
) -> CsimRun:
    """Stream (frames, elements) input codes through the compiled top function."""
    executable, compiled, compile_seconds = build_csim(
        build, compiler=compiler, flags=flags, cache_dir=cache_dir
    )
    codes = np.asarray(codes, dtype=np.int64)
    if codes.ndim != 2:
        raise CsimError(f"input codes must be (frames, elements), got shape {codes.shape}")
    with tempfile.TemporaryDirectory(prefix="hwbnn-csim-") as tmp:
        inputs, outputs = Path(tmp) / "inputs.txt", Path(tmp) / "outputs.txt"
        write_matrix(inputs, codes)
        result = subprocess.run(
            [str(executable), str(inputs), str(outputs)],
            capture_output=True,
            text=True,
            check=False,
        )
        messages = (result.stderr + result.stdout).strip().splitlines()
        if result.returncode != 0:
            detail = messages[-1] if messages else f"exit status {result.returncode}"
            raise CsimError(f"C simulation of {build} failed: {detail}")
        warning = next((line for line in messages if STREAM_WARNING in line), None)
        if warning is not None:
            raise CsimError(f"C simulation of {build}: {warning.strip()}")
        accumulators = read_matrix(outputs)
    timing = re.search(r"frames in ([0-9.eE+-]+) s", result.stdout)
    if timing is None:
        raise CsimError(f"C simulation of {build}: no timing line in {result.stdout!r}")
    return CsimRun(accumulators, float(timing.group(1)), compiled, compile_seconds)


def compare(net: Network, expected: np.ndarray, run: CsimRun) -> CsimReport:
    """Compare C-sim accumulators with the reference's (``expected``) exactly."""
    got = run.accumulators
    if got.shape != expected.shape:
        raise CsimError(f"C-sim returned {got.shape} accumulators, reference {expected.shape}")
    differ = got != expected
    first = None
    if not np.array_equal(got, expected):
        frame, cls = (int(i) for i in np.argwhere(differ)[0])
        first = {
            "frame": frame,
            "class": cls,
            "csim": int(got[frame, cls]),
            "reference": int(expected[frame, cls]),
        }
    return CsimReport(
        frames=len(expected),
        classes=net.classes,
        layer=net.output_layer.name,
        mismatched_frames=int(differ.any(axis=1).sum()),
        mismatched_values=int(differ.sum()),
        first_mismatch=first,
        seconds=run.seconds,
        compiled=run.compiled,
        compile_seconds=run.compile_seconds,
    )


def verify_csim(
    build: Path,
    net: Network,
    codes: np.ndarray,
    *,
    compiler: str = "g++",
    flags: Sequence[str] = DEFAULT_FLAGS,
    cache_dir: Path | None = None,
) -> CsimReport:
    """Run the C simulation on input codes and compare it with the reference."""
    codes = np.asarray(codes, dtype=np.int64).reshape(len(codes), -1)
    expected = Reference(net).run_codes(codes).accumulators  # also validates the codes
    run = run_csim(build, codes, compiler=compiler, flags=flags, cache_dir=cache_dir)
    return compare(net, expected, run)
