"""The headers of hls/hwbnn as a library: each compiles on its own (includes what it uses) and
twice in one file (include guards), all of them link into one program from several translation
units (nothing is defined twice), and hwbnn.hpp includes every one."""

from __future__ import annotations

from pathlib import Path

from hls_bench import Compiler

from hwbnn.codegen.cxx import hls_library_dir

HEADERS = sorted(p.name for p in (hls_library_dir() / "hwbnn").glob("*.hpp"))


def test_headers_compile_alone_and_link_together(tmp_path: Path, compiler: Compiler) -> None:
    sources = []
    for index, header in enumerate(HEADERS):
        unit = tmp_path / f"unit{index}.cpp"
        unit.write_text(f"#include <hwbnn/{header}>\n#include <hwbnn/{header}>\n")
        sources.append(unit)
    main = tmp_path / "main.cpp"
    main.write_text(
        "#include <hwbnn/hwbnn.hpp>\nint main() { return hwbnn::clog2(5) == 3 ? 0 : 1; }\n"
    )
    compiler.compile(main, tmp_path / "build", extra_sources=sources, precompiled=False)


def test_umbrella_header_includes_every_header() -> None:
    umbrella = (hls_library_dir() / "hwbnn" / "hwbnn.hpp").read_text()
    for header in HEADERS:
        if header != "hwbnn.hpp":
            assert f'#include "{header}"' in umbrella
