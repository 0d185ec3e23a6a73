"""``hwbnn bitstream``: the board top of a ``--target rtl`` build, synthesized, placed, routed
and packed for a board, with a report of resources and timing.

One step of hwbnn's flow (hwbnn.pipeline.steps), done in stages ``stage(state, cfg) -> state``
called in order by :func:`run_bitstream_flow` (ECP5 and iCE40: tools, sources, yosys, nextpnr,
pack; Xilinx: sources and a Vivado project, and stop).
Everything is written into a temporary directory beside ``BUILD/bitstream/<board>/`` and moved
there only when every step succeeded. A previous ``BUILD/bitstream/<board>/`` is deleted when
the run starts, so a failed run never leaves an old bitstream looking like its result; the
failed run's logs go to ``BUILD/bitstream/<board>.failed/`` (no bitstream in it).

``report.json`` (see :func:`step_write_report`) records the cells used and available (nextpnr),
the yosys cell counts, the carry-chain ends trimmed before nextpnr-ecp5 packs them
(``carry_chains``, :mod:`hwbnn.fpga.carry_chains`), the analytical estimate
(:mod:`hwbnn.fpga.estimate`), the requested and achieved clock and whether timing was met,
the tools and their versions, and the frames/s a user gets (``frame_rate``,
:class:`hwbnn.fpga.link.FrameRate`): the core's at the board clock, the UART's at ``--baud``,
the smaller of the two and which one limits.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from hwbnn import __version__
from hwbnn.errors import ConfigError, HwbnnError
from hwbnn.fpga.board_top import BOARD_TOP, DEFAULT_BAUD, check_baud, write_board_sources
from hwbnn.fpga.boards import Board, Family, get_board
from hwbnn.fpga.carry_chains import ChainTrim, trim_file
from hwbnn.fpga.estimate import estimate
from hwbnn.fpga.link import LinkFormat
from hwbnn.fpga.nextpnr import PnrReport, run_nextpnr
from hwbnn.fpga.tools import Toolchain, ToolFailed, find_toolchain, run_tool, tool_version
from hwbnn.fpga.yosys import YosysResult, render_script, run_yosys
from hwbnn.units import count, mhz, rate
from hwbnn.units import seconds as fmt_seconds

BITSTREAM_DIR = "bitstream"
REPORT = "report.json"


class TimingNotMet(HwbnnError):
    """``strict_timing`` was asked for and the achieved clock is below the requested one."""


@dataclass(frozen=True)
class BitstreamConfig:
    """Options of ``hwbnn bitstream``.

    ``clock_mhz`` is the timing target (default: the board's oscillator, which is the clock
    the board top runs at); ``baud`` the UART rate of the board top; ``tools`` ``auto``,
    ``system`` or ``yowasp`` (:mod:`hwbnn.fpga.tools`); ``strict_timing`` turns a missed
    timing target into an error instead of a warning in the report.
    """

    board: str
    clock_mhz: float | None = None
    baud: int = DEFAULT_BAUD
    tools: str = "auto"
    seed: int = 1
    strict_timing: bool = False
    timeout_s: float | None = None


@dataclass(frozen=True)
class FlowState:
    build: Path
    board: Board
    work: Path
    link: LinkFormat
    toolchain: Toolchain | None = None
    sources: tuple[str, ...] = ()
    synth: YosysResult | None = None
    carry_trim: ChainTrim | None = None  # ECP5: the chain ends trimmed after yosys
    pnr: PnrReport | None = None
    bitstream: str | None = None
    vivado: dict[str, str] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    report: dict[str, Any] = field(default_factory=dict)
    verbose: bool = False  # tool logs live on stderr as well as in their files

    def timed(self, step: str, seconds: float) -> dict[str, float]:
        return {**self.seconds, step: round(seconds, 2)}


def requested_mhz(board: Board, cfg: BitstreamConfig) -> float:
    mhz = cfg.clock_mhz if cfg.clock_mhz is not None else board.clock_mhz
    if not mhz > 0:
        raise ConfigError(f"--clock-mhz must be positive, got {mhz}")
    return mhz


def meets_timing(pnr: PnrReport, mhz: float) -> bool:
    """Every clock met its constraint and the slowest reached ``mhz``."""
    return pnr.timing_met and (pnr.achieved_mhz or 0.0) >= mhz


def timing_constraints(text: str, mhz: float) -> str:
    """An ECP5 constraint file with the clock's FREQUENCY set to ``mhz``: the timing target
    of place and route (an LPF FREQUENCY overrides nextpnr's --freq). The board's oscillator
    still clocks the design; the target only says how fast place and route must make it."""
    lines = text.splitlines(keepends=True)
    found = [i for i, line in enumerate(lines) if line.startswith('FREQUENCY PORT "clk" ')]
    if len(found) != 1:
        raise ValueError('the constraint file needs exactly one FREQUENCY PORT "clk" line')
    lines[found[0]] = f'FREQUENCY PORT "clk" {mhz:g} MHZ;  # place-and-route target\n'
    return "".join(lines)


def step_find_tools(state: FlowState, cfg: BitstreamConfig) -> FlowState:
    return replace(state, toolchain=find_toolchain(state.board.family, cfg.tools))


def step_prepare(state: FlowState, cfg: BitstreamConfig) -> FlowState:
    """Sources (the build's rtl/, the UART modules, the board top) and the board's
    constraints, all in the flow directory."""
    board = state.board
    names = write_board_sources(
        state.build,
        state.work,
        state.link,
        board.clock_hz,
        cfg.baud,
        board.led_active_low,
        target=f"board {board.name} ({board.description})",
    )
    if board.family is not Family.XILINX7:
        from hwbnn.resources import share_dir

        source = share_dir("fpga") / "boards" / board.constraints
        if board.family is Family.ECP5:
            text = timing_constraints(source.read_text(), requested_mhz(board, cfg))
            (state.work / board.constraints).write_text(text)
        else:
            shutil.copyfile(source, state.work / board.constraints)
    return replace(state, sources=tuple(names))


def step_synthesize(state: FlowState, cfg: BitstreamConfig) -> FlowState:
    assert state.toolchain is not None, "step_synthesize needs step_find_tools before it"
    script = render_script(
        state.board.family, state.sources, BOARD_TOP, "synth.json", "synth_stat.json"
    )
    start = time.perf_counter()
    result = run_yosys(
        state.toolchain.synth, script, state.work, "synth", cfg.timeout_s, state.verbose
    )
    trim = None
    if state.board.family is Family.ECP5:  # nextpnr-ecp5 pads carry chains (carry_chains.py)
        trim = trim_file(state.work / "synth.json")
    seconds = state.timed("synth", time.perf_counter() - start)
    return replace(state, synth=result, carry_trim=trim, seconds=seconds)


def step_place_and_route(state: FlowState, cfg: BitstreamConfig) -> FlowState:
    assert state.toolchain is not None and state.synth is not None
    start = time.perf_counter()
    report = run_nextpnr(
        state.toolchain.pnr,
        state.board,
        requested_mhz(state.board, cfg),
        cfg.seed,
        state.work,
        cfg.timeout_s,
        state.verbose,
    )
    if cfg.strict_timing and not meets_timing(report, requested_mhz(state.board, cfg)):
        raise TimingNotMet(
            f"timing not met on {state.board.name}: achieved {report.achieved_mhz or 0:.2f} MHz, "
            f"requested {requested_mhz(state.board, cfg):g} MHz (log: {state.work / 'pnr.log'})"
        )
    return replace(state, pnr=report, seconds=state.timed("pnr", time.perf_counter() - start))


def step_pack(state: FlowState, cfg: BitstreamConfig) -> FlowState:
    assert state.toolchain is not None and state.pnr is not None
    if state.board.family is Family.ECP5:
        name, args = f"{BOARD_TOP}.bit", ["--compress", "pnr.config", f"{BOARD_TOP}.bit"]
    else:
        name, args = f"{BOARD_TOP}.bin", ["pnr.asc", f"{BOARD_TOP}.bin"]
    start = time.perf_counter()
    run = run_tool(state.toolchain.pack, args, state.work, "pack", cfg.timeout_s, state.verbose)
    if run.returncode != 0 or not (state.work / name).is_file():
        tail = run.log.read_text(errors="replace").strip().splitlines()[-1:] or ["no output"]
        raise ToolFailed(f"{state.toolchain.pack.name} failed: {tail[0]} (log: {run.log})")
    return replace(state, bitstream=name, seconds=state.timed("pack", time.perf_counter() - start))


def step_write_vivado_project(state: FlowState, cfg: BitstreamConfig) -> FlowState:
    from hwbnn.fpga.vivado import write_vivado_project

    files = write_vivado_project(
        state.work, state.board, state.sources, requested_mhz(state.board, cfg)
    )
    return replace(state, vivado=files)


def step_write_report(state: FlowState, cfg: BitstreamConfig) -> FlowState:
    """``report.json``: what was built, with which tools, what it uses and how fast it runs."""
    from hwbnn.ir.folding import load_folding
    from hwbnn.ir.serialize import load_network

    board = state.board
    net = load_network(state.build)
    folding = load_folding(state.build / "folding.json", net)
    est = estimate(net, folding, board.device)
    requested = requested_mhz(board, cfg)
    report: dict[str, Any] = {
        "hwbnn": __version__,
        "board": board.name,
        "description": board.description,
        "device": board.device.name,
        "family": board.family.value,
        "top": BOARD_TOP,
        "uart": {"baud": cfg.baud, "pins": board.uart, **state.link.to_dict()},
        "initiation_interval": est.initiation_interval,
        "frame_rate": state.link.frame_rate(
            board.clock_hz, cfg.baud, est.initiation_interval
        ).to_dict(),
        "estimate": est.to_dict(),
        "clock": {
            "board_mhz": board.clock_mhz,
            "requested_mhz": requested,
            "achieved_mhz": None,
            "timing_met": None,
            "clocks": [],
        },
        "resources": {},
        "bitstream": state.bitstream,
        "seconds": state.seconds,
    }
    if requested != board.clock_mhz:
        report["clock"]["note"] = (
            f"the board top runs at the board's {board.clock_mhz:g} MHz oscillator (no PLL); "
            f"{requested:g} MHz is the timing target only"
        )
    if state.toolchain is not None:
        report["tools"] = {
            "origin": state.toolchain.origin,
            **{
                tool.name: tool_version(tool, state.work)
                for tool in (state.toolchain.synth, state.toolchain.pnr)
            },
        }
    if state.synth is not None:
        report["yosys_cells"] = state.synth.cells
        report["yosys_classes"] = state.synth.by_class(board.family)
    if state.carry_trim is not None:
        report["carry_chains"] = state.carry_trim.as_dict()
    if state.pnr is not None:
        pnr = state.pnr
        report["resources"] = pnr.resources(board.family)
        if board.family is Family.ICE40 and state.synth is not None:
            # iCE40 logic cells pair a LUT and a FF; nextpnr counts cells, yosys the FFs
            lc = report["resources"].get("lut", {}).get("available", board.device.ffs)
            report["resources"]["ff"] = {
                "used": state.synth.by_class(board.family).get("ff", 0),
                "available": lc,
            }
        report["nextpnr_utilization"] = pnr.utilization
        achieved = pnr.achieved_mhz
        report["clock"].update(
            achieved_mhz=achieved,
            timing_met=meets_timing(pnr, requested),
            clocks=[
                {"name": c.name, "achieved_mhz": c.achieved_mhz, "constraint_mhz": c.constraint_mhz}
                for c in pnr.clocks
            ],
        )
        if achieved:
            report["frames_per_second_at_fmax"] = achieved * 1e6 / est.initiation_interval
            report["frames_per_second_at_board_clock"] = (
                board.clock_mhz * 1e6 / est.initiation_interval
            )
    if state.vivado:
        report["vivado"] = state.vivado
        report["note"] = (
            "Vivado project written; no bitstream was made here: run "
            f"'{state.vivado['command']}' in this directory"
        )
    (state.work / REPORT).write_text(json.dumps(report, indent=2) + "\n")
    return replace(state, report=report)


def bitstream_dir(build: Path, board: str) -> Path:
    return Path(build) / BITSTREAM_DIR / board


def run_bitstream_flow(
    build: Path,
    cfg: BitstreamConfig,
    say: Callable[[str], None] | None = None,
    verbose: bool = False,
) -> dict[str, Any]:
    """Make ``build``'s bitstream for ``cfg.board``; return the report (also ``report.json``).

    ECP5 and iCE40: find the tools, write the sources, synthesize (yosys), place and route
    (nextpnr), pack; Xilinx: write the sources and a Vivado project, and stop. ``say`` is told
    each stage and its time; tool logs stay in the bitstream directory (``verbose``: live too).

    Raises:
        ConfigError: unknown board (the message lists the boards), a build without rtl/, or a
            bad option.
        ToolNotFound, ToolFailed, DesignTooLarge, TimingNotMet: from the stages (one line each).
    """
    from hwbnn.codegen.rtl import rtl_sources

    board = get_board(cfg.board)
    build = Path(build)
    rtl_sources(build)  # ConfigError for a build made without --target rtl
    link = LinkFormat.from_build(build)
    check_baud(board.clock_hz, cfg.baud)
    requested_mhz(board, cfg)
    final = bitstream_dir(build, board.name)
    failed = final.with_name(f"{board.name}.failed")
    for old in (final, failed):
        if old.exists():
            if say is not None and old == final:
                say(f"    replacing {final}")
            shutil.rmtree(old)
    final.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{board.name}.tmp-", dir=final.parent))
    state = FlowState(build=build.resolve(), board=board, work=work, link=link)
    state = replace(state, verbose=verbose)

    def stage(name: str, run: Callable[[FlowState, BitstreamConfig], FlowState]) -> None:
        nonlocal state
        begin = time.perf_counter()
        state = run(state, cfg)
        if say is not None:
            say(f"    {name:<24} {fmt_seconds(time.perf_counter() - begin)}")

    try:
        if board.family is Family.XILINX7:
            stage("sources", step_prepare)
            stage("Vivado project", step_write_vivado_project)
        else:
            stage("find tools", step_find_tools)
            stage("sources", step_prepare)
            stage("synthesize (yosys)", step_synthesize)
            stage("place and route (nextpnr)", step_place_and_route)
            stage("pack", step_pack)
        stage("report", step_write_report)
    except BaseException as exc:
        _keep_failed_logs(work, failed, exc)
        raise
    work.rename(final)
    return {**state.report, "dir": str(final)}


def _keep_failed_logs(work: Path, failed: Path, exc: BaseException) -> None:
    """Move a failed run's directory to ``failed`` without any bitstream in it."""
    with contextlib.suppress(OSError):
        for pattern in ("*.bit", "*.bin", "*.config", "*.asc"):
            for path in work.glob(pattern):
                path.unlink()
        (work / "error.txt").write_text(f"{type(exc).__name__}: {exc}\n")
        work.rename(failed)
        return
    shutil.rmtree(work, ignore_errors=True)


def summary_lines(report: dict[str, Any]) -> list[str]:
    """What ``hwbnn bitstream`` prints: resources, clock, throughput, where the files are."""
    lines = []
    resources = report.get("resources", {})
    if resources:
        lines.append(
            "  "
            + ", ".join(
                f"{name.upper()} {count(r['used'])}/{count(r['available'])}"
                for name, r in resources.items()
                if name in ("lut", "ff", "bram", "dsp", "io")
            )
        )
    est = report["estimate"]
    lines.append(
        f"  estimate: {count(est['luts'], 'LUTs')}, {count(est['ffs'], 'FFs')}, "
        f"{count(est['brams'], 'block RAMs')}; "
        f"{count(report['initiation_interval'], 'cycles/frame')}"
    )
    if "frame_rate" in report:
        lines.append(rate_line(report["frame_rate"]))
    clock = report["clock"]
    if clock["achieved_mhz"] is not None:
        verdict = "met" if clock["timing_met"] else "NOT MET"
        lines.append(
            f"  clock: achieved {mhz(clock['achieved_mhz'])}, requested "
            f"{mhz(clock['requested_mhz'])}: timing {verdict}"
        )
        if not clock["timing_met"]:
            lines.append(
                "  warning: the design may not work at the requested clock; fold it further "
                "(larger --target-cycles) or lower --clock-mhz"
            )
    if clock.get("note"):
        lines.append(f"  note: {clock['note']}")
    if report.get("bitstream"):
        lines.append(f"wrote {Path(report['dir']) / report['bitstream']} and {REPORT}")
    else:
        lines.append(f"wrote {report['dir']}: {report.get('note', '')}")
    return lines


def rate_line(fr: dict[str, Any]) -> str:
    """``frames/s: core 187,500 at 12.0 MHz, UART 180 at 115,385 baud (64 bytes in, 12 out per
    frame): a user gets 180 frames/s (the UART limits)`` from a report's ``frame_rate``."""
    core, link = rate(fr["core"], "").strip(), rate(fr["link"], "").strip()
    return (
        f"  frames/s: core {core} at {mhz(fr['clock_mhz'])}, UART {link} at "
        f"{count(round(fr['baud']), 'baud')} "
        f"({fr['frame_in_bytes']} bytes in, {fr['frame_out_bytes']} out per frame): a user gets "
        f"{rate(fr['user'])} (the {fr['bottleneck']} limits)"
    )
