"""Run the top-level cocotb bench (hwbnn/sim/top_bench.py) on RTL that Vitis HLS exports.

Vitis HLS names and drives the ports of ``hwbnn_top(hls::stream<ap_uint<IN_W>> &in,
hls::stream<ap_uint<OUT_W>> &out, unsigned reps)`` (hwbnn.codegen.hls) differently from our
generated Verilog top (hwbnn.codegen.rtl). :class:`DutPorts` describes one DUT's ports, and the
bench drives whichever it is given:

====================  =======================  ==========================================
                      our ``hwbnn_top``        Vitis export of the HLS top (UG1399)
====================  =======================  ==========================================
clock, reset          ``clk``, ``rst`` (high)  ``ap_clk``, ``ap_rst_n`` (low, synchronous)
input stream          ``s_axis_tdata`` ...     ``in_r_TDATA``/``TVALID``/``TREADY`` (``in``
                                               is an HDL keyword, so Vitis appends ``_r``)
output stream         ``m_axis_tdata`` ...     ``out_r_TDATA``/``TVALID``/``TREADY``
TDATA width           exact                    rounded up to whole bytes; the pad bits of
                                               an ``ap_uint`` are 0
TLAST                 on both streams          none for ``hls::stream<ap_uint>``; present
                                               (with TKEEP, TSTRB) for ``hls::axis``
block control         none                     ``ap_ctrl_hs`` inside the ``s_axi_control``
                                               AXI4-Lite slave (``port=return``), ``reps``
                                               at offset 0x10; or ports ``ap_start``,
                                               ``ap_done``, ``ap_idle``, ``ap_ready`` (and
                                               ``reps``) with ``ap_ctrl_hs`` but no
                                               s_axilite; nothing with ``ap_ctrl_none``
stream sizes          localparams of the top   none: taken from the build's plan.json
====================  =======================  ==========================================

Frames without TLAST are delimited by beat counts (``OUT_BEATS`` beats per frame). Control:

- ``ap_ctrl_hs`` on ports: ``reps`` = the phase's frames, ``ap_start`` held high until the
  ``ap_start && ap_ready`` handshake, then low; without a ``reps`` port, one start per frame
  (``ap_start`` stays high until the last handshake). Checked: ``ap_idle`` is 1 after reset,
  falls while running and is 1 again at the end; one ``ap_ready`` handshake and one
  ``ap_done`` pulse per start, no ``ap_done`` without an open start.
- AXI4-Lite (``s_axi_<bundle>_*``): write ``reps``, write 1 (ap_start) to 0x00, poll 0x00
  until ap_done (bit 1, clear-on-read) was seen once per start; ap_idle (bit 2) must be 1
  before the start and at the end.
- ``ap_ctrl_none``: free-running; a ``reps`` port, if any, is held at 1.

Violations are reported with the AXI4-Stream protocol errors of the phase. Nothing here has
been run against real Vitis output: the names follow UG1399 and exported designs seen in public
repositories, and the adapter is tested with our RTL behind a wrapper with exactly these ports
(tests/sim/vitis_wrapper.py).
"""

from __future__ import annotations

import re
import shutil
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from hwbnn.errors import ConfigError

CTRL_MODES = ("none", "hs", "axilite")
#: Vitis HLS's register map of an s_axilite ``port=return`` bundle (bits of offset 0x00).
AP_CTRL_OFFSET = 0x00
AP_START, AP_DONE, AP_IDLE, AP_READY = 0x1, 0x2, 0x4, 0x8
#: Offset of the first scalar argument (``reps``) in that map.
REPS_OFFSET = 0x10
#: Memory-content files of an RTL directory, copied next to the simulator.
DATA_FILES = ("*.dat", "*.hex", "*.mem")
#: Cycles between two polls of the AXI4-Lite control register.
POLL_CYCLES = 16


