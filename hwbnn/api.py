"""The Python API: compile a binary QONNX model, open a build, predict, verify, simulate, make
bitstreams and reports. The ``hwbnn`` command and the benchmarks call this, nothing deeper.

>>> import hwbnn
>>> build = hwbnn.compile("model.onnx", "builds/d", target="rtl", target_cycles=64)
>>> accumulators, labels = build.predict(x)          # the bit-exact reference (L2)
>>> build.simulate(dataset="digits", n=20)           # L4, exact, recorded in verification.json
>>> build.report().index                             # builds/d/report/index.html

Every method runs one step of the flow (hwbnn.pipeline.steps) through the step runner, so the
build's manifest records it. Verification methods return a
:class:`~hwbnn.verify.record.VerificationRecord` and raise
:class:`~hwbnn.verify.record.VerificationFailed` when the level disagrees with the reference
(``check=False`` returns the failing record instead).
"""

from __future__ import annotations

import hashlib
import sys
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np

from hwbnn.build import read_manifest, require_complete
from hwbnn.errors import ConfigError
from hwbnn.pipeline.config import (
    BitstreamOptions,
    CompileOptions,
    RunConfig,
    SimOptions,
    Simulator,
    Target,
    TrainOptions,
    VerifyOptions,
)
from hwbnn.pipeline.runner import Context, StepRun, run_steps
from hwbnn.pipeline.steps import DEFAULT_FLOW

if TYPE_CHECKING:
    from hwbnn.ir.folding import Folding
    from hwbnn.ir.types import Network
    from hwbnn.verify.record import VerificationRecord

Say = Callable[[str], None]


def _quiet(_: str) -> None:
    """The API prints nothing unless given ``say=print``."""


class Prediction(NamedTuple):
    """The reference's outputs: last-layer integer accumulators (frames, classes) and labels."""

    accumulators: np.ndarray
    labels: np.ndarray


@dataclass(frozen=True)
class BitstreamResult:
    """What ``Build.bitstream`` made: the files, the resources used and the clock reached."""

    board: str
    directory: Path
    bitstream: Path | None  # None for vendor boards (a Vivado project was written)
    resources: dict[str, dict[str, int]]  # e.g. {"lut": {"used": .., "available": ..}}
    requested_mhz: float
    achieved_mhz: float | None
    timing_met: bool | None
    cycles_per_frame: int
    report: dict[str, Any] = field(repr=False)

    @property
    def frames_per_second(self) -> float | None:
        """At the achieved Fmax."""
        if self.achieved_mhz is None:
            return None
        return self.achieved_mhz * 1e6 / self.cycles_per_frame


@dataclass(frozen=True)
class BuildReport:
    """``Build.report()``: the HTML report, its plots and the verification results it shows."""

    index: Path
    plots: list[Path]
    results: list[VerificationRecord]


@dataclass(frozen=True)
class RunResult:
    """``hwbnn.run``: the build and what each step did (ran, reused, not applicable)."""

    build: Build
    steps: list[StepRun]


def _frames_id(x: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(x).tobytes()).hexdigest()[:16]


