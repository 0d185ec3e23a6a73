"""RTL simulation (level L4 of the verification ladder) of a build made with ``--target rtl``.

:func:`simulate_build` runs the generated ``hwbnn_top`` (``BUILD/rtl/``) in a cocotb bench
(hwbnn/sim/top_bench.py) on Icarus Verilog or Verilator, building in ``BUILD/sim/<simulator>/``,
and judges what came out against the bit-exact reference (hwbnn.reference), exactly
(``np.array_equal``):

- stress phase: every frame under random s_axis gaps and random m_axis backpressure (seeded);
  the output must be exactly one frame per input frame, ``OUT_BEATS`` beats each with tlast on
  the last beat only, every accumulator equal to the reference;
- throughput phase (after a reset): ``ii_frames`` frames back to back, no gaps, no
  backpressure; checked the same way, and timed: cycles per frame from the spacing of the
  output frames' last beats in steady state (the first ``WARMUP_PERIODS`` spacings are the
  pipeline filling and are left out), compared with :func:`hwbnn.ir.folding.initiation_interval`;
  latency from a frame's first accepted input beat to its last output beat.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from hwbnn.codegen.rtl import TOP, rtl_sources
from hwbnn.errors import ConfigError, HwbnnError
from hwbnn.ir.folding import initiation_interval, load_folding
from hwbnn.ir.serialize import load_network
from hwbnn.ir.types import Network
from hwbnn.reference import Reference
from hwbnn.sim.packing import unpack_beats
from hwbnn.sim.runner import SIMULATORS, SimulationFailed, SimulatorNotFound, run_cocotb
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


class RtlMismatch(HwbnnError):
    """The RTL simulation ran but its output differs from the reference (values or framing)."""

    def __init__(self, report: RtlSimReport) -> None:
        self.report = report
        super().__init__(report.failure_summary())


@dataclass(frozen=True)
class SimConfig:
    """How to simulate: simulator, randomness of the stress phase, throughput frames, waves."""

    simulator: str = "icarus"
    seed: int = 0
    gap_prob: float = 0.3
    backpressure_prob: float = 0.3
    ii_frames: int = 8
    waves: bool = False

    def __post_init__(self) -> None:
        if self.simulator not in SIMULATORS:
            raise ConfigError(f"unknown simulator {self.simulator!r}; choose one of {SIMULATORS}")
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
class PhaseReport:
    """One phase judged against the reference."""

    name: str
    frames: int  # frames sent
    frames_received: int  # output beats with tlast
    beats_received: int
    mismatched_frames: int  # frames whose accumulators differ, or that never came
    first_mismatch: dict[str, Any] | None  # frame, class, expected, got (None: missing)
    framing_errors: list[str]  # tlast misplaced, beats missing or extra, timeout
    protocol_errors: list[str]  # AXI4-Stream violations seen by the sink
    cycles: int
    wall_seconds: float

    @property
    def ok(self) -> bool:
        return not (self.mismatched_frames or self.framing_errors or self.protocol_errors)


@dataclass(frozen=True)
class RtlSimReport:
    """Both phases plus the timing figures."""

    simulator: str
    layer: str  # the output layer
    classes: int
    initiation_interval: int  # analytical: the slowest layer's cycles per frame
    phases: list[PhaseReport]
    cycles_per_frame: float | None  # measured, mean over the steady-state spacings
    cycle_spacings: list[int]  # steady-state spacings of the throughput phase
    latency_cycles: int | None  # first frame of the throughput phase (empty pipeline)
    max_latency_cycles: int | None  # over the throughput phase
    seconds: float  # build and run, wall clock
    sim_frames_per_second: float  # frames of the stress phase per wall-clock second
    waves: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return all(p.ok for p in self.phases)

    @property
    def frames(self) -> int:
        return self.phases[0].frames

    @property
    def ii_within_tolerance(self) -> bool | None:
        if not self.cycle_spacings:
            return None
        spacings = np.asarray(self.cycle_spacings)
        return bool(np.all(np.abs(spacings - self.initiation_interval) <= II_TOLERANCE))

    def failure_summary(self) -> str:
        bad = [p for p in self.phases if not p.ok]
        if not bad:
            return "RTL simulation matches the reference"
        p = bad[0]
        parts = [f"RTL simulation ({self.simulator}, {p.name} phase) differs from the reference:"]
        if p.mismatched_frames:
            parts.append(f"{p.mismatched_frames} of {p.frames} frames wrong")
            m = p.first_mismatch or {}
            got = "nothing (frame missing)" if m.get("got") is None else m["got"]
            parts.append(
                f"first: frame {m.get('frame')}, class {m.get('class')} of layer {self.layer}: "
                f"expected {m.get('expected')}, got {got};"
            )
        if p.framing_errors:
            parts.append(f"framing: {p.framing_errors[0]};")
        if p.protocol_errors:
            parts.append(f"protocol: {p.protocol_errors[0]};")
        return " ".join(parts).rstrip(";")

    def to_dict(self) -> dict[str, Any]:
        doc = asdict(self)
        doc.update(
            ok=self.ok,
            frames=self.frames,
            mismatched_frames=sum(p.mismatched_frames for p in self.phases),
            ii_within_tolerance=self.ii_within_tolerance,
        )
        return doc


def _judge_phase(
    raw: dict[str, Any], expected: np.ndarray, sizes: dict[str, int], out_beats: int
) -> PhaseReport:
    """Decode one phase's output beats and compare them with ``expected`` (frames, classes)."""
    beats = raw["beats"]
    frames = len(expected)
    framing: list[str] = []
    if raw["timed_out"]:
        framing.append(f"timed out after {raw['budget_cycles']} cycles")
    lasts = [bool(b[1]) for b in beats]
    want = [(k % out_beats) == out_beats - 1 for k in range(len(beats))]
    wrong = [k for k, (a, b) in enumerate(zip(lasts, want, strict=True)) if a != b]
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
    got = unpack_beats(words, sizes["ACC_WIDTH"], sizes["OUT_PE"], signed=True)
    got = got.reshape(complete, expected.shape[1])  # (-1 fails when nothing came)
    differs = np.zeros(frames, dtype=bool)
    differs[complete:] = True
    differs[:complete] = np.any(got != expected[:complete], axis=1)
    first: dict[str, Any] | None = None
    if differs.any():
        frame = int(np.flatnonzero(differs)[0])
        if frame < complete:
            cls = int(np.flatnonzero(got[frame] != expected[frame])[0])
            value: int | None = int(got[frame, cls])
        else:
            cls, value = 0, None
        first = {"frame": frame, "class": cls, "expected": int(expected[frame, cls]), "got": value}
    return PhaseReport(
        name=raw["name"],
        frames=frames,
        frames_received=sum(lasts),
        beats_received=len(beats),
        mismatched_frames=int(differs.sum()),
        first_mismatch=first,
        framing_errors=framing,
        protocol_errors=list(raw["protocol_errors"]),
        cycles=int(raw["cycles"]),
        wall_seconds=float(raw["wall_seconds"]),
    )


