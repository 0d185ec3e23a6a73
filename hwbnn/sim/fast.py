"""The fast L4 engine: the generated top in a compiled Verilator C++ harness, no Python per cycle.

:func:`simulate_fast` runs the same two phases as the cocotb bench (hwbnn.sim.top) and returns
the same :class:`hwbnn.sim.top.RtlSimRun`, judged by the same judge (hwbnn.verify.rtl):

- stress phase: every frame, input gaps and output backpressure from a
  :class:`hwbnn.sim.stimulus.Stimulus` (drawn from ``SimConfig.seed``, or a given file);
- throughput phase (after a reset): ``ii_frames`` frames back to back, for cycles/frame and
  latency, measured as hwbnn.sim.top measures them.

Python writes the stimulus as files into ``BUILD/sim/fast/``: ``inputs.bin`` (every input
beat, packed as the plan's stream format, in 32-bit little-endian words), ``valid.bin`` and
``ready.bin`` (the bit-packed masks, repeated every period) and ``stimulus.npz`` (the same
masks, which the cocotb bench replays: ``simulate_build(..., stimulus=...)``). The harness
(``templates/fast_harness.cpp.j2``, rendered with the plan's top sizes) drives the cycles and
writes every accepted output beat with its cycle and tlast (binary, 8 bytes plus the data
words a beat) and each input frame's first accept cycle; Python decodes them with
:func:`hwbnn.sim.top.decode_frames`.

The harness is built once per build directory into ``BUILD/sim/fast/`` (``verilator --cc
--exe --build``; output in ``build.log``) and rebuilt only when the hash of the RTL sources,
the harness and the Verilator command changes. Its run output goes to ``sim.log``; "progress
N" lines on its stdout feed a tqdm bar over the frames.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import time
from pathlib import Path

import numpy as np

from hwbnn.codegen.rtl import TOP, rtl_sources
from hwbnn.codegen.templating import render_file
from hwbnn.errors import ConfigError
from hwbnn.ir.serialize import load_network
from hwbnn.plan import load_plan
from hwbnn.sim.runner import (
    BUILD_LOG,
    MAX_NUM_WIDTH,
    SIM_LOG,
    SimulatorNotFound,
    check_paths,
    first_error,
    frame_bar,
)
from hwbnn.sim.runner import verilator_environment as _verilator_environment
from hwbnn.sim.stimulus import Stimulus, make_stimulus
from hwbnn.sim.top import (
    SIM_DIR,
    PhaseRun,
    RtlSimError,
    RtlSimRun,
    SimConfig,
    check_sizes,
    decode_frames,
    frame_timing,
)
from hwbnn.sim.top_bench import RESET_CYCLES, timeout_budget

ENGINE = "verilator-fast"
FAST_DIR = "fast"
HARNESS = "harness"
STIMULUS_FILE = "stimulus.npz"
HASH_FILE = "harness.sha256"
TEMPLATE_DIR = Path(__file__).resolve().parent / "templates"
#: Verilator options of the harness build (speed: no assertions, X as fast as possible; the
#: XNOR popcounts summed by word, the simulation model of rtl/hwbnn_popcount.v and
#: rtl/hwbnn_adder_tree.v; the model split
#: into C++ files small enough for both compile jobs to share the work; literals as wide as a
#: layer's constant weights).
VERILATOR_FLAGS = (
    "-O3",
    *MAX_NUM_WIDTH,
    "+define+HWBNN_FAST_POPCOUNT",
    "--x-assign",
    "fast",
    "--x-initial",
    "fast",
    "--noassert",
    "-Wno-fatal",
    "--output-split",
    "2000",
)
#: C++ optimisation of the model: measured on an SFC-shaped top, -O1 builds in about half
#: the time of -O2 and runs as fast; verilated.mk's default -Os builds and runs slowest.
OPT_FAST = "-O1"
#: Parallel compile jobs of the harness build.
BUILD_JOBS = 2
#: Characters of a path that Verilator's generated make and shell commands cannot take (each
#: measured to break the harness build; the paths are passed relative to the build instead)
MAKE_UNSAFE = frozenset(" \t\"'\\$#:;&()*`=")
#: Frames packed into input beats at a time (bounds the memory of the bit arrays).
PACK_CHUNK = 1024
#: Progress lines per run (at most).
PROGRESS_STEPS = 200


def verilator_environment() -> dict[str, str]:
    """hwbnn.sim.runner's Verilator environment, or an RtlSimError saying how to install it."""
    try:
        return _verilator_environment()
    except SimulatorNotFound as exc:
        raise RtlSimError(f"{exc} (needed by the fast engine, --fast)") from None