@dataclass(frozen=True)
class DutPorts:
    """Names and polarities of a DUT's ports, as the top bench needs them."""

    clock: str = "clk"
    reset: str = "rst"
    reset_active_low: bool = False
    ctrl: str = "none"  # "none", "hs" (ap_start/ap_done/ap_idle/ap_ready ports), "axilite"
    in_prefix: str = "s_axis_"
    out_prefix: str = "m_axis_"
    uppercase: bool = False  # TDATA/TVALID/... instead of tdata/tvalid/...
    in_tlast: bool = True
    out_tlast: bool = True
    reps_port: str | None = None  # ctrl "hs"/"none": port holding the frames per start
    axilite_prefix: str = "s_axi_control_"  # ctrl "axilite"
    reps_offset: int | None = None  # ctrl "axilite": register holding the frames per start

    def __post_init__(self) -> None:
        if self.ctrl not in CTRL_MODES:
            raise ConfigError(f"unknown block control {self.ctrl!r}; choose one of {CTRL_MODES}")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, doc: dict[str, Any]) -> DutPorts:
        return cls(**doc)


#: Our generated ``hwbnn_top``.
NATIVE = DutPorts()
#: What Vitis HLS exports for hwbnn.codegen.hls's top (ap_uint streams, s_axilite control).
VITIS_HLS_TOP = DutPorts(
    clock="ap_clk",
    reset="ap_rst_n",
    reset_active_low=True,
    ctrl="axilite",
    in_prefix="in_r_",
    out_prefix="out_r_",
    uppercase=True,
    in_tlast=False,
    out_tlast=False,
    reps_offset=REPS_OFFSET,
)


@dataclass(frozen=True)
class SimDut:
    """What the bench simulates instead of the build's own ``hwbnn_top``."""

    label: str  # names the simulation directory BUILD/sim/<label>-<simulator>/
    sources: tuple[Path, ...]
    toplevel: str
    ports: DutPorts
    sizes: dict[str, int]  # the stream sizes (the DUT has no localparams to read back)
    parameters: dict[str, int | str] = field(default_factory=dict)
    data_files: tuple[Path, ...] = ()  # copied into the simulation directory ($readmemh)

    def prepare(self, sim_dir: Path) -> None:
        """Copy the data files where the simulator, run in ``sim_dir``, looks for them."""
        for path in self.data_files:
            shutil.copy(path, Path(sim_dir) / path.name)


def stream_sizes(build: Path) -> dict[str, int]:
    """The localparams of a generated top (hwbnn/sim/top_bench.SIZES) from the build's
    hardware plan (hwbnn.plan), which lays out the HLS top's streams as the RTL top's."""
    from hwbnn.plan import load_plan

    return load_plan(build).top_localparams()


_PORT = re.compile(
    r"\b(input|output|inout)\s+(?:wire\s+|reg\s+|logic\s+)?(?:signed\s+)?"
    r"(?:\[[^\]]*\]\s*)?([A-Za-z_][A-Za-z0-9_$]*"
    r"(?:\s*,\s*(?!(?:input|output|inout)\b)[A-Za-z_][A-Za-z0-9_$]*)*)"
)


def module_ports(text: str, module: str) -> dict[str, str]:
    """Port name -> direction of ``module`` in Verilog ``text`` (ANSI or not)."""
    found = re.search(rf"\bmodule\s+{re.escape(module)}\b(.*?)\bendmodule\b", text, re.S)
    if found is None:
        raise ConfigError(f"no module {module} in the given Verilog")
    body = re.sub(r"//[^\n]*|/\*.*?\*/", " ", found.group(1), flags=re.S)
    ports: dict[str, str] = {}
    for direction, names in _PORT.findall(body):
        for name in names.split(","):
            ports[name.strip()] = direction
    return ports


def ports_from_verilog(ports: dict[str, str], reps_offset: int | None) -> DutPorts:
    """Recognise a Vitis HLS export's interface from its top module's ports."""
    if "ap_clk" not in ports:
        raise ConfigError("the top module has no ap_clk: is it Verilog exported by Vitis HLS?")
    if "ap_rst_n" in ports:
        reset, active_low = "ap_rst_n", True
    elif "ap_rst" in ports:
        reset, active_low = "ap_rst", False
    else:
        raise ConfigError("the top module has neither ap_rst_n nor ap_rst")
    axilite = sorted(n[: -len("AWADDR")] for n in ports if re.fullmatch(r"s_axi_\w+_AWADDR", n))
    if "ap_start" in ports:
        ctrl = "hs"
    elif axilite:
        ctrl = "axilite"
    else:
        ctrl = "none"
    streams = {
        d: [n[: -len("TDATA")] for n, dd in ports.items() if n.endswith("_TDATA") and dd == d]
        for d in ("input", "output")
    }
    if len(streams["input"]) != 1 or len(streams["output"]) != 1:
        raise ConfigError(
            f"expected one input and one output AXI4-Stream (*_TDATA), found inputs "
            f"{streams['input']} and outputs {streams['output']}"
        )
    in_prefix, out_prefix = streams["input"][0], streams["output"][0]
    return DutPorts(
        clock="ap_clk",
        reset=reset,
        reset_active_low=active_low,
        ctrl=ctrl,
        in_prefix=in_prefix,
        out_prefix=out_prefix,
        uppercase=True,
        in_tlast=in_prefix + "TLAST" in ports,
        out_tlast=out_prefix + "TLAST" in ports,
        reps_port="reps" if ctrl != "axilite" and "reps" in ports else None,
        axilite_prefix=axilite[0] if axilite else "s_axi_control_",
        reps_offset=reps_offset if ctrl == "axilite" else None,
    )


