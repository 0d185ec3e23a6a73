"""Shared pieces of the HLS library tests: compile and run C++ testbenches, pack and unpack words.

A testbench (tests/hls/<name>_tb.cpp) is configured by -D defines, reads its data as
whitespace-separated tokens on stdin and prints its output words in hex on stdout. It is compiled
once per template configuration and run once per data set.

Word packing follows the numeric contract: field j of a word sits at bits
[j * field_bits, (j + 1) * field_bits), so element 0 of a beat is at bit 0.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterable, Mapping
from pathlib import Path

import numpy as np
import pytest

from hwbnn.codegen.cxx import (
    STRICT_FLAGS,
    CompileError,
    ap_types_dir,
    compile_executable,
    find_compiler,
    hls_library_dir,
)

TESTBENCH_DIR = Path(__file__).resolve().parent

#: Precompiled for every test program: parsing these takes about half of each compile.
PRELUDE = "#include <ap_int.h>\n#include <hls_stream.h>\n"


class Compiler:
    """Compiles test programs against the HLS library (warnings are errors) in one test process.

    Programs are compiled with ap_int.h and hls_stream.h precompiled once (`-include` of a
    precompiled header; -Winvalid-pch turns a rejected one into an error), and testbenches are
    cached per configuration. The `compiler` fixture (conftest.py) holds one per process.
    """

    def __init__(self, work_dir: Path) -> None:
        self.work_dir = work_dir
        self._prelude: Path | None = None
        self._testbenches: dict[tuple[str, tuple[tuple[str, str | int], ...]], Path] = {}

    def prelude(self) -> Path:
        """The header whose precompiled form (.gch beside it) every program includes first."""
        if self._prelude is None:
            header = self.work_dir / "prelude" / "hls_prelude.hpp"
            header.parent.mkdir(parents=True, exist_ok=True)
            header.write_text(PRELUDE)
            command = [str(find_compiler()), *STRICT_FLAGS, "-isystem", str(ap_types_dir())]
            command += ["-x", "c++-header", str(header), "-o", f"{header}.gch"]
            result = subprocess.run(command, capture_output=True, text=True, check=False)
            if result.returncode != 0:
                raise CompileError(command, result.stderr)
            self._prelude = header
        return self._prelude

    def compile(
        self,
        source: Path,
        build_dir: Path,
        defines: Mapping[str, str | int] | None = None,
        extra_sources: Iterable[Path] = (),
        precompiled: bool = True,
    ) -> Path:
        """Compile `source` (and `extra_sources`) into the executable build_dir/<stem>."""
        flags = [*STRICT_FLAGS]
        if precompiled:
            flags += ["-Winvalid-pch", "-include", str(self.prelude())]
        return compile_executable(
            [source, *extra_sources],
            build_dir,
            source.stem,
            include_dirs=[hls_library_dir()],
            system_include_dirs=[ap_types_dir()],
            defines=defines,
            flags=flags,
        )

    def testbench(self, name: str, defines: Mapping[str, str | int]) -> Path:
        """The executable of tests/hls/<name>_tb.cpp built with `defines` (built on first use)."""
        key = (name, tuple(sorted(defines.items())))
        if key not in self._testbenches:
            build_dir = self.work_dir / f"{name}_tb{len(self._testbenches)}"
            source = TESTBENCH_DIR / f"{name}_tb.cpp"
            self._testbenches[key] = self.compile(source, build_dir, defines)
        return self._testbenches[key]


def run_testbench(executable: Path, tokens: Iterable[str | int]) -> list[int]:
    """Run a testbench on `tokens`; return the hex words it prints. Fails on a non-zero exit."""
    stdin = "\n".join(str(token) for token in tokens) + "\n"
    result = subprocess.run(
        [str(executable)], input=stdin, capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, (
        f"{executable.name} exited with {result.returncode}:\n{result.stderr}"
    )
    assert "WARNING: Hls::stream" not in result.stdout + result.stderr, result.stdout
    return [int(word, 16) for word in result.stdout.split()]


def pack_words(fields: np.ndarray, field_bits: int) -> list[int]:
    """Pack each row of `fields` into one word, field j at bits [j*field_bits, ...).

    Negative fields are stored in two's complement within `field_bits`.
    """
    mask = (1 << field_bits) - 1
    words = []
    for row in np.asarray(fields).reshape(-1, np.shape(fields)[-1]):
        word = 0
        for j, value in enumerate(row.tolist()):
            word |= (int(value) & mask) << (j * field_bits)
        words.append(word)
    return words


def unpack_words(words: Iterable[int], count: int, field_bits: int, signed: bool) -> np.ndarray:
    """Split each word into `count` fields of `field_bits` bits: an array (len(words), count)."""
    mask = (1 << field_bits) - 1
    rows = []
    for word in words:
        assert word >> (count * field_bits) == 0, f"word {word:#x} wider than {count} fields"
        row = [(word >> (j * field_bits)) & mask for j in range(count)]
        if signed:
            row = [v - (1 << field_bits) if v >> (field_bits - 1) else v for v in row]
        rows.append(row)
    return np.array(rows, dtype=np.int64).reshape(-1, count)


def hex_tokens(words: Iterable[int]) -> list[str]:
    """Words as hex tokens for a testbench's stdin."""
    return [format(word, "x") for word in words]


def clog2(x: int) -> int:
    """ceil(log2(x)) for x >= 1: the bits that count 0..x-1 (as hwbnn::clog2)."""
    return max(0, (x - 1).bit_length())


def assert_images_equal(got: np.ndarray, expected: np.ndarray, channels: int, what: str) -> None:
    """`got` equals `expected` exactly (frames of images, one a row, channels innermost), else
    the test fails naming `what` and the first differing frame, output pixel and channel."""
    if not np.array_equal(got, expected):
        frame, element = np.argwhere(got != expected)[0]
        pixel, channel = divmod(int(element), channels)
        pytest.fail(
            f"{what}: frame {frame}, output pixel {pixel}, channel {channel}: "
            f"got {got[frame, element]}, expected {expected[frame, element]}"
        )


def assert_rejected_first(compiler: Compiler, tmp_path: Path, program: str, message: str) -> None:
    """Compiling `program` (a bad instantiation) fails, and its first error is the static
    assertion `message`."""
    source = tmp_path / "broken.cpp"
    source.write_text(program)
    with pytest.raises(CompileError) as failure:
        compiler.compile(source, tmp_path / "build")
    first_error = str(failure.value).splitlines()[1]
    assert f"static assertion failed: {message}" in first_error