class Build:
    """A build directory (see DESIGN.md): the IR, folding, plan, generated code and results."""

    def __init__(self, path: Path | str, say: Say = _quiet, progress: bool = False) -> None:
        self.path = Path(path)
        read_manifest(self.path)  # a clear error when it is not a build
        self.say = say
        self.progress = progress

    def __repr__(self) -> str:
        return f"hwbnn.Build({str(self.path)!r})"

    @property
    def manifest(self) -> dict[str, Any]:
        return read_manifest(self.path)

    @cached_property
    def net(self) -> Network:
        from hwbnn.ir.serialize import load_network

        return load_network(self.path)

    @cached_property
    def folding(self) -> Folding:
        from hwbnn.ir.folding import load_folding

        return load_folding(self.path / "folding.json", self.net)

    @property
    def targets(self) -> list[Target]:
        """The targets whose code this build holds."""
        return [t for t in Target if t is not Target.IR and (self.path / t.value).is_dir()]

    # --- the reference -----------------------------------------------------------------------

    def predict(self, x: np.ndarray, rounding: bool = False) -> Prediction:
        """The bit-exact reference (L2) on float inputs ``x`` in the model's input format; a
        value that is not an input code is an error unless ``rounding``."""
        from hwbnn.reference import Reference

        require_complete(self.path)  # not from a half-written IR
        result = Reference(self.net).run(np.asarray(x), rounding=rounding)
        return Prediction(result.accumulators, result.labels)

    # --- verification ------------------------------------------------------------------------

    def _context(
        self,
        cfg: RunConfig,
        x: np.ndarray | None,
        y: np.ndarray | None,
        command: str,
        checkpoint: Path | None = None,
        **extra: Any,
    ) -> Context:
        ctx = Context(
            cfg,
            self.path,
            checkpoint_file=checkpoint,
            progress=self.progress,
            say=self.say,
            command=command or f"hwbnn.open({str(self.path)!r})",
            extra=dict(extra),
        )
        if x is not None:
            ctx.extra.update(frames=np.asarray(x), labels=y, frames_id=_frames_id(np.asarray(x)))
        return ctx

    def _run(self, ctx: Context, step: str, check: bool) -> VerificationRecord:
        from hwbnn.verify.record import VerificationFailed, VerificationRecord

        try:
            runs = run_steps(DEFAULT_FLOW, ctx, step, step, force=[step])
        except VerificationFailed as exc:
            if check:
                raise
            return exc.record
        return VerificationRecord.from_dict(runs[-1].summary)

    def _config(
        self, target: Target, dataset: str, data_dir: Path | None, **sections: Any
    ) -> RunConfig:
        train = TrainOptions(dataset=dataset, data_dir=Path(data_dir) if data_dir else None)
        return RunConfig(
            out=self.path, train=train, compile=CompileOptions(target=target), **sections
        )

    def verify(
        self,
        level: str = "L2",
        x: np.ndarray | None = None,
        y: np.ndarray | None = None,
        *,
        dataset: str = "digits",
        data_dir: Path | None = None,
        n: int | None = None,
        checkpoint: Path | None = None,
        onnx: bool = True,
        torch: bool = True,
        check: bool = True,
        command: str = "",
    ) -> list[VerificationRecord]:
        """Check a level against the reference: ``L2`` (also L0 torch and L1 execute_onnx when
        the checkpoint and model are at hand) on ``x``/``y`` or the test split of ``dataset``;
        ``L3`` is :meth:`csim`, ``L4`` :meth:`simulate`. ``onnx=False`` / ``torch=False`` leave
        L1 / L0 out."""
        if level == "L3":
            return [self.csim(x, dataset=dataset, data_dir=data_dir, n=n, check=check)]
        if level == "L4":
            return [self.simulate(x, dataset=dataset, data_dir=data_dir, n=n, check=check)]
        if level not in ("L0", "L1", "L2"):
            raise ConfigError(f"unknown level {level!r}; choose L0, L1, L2, L3 or L4")
        from hwbnn.verify.record import VerificationFailed, read_results

        cfg = self._config(
            self._any_target(), dataset, data_dir, verify=VerifyOptions(frames=n or 0)
        )
        ctx = self._context(
            cfg,
            x,
            y,
            command,
            checkpoint=checkpoint,
            no_onnx=not onnx,
            no_torch=not torch,
        )
        try:
            run_steps(DEFAULT_FLOW, ctx, "verify", "verify", force=["verify"])
        except VerificationFailed:
            if check:
                raise
        return [r for r in read_results(self.path) if r.level.value in ("L0", "L1", "L2")]

    def _any_target(self) -> Target:
        return self.targets[0] if self.targets else Target.IR

    def csim(
        self,
        x: np.ndarray | None = None,
        *,
        dataset: str = "digits",
        data_dir: Path | None = None,
        n: int | None = None,
        rounding: bool = False,
        check: bool = True,
        command: str = "",
    ) -> VerificationRecord:
        """L3: C-simulate the build's HLS (or hls4ml) code with g++, exactly against L2."""
        target = Target.HLS if (self.path / "hls").is_dir() else Target.HLS4ML
        if not (self.path / target.value).is_dir():
            raise ConfigError(
                f"{self.path}: no hls/ or hls4ml/; compile the model with --target hls or hls4ml"
            )
        frames = n or 0  # 0: every frame of x or of the test split
        cfg = self._config(target, dataset, data_dir, sim=SimOptions(frames=frames))
        return self._run(self._context(cfg, x, None, command, rounding=rounding), "csim", check)

    def simulate(
        self,
        x: np.ndarray | None = None,
        *,
        dataset: str = "digits",
        data_dir: Path | None = None,
        n: int | None = None,
        rounding: bool = False,
        simulator: str = "icarus",
        seed: int = 0,
        gap_prob: float = 0.3,
        backpressure_prob: float = 0.3,
        ii_frames: int = 8,
        waves: bool = False,
        vitis_rtl: Path | None = None,
        vitis_top: str = "hwbnn_top",
        verbose: bool = False,
        check: bool = True,
        command: str = "",
        fast: bool = False,
        soak_frames: int = 0,
    ) -> VerificationRecord:
        """L4: simulate the build's RTL (or, with ``vitis_rtl``, Verilog that Vitis HLS exported
        from its HLS code) under random gaps and backpressure, exactly against L2; ``fast``
        runs the compiled Verilator harness (hwbnn.sim.fast) instead of the cocotb bench;
        ``soak_frames`` streams that many frames, the test images looped (a long run whose
        record counts frames lost, duplicated or reordered)."""
        dut = None
        if vitis_rtl is not None:
            from hwbnn.sim.vitis import vitis_dut

            dut = vitis_dut(self.path, Path(vitis_rtl), vitis_top)
        else:
            from hwbnn.codegen.rtl import rtl_sources

            rtl_sources(self.path)  # a clear error for a build made without --target rtl
        frames = n or 0  # 0: every frame of x or of the test split
        sim = SimOptions(
            frames=frames,
            simulator=Simulator(simulator),
            seed=seed,
            gap_prob=gap_prob,
            backpressure_prob=backpressure_prob,
            ii_frames=ii_frames,
            waves=waves,
            fast=fast,
            soak_frames=soak_frames,
        )
        cfg = self._config(Target.RTL, dataset, data_dir, sim=sim)
        ctx = self._context(cfg, x, None, command, rounding=rounding, dut=dut)
        ctx.verbose = verbose
        return self._run(ctx, "simulate", check)

    def results(self) -> list[VerificationRecord]:
        """Every verification result recorded in ``verification.json``."""
        from hwbnn.verify.record import read_results

        return read_results(self.path)

    # --- hardware ------------------------------------------------------------------------------

    def bitstream(
        self,
        board: str,
        *,
        clock_mhz: float | None = None,
        baud: int = 115200,
        tools: str = "auto",
        seed: int = 1,
        strict_timing: bool = False,
        verbose: bool = False,
    ) -> BitstreamResult:
        """Synthesize, place and route the build's board top for ``board`` (yosys + nextpnr),
        or write a Vivado project for Xilinx boards; the result is also in
        ``BUILD/bitstream/<board>/report.json``."""
        opts = BitstreamOptions(
            board=board,
            clock_mhz=clock_mhz,
            baud=baud,
            tools=tools,
            seed=seed,
            strict_timing=strict_timing,
        )
        cfg = replace(self._config(Target.RTL, "digits", None), bitstream=opts)
        ctx = Context(cfg, self.path, progress=self.progress, say=self.say, verbose=verbose)
        runs = run_steps(DEFAULT_FLOW, ctx, "bitstream", "bitstream", force=["bitstream"])
        report = runs[-1].summary
        clock = report["clock"]
        name = report.get("bitstream")
        return BitstreamResult(
            board=report["board"],
            directory=Path(report["dir"]),
            bitstream=Path(report["dir"]) / name if name else None,
            resources=report.get("resources", {}),
            requested_mhz=clock["requested_mhz"],
            achieved_mhz=clock["achieved_mhz"],
            timing_met=clock["timing_met"],
            cycles_per_frame=report["initiation_interval"],
            report=report,
        )

    def report(self, sweep_points: int = 6) -> BuildReport:
        """Write ``BUILD/report/index.html`` with its plots, from the build's records."""
        from hwbnn.report import write_build_report

        require_complete(self.path)  # a killed or running step: its records may be missing
        info = write_build_report(self.path, sweep_points=sweep_points)
        return BuildReport(Path(info["index"]), [Path(p) for p in info["plots"]], self.results())


