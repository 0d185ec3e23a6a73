"""Our generated ``hwbnn_top`` behind the ports Vitis HLS exports (a test fixture).

:func:`write_vitis_wrapper` renders ``vitis_wrapper.v.j2`` (beside this file) into a directory:
module ``hwbnn_vitis_top`` with ``ap_clk``, active-low ``ap_rst_n``, streams ``in_r_*`` and
``out_r_*`` whose TDATA is rounded up to whole bytes (output pad bits 0), with or without
TLAST (plus TKEEP/TSTRB, as ``hls::axis`` has them), and block control ``none``, ``hs``
(ap_start/ap_done/ap_idle/ap_ready ports, with or without a ``reps`` port) or ``axilite``
(Vitis HLS's s_axi_control register map, ``reps`` at 0x10). :func:`wrapper_dut` returns it as
a :class:`hwbnn.sim.vitis.SimDut`, so hwbnn.sim.top.simulate_build runs the same bench through
the adapter of hwbnn.sim.vitis that a real Vitis export goes through.

The stream sizes come from the build's hardware plan (hwbnn.sim.vitis.stream_sizes); they must
equal the localparams of the build's ``hwbnn_top.v``, else ConfigError.
"""

from __future__ import annotations

import re
from pathlib import Path

from hwbnn import __version__
from hwbnn.codegen.rtl import TOP, rtl_sources
from hwbnn.codegen.templating import render_file
from hwbnn.errors import ConfigError
from hwbnn.sim.vitis import (
    CTRL_MODES,
    REPS_OFFSET,
    SimDut,
    module_ports,
    ports_from_verilog,
    stream_sizes,
)

TEMPLATE_DIR = Path(__file__).resolve().parent
WRAPPER = "hwbnn_vitis_top"


def byte_width(bits: int) -> int:
    """Vitis HLS rounds an AXI4-Stream TDATA up to whole bytes."""
    return -(-bits // 8) * 8


def top_localparams(path: Path) -> dict[str, int]:
    """The integer localparams of a generated top."""
    text = Path(path).read_text()
    return {m[0]: int(m[1]) for m in re.findall(r"localparam\s+(\w+)\s*=\s*(\d+)\s*;", text)}


def write_vitis_wrapper(
    build: Path, out_dir: Path, *, ctrl: str = "axilite", tlast: bool = False, reps: bool = True
) -> Path:
    """Render the wrapper of ``build``'s hwbnn_top into ``out_dir``; return its path."""
    if ctrl not in CTRL_MODES:
        raise ConfigError(f"unknown block control {ctrl!r}; choose one of {CTRL_MODES}")
    if not reps and ctrl != "hs":
        raise ConfigError("only the ap_ctrl_hs wrapper can leave out reps")
    sizes = stream_sizes(build)
    top_file = next(p for p in rtl_sources(build) if p.stem == TOP)
    local = top_localparams(top_file)
    differ = {k: (v, local.get(k)) for k, v in sizes.items() if local.get(k) != v}
    if differ:
        raise ConfigError(
            f"{top_file}: sizes differ from the plan's (plan, RTL): {differ}; recompile"
        )
    text = render_file(
        TEMPLATE_DIR,
        "vitis_wrapper.v.j2",
        module=WRAPPER,
        top=TOP,
        version=__version__,
        ctrl=ctrl,
        tlast=tlast,
        reps=reps,
        in_width=sizes["IN_WIDTH"],
        in_pad=byte_width(sizes["IN_WIDTH"]),
        in_beats=sizes["IN_BEATS"],
        out_width=sizes["OUT_WIDTH"],
        out_pad=byte_width(sizes["OUT_WIDTH"]),
        out_beats=sizes["OUT_BEATS"],
    )
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"{WRAPPER}.v"
    path.write_text(text)
    return path


def wrapper_dut(
    build: Path, out_dir: Path, *, ctrl: str = "axilite", tlast: bool = False, reps: bool = True
) -> SimDut:
    """The wrapped top as a DUT for hwbnn.sim.top.simulate_build."""
    build = Path(build).resolve()
    wrapper = write_vitis_wrapper(build, out_dir, ctrl=ctrl, tlast=tlast, reps=reps)
    sources = rtl_sources(build)
    # Described by parsing its ports, exactly as hwbnn.sim.vitis.vitis_dut reads an export.
    ports = ports_from_verilog(module_ports(wrapper.read_text(), WRAPPER), REPS_OFFSET)
    return SimDut(
        label=f"wrapped-{ctrl}{'-tlast' if tlast else ''}{'' if reps else '-noreps'}",
        sources=(*sources, wrapper),
        toplevel=WRAPPER,
        ports=ports,
        sizes=stream_sizes(build),
        parameters={"MEM_DIR": str(sources[0].parent)},
    )
