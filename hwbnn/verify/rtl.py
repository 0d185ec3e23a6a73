"""Level L4: the build's RTL simulated (hwbnn.sim.top) and judged against the reference.

Every phase's accumulators (the stress phase under random gaps and backpressure, the
throughput phase back to back) are compared with :func:`hwbnn.verify.judge.judge`, and each
phase's frames lost, duplicated, reordered or corrupted are counted
(:func:`hwbnn.verify.judge.stream_faults`, in ``details["phases"]``); framing and protocol
errors make the record fail too. The record's ``frames`` counts the frames of both
phases, ``mismatches`` those that differ; the measured cycles/frame and latency come from the
throughput phase. Engine: the simulator (``icarus``, ``verilator``), ``verilator-fast`` for
the compiled harness (hwbnn.sim.fast), or ``vitis-rtl/<sim>`` for Verilog exported by Vitis
HLS (``dut``).
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np

from hwbnn.errors import ConfigError
from hwbnn.ir.serialize import load_network
from hwbnn.reference import Reference
from hwbnn.sim.fast import simulate_fast
from hwbnn.sim.top import RtlSimRun, SimConfig, simulate_build
from hwbnn.sim.vitis import SimDut
from hwbnn.verify.inputs import frame_codes
from hwbnn.verify.judge import judge, stream_faults
from hwbnn.verify.record import Level, VerificationRecord, record_result


def judge_run(run: RtlSimRun, expected: np.ndarray, command: str = "") -> VerificationRecord:
    """The L4 record of a simulation whose input frames have reference accumulators
    ``expected`` (frames, classes)."""
    judgements = []
    phases: list[dict[str, Any]] = []
    framing: list[str] = []
    protocol: list[str] = []
    for phase in run.phases:
        verdict = judge(
            expected[phase.inputs],
            phase.accumulators,
            layer=run.layer,
            what=f"accumulators ({phase.name} phase)",
        )
        judgements.append(verdict)
        framing += [f"{phase.name} phase: {e}" for e in phase.framing_errors]
        protocol += [f"{phase.name} phase: {e}" for e in phase.protocol_errors]
        phases.append(
            {
                "name": phase.name,
                "frames": phase.frames,
                "frames_received": phase.frames_received,
                "beats_received": phase.beats_received,
                "mismatches": verdict.mismatches,
                **asdict(stream_faults(expected[phase.inputs], phase.accumulators)),
                "cycles": phase.cycles,
                "wall_seconds": round(phase.wall_seconds, 3),
            }
        )
    first = next((j.first_mismatch for j in judgements if not j.ok), None)
    # frames and mismatches count test frames (the throughput phase sends some again); an
    # extra output frame counts on its own
    sent = {int(i) for phase in run.phases for i in phase.inputs}
    wrong: set[int] = set()
    extra = 0
    for phase, verdict in zip(run.phases, judgements, strict=True):
        for i in verdict.mismatched_frames:
            if i < len(phase.inputs):
                wrong.add(int(phase.inputs[i]))
            else:
                extra += 1
    return VerificationRecord(
        level=Level.L4,
        engine=run.engine,
        frames=len(sent),
        mismatches=len(wrong) + extra,
        first_mismatch=first,
        cycles_per_frame=run.cycles_per_frame,
        latency_cycles=run.latency_cycles,
        seconds=round(run.seconds, 3),
        command=command,
        details={
            "phases": phases,
            "framing_errors": framing,
            "protocol_errors": protocol,
            "initiation_interval": run.initiation_interval,
            "ii_within_tolerance": run.ii_within_tolerance,
            "cycle_spacings": run.cycle_spacings,
            "max_latency_cycles": run.max_latency_cycles,
            "sim_frames_per_second": round(run.sim_frames_per_second, 2),
            "sim_dir": str(run.sim_dir),
            "log": str(run.log) if run.log else None,
            "waves": run.waves,
        },
    )


def verify_rtl(
    build: Path,
    codes: np.ndarray,
    cfg: SimConfig | None = None,
    *,
    dut: SimDut | None = None,
    command: str = "",
    progress: bool = False,
    verbose: bool = False,
) -> VerificationRecord:
    """Simulate ``build`` on input ``codes`` (frames, elements), judge every phase against
    the reference and store the L4 record in BUILD/verification.json; return it.

    ``cfg.fast`` runs the compiled Verilator harness (hwbnn.sim.fast, engine
    ``verilator-fast``) instead of the cocotb bench, on the same phases.

    A mismatch does not raise (the record says it); errors that stop the simulation do
    (hwbnn.sim.top.simulate_build's or hwbnn.sim.fast.simulate_fast's ConfigError and
    RtlSimError).
    """
    build = Path(build)
    codes = frame_codes(codes, "simulate")
    expected = Reference(load_network(build)).run_codes(codes).accumulators  # checks the codes
    if cfg is not None and cfg.fast:
        if dut is not None:
            raise ConfigError("the fast engine simulates the generated top only; drop --fast")
        run = simulate_fast(build, codes, cfg, progress=progress, verbose=verbose)
    else:
        run = simulate_build(build, codes, cfg, dut, progress=progress, verbose=verbose)
    return record_result(build, judge_run(run, expected, command))
