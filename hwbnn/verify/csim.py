"""Level L3: a build's C++ run by its C simulation (hwbnn.sim.csim) and judged against the
reference.

The engine follows the build's target: ``g++`` for ``--target hls`` (hwbnn's generated top and
testbench), ``hls4ml`` for ``--target hls4ml`` (the hls4ml project, compiled and run with
hls4ml's ``predict``). The output layer's accumulators are judged with
:func:`hwbnn.verify.judge.judge`. For hls4ml a mismatch is then located: hls4ml's ``trace()``
gives every hwbnn layer's output, and the first layer whose outputs differ from the
reference's is the one the record names.
"""

from __future__ import annotations

import contextlib
import io
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from hwbnn import units
from hwbnn.codegen.cxx import DEFAULT_FLAGS
from hwbnn.errors import HwbnnError
from hwbnn.ir.serialize import load_network
from hwbnn.ir.types import Network
from hwbnn.reference import Reference
from hwbnn.sim.csim import (
    CSIM_DIR,
    HLS4ML_LOG,
    RUN_LOG,
    csim_engine,
    run_csim,
    run_hls4ml_csim,
)
from hwbnn.verify.inputs import frame_codes
from hwbnn.verify.judge import Judgement, judge
from hwbnn.verify.record import Level, VerificationRecord, read_results, record_result


def _stderr_line(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def _eta(build: Path, engine: str, frames: int) -> str:
    """An estimate of the simulation's time (not the C++ build's, which a cached executable
    skips) from the build's last L3 record of ``engine``, or "" without one."""
    try:
        last = [r for r in read_results(build) if r.level is Level.L3 and r.engine == engine]
    except HwbnnError:  # a damaged verification.json is reported when the result is recorded
        return ""
    rate = last[-1].details.get("frames_per_second") if last else None
    if not rate:
        return ""
    rate = float(rate)
    return (
        f" (simulation about {units.seconds(frames / rate)} at the last run's {units.rate(rate)})"
    )


def locate_hls4ml_mismatch(
    model: Any, net: Network, codes: np.ndarray, layer_outputs: Sequence[np.ndarray]
) -> Judgement | None:
    """The judgement of the first layer whose hls4ml ``trace()`` output differs from the
    reference's ``layer_outputs`` (None when every traced layer agrees)."""
    x = np.ascontiguousarray(codes.astype(np.float32))
    with contextlib.redirect_stdout(io.StringIO()):
        _, traces = model.trace(x)
    for layer, want in zip(net.layers, layer_outputs, strict=True):
        if layer.name not in traces:
            continue
        have = np.asarray(traces[layer.name], dtype=np.float64).reshape(len(codes), -1)
        verdict = judge(
            np.asarray(want, dtype=np.float64).reshape(len(codes), -1),
            have,
            layer=layer.name,
            what="outputs (hls4ml trace)",
        )
        if not verdict.ok:
            return verdict
    return None


def verify_csim(
    build: Path,
    codes: np.ndarray,
    *,
    command: str = "",
    progress: bool = False,
    log: Callable[[str], None] | None = None,
    verbose: bool = False,
    compiler: str = "g++",
    flags: Sequence[str] = DEFAULT_FLAGS,
    cache_dir: Path | None = None,
) -> VerificationRecord:
    """C-simulate ``build`` on input ``codes`` (frames, elements), judge the accumulators
    against the reference and store the L3 record in BUILD/verification.json; return it.

    ``log`` receives one line per stage (compiling, running); ``progress`` without ``log``
    prints them on stderr (the C simulation reports no progress while it runs). ``verbose``
    shows hls4ml's build output; ``compiler``, ``flags`` and ``cache_dir`` (a directory
    shared by builds for the precompiled ap_types headers) apply to the g++ engine.

    A mismatch does not raise (the record says it); CsimError when the C++ cannot be built
    or run, ConfigError when the build has no C++ code.
    """
    build = Path(build)
    say = log or (_stderr_line if progress else None)
    engine = csim_engine(build)
    net = load_network(build)
    codes = frame_codes(codes, "C-simulate")
    expected = Reference(net).run_codes(codes, keep_layers=engine == "hls4ml")  # checks codes
    if say:
        eta = _eta(build, engine, len(codes))
        say(f"C-sim ({engine}): building and running {len(codes):,} frames{eta}")
    if engine == "g++":
        run = run_csim(build, codes, compiler=compiler, flags=flags, cache_dir=cache_dir)
        logs: dict[str, str | None] = {"log": str(build / CSIM_DIR / RUN_LOG)}
    else:
        run = run_hls4ml_csim(build, codes, verbose=verbose)
        logs = {"log": None if verbose else str(build / CSIM_DIR / HLS4ML_LOG)}
    verdict = judge(expected.accumulators, run.accumulators, layer=net.output_layer.name)
    first = verdict.first_mismatch
    if not verdict.ok and run.model is not None:
        located = locate_hls4ml_mismatch(run.model, net, codes, expected.layer_outputs)
        if located is not None:
            first = f"{located.first_mismatch} (first differing layer; output: {first})"
    if say:
        say(f"C-sim ({engine}): {verdict.mismatches:,} of {verdict.frames:,} frames differ")
    record = VerificationRecord(
        level=Level.L3,
        engine=engine,
        frames=verdict.frames,
        mismatches=verdict.mismatches,
        first_mismatch=first,
        seconds=round(run.seconds, 4),
        command=command,
        details={
            "compiled": run.compiled,
            "compile_seconds": round(run.compile_seconds, 2),
            "frames_per_second": round(len(codes) / run.seconds, 1) if run.seconds > 0 else None,
            **logs,
        },
    )
    return record_result(build, record)
