"""Compile C++ with g++: the C-simulation path of the HLS library (hls/) and generated top levels.

The HLS headers need the Xilinx arbitrary-precision types (ap_int.h, ap_fixed.h, hls_stream.h).
hls4ml, a dependency of hwbnn, bundles a copy that g++ compiles; `ap_types_dir` finds it in the
installed hls4ml package, so no vendor tool is needed for C simulation.
"""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path

from hwbnn.resources import share_dir

#: Flags of a C-simulation build: the C++ dialect Vitis HLS accepts and modest optimisation
#: (ap_int-heavy code compiles slowly at -O2).
DEFAULT_FLAGS = ("-std=c++14", "-O1")

#: DEFAULT_FLAGS with warnings as errors, for code we write. HLS pragmas are unknown to g++, and
#: the uninitialized-value warnings come from ap_private internals inlined into our code.
STRICT_FLAGS = (
    *DEFAULT_FLAGS,
    "-Wall",
    "-Wextra",
    "-Werror",
    "-Wno-unknown-pragmas",
    "-Wno-uninitialized",
    "-Wno-maybe-uninitialized",
)

#: How many lines of compiler output a CompileError message quotes.
ERROR_LINES = 12


class CompilerNotFound(RuntimeError):
    """No C++ compiler on PATH."""


class CompileError(RuntimeError):
    """The compiler rejected the sources; the message quotes its first error lines."""

    def __init__(self, command: Sequence[str], output: str) -> None:
        self.command = list(command)
        self.output = output
        super().__init__(
            "C++ compilation failed: "
            + " ".join(self.command)
            + "\n"
            + "\n".join(first_error_lines(output, ERROR_LINES))
        )


def first_error_lines(output: str, count: int) -> list[str]:
    """Return up to `count` lines of compiler output, starting at the first one naming an error."""
    lines = output.splitlines()
    start = next((i for i, line in enumerate(lines) if "error:" in line), 0)
    return lines[start : start + count]


def find_compiler(name: str = "g++") -> Path:
    """Return the path of the C++ compiler `name`, or raise CompilerNotFound."""
    found = shutil.which(name)
    if found is None:
        raise CompilerNotFound(
            f"C++ compiler {name!r} not found on PATH: install g++ (Debian: apt-get install g++)"
        )
    return Path(found)


def ap_types_dir() -> Path:
    """Return the directory of ap_int.h / hls_stream.h bundled with the installed hls4ml."""
    spec = importlib.util.find_spec("hls4ml")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("hls4ml is not installed: it provides ap_int.h and hls_stream.h")
    for location in spec.submodule_search_locations:
        candidate = Path(location) / "templates" / "vivado" / "ap_types"
        if (candidate / "ap_int.h").is_file() and (candidate / "hls_stream.h").is_file():
            return candidate
    raise FileNotFoundError(
        "the installed hls4ml has no templates/vivado/ap_types with ap_int.h and hls_stream.h"
    )


def hls_library_dir() -> Path:
    """Include directory of the HLS library: code includes <hwbnn/hwbnn.hpp> from it."""
    return share_dir("hls")


def compile_executable(
    sources: Sequence[Path | str],
    build_dir: Path | str,
    name: str = "csim",
    *,
    include_dirs: Sequence[Path | str] = (),
    system_include_dirs: Sequence[Path | str] = (),
    defines: Mapping[str, str | int] | None = None,
    flags: Sequence[str] = DEFAULT_FLAGS,
    compiler: str = "g++",
) -> Path:
    """Compile and link `sources` into the executable `build_dir/name` and return its path.

    `include_dirs` become -I options, `system_include_dirs` -isystem options (for third-party
    headers such as ap_types_dir(), whose own warnings are then silenced), `defines` -D options
    (NAME=VALUE). Raises CompilerNotFound when the compiler is missing and CompileError, quoting
    the first error lines, when it rejects the sources.
    """
    cxx = find_compiler(compiler)
    out_dir = Path(build_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    executable = out_dir / name
    command = [str(cxx), *flags]
    command += [f"-I{Path(d)}" for d in include_dirs]
    for directory in system_include_dirs:
        command += ["-isystem", str(Path(directory))]
    command += [f"-D{key}={value}" for key, value in (defines or {}).items()]
    command += [str(Path(s)) for s in sources]
    command += ["-o", str(executable)]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise CompileError(command, result.stderr + result.stdout)
    return executable


#: Widest ap_uint a C++ integer literal (unsigned long long) can initialise.
LITERAL_BITS = 64


def cxx_word(value: int, bits: int) -> str:
    """A C++ initialiser of ``ap_uint<bits>`` holding the unsigned ``value`` exactly: a hex
    literal up to 64 bits, else ap_uint's string constructor (with the "0x" prefix: ap_int
    would read a leading "0b"/"0o"/"0d" of bare digits as one)."""
    digits = (bits + 3) // 4
    if bits <= LITERAL_BITS:
        return f"0x{value:0{digits}x}ULL"
    return f'ap_uint<{bits}>("0x{value:0{digits}x}", 16)'


def product_type(in_bits: int) -> str:
    """The HLS library's product type (hls/hwbnn/products.hpp) of a matrix-vector unit reading
    ``in_bits``-bit elements: XNOR for bipolar bits, else integer codes times +-1."""
    return "hwbnn::XnorMul" if in_bits == 1 else f"hwbnn::IntBinaryProduct<{in_bits}>"


def activation_type(emits_acc: bool) -> str:
    """The HLS library's activation policy: accumulators out (the output layer, or a hidden
    unit feeding a join or a threshold), else thresholds."""
    return "hwbnn::PassThroughActivation" if emits_acc else "hwbnn::ThresholdActivation"
