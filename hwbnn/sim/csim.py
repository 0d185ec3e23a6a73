"""C simulation (level L3 of the verification ladder): run a build's C++ on input codes.

Two engines, one per C++ target; both return the output layer's accumulators, unjudged
(hwbnn.verify.csim compares them with the reference):

- ``g++`` (``--target hls``): ``BUILD/hls/`` holds the generated top function and testbench
  (hwbnn.codegen.hls). They are compiled with g++ against the ap_types headers bundled with
  hls4ml into ``BUILD/csim/hwbnn_csim-<key>``, where the key hashes every source file, the
  compiler name and the flags: a second run with unchanged sources reuses the binary. Input
  codes go to the testbench through a file and the accumulators come back through a file; the
  testbench's own output goes to ``BUILD/csim/run.log``, a compile error's to
  ``BUILD/csim/compile.log``.
- ``hls4ml`` (``--target hls4ml``): the project in ``BUILD/hls4ml/`` is rebuilt from the build
  (hwbnn.codegen.hls4ml_backend.load_project), compiled by hls4ml (its output goes to
  ``BUILD/csim/hls4ml.log``) and run with ``predict``.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
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

CSIM_DIR = "csim"
HLS4ML_DIR = "hls4ml"
RUN_LOG = "run.log"
COMPILE_LOG = "compile.log"
HLS4ML_LOG = "hls4ml.log"
ENGINES = ("g++", "hls4ml")
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


@dataclass(frozen=True)
class CsimRun:
    """Accumulators of one C-simulation run and how long hwbnn_top took."""

    accumulators: np.ndarray  # (frames, classes) int64
    seconds: float
    compiled: bool  # False: the cached binary was reused
    compile_seconds: float
    engine: str = "g++"
    model: Any = None  # the compiled hls4ml ModelGraph (engine hls4ml), for tracing


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
        log = out_dir / COMPILE_LOG
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
        log = executable.parent / RUN_LOG
        log.write_text(result.stdout + result.stderr)
        messages = (result.stderr + result.stdout).strip().splitlines()
        if result.returncode != 0:
            detail = messages[-1] if messages else f"exit status {result.returncode}"
            raise CsimError(f"C simulation of {build} failed: {detail} (log: {log})")
        warning = next((line for line in messages if STREAM_WARNING in line), None)
        if warning is not None:
            raise CsimError(f"C simulation of {build}: {warning.strip()} (log: {log})")
        accumulators = read_matrix(outputs)
    timing = re.search(r"frames in ([0-9.eE+-]+) s", result.stdout)
    if timing is None:
        raise CsimError(f"C simulation of {build}: no timing line in {result.stdout!r}")
    return CsimRun(accumulators, float(timing.group(1)), compiled, compile_seconds)


def csim_engine(build: Path) -> str:
    """``g++`` for a ``--target hls`` build, ``hls4ml`` for a ``--target hls4ml`` build."""
    build = Path(build)
    if (build / HLS_DIR / "hwbnn_top.cpp").is_file():
        return "g++"
    if (build / HLS4ML_DIR).is_dir():
        return "hls4ml"
    if not (build / "manifest.json").is_file():
        raise ConfigError(f"{build}: not an hwbnn build directory (no manifest.json)")
    raise CsimError(
        f"{build} has no C++ code to simulate (neither {HLS_DIR}/ nor {HLS4ML_DIR}/): compile it "
        f"with `hwbnn compile MODEL -o {build} --target hls` (or --target hls4ml)"
    )


def run_hls4ml_csim(build: Path, codes: np.ndarray, *, verbose: bool = False) -> CsimRun:
    """Compile the build's hls4ml project and predict (frames, elements) input codes.

    hls4ml's console output goes to ``BUILD/csim/hls4ml.log`` unless ``verbose``.
    """
    from hwbnn.codegen.hls4ml_backend import load_project, predict_accumulators

    build = Path(build)
    codes = np.asarray(codes, dtype=np.int64)
    if codes.ndim != 2:
        raise CsimError(f"input codes must be (frames, elements), got shape {codes.shape}")
    log = build / CSIM_DIR / HLS4ML_LOG
    log.parent.mkdir(parents=True, exist_ok=True)
    captured = io.StringIO()
    quiet = contextlib.nullcontext() if verbose else contextlib.redirect_stdout(captured)
    start = time.perf_counter()
    try:
        with quiet:
            model = load_project(build)
            model.compile()
    except HwbnnError:
        raise
    except Exception as exc:
        raise CsimError(
            f"hls4ml could not compile {build / HLS4ML_DIR}: {exc} (log: {log})"
        ) from None
    finally:
        if not verbose:
            log.write_text(captured.getvalue())
    compile_seconds = time.perf_counter() - start
    start = time.perf_counter()
    accumulators = predict_accumulators(model, codes)
    return CsimRun(
        accumulators,
        time.perf_counter() - start,
        True,
        compile_seconds,
        engine="hls4ml",
        model=model,
    )