def open(path: Path | str, say: Say = _quiet, progress: bool = False) -> Build:  # noqa: A001
    """Open an existing build directory."""
    return Build(path, say, progress)


def compile(  # noqa: A001
    onnx: Path | str,
    out: Path | str,
    *,
    target: str = "ir",
    target_cycles: int | None = None,
    target_fps: float | None = None,
    clock_mhz: float = 100.0,
    folding: Path | str | None = None,
    input_levels: int | None = None,
    input_range: tuple[float, float] = (0.0, 1.0),
    board: str | None = None,
    say: Say = _quiet,
    command: str = "",
) -> Build:
    """Lower a binary QONNX model into the build directory ``out``: the IR with exact
    thresholds, a folding (``folding`` file, ``target_cycles`` or ``target_fps`` at
    ``clock_mhz``; default the fully folded design), the hardware plan and ``target``'s code
    (``ir``, ``rtl``, ``hls`` or ``hls4ml``). An existing build is updated in place; what the new
    compile makes stale is removed and named through ``say``.

    With ``board`` (a name of ``hwbnn.fpga.boards.BOARDS``) the resource estimate of the board
    top must fit that board; its use per resource is told through ``say``, and a folding that
    does not fit raises hwbnn.fpga.nextpnr.DesignTooLarge before anything is written."""
    opts = CompileOptions(
        target=target,  # type: ignore[arg-type]  # checked and converted by CompileOptions
        folding=Path(folding) if folding is not None else None,
        target_cycles=target_cycles,
        target_fps=target_fps,
        clock_mhz=clock_mhz,
        input_levels=input_levels,
        input_range=input_range,
    )
    cfg = RunConfig(out=Path(out), compile=opts)
    ctx = Context(cfg, Path(out), onnx_file=Path(onnx), say=say, command=command)
    ctx.extra["board"] = board  # None: no fit check (not the bitstream step's board)
    run_steps(DEFAULT_FLOW, ctx, "compile", "compile", force=["compile"])
    return Build(out, say)


def run(
    cfg: RunConfig,
    *,
    start: str | None = None,
    stop: str | None = None,
    say: Say = print,
    progress: bool = True,
    verbose: bool = False,
    command: str = "",
) -> RunResult:
    """``hwbnn run``: the whole flow into ``cfg.out``, resuming at the first step whose inputs
    changed or that did not finish (``start`` forces a step; ``stop`` ends early)."""
    ctx = Context(
        cfg,
        cfg.out,
        say=say,
        progress=progress,
        verbose=verbose,
        command=command or " ".join(sys.argv),
    )
    runs = run_steps(DEFAULT_FLOW, ctx, start, stop)
    return RunResult(Build(cfg.out, say, progress), runs)