def vitis_dut(build: Path, rtl_dir: Path, top: str = "hwbnn_top") -> SimDut:
    """The Verilog Vitis HLS exported for ``build``'s HLS top (``solution1/syn/verilog`` or
    ``solution1/impl/ip/hdl/verilog``), ready for hwbnn.sim.top.simulate_build.

    Every ``*.v`` of ``rtl_dir`` is compiled; its ``*.dat`` files (ROM contents; also
    ``*.hex``, ``*.mem``) are copied next to the simulator. The ``reps`` register offset is
    read from the AXI4-Lite slave's ``ADDR_REPS_DATA_0`` localparam (0x10 if absent)."""

    rtl_dir = Path(rtl_dir).resolve()
    sources = sorted(rtl_dir.glob("*.v"))
    if not sources:
        raise ConfigError(f"{rtl_dir}: no *.v files; point --vitis-rtl at syn/verilog")
    texts = {path: path.read_text(errors="replace") for path in sources}
    owner = [p for p, t in texts.items() if re.search(rf"\bmodule\s+{re.escape(top)}\b", t)]
    if not owner:
        raise ConfigError(f"{rtl_dir}: no module {top} in its *.v files")
    ports = module_ports(texts[owner[0]], top)
    offset = REPS_OFFSET
    for text in texts.values():
        hit = re.search(r"ADDR_REPS_DATA_0\s*=\s*\d*'h([0-9a-fA-F]+)", text)
        if hit:
            offset = int(hit.group(1), 16)
    return SimDut(
        label="vitis",
        sources=tuple(sources),
        toplevel=top,
        ports=ports_from_verilog(ports, offset),
        sizes=stream_sizes(build),
        data_files=tuple(sorted(p for ext in DATA_FILES for p in rtl_dir.glob(ext))),
    )


# --------------------------------------------------------------------- inside the simulator


