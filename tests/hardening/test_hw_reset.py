"""Reset in the middle of work: generated tops recover, and the next frames are exact.

A synchronous reset may come at any cycle: while a frame is half sent, while output frames
wait behind a stalled consumer (FIFOs, line buffers and accumulators full of a frame that
will never finish), or at a random cycle. After the reset the accelerator must behave as if
just powered up: every frame sent afterwards comes out exactly once, equal to the reference
(hwbnn.reference, judged by hwbnn.verify.judge), with nothing left over from before the
reset (a stale beat in a FIFO or a half-counted window would shift or corrupt the outputs).

The cocotb bench below (this file is its own test module, as in tests/rtl) drives both
streams cycle by cycle itself rather than through cocotbext-axi, because a reset must cut a
frame at an exact beat and drop what the source still holds. Per round: a *disturb* segment
streams frames under random gaps and backpressure and asserts ``rst`` (1 to 4 cycles, input
tvalid low as AXI4-Stream requires of a master in reset, tready random) when its trigger
fires; then a *clean* segment streams fresh frames and records every output beat. Outputs
received before the reset must be a prefix of the disturb frames' reference outputs, the clean
outputs exactly the clean frames' reference outputs, m_axis_tvalid must be low after the
first reset edge, and an offered output beat must hold until taken. Trigger kinds:

- ``mid_frame``: right after input beat ``j`` (0 < j < IN_BEATS) of a frame is accepted;
- ``stalled_output``: tready held low until the output has been valid and stalled for some
  cycles (the pipeline backed up to its input);
- ``mid_output``: right after an output beat that is not the last of its frame (outputs of
  more than one beat; otherwise after any output beat, with frames still in flight);
- ``random``: at a random cycle of the segment.

Nets: an MLP with an integer (multi-bit) first layer, a conv net with padding, stride and an
OR pool, and (slow) a residual graph (fork, shortcut FIFO, side-input threshold), all random
IR (hwbnn.sim.random_nets, hwbnn.sim.random_graphs) folded so that inputs and outputs take
several beats, on Icarus (which, unlike Verilator, shows a register that the reset leaves
unknown as X, and the bench fails on it). Each round also checks the labels (argmax of the
output affine of the received accumulators) against the reference's, with np.array_equal.
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import cocotb
import numpy as np
import pytest
from cocotb.clock import Clock
from cocotb.triggers import FallingEdge, Timer

from hwbnn.codegen import write_build
from hwbnn.codegen.rtl import rtl_sources
from hwbnn.driver.driver import labels_from_accumulators
from hwbnn.ir.folding import Folding, LayerFolding, choose_folding
from hwbnn.ir.types import Network
from hwbnn.plan import load_plan
from hwbnn.reference import Reference
from hwbnn.sim.packing import pack_beats
from hwbnn.sim.random_graphs import random_graph_net
from hwbnn.sim.random_nets import ConvSpec, random_conv_net, random_mlp
from hwbnn.sim.runner import get_tb_args, run_cocotb
from hwbnn.sim.tb import CLOCK_PERIOD_NS, param
from hwbnn.sim.top import decode_frames
from hwbnn.verify.judge import judge

KINDS = ("mid_frame", "stalled_output", "mid_output", "random")
SIZES = ("IN_BITS", "IN_SIMD", "IN_BEATS", "OUT_BEATS", "II_CYCLES", "LAYERS", "OUT_WIDTH")
#: Cycles the clean segment waits after its last expected output frame for extra beats.
SETTLE_CYCLES = 100

# ---------------------------------------------------------------- the bench (in the simulator)


class ResetBench:
    """Drives ``hwbnn_top`` one cycle per :meth:`step`: inputs are set just after a falling
    edge and the handshakes they make are sampled 1 ns later, before the rising edge that
    performs them."""

    def __init__(self, dut: Any, rng: random.Random) -> None:
        self.dut = dut
        self.rng = rng
        self.sizes = {name: param(dut, name) for name in SIZES}
        self.cycle = 0
        self.errors: list[str] = []
        self.pending: tuple[int, int] | None = None  # an output beat offered and not taken
        self.reset_edges = 0  # rising edges seen with rst high since the last one without

    def error(self, text: str) -> None:
        if len(self.errors) < 20:
            self.errors.append(f"cycle {self.cycle}: {text}")

    async def step(
        self, *, rst: int = 0, valid: int = 0, data: int = 0, last: int = 0, ready: int = 0
    ) -> tuple[bool, tuple[int, int] | None]:
        """One cycle; returns (input beat accepted, output beat ``(data, last)`` taken)."""
        dut = self.dut
        dut.rst.value = rst
        dut.s_axis_tvalid.value = valid
        dut.s_axis_tdata.value = data
        dut.s_axis_tlast.value = last
        dut.m_axis_tready.value = ready
        await Timer(1, unit="ns")
        if rst and not self.reset_edges:  # before the first reset edge: X at power-up
            await FallingEdge(dut.clk)
            self.cycle += 1
            self.reset_edges = 1
            return False, None
        s_ready = int(dut.s_axis_tready.value)
        m_valid = int(dut.m_axis_tvalid.value)
        beat = None
        if m_valid:
            beat = (int(dut.m_axis_tdata.value), int(dut.m_axis_tlast.value))
        if self.reset_edges and m_valid:
            self.error(f"m_axis_tvalid high after {self.reset_edges} reset edge(s)")
        if self.pending is not None and not rst and beat != self.pending:
            self.error(f"output beat {self.pending} changed or withdrawn before tready")
        self.pending = beat if m_valid and not ready and not rst else None
        await FallingEdge(dut.clk)
        self.cycle += 1
        self.reset_edges = self.reset_edges + 1 if rst else 0
        if rst:
            return False, None
        return bool(valid and s_ready), beat if ready else None

    async def reset(self, hold: int, ready_in_reset: bool) -> None:
        """``rst`` high for ``hold`` cycles, tvalid low, tready random or low (m_axis_tvalid
        must be low from the first reset edge until the next beat is made, see :meth:`step`)."""
        self.pending = None
        for _ in range(hold):
            await self.step(rst=1, ready=int(ready_in_reset and self.rng.random() < 0.5))

    async def stream(
        self, frames: np.ndarray, plan: dict[str, Any], trigger: str | None
    ) -> dict[str, Any]:
        """Stream ``frames`` (codes) under the round's gaps and backpressure until the
        trigger fires (disturb segment) or every output frame came out and SETTLE_CYCLES
        passed (clean segment, ``trigger`` None)."""
        sizes = self.sizes
        words = pack_beats(frames, sizes["IN_BITS"], sizes["IN_SIMD"])
        in_beats, out_beats = sizes["IN_BEATS"], sizes["OUT_BEATS"]
        gap, stall = plan["gap"], plan["backpressure"]
        budget = (
            8 * (len(frames) + sizes["LAYERS"] + 2) * (sizes["II_CYCLES"] + in_beats + out_beats)
            + 1000
        )
        sent, offered, stalled, start = 0, False, 0, self.cycle
        beats: list[list[int]] = []
        done_at: int | None = None
        fired, timed_out = False, False
        while True:
            if not offered:
                offered = sent < len(words) and self.rng.random() >= gap
            ready = int(self.rng.random() >= stall)
            if trigger == "stalled_output":
                ready = 0
            last = int(sent % in_beats == in_beats - 1)
            taken, beat = await self.step(
                valid=int(offered),
                data=words[sent] if offered else self.rng.getrandbits(sizes["IN_BITS"]),
                last=last if offered else self.rng.getrandbits(1),
                ready=ready,
            )
            if taken:
                sent, offered = sent + 1, False
            if beat is not None:
                beats.append([beat[0], beat[1], self.cycle])
            stalled = stalled + 1 if self.pending is not None else 0
            elapsed = self.cycle - start
            if trigger == "mid_frame":
                fired = taken and sent == plan["at"]
            elif trigger == "stalled_output":
                fired = stalled >= plan["at"]
            elif trigger == "mid_output":
                fired = beat is not None and (not beat[1] or out_beats == 1)
            elif trigger == "random":
                fired = elapsed >= plan["at"]
            elif done_at is None and sum(b[1] for b in beats) >= len(frames):
                done_at = self.cycle
            if fired or (done_at is not None and self.cycle >= done_at + SETTLE_CYCLES):
                break
            if elapsed >= budget:
                timed_out = True
                break
        return {
            "beats": beats,
            "in_beats_sent": sent,
            "output_pending": self.pending is not None,
            "fired": fired,
            "timed_out": timed_out,
            "cycles": self.cycle - start,
        }


@cocotb.test()
async def reset_rounds(dut: Any) -> None:
    """Run every round of tb_args["rounds"]; write what came out to tb_args["results"]."""
    args = get_tb_args()
    codes = np.load(args["inputs"])["codes"]
    Clock(dut.clk, CLOCK_PERIOD_NS, unit="ns").start()
    bench = ResetBench(dut, random.Random(args["seed"]))
    await FallingEdge(dut.clk)
    await bench.reset(args["power_up_hold"], False)
    rounds = []
    for plan in args["rounds"]:
        disturb = await bench.stream(codes[plan["disturb"]], plan, plan["kind"])
        await bench.reset(plan["hold"], plan["ready_in_reset"])
        for _ in range(plan["idle"]):
            await bench.step(ready=int(bench.rng.random() < 0.5))
        clean = await bench.stream(codes[plan["clean"]], plan, None)
        rounds.append({"disturb": disturb, "clean": clean, "errors": bench.errors})
        bench.errors = []
    Path(args["results"]).write_text(json.dumps({"sizes": bench.sizes, "rounds": rounds}))


# ---------------------------------------------------------------- pytest side


def make_rounds(net: Network, sizes: dict[str, int], count: int, seed: int) -> list[dict]:
    """``count`` rounds cycling through KINDS; disturb and clean frames are distinct indices
    into a pool of ``8 * count`` frames."""
    rng = np.random.default_rng(seed)
    in_beats, ii = sizes["IN_BEATS"], sizes["II_CYCLES"]
    rounds = []
    for r in range(count):
        kind = KINDS[r % len(KINDS)]
        n_disturb = int(rng.integers(1, 5))
        at = 0
        if kind == "mid_frame":  # a beat inside one of the disturb frames, not its first
            at = int(rng.integers(0, n_disturb)) * in_beats + int(rng.integers(1, in_beats))
        elif kind == "stalled_output":
            at = int(rng.integers(1, 3 * ii + 2))
        elif kind == "random":
            at = int(rng.integers(1, (n_disturb + 1) * (ii + in_beats)))
        rounds.append(
            {
                "kind": kind,
                "at": at,
                "hold": int(rng.integers(1, 5)),
                "idle": int(rng.integers(0, 4)),
                "ready_in_reset": bool(rng.integers(0, 2)),
                "gap": float(rng.choice([0.0, 0.3, 0.6])),
                "backpressure": float(rng.choice([0.0, 0.3, 0.6])),
                "disturb": list(range(8 * r, 8 * r + n_disturb)),
                "clean": list(range(8 * r + 4, 8 * r + 4 + int(rng.integers(2, 5)))),
            }
        )
    return rounds


def run_reset_rounds(
    tmp_path: Path, net: Network, folding: Folding, rounds: int, seed: int, simulator: str
) -> dict[str, int]:
    """Build ``net``, run the rounds, judge them; return counts for the report."""
    build = tmp_path / "build"
    write_build(net, folding, build)
    sizes = load_plan(build).top_localparams()
    plans = make_rounds(net, sizes, rounds, seed)
    shape = (8 * rounds, net.input.elements)
    codes = np.random.default_rng(seed).integers(0, net.input.levels, shape)
    reference = Reference(net).run_codes(codes)
    expected = reference.accumulators
    out_layer = net.output_layer
    assert out_layer.out_scale is not None and out_layer.out_bias is not None
    # outputs vary, so that a stale or lost frame shows (not every frame alike)
    assert len(np.unique(expected, axis=0)) > len(codes) // 5
    assert len(np.unique(reference.labels)) > 1
    sim_dir = tmp_path / "sim"
    sim_dir.mkdir()
    np.savez(sim_dir / "inputs.npz", codes=codes)
    sources = rtl_sources(build)
    run_cocotb(
        sources=sources,
        toplevel="hwbnn_top",
        test_module=Path(__file__),
        build_dir=sim_dir,
        parameters={"MEM_DIR": str(sources[0].parent)},
        simulator=simulator,
        tb_args={
            "inputs": str(sim_dir / "inputs.npz"),
            "results": str(sim_dir / "results.json"),
            "seed": seed,
            "power_up_hold": 1,
            "rounds": plans,
        },
        seed=seed,
        logs=sim_dir,
    )
    doc = json.loads((sim_dir / "results.json").read_text())
    out = (sizes["OUT_BEATS"], sizes["ACC_WIDTH"], sizes["OUT_PE"])
    counts = {"resets": 0, "clean_frames": 0, "pending_at_reset": 0, "mid_frame": 0}
    for index, (plan, got) in enumerate(zip(plans, doc["rounds"], strict=True)):
        where = f"round {index} ({plan['kind']}, {json.dumps(plan)})"
        assert not got["errors"], f"{where}: {got['errors']}"
        disturb, clean = got["disturb"], got["clean"]
        assert disturb["fired"], f"{where}: the reset trigger never fired"
        # before the reset: complete frames are the first disturb frames' outputs
        before, _ = decode_frames(disturb["beats"], len(plan["disturb"]), *out, net.classes)
        want = expected[plan["disturb"]][: len(before)]
        verdict = judge(want, before, layer=net.output_layer.name, what="accumulators")
        assert verdict.ok, f"{where}, before the reset: {verdict.first_mismatch}"
        # after it: exactly the clean frames, nothing stale, nothing lost
        assert not clean["timed_out"], f"{where}: timed out after the reset"
        after, framing = decode_frames(clean["beats"], len(plan["clean"]), *out, net.classes)
        assert not framing, f"{where}, after the reset: {framing}"
        verdict = judge(
            expected[plan["clean"]], after, layer=net.output_layer.name, what="accumulators"
        )
        assert verdict.ok, f"{where}, after the reset: {verdict.first_mismatch}"
        labels = labels_from_accumulators(after, out_layer.out_scale, out_layer.out_bias)
        assert np.array_equal(after, expected[plan["clean"]]), where
        assert np.array_equal(labels, reference.labels[plan["clean"]]), where
        counts["resets"] += 1
        counts["clean_frames"] += len(plan["clean"])
        counts["pending_at_reset"] += int(disturb["output_pending"])
        counts["mid_frame"] += int(disturb["in_beats_sent"] % sizes["IN_BEATS"] != 0)
    return counts


def integer_mlp() -> tuple[Network, Folding]:
    """An integer (5-bit) first layer, 4 codes a beat, 3 output beats."""
    net = random_mlp(np.random.default_rng(12), 24, [16], 6, 17, False)
    return net, Folding((LayerFolding(2, 4), LayerFolding(2, 8)))


def conv_net() -> tuple[Network, Folding]:
    """(2, 7, 7) codes of 4 bits into a padded 3x3 convolution (integer first layer), a
    strided padded convolution with a 2x2 OR pool, the output layer."""
    convs = (ConvSpec(4, 3, 1, 1), ConvSpec(8, 3, 2, 1, pool=2))
    net = random_conv_net(np.random.default_rng(13), (2, 7, 7), convs, (), 4, 16, False)
    return net, choose_folding(net, 200)


def graph_net() -> tuple[Network, Folding]:
    """A Bi-Real block (fork, shortcut FIFO, side-input threshold) and an add-join block."""
    net = random_graph_net(np.random.default_rng(14), (1, 6, 6), 4, ("identity", "add"), 3)
    return net, choose_folding(net, 300)


NETS = {"integer_mlp": integer_mlp, "conv": conv_net}


@pytest.mark.parametrize("name", list(NETS))
def test_reset_mid_frame_and_mid_stream_recovers(tmp_path: Path, name: str) -> None:
    net, folding = NETS[name]()
    counts = run_reset_rounds(tmp_path, net, folding, 8, seed=17, simulator="icarus")
    assert counts["resets"] == 8 and counts["pending_at_reset"] >= 2
    assert counts["mid_frame"] >= 2


@pytest.mark.slow
def test_reset_recovers_in_a_residual_graph(tmp_path: Path) -> None:
    net, folding = graph_net()
    counts = run_reset_rounds(tmp_path, net, folding, 8, seed=18, simulator="icarus")
    assert counts["resets"] == 8 and counts["pending_at_reset"] >= 2
