"""Accumulator arithmetic of hls/hwbnn/products.hpp: widths derived from the fan-in, not guessed.

For a fan-in N the contract fixes every width: a popcount 0..N takes ceil(log2(N+1)) bits, its
dot product 2P-N one bit more, a threshold 0..N+1 ceil(log2(N+2)) bits; an integer sum of N
codes of B bits lies in -M..M (M = N(2^B-1)) and takes ceil(log2(M+1))+1 bits. One program of
static_asserts checks the C++ types against these formulas at many N, powers of two and their
neighbours included, and prints dot products at the ends of the range.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from hls_bench import Compiler, clog2

FAN_INS = [1, 2, 3, 4, 7, 8, 9, 15, 16, 17, 255, 256, 784, 1024, 4095]
CODE_BITS = [1, 2, 8]


def expected_widths() -> list[tuple[str, int]]:
    """(C++ expression, required value) pairs."""
    checks = []
    for n in FAN_INS:
        s = f"hwbnn::XnorMul::Sum<{n}>"
        checks += [
            (f"{s}::ACC_BITS", clog2(n + 1)),
            (f"{s}::acc_t::width", clog2(n + 1)),
            (f"{s}::dot_t::width", clog2(n + 1) + 1),
            (f"{s}::threshold_t::width", clog2(n + 2)),
        ]
        for bits in CODE_BITS:
            m = n * ((1 << bits) - 1)
            s = f"hwbnn::IntBinaryProduct<{bits}>::Sum<{n}>"
            checks += [
                (f"{s}::acc_t::width", clog2(m + 1) + 1),
                (f"{s}::dot_t::width", clog2(m + 1) + 1),
                (f"{s}::threshold_t::width", clog2(m + 2) + 1),
            ]
    return checks


def test_sum_widths_follow_from_the_fan_in(tmp_path: Path, compiler: Compiler) -> None:
    lines = ["#include <hwbnn/products.hpp>", "#include <iostream>"]
    lines += [
        f'static_assert({expr} == {value}, "{expr} != {value}");'
        for expr, value in expected_widths()
    ]
    # Dot products at the ends of the range, through the types' own arithmetic.
    lines.append("int main() {")
    for n in FAN_INS:
        s = f"hwbnn::XnorMul::Sum<{n}>"
        lines.append(f"  std::cout << {s}::dot({s}::acc_t(0)).to_int64() << ' '")
        lines.append(f"            << {s}::dot({s}::acc_t({n})).to_int64() << '\\n';")
    lines.append("}")
    source = tmp_path / "widths.cpp"
    source.write_text("\n".join(lines) + "\n")
    exe = compiler.compile(source, tmp_path)
    output = subprocess.run([exe], capture_output=True, text=True, check=True).stdout
    assert output.split("\n")[:-1] == [f"{-n} {n}" for n in FAN_INS]


def test_slices_sum_products(tmp_path: Path, compiler: Compiler) -> None:
    """One SIMD slice: popcount of XNOR, and the signed sum of +-codes."""
    source = tmp_path / "slices.cpp"
    source.write_text(
        "#include <hwbnn/products.hpp>\n"
        "#include <iostream>\n"
        "int main() {\n"
        "  // x = 1100, w = 1010: bits agree at 0 and 3\n"
        "  std::cout << hwbnn::XnorMul::slice<4>(0xC, 0xA).to_int64() << '\\n';\n"
        "  // codes (3, 255, 0, 17) from bit 0 up, weights (+, -, +, -): 3 - 255 + 0 - 17\n"
        "  const ap_uint<32> x = (ap_uint<32>(17) << 24) | (ap_uint<32>(255) << 8) | 3;\n"
        "  std::cout << hwbnn::IntBinaryProduct<8>::slice<4>(x, 0x5).to_int64() << '\\n';\n"
        "}\n"
    )
    exe = compiler.compile(source, tmp_path)
    output = subprocess.run([exe], capture_output=True, text=True, check=True).stdout
    assert output.split() == ["2", str(3 - 255 + 0 - 17)]
