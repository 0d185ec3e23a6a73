"""RTL simulation (level L4 of the verification ladder) of a build made with ``--target rtl``.

:func:`simulate_build` runs the generated ``hwbnn_top`` (``BUILD/rtl/``) in a cocotb bench
(hwbnn/sim/top_bench.py) on Icarus Verilog or Verilator, building in ``BUILD/sim/<simulator>/``,
and returns what came out, decoded but not judged (hwbnn.verify.rtl judges it against the
reference):

- stress phase: every frame under random s_axis gaps and random m_axis backpressure (seeded);
  the output beats are decoded into accumulators, and their framing is checked: exactly
  ``OUT_BEATS`` beats per frame with tlast on the last beat only, one frame per input frame;
- throughput phase (after a reset): ``ii_frames`` frames back to back, no gaps, no
  backpressure; decoded the same way, and timed: cycles per frame from the spacing of the
  output frames' last beats in steady state (the first ``WARMUP_PERIODS`` spacings are the
  pipeline filling and are left out), next to :func:`hwbnn.ir.folding.initiation_interval`;
  latency from a frame's first accepted input beat to its last output beat.

The simulator's output goes to ``BUILD/sim/<simulator>/build.log`` and ``sim.log`` (named in
the error when it fails) unless ``verbose``; ``progress`` shows a bar over the frames.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from hwbnn.codegen.rtl import TOP, rtl_sources
from hwbnn.errors import ConfigError, HwbnnError
from hwbnn.ir.folding import initiation_interval, load_folding
from hwbnn.ir.serialize import load_network
from hwbnn.ir.types import Network
from hwbnn.sim.packing import unpack_beats
from hwbnn.sim.runner import (
    SIM_LOG,
    SIMULATORS,
    SimulationFailed,
    SimulatorNotFound,
    check_paths,
    run_cocotb,
)
from hwbnn.sim.vitis import SimDut

SIM_DIR = "sim"
BENCH = Path(__file__).resolve().with_name("top_bench.py")
RESULTS_FILE = "hwbnn_sim_results.json"
#: Output frame spacings left out of the cycles/frame figure (pipeline fill).
WARMUP_PERIODS = 2
#: Largest allowed difference between measured and analytical cycles per frame.
II_TOLERANCE = 2


class RtlSimError(HwbnnError):
    """The RTL simulation could not run: no rtl/ in the build, no simulator, a build or
    simulator failure, or a DUT that does not match the build's IR."""


@dataclass(frozen=True)
class SimConfig:
    """How to simulate: simulator, randomness of the stress phase, throughput frames, waves;
    ``fast``: the compiled Verilator harness (hwbnn.sim.fast) instead of the cocotb bench."""

    simulator: str = "icarus"
    seed: int = 0
    gap_prob: float = 0.3
    backpressure_prob: float = 0.3
    ii_frames: int = 8
    waves: bool = False
    fast: bool = False

    def __post_init__(self) -> None:
        if self.simulator not in SIMULATORS:
            raise ConfigError(f"unknown simulator {self.simulator!r}; choose one of {SIMULATORS}")
        if self.fast and self.waves:
            raise ConfigError("the fast engine records no waveforms; drop --fast to get them")
        for name in ("gap_prob", "backpressure_prob"):
            value = getattr(self, name)
            if not 0.0 <= value < 1.0:
                raise ConfigError(f"{name} must be in [0, 1), got {value}")
        least = WARMUP_PERIODS + 2  # at least one steady-state spacing
        if self.ii_frames != 0 and self.ii_frames < least:
            raise ConfigError(
                f"throughput frames must be 0 (skip) or >= {least}, got {self.ii_frames}"
            )


@dataclass(frozen=True)
class PhaseRun:
    """What one phase sent and received: the complete output frames decoded into
    accumulators, and every framing or protocol error seen."""

    name: str
    inputs: np.ndarray  # index into the simulated codes of each frame sent
    accumulators: np.ndarray  # (complete frames received, classes) int64
    frames_received: int  # output beats with tlast
    beats_received: int
    framing_errors: list[str]  # tlast misplaced, beats missing or extra, timeout
    protocol_errors: list[str]  # AXI4-Stream violations seen by the bench's probes
    cycles: int
    wall_seconds: float

    @property
    def frames(self) -> int:
        """Frames sent."""
        return len(self.inputs)