def pack_words(codes: np.ndarray, bits: int, simd: int, words: int) -> np.ndarray:
    """Input beats of ``codes`` (frames, elements) as uint32 words (beats, ``words``): code
    ``i`` of a frame at bits ``[(i % simd)*bits, +bits)`` of beat ``i // simd``, as
    hwbnn.plan.packing.pack_beats lays them out, the beat's bits LSB first over the words."""
    frames, elements = codes.shape
    if elements % simd or words * 32 < simd * bits:
        raise ConfigError(f"{elements} codes do not fill beats of {simd} x {bits} bits")
    if codes.size and (codes.min() < 0 or codes.max() >= (1 << bits)):
        raise ConfigError(f"input codes must lie in [0, {1 << bits})")
    beats = elements // simd
    shifts = np.arange(bits, dtype=np.int64)
    out = np.empty((frames * beats, words), dtype="<u4")
    for start in range(0, frames, PACK_CHUNK):
        chunk = codes[start : start + PACK_CHUNK]
        bit = ((chunk[..., None] >> shifts) & 1).astype(np.uint8)
        bit = bit.reshape(len(chunk) * beats, simd * bits)
        bit = np.pad(bit, ((0, 0), (0, words * 32 - simd * bits)))
        packed = np.packbits(bit, axis=1, bitorder="little")
        out[start * beats : (start + len(chunk)) * beats] = packed.view("<u4")
    return out


