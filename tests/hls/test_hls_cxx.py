"""hwbnn.codegen.cxx: finding g++ and the ap_types headers, compiling, reporting failures."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from hwbnn.codegen import cxx


def test_ap_types_dir_holds_the_hls_headers() -> None:
    directory = cxx.ap_types_dir()
    for header in ("ap_int.h", "ap_fixed.h", "hls_stream.h"):
        assert (directory / header).is_file()


def test_hls_library_dir_holds_the_library() -> None:
    assert (cxx.hls_library_dir() / "hwbnn" / "hwbnn.hpp").is_file()


def test_missing_compiler_raises_compiler_not_found(tmp_path: Path) -> None:
    with pytest.raises(cxx.CompilerNotFound, match="install g\\+\\+"):
        cxx.compile_executable([tmp_path / "x.cpp"], tmp_path, compiler="no-such-compiler-hwbnn")


def test_compile_executable_passes_defines_and_include_dirs(tmp_path: Path) -> None:
    (tmp_path / "inc").mkdir()
    (tmp_path / "inc" / "value.h").write_text("#define OFFSET 2\n")
    source = tmp_path / "main.cpp"
    source.write_text(
        '#include <cstdio>\n#include "value.h"\nint main() { printf("%d", N + OFFSET); }\n'
    )
    exe = cxx.compile_executable(
        [source], tmp_path / "build", "main", include_dirs=[tmp_path / "inc"], defines={"N": 40}
    )
    assert exe == tmp_path / "build" / "main"
    assert subprocess.run([exe], capture_output=True, text=True, check=True).stdout == "42"


def test_compile_error_quotes_the_first_error(tmp_path: Path) -> None:
    source = tmp_path / "bad.cpp"
    source.write_text("int main() { return undeclared_name; }\n")
    with pytest.raises(cxx.CompileError) as failure:
        cxx.compile_executable([source], tmp_path)
    message = str(failure.value).splitlines()
    assert message[0].startswith("C++ compilation failed: ")
    assert "error:" in message[1] and "undeclared_name" in message[1]
    assert "undeclared_name" in failure.value.output