@dataclass(frozen=True)
class RtlSimRun:
    """Both phases of one simulation, decoded, and the timing figures."""

    engine: str  # simulator, or "<dut label>-rtl/<simulator>" (e.g. vitis-rtl/icarus)
    simulator: str
    layer: str  # the output layer, whose accumulators come out
    initiation_interval: int  # analytical: the slowest layer's cycles per frame
    phases: list[PhaseRun]
    cycles_per_frame: float | None  # measured, mean over the steady-state spacings
    cycle_spacings: list[int]  # steady-state spacings of the throughput phase
    latency_cycles: int | None  # first frame of the throughput phase (empty pipeline)
    max_latency_cycles: int | None  # over the throughput phase
    seconds: float  # build and run, wall clock
    sim_frames_per_second: float  # frames of the stress phase per wall-clock second
    sim_dir: Path
    log: Path | None  # the simulator's run log (None: it went to the terminal)
    waves: str | None = None
    sizes: dict[str, int] = field(default_factory=dict)

    @property
    def ii_within_tolerance(self) -> bool | None:
        if not self.cycle_spacings:
            return None
        spacings = np.asarray(self.cycle_spacings)
        return bool(np.all(np.abs(spacings - self.initiation_interval) <= II_TOLERANCE))


def decode_frames(
    beats: list[list[int]],
    frames: int,
    out_beats: int,
    acc_width: int,
    out_pe: int,
    classes: int,
) -> tuple[np.ndarray, list[str]]:
    """The complete output frames of ``beats`` (``[data, last, ...]`` each) as signed
    accumulators (frames received, classes), and the framing errors: tlast not on the last
    beat of each frame of ``out_beats`` beats, or not ``frames`` frames' worth of beats."""
    framing: list[str] = []
    lasts = [bool(b[1]) for b in beats]
    wrong = [k for k, last in enumerate(lasts) if last != ((k % out_beats) == out_beats - 1)]
    if wrong:
        k = wrong[0]
        framing.append(
            f"tlast {'set' if lasts[k] else 'missing'} on output beat {k} "
            f"(frame {k // out_beats}, beat {k % out_beats} of {out_beats})"
        )
    if len(beats) != frames * out_beats:
        framing.append(
            f"{len(beats)} output beats for {frames} frames of {out_beats} beats "
            f"({sum(lasts)} frames received)"
        )
    complete = min(len(beats) // out_beats, frames)
    words = [int(b[0]) for b in beats[: complete * out_beats]]
    got = unpack_beats(words, acc_width, out_pe, signed=True) if words else np.zeros(0)
    return np.asarray(got, dtype=np.int64).reshape(complete, classes), framing


def _phase(
    raw: dict[str, Any], inputs: np.ndarray, sizes: dict[str, int], classes: int
) -> PhaseRun:
    framing: list[str] = []
    if raw["timed_out"]:
        framing.append(f"timed out after {raw['budget_cycles']} cycles")
    beats = raw["beats"]
    got, bad_framing = decode_frames(
        beats, len(inputs), sizes["OUT_BEATS"], sizes["ACC_WIDTH"], sizes["OUT_PE"], classes
    )
    return PhaseRun(
        name=raw["name"],
        inputs=inputs,
        accumulators=got,
        frames_received=sum(bool(b[1]) for b in beats),
        beats_received=len(beats),
        framing_errors=framing + bad_framing,
        protocol_errors=list(raw["protocol_errors"]),
        cycles=int(raw["cycles"]),
        wall_seconds=float(raw["wall_seconds"]),
    )


def _timing(raw: dict[str, Any], in_beats: int) -> tuple[list[int], int | None, int | None]:
    """Steady-state output frame spacings and latencies of the throughput phase."""
    ends = [int(b[2]) for b in raw["beats"] if b[1]]
    return frame_timing(ends, [int(c) for c in raw["accepted"][::in_beats]])


def frame_timing(
    ends: Sequence[int], starts: Sequence[int]
) -> tuple[list[int], int | None, int | None]:
    """From the cycles of the frames' last output beats and first accepted input beats: the
    steady-state spacings (the first WARMUP_PERIODS left out), the first frame's latency and
    the largest (None without a frame)."""
    spacings = np.diff(np.asarray(ends, dtype=np.int64))[WARMUP_PERIODS:].tolist()
    latencies = [end - start for start, end in zip(starts, ends, strict=False)]
    if not latencies:
        return spacings, None, None
    return spacings, int(latencies[0]), int(max(latencies))


def check_sizes(sizes: dict[str, int], net: Network, build: Path) -> None:
    """The DUT must be the one the build's IR describes."""
    want = {"IN_ELEMENTS": net.input.elements, "IN_BITS": net.input.bits, "CLASSES": net.classes}
    for name, value in want.items():
        if sizes[name] != value:
            raise RtlSimError(
                f"{build}: {TOP}.{name} = {sizes[name]} but the IR says {value}; recompile it"
            )


def _mem_dir(sources: list[Path], sim_dir: Path) -> str:
    """The memory files' directory relative to the simulation's working directory: no part
    of the build's own path (quotes, backslashes, non-ASCII) enters a Verilog string."""
    return os.path.relpath(sources[0].parent, sim_dir)


def simulate_build(
    build: Path,
    codes: np.ndarray,
    cfg: SimConfig | None = None,
    dut: SimDut | None = None,
    *,
    progress: bool = False,
    verbose: bool = False,
    stimulus: Path | None = None,
) -> RtlSimRun:
    """Simulate ``build``'s generated top on input ``codes`` (frames, elements); return the
    decoded outputs of both phases (not judged: see hwbnn.verify.rtl).

    ``stimulus`` (a hwbnn.sim.stimulus file) gives the stress phase's gaps and backpressure
    as per-cycle masks instead of the seeded random ones (to replay what hwbnn.sim.fast ran).

    ``dut`` replaces the generated top by other RTL of the same network, e.g. Verilog that
    Vitis HLS exported (hwbnn.sim.vitis.vitis_dut); it runs in ``BUILD/sim/<label>-<sim>/``.
    ``progress`` shows a bar over the frames on stderr; ``verbose`` sends the simulator's
    output to the terminal instead of ``build.log``/``sim.log`` in the simulation directory.

    Raises:
        ConfigError: the build has no rtl/ (compile with --target rtl), or no frames.
        RtlSimError: the simulator is missing or failed, or the DUT does not match the IR.
    """
    cfg = cfg or SimConfig()
    build = Path(build).resolve()
    sources = list(dut.sources) if dut else rtl_sources(build)
    net = load_network(build)
    folding = load_folding(build / "folding.json", net)
    codes = np.asarray(codes, dtype=np.int64)
    if codes.ndim == 0 or codes.size == 0:
        raise ConfigError("no input frames to simulate")
    codes = codes.reshape(len(codes), -1)
    pick = np.arange(cfg.ii_frames) % len(codes)

    sim_dir = build / SIM_DIR / (f"{dut.label}-{cfg.simulator}" if dut else cfg.simulator)
    check_paths(cfg.simulator, [sim_dir, *sources])  # before anything is written or run
    sim_dir.mkdir(parents=True, exist_ok=True)
    if dut:
        dut.prepare(sim_dir)
    results = sim_dir / RESULTS_FILE
    results.unlink(missing_ok=True)
    np.savez(sim_dir / "inputs.npz", stress=codes, throughput=codes[pick])
    tb_args = {
        "inputs": str(sim_dir / "inputs.npz"),
        "results": str(results),
        "seed": cfg.seed,
        "gap_prob": cfg.gap_prob,
        "backpressure_prob": cfg.backpressure_prob,
        "stimulus": str(Path(stimulus).resolve()) if stimulus else None,
    }
    if dut:
        tb_args |= {"ports": dut.ports.to_dict(), "sizes": dut.sizes}
    start = time.perf_counter()
    try:
        run_cocotb(
            sources=sources,
            toplevel=dut.toplevel if dut else TOP,
            test_module=BENCH,
            build_dir=sim_dir,
            parameters=dict(dut.parameters) if dut else {"MEM_DIR": _mem_dir(sources, sim_dir)},
            simulator=cfg.simulator,
            tb_args=tb_args,
            waves=cfg.waves,
            seed=cfg.seed,
            logs=None if verbose else sim_dir,
            progress=len(codes) + len(pick) if progress else None,
        )
    except SimulatorNotFound as exc:
        raise RtlSimError(str(exc)) from None
    except SimulationFailed as exc:
        text = " ".join(str(exc).split())
        raise RtlSimError(text[:400] + (" ..." if len(text) > 400 else "")) from None
    seconds = time.perf_counter() - start
    doc = json.loads(results.read_text())
    sizes = {name: int(value) for name, value in doc["sizes"].items()}
    check_sizes(sizes, net, build)
    raw_phases = doc["phases"]
    phases = [_phase(raw_phases[0], np.arange(len(codes)), sizes, net.classes)]
    spacings: list[int] = []
    latency = max_latency = None
    if len(raw_phases) > 1:
        phases.append(_phase(raw_phases[1], pick, sizes, net.classes))
        spacings, latency, max_latency = _timing(raw_phases[1], sizes["IN_BEATS"])
    waves = None
    if cfg.waves:
        candidates = [
            sim_dir / f"{dut.toplevel if dut else TOP}.fst",
            sim_dir / "dump.vcd",
            sim_dir / "dump.fst",
        ]
        waves = next((str(p) for p in candidates if p.is_file()), None)
    stress = phases[0]
    return RtlSimRun(
        engine=f"{dut.label}-rtl/{cfg.simulator}" if dut else cfg.simulator,
        simulator=cfg.simulator,
        layer=net.output_layer.name,
        initiation_interval=initiation_interval(net, folding),
        phases=phases,
        cycles_per_frame=float(np.mean(spacings)) if spacings else None,
        cycle_spacings=spacings,
        latency_cycles=latency,
        max_latency_cycles=max_latency,
        seconds=seconds,
        sim_frames_per_second=stress.frames / stress.wall_seconds if stress.wall_seconds else 0.0,
        sim_dir=sim_dir,
        log=None if verbose else sim_dir / SIM_LOG,
        waves=waves,
        sizes=sizes,
    )