def harness_source(sizes: dict[str, int]) -> str:
    """The C++ harness for a top of these sizes (hwbnn.plan.Plan.top_localparams)."""
    in_words = -(-sizes["IN_WIDTH"] // 32)
    top_bits = sizes["IN_WIDTH"] - 32 * (in_words - 1)
    return render_file(
        TEMPLATE_DIR,
        "fast_harness.cpp.j2",
        top=TOP,
        in_words=in_words,
        out_words=-(-sizes["OUT_WIDTH"] // 32),
        in_beats=sizes["IN_BEATS"],
        in_top_mask=f"{(1 << top_bits) - 1:#x}",
        in_wide=sizes["IN_WIDTH"] > 64,
        out_wide=sizes["OUT_WIDTH"] > 64,
        reset_cycles=RESET_CYCLES,
    )


def build_harness(build: Path, sizes: dict[str, int], *, verbose: bool = False) -> Path:
    """The harness executable of ``build`` in ``BUILD/sim/fast/``, built unless the one
    there was built from the same RTL sources, harness and Verilator command.

    Raises:
        ConfigError: the build has no rtl/.
        RtlSimError: Verilator is missing or the build failed (naming build.log).
    """
    build = Path(build).resolve()
    sources = rtl_sources(build)
    env = verilator_environment()
    fast_dir = build / SIM_DIR / FAST_DIR
    # verilated.mk refuses to build in a directory whose path has white space (measured)
    check_paths("verilator", [fast_dir], frozenset(" \t"), " (or drop --fast)")
    fast_dir.mkdir(parents=True, exist_ok=True)
    cpp = fast_dir / "harness.cpp"
    exe = fast_dir / HARNESS
    text = harness_source(sizes)
    # Every path relative to fast_dir (the build's cwd, and the harness's when it runs), so
    # none of the build directory's name reaches Verilator's make and shell commands or the
    # $readmemh paths: a build under "a b", "x$y" or "q\"x" builds and reads its memories.
    command = [
        "verilator",
        "--cc",
        "--exe",
        "--build",
        "-j",
        str(BUILD_JOBS),
        *VERILATOR_FLAGS,
        "--top-module",
        TOP,
        f'-GMEM_DIR="{_relative(sources[0].parent, fast_dir)}"',
        "-Mdir",
        "obj",
        "-MAKEFLAGS",
        f"OPT_FAST={OPT_FAST}",
        "-o",
        f"../{HARNESS}",  # relative to -Mdir, where make runs
        cpp.name,
        *(_relative(source, fast_dir) for source in sources),
    ]
    digest = hashlib.sha256("\0".join([*command, env.get("VERILATOR_ROOT", ""), text]).encode())
    for source in sources:
        digest.update(source.read_bytes())
    key = digest.hexdigest()
    stamp = fast_dir / HASH_FILE
    if exe.is_file() and stamp.is_file() and stamp.read_text().strip() == key:
        return exe
    stamp.unlink(missing_ok=True)
    cpp.write_text(text)
    log = fast_dir / BUILD_LOG
    with log.open("w") as out:
        done = subprocess.run(
            command,
            cwd=fast_dir,
            env=os.environ | env,
            stdout=None if verbose else out,
            stderr=None if verbose else subprocess.STDOUT,
            check=False,
        )
    if done.returncode != 0 or not exe.is_file():
        reason = first_error(log) or f"exit status {done.returncode}"
        raise RtlSimError(f"verilator build of the fast harness failed: {reason} (log: {log})")
    stamp.write_text(key + "\n")
    return exe


def _relative(path: Path, start: Path) -> str:
    """``path`` relative to ``start``; refused (ConfigError) if it would still hold a
    character Verilator's make or shell commands cannot take (a source outside the build
    whose own absolute path has one)."""
    text = os.path.relpath(path, start)
    bad = next((c for c in text if c in MAKE_UNSAFE or not c.isprintable()), None)
    if bad is not None:
        raise ConfigError(
            f"{path}: the fast engine (Verilator's make) cannot take a path containing "
            f"{bad!r}; move it to a path without one"
        )
    return text


def _run(exe: Path, args: list[str], log: Path, total: int, progress: bool) -> None:
    """Run the harness; stdout's progress lines move a tqdm bar (when ``progress``)."""
    bar = frame_bar(total, f"{ENGINE} {TOP}") if progress else None
    with log.open("w") as err:
        proc = subprocess.Popen(
            [str(exe), *args], stdout=subprocess.PIPE, stderr=err, text=True, cwd=exe.parent
        )
        assert proc.stdout is not None
        for line in proc.stdout:
            if bar is not None and line.startswith("progress "):
                bar.update(min(int(line.split()[1]), total) - bar.n)
        status = proc.wait()
    if bar is not None:
        bar.refresh()  # the final count, also where redraws are rare (a log)
        bar.close()
    if status != 0:
        reason = first_error(log) or log.read_text(errors="replace").strip()[:200]
        raise RtlSimError(f"fast harness failed (exit status {status}): {reason} (log: {log})")


def recorded_beats(fast_dir: Path, name: str, out_width: int) -> tuple[list[list[int]], np.ndarray]:
    """What the harness recorded in phase ``name``: every accepted output beat as
    ``[data, last, cycle]`` (as the cocotb bench records them) and the accept cycle of each
    input frame's first beat (int64)."""
    out_words = -(-out_width // 32)
    kind = np.dtype([("tag", "<u8"), ("data", "<u4", (out_words,))])
    raw = np.fromfile(Path(fast_dir) / f"{name}_out.bin", dtype=kind)
    starts = np.fromfile(Path(fast_dir) / f"{name}_starts.bin", dtype="<u8").astype(np.int64)
    tags = raw["tag"].tolist()
    words = [0] * len(raw)
    for k in range(out_words):
        column = raw["data"][:, k].tolist()
        words = [w | (c << (32 * k)) for w, c in zip(words, column, strict=True)]
    beats = [[w, tag & 1, tag >> 1] for w, tag in zip(words, tags, strict=True)]
    return beats, starts


def _phase(
    fast_dir: Path, name: str, inputs: np.ndarray, sizes: dict[str, int], classes: int
) -> tuple[PhaseRun, np.ndarray, np.ndarray]:
    """The decoded phase, and the cycles of its tlast beats and of its frames' first input
    beats."""
    beats, starts = recorded_beats(fast_dir, name, sizes["OUT_WIDTH"])
    summary: dict[str, float] = {}
    errors: list[str] = []
    for line in (fast_dir / f"{name}.txt").read_text().splitlines():
        key, _, value = line.partition(" ")
        if key == "error":
            errors.append(value)
        else:
            summary[key] = float(value)
    framing = [f"timed out after {summary['budget']:.0f} cycles"] if summary["timed_out"] else []
    got, bad = decode_frames(
        beats, len(inputs), sizes["OUT_BEATS"], sizes["ACC_WIDTH"], sizes["OUT_PE"], classes
    )
    phase = PhaseRun(
        name=name,
        inputs=inputs,
        accumulators=got,
        frames_received=sum(b[1] for b in beats),
        beats_received=len(beats),
        framing_errors=framing + bad,
        protocol_errors=errors,
        cycles=int(summary["cycles"]),
        wall_seconds=summary["seconds"],
    )
    return phase, np.array([b[2] for b in beats if b[1]], dtype=np.int64), starts


def simulate_fast(
    build: Path,
    codes: np.ndarray,
    cfg: SimConfig | None = None,
    *,
    stimulus: Path | None = None,
    progress: bool = False,
    verbose: bool = False,
) -> RtlSimRun:
    """Simulate ``build``'s generated top on input ``codes`` (frames, elements) in the
    compiled harness; return both phases decoded (not judged: see hwbnn.verify.rtl).

    The stress phase replays ``stimulus`` (a hwbnn.sim.stimulus file) if given, else masks
    drawn from ``cfg.seed``, ``cfg.gap_prob`` and ``cfg.backpressure_prob``; either way they
    are left in ``BUILD/sim/fast/stimulus.npz`` for the cocotb bench to replay.
    ``cfg.simulator`` and ``cfg.fast`` are not used (the engine is Verilator; SimConfig
    refuses ``fast`` with ``waves``).

    Raises:
        ConfigError: the build has no rtl/, or no frames.
        RtlSimError: Verilator is missing, the harness did not build or run, or the top's
            sizes do not match the build's IR.
    """
    cfg = cfg or SimConfig(fast=True)
    start = time.perf_counter()
    build = Path(build).resolve()
    rtl_sources(build)  # a clear error for a build made without --target rtl
    net = load_network(build)
    plan = load_plan(build)
    sizes = plan.top_localparams()
    check_sizes(sizes, net, build)
    codes = np.asarray(codes, dtype=np.int64)
    if codes.ndim == 0 or codes.size == 0:
        raise ConfigError("no input frames to simulate")
    codes = codes.reshape(len(codes), -1)
    pick = np.arange(cfg.ii_frames) % len(codes)
    exe = build_harness(build, sizes, verbose=verbose)
    fast_dir = exe.parent

    per_frame = sizes["II_CYCLES"] + sizes["IN_BEATS"] + sizes["OUT_BEATS"]
    if stimulus is not None:
        masks = Stimulus.load(stimulus)
    else:
        slowdown = 1.0 / (1.0 - max(cfg.gap_prob, cfg.backpressure_prob))
        cycles = int(2 * (len(codes) + sizes["LAYERS"]) * per_frame * slowdown)
        masks = make_stimulus(cfg.seed, cfg.gap_prob, cfg.backpressure_prob, cycles)
    masks.save(fast_dir / STIMULUS_FILE)
    np.packbits(masks.valid, bitorder="little").tofile(fast_dir / "valid.bin")
    np.packbits(masks.ready, bitorder="little").tofile(fast_dir / "ready.bin")
    in_words = -(-sizes["IN_WIDTH"] // 32)
    frames = np.concatenate([codes, codes[pick]])
    pack_words(frames, sizes["IN_BITS"], sizes["IN_SIMD"], in_words).tofile(fast_dir / "inputs.bin")
    gap, stall = 1.0 - float(masks.valid.mean()), 1.0 - float(masks.ready.mean())
    budgets = (
        timeout_budget(len(codes), sizes, gap, stall),
        timeout_budget(len(pick), sizes, 0.0, 0.0),
    )
    total = len(codes) + len(pick)
    args = [
        str(fast_dir),
        str(len(codes)),
        str(len(pick)),
        str(masks.period),
        *map(str, budgets),
        str(2 * per_frame + 50),
        str(max(1, total // PROGRESS_STEPS)),
    ]
    log = fast_dir / SIM_LOG
    for name in ("stress", "throughput"):
        (fast_dir / f"{name}.txt").unlink(missing_ok=True)
    _run(exe, args, log, total, progress)

    stress, _, _ = _phase(fast_dir, "stress", np.arange(len(codes)), sizes, net.classes)
    phases = [stress]
    spacings: list[int] = []
    latency = max_latency = None
    if len(pick):
        phase, ends, starts = _phase(fast_dir, "throughput", pick, sizes, net.classes)
        phases.append(phase)
        spacings, latency, max_latency = frame_timing(ends.tolist(), starts.tolist())
    return RtlSimRun(
        engine=ENGINE,
        simulator="verilator",
        layer=net.output_layer.name,
        initiation_interval=plan.initiation_interval,
        phases=phases,
        cycles_per_frame=float(np.mean(spacings)) if spacings else None,
        cycle_spacings=spacings,
        latency_cycles=latency,
        max_latency_cycles=max_latency,
        seconds=time.perf_counter() - start,
        sim_frames_per_second=stress.frames / stress.wall_seconds if stress.wall_seconds else 0.0,
        sim_dir=fast_dir,
        log=log,
        sizes=sizes,
    )