def _timing(raw: dict[str, Any], in_beats: int) -> tuple[list[int], int | None, int | None]:
    """Steady-state output frame spacings and latencies of the throughput phase."""
    ends = [int(b[2]) for b in raw["beats"] if b[1]]
    starts = [int(c) for c in raw["accepted"][::in_beats]]
    spacings = np.diff(ends)[WARMUP_PERIODS:].tolist()
    latencies = [end - start for start, end in zip(starts, ends, strict=False)]
    if not latencies:
        return spacings, None, None
    return spacings, latencies[0], max(latencies)


def _check_sizes(sizes: dict[str, int], net: Network, build: Path) -> None:
    """The DUT must be the one the build's IR describes."""
    want = {"IN_ELEMENTS": net.input.elements, "IN_BITS": net.input.bits, "CLASSES": net.classes}
    for name, value in want.items():
        if sizes[name] != value:
            raise RtlSimError(
                f"{build}: {TOP}.{name} = {sizes[name]} but the IR says {value}; recompile it"
            )


def simulate_build(
    build: Path, codes: np.ndarray, cfg: SimConfig | None = None, dut: SimDut | None = None
) -> RtlSimReport:
    """Simulate ``build``'s generated top on input ``codes`` (frames, elements) and judge it.

    ``dut`` replaces the generated top by other RTL of the same network, e.g. Verilog that
    Vitis HLS exported (hwbnn.sim.vitis.vitis_dut); it runs in ``BUILD/sim/<label>-<sim>/``.

    Raises:
        ConfigError: the build has no rtl/ (compile with --target rtl).
        RtlSimError: the simulator is missing or failed, or the DUT does not match the IR.
    """
    cfg = cfg or SimConfig()
    build = Path(build).resolve()
    sources = list(dut.sources) if dut else rtl_sources(build)
    net = load_network(build)
    folding = load_folding(build / "folding.json", net)
    codes = np.asarray(codes, dtype=np.int64).reshape(len(codes), -1)
    if len(codes) == 0:
        raise ConfigError("no input frames to simulate")
    reference = Reference(net)
    expected = reference.run_codes(codes).accumulators
    pick = np.arange(cfg.ii_frames) % len(codes)
    throughput, expected_throughput = codes[pick], expected[pick]

    sim_dir = build / SIM_DIR / (f"{dut.label}-{cfg.simulator}" if dut else cfg.simulator)
    sim_dir.mkdir(parents=True, exist_ok=True)
    if dut:
        dut.prepare(sim_dir)
    results = sim_dir / RESULTS_FILE
    results.unlink(missing_ok=True)
    np.savez(sim_dir / "inputs.npz", stress=codes, throughput=throughput)
    tb_args = {
        "inputs": str(sim_dir / "inputs.npz"),
        "results": str(results),
        "seed": cfg.seed,
        "gap_prob": cfg.gap_prob,
        "backpressure_prob": cfg.backpressure_prob,
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
            parameters=dict(dut.parameters) if dut else {"MEM_DIR": str(sources[0].parent)},
            simulator=cfg.simulator,
            tb_args=tb_args,
            waves=cfg.waves,
            seed=cfg.seed,
        )
    except SimulatorNotFound as exc:
        raise RtlSimError(str(exc)) from None
    except SimulationFailed as exc:
        text = " ".join(str(exc).split())
        raise RtlSimError(text[:400] + (" ..." if len(text) > 400 else "")) from None
    seconds = time.perf_counter() - start
    doc = json.loads(results.read_text())
    sizes = {name: int(value) for name, value in doc["sizes"].items()}
    _check_sizes(sizes, net, build)
    out_beats, in_beats = sizes["OUT_BEATS"], sizes["IN_BEATS"]
    raw_phases = doc["phases"]
    phases = [_judge_phase(raw_phases[0], expected, sizes, out_beats)]
    spacings: list[int] = []
    latency = max_latency = None
    if len(raw_phases) > 1:
        phases.append(_judge_phase(raw_phases[1], expected_throughput, sizes, out_beats))
        spacings, latency, max_latency = _timing(raw_phases[1], in_beats)
    waves = None
    if cfg.waves:
        candidates = [
            sim_dir / f"{dut.toplevel if dut else TOP}.fst",
            sim_dir / "dump.vcd",
            sim_dir / "dump.fst",
        ]
        waves = next((str(p) for p in candidates if p.is_file()), None)
    stress = phases[0]
    return RtlSimReport(
        simulator=cfg.simulator,
        layer=net.output_layer.name,
        classes=net.classes,
        initiation_interval=initiation_interval(net, folding),
        phases=phases,
        cycles_per_frame=float(np.mean(spacings)) if spacings else None,
        cycle_spacings=spacings,
        latency_cycles=latency,
        max_latency_cycles=max_latency,
        seconds=seconds,
        sim_frames_per_second=stress.frames / stress.wall_seconds if stress.wall_seconds else 0.0,
        waves=waves,
        extra={"sizes": sizes, "sim_dir": str(sim_dir)},
    )


def verify_rtl(build: Path, codes: np.ndarray, cfg: SimConfig | None = None) -> RtlSimReport:
    """:func:`simulate_build`, raising :class:`RtlMismatch` unless every frame matches."""
    report = simulate_build(build, codes, cfg)
    if not report.ok:
        raise RtlMismatch(report)
    return report