class BlockControl:
    """Drive a DUT's block-level control for one phase (cocotb; see the module docstring).

    Build it before the reset (it parks every control input at 0), then ``begin(frames)``
    after each reset and ``await finish()`` once the phase's output has settled; ``errors``
    lists what went wrong."""

    def __init__(self, dut: Any, clk: Any, ports: DutPorts) -> None:
        self.dut, self.clk, self.ports = dut, clk, ports
        self.errors: list[str] = []
        self._task: Any = None
        self._axilite: Any = None  # built after the first reset (see begin)
        if ports.ctrl == "hs":
            dut.ap_start.value = 0
        if ports.reps_port is not None:
            getattr(dut, ports.reps_port).value = 1

    def begin(self, frames: int) -> None:
        import cocotb

        has_reps = self.ports.reps_port is not None or self.ports.reps_offset is not None
        starts, reps = (1, frames) if has_reps else (frames, 1)
        if self.ports.ctrl == "axilite" and self._axilite is None:
            self._axilite = _axilite_master(self.dut, self.clk, self.ports)
        if self.ports.ctrl == "hs":
            self._task = cocotb.start_soon(self._run_hs(starts, reps))
        elif self.ports.ctrl == "axilite":
            self._task = cocotb.start_soon(self._run_axilite(starts, reps))

    async def finish(self) -> list[str]:
        """Stop the control coroutine and return the errors it found."""
        if self._task is not None:
            if not self._task.done():
                self._task.cancel()
                self.errors.append(f"ap_ctrl: {self._state}")
            self._task = None
        if self.ports.ctrl == "hs":
            self.dut.ap_start.value = 0
            from cocotb.triggers import ReadOnly, RisingEdge

            await RisingEdge(self.clk)
            await ReadOnly()
            if self.dut.ap_idle.value != 1:
                self.errors.append("ap_ctrl: ap_idle is 0 after the last ap_done")
            await RisingEdge(self.clk)
        return self.errors

    _state = "never started"

    async def _run_hs(self, starts: int, reps: int) -> None:
        from cocotb.triggers import ReadOnly, RisingEdge

        dut = self.dut
        if self.ports.reps_port is not None:
            getattr(dut, self.ports.reps_port).value = reps
        await ReadOnly()
        if dut.ap_idle.value != 1:
            self.errors.append("ap_ctrl: ap_idle is 0 after reset, before ap_start")
        started = done = 0
        busy_seen = False
        while done < starts:
            await RisingEdge(self.clk)
            dut.ap_start.value = int(started < starts)
            await ReadOnly()
            start, ready = dut.ap_start.value == 1, dut.ap_ready.value == 1
            if start and ready:
                started += 1
            busy_seen |= dut.ap_idle.value == 0
            if dut.ap_done.value == 1:
                done += 1
                if done > started:
                    self.errors.append(f"ap_ctrl: ap_done #{done} after {started} ap_ready")
            self._state = f"{started} of {starts} ap_ready and {done} ap_done seen at the end"
        if not busy_seen:
            self.errors.append("ap_ctrl: ap_idle never fell while running")
        self._state = "finished"

    async def _run_axilite(self, starts: int, reps: int) -> None:
        from cocotb.triggers import ClockCycles

        bus = self._axilite
        assert bus is not None
        if self.ports.reps_offset is not None:
            await _write(bus, self.ports.reps_offset, reps)
        for k in range(starts):
            ctrl = await _read(bus, AP_CTRL_OFFSET)
            if not ctrl & AP_IDLE:
                self.errors.append(f"ap_ctrl: ap_idle is 0 before start #{k + 1} (0x{ctrl:x})")
            await _write(bus, AP_CTRL_OFFSET, AP_START)
            self._state = f"no ap_done for start #{k + 1} of {starts}"
            while True:
                await ClockCycles(self.clk, POLL_CYCLES)
                ctrl = await _read(bus, AP_CTRL_OFFSET)
                if ctrl & AP_DONE:
                    break
        ctrl = await _read(bus, AP_CTRL_OFFSET)
        if not ctrl & AP_IDLE or ctrl & AP_DONE:
            self.errors.append(f"ap_ctrl: control register 0x{ctrl:x} after the last ap_done")
        self._state = "finished"


async def _write(bus: Any, addr: int, value: int) -> None:
    """One 32-bit write through cocotbext-axi's AxiLiteMaster; a BRESP but OKAY raises."""
    resp = await bus.write(addr, value.to_bytes(4, "little"))
    if resp.resp != 0:
        raise ValueError(f"AXI4-Lite write to 0x{addr:x}: BRESP {int(resp.resp)}")


async def _read(bus: Any, addr: int) -> int:
    """One 32-bit read through cocotbext-axi's AxiLiteMaster; an RRESP but OKAY raises."""
    resp = await bus.read(addr, 4)
    if resp.resp != 0:
        raise ValueError(f"AXI4-Lite read of 0x{addr:x}: RRESP {int(resp.resp)}")
    return int.from_bytes(resp.data, "little")


def _axilite_master(dut: Any, clk: Any, ports: DutPorts) -> Any:
    """cocotbext-axi's AxiLiteMaster on ``<axilite_prefix>*``, held in reset with the DUT. Build
    it after a reset: its channels sample the slave's ready signals from the first clock edge
    on, and they are X before the DUT's reset."""
    import logging

    from cocotbext.axi import AxiLiteBus, AxiLiteMaster

    name = ports.axilite_prefix.rstrip("_")
    logging.getLogger(f"cocotb.{dut._name}.{name}").setLevel(logging.WARNING)
    reset = getattr(dut, ports.reset)
    return AxiLiteMaster(
        AxiLiteBus.from_prefix(dut, name), clk, reset, reset_active_level=not ports.reset_active_low
    )
