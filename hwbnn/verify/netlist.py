"""Level L5: the build's top synthesized for iCE40, its netlist simulated with yosys' cell
models (hwbnn.fpga.netlist) and the accumulators judged against the reference.

Framing and protocol errors make the record fail as well. Engine ``netlist-ice40/<simulator>``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from hwbnn.fpga.netlist import NetlistRun, simulate_netlist
from hwbnn.ir.serialize import load_network
from hwbnn.reference import Reference
from hwbnn.verify.inputs import frame_codes
from hwbnn.verify.judge import judge
from hwbnn.verify.record import Level, VerificationRecord, record_result


def judge_netlist_run(
    run: NetlistRun, expected: np.ndarray, command: str = ""
) -> VerificationRecord:
    """The L5 record of ``run`` against the reference accumulators ``expected``."""
    verdict = judge(expected, run.accumulators, layer=run.layer)
    return VerificationRecord(
        level=Level.L5,
        engine=run.engine,
        frames=verdict.frames,
        mismatches=verdict.mismatches,
        first_mismatch=verdict.first_mismatch,
        seconds=round(run.synth_seconds + run.sim_seconds, 2),
        command=command,
        details={
            "framing_errors": run.framing_errors,
            "protocol_errors": run.protocol_errors,
            "cells": run.cells,
            "synth_seconds": round(run.synth_seconds, 2),
            "sim_seconds": round(run.sim_seconds, 2),
            "netlist": str(run.netlist),
            "log": str(run.log) if run.log else None,
        },
    )


def verify_netlist(
    build: Path,
    codes: np.ndarray,
    *,
    seed: int = 0,
    gap_prob: float = 0.2,
    backpressure_prob: float = 0.3,
    tools: str = "auto",
    simulator: str | None = None,
    command: str = "",
    progress: bool = False,
    verbose: bool = False,
) -> VerificationRecord:
    """Synthesize and simulate ``build``'s netlist on ``codes`` (frames, elements), judge it
    and store the L5 record in BUILD/verification.json; return it (a mismatch does not
    raise). See :func:`hwbnn.fpga.netlist.simulate_netlist` for the options and errors."""
    build = Path(build)
    codes = frame_codes(codes, "simulate")
    expected = Reference(load_network(build)).run_codes(codes).accumulators  # checks the codes
    run = simulate_netlist(
        build,
        codes,
        seed,
        gap_prob,
        backpressure_prob,
        tools,
        simulator,
        progress=progress,
        verbose=verbose,
    )
    return record_result(build, judge_netlist_run(run, expected, command))
