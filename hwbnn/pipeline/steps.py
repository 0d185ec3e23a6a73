"""The default flow as data: ``hwbnn run`` executes ``DEFAULT_FLOW`` step by step.

Each step is a plain function ``step(state, cfg) -> state``; the state records the artifacts
made so far. Print ``DEFAULT_FLOW`` to see the flow; pass another tuple of steps to
:func:`run_flow` to reorder or cut it.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from hwbnn.build import atomic_build, write_manifest
from hwbnn.data import load_dataset
from hwbnn.errors import ConfigError, HwbnnError
from hwbnn.export import check_export, export_qonnx_model, load_qonnx
from hwbnn.frontend.lower import InputSpec, lower
from hwbnn.ir.folding import (
    Folding,
    choose_folding,
    initiation_interval,
    layer_cycles,
    load_folding,
    max_cycles,
)
from hwbnn.ir.serialize import save_network
from hwbnn.ir.types import Network
from hwbnn.nn import model_config
from hwbnn.train import TrainConfig, load_checkpoint, save_checkpoint, train
from hwbnn.train.trainer import plot_learning_curve, write_metrics
from hwbnn.verify.ladder import run_ladder

CHECKPOINT_KEY = "hwbnn.checkpoint"


@dataclass(frozen=True)
class RunConfig:
    out: Path
    model: str = "digits-mlp"
    dataset: str = "digits"
    data_dir: Path | None = None
    input_mode: str = "binary"
    hidden: tuple[int, ...] | None = None
    train: TrainConfig = field(default_factory=TrainConfig)
    target_cycles: int = 4096  # folding of the generated accelerator
    sim_frames: int = 100  # test images simulated at RTL level (L4)
    board: str | None = "ulx3s-85f"  # bitstream for this board (None: no bitstream step)


@dataclass(frozen=True)
class FlowState:
    checkpoint: Path | None = None
    onnx: Path | None = None
    build: Path | None = None
    summary: dict[str, Any] = field(default_factory=dict)

    def with_summary(self, **items: Any) -> FlowState:
        return replace(self, summary={**self.summary, **items})


def train_to_dir(
    out: Path,
    model: str,
    dataset: str,
    data_dir: Path | None,
    input_mode: str,
    hidden: tuple[int, ...] | None,
    cfg: TrainConfig,
) -> dict[str, Any]:
    """Train a zoo model; write DIR/model.pt, DIR/metrics.json, DIR/learning_curve.png."""
    data = load_dataset(dataset, data_dir)
    config = model_config(
        model, data.image_shape, data.classes, data.levels, data.input_bits, input_mode, hidden
    )
    out.mkdir(parents=True, exist_ok=True)
    result = train(config, data, cfg)
    info = {"model": model, "dataset": dataset, "seed": cfg.seed, "config": config.to_dict()}
    write_metrics(out, result, info)
    plot_learning_curve(out, result)
    save_checkpoint(
        out / "model.pt", result.model, dataset, {"test_accuracy": result.test_accuracy}
    )
    return {"checkpoint": str(out / "model.pt"), "test_accuracy": result.test_accuracy}


def export_checkpoint(checkpoint: Path, onnx_path: Path, data_dir: Path | None) -> dict[str, Any]:
    """Export a checkpoint to QONNX and check execute_onnx against torch on its test split."""
    import onnx

    model, ckpt = load_checkpoint(checkpoint)
    if getattr(model.config, "precision", "binary") != "binary":
        raise ConfigError(
            f"{checkpoint}: a full-precision baseline (hwbnn train --method fp) has float "
            f"weights and ReLU activations; it measures the accuracy gap and cannot be exported "
            f"to binary hardware (train without --method fp)"
        )
    qmodel = export_qonnx_model(model, onnx_path)
    meta = {p.key: p.value for p in qmodel.model.metadata_props}
    meta[CHECKPOINT_KEY] = str(Path(checkpoint).resolve())
    onnx.helper.set_model_props(qmodel.model, meta)
    qmodel.save(str(onnx_path))
    data = load_dataset(ckpt["dataset"], data_dir)
    check = check_export(model, qmodel, data.x_test)
    if not check.ok:
        raise HwbnnError(
            f"{onnx_path}: execute_onnx disagrees with torch on {check.label_mismatches} of "
            f"{check.frames} labels"
        )
    return {
        "onnx": str(onnx_path),
        "check_frames": check.frames,
        "check_label_mismatches": check.label_mismatches,
        "check_max_abs_logit_diff": check.max_abs_logit_diff,
    }


@dataclass(frozen=True)
class CompileConfig:
    """What ``hwbnn compile`` makes: the IR always; a folding; code for a target."""

    target: str = "ir"
    folding_file: Path | None = None
    target_cycles: int | None = None
    input: InputSpec = field(default_factory=InputSpec)


def _generate_hls(net: Network, folding: Folding, onnx_path: Path, build: Path) -> dict[str, Any]:
    """HLS C++ top level, testbench and Vitis HLS script in build/hls/ (hwbnn.codegen.hls)."""
    from hwbnn.codegen.hls import generate_hls

    return generate_hls(net, folding, onnx_path, build)


def _generate_rtl(net: Network, folding: Folding, onnx_path: Path, build: Path) -> dict[str, Any]:
    """Verilog top level, memory files and the rtl/ modules in build/rtl/ (hwbnn.codegen.rtl)."""
    from hwbnn.codegen.rtl import generate_rtl

    return generate_rtl(net, folding, onnx_path, build)


# target name -> code generator writing into the build directory (see hwbnn.codegen)
TARGETS: dict[str, Callable[[Network, Folding, Path, Path], dict[str, Any]]] = {
    "ir": lambda net, folding, onnx_path, build: {},
    "hls": _generate_hls,
    "rtl": _generate_rtl,
    # hls4ml project in build/hls4ml/ (hwbnn.codegen.hls4ml_backend); imports hls4ml when used
    "hls4ml": lambda net, folding, onnx_path, build: __import__(
        "hwbnn.codegen.hls4ml_backend.project", fromlist=["generate_hls4ml"]
    ).generate_hls4ml(net, folding, onnx_path, build),
}


def resolve_folding(net: Network, cfg: CompileConfig) -> Folding:
    """An explicit folding file wins; else the chooser meets ``target_cycles`` (default: the
    fully folded design's slowest layer, i.e. PE = SIMD = 1 everywhere it fits)."""
    if cfg.folding_file is not None:
        if cfg.target_cycles is not None:
            raise ConfigError("give either a folding file or a target cycles/frame, not both")
        return load_folding(cfg.folding_file, net)
    if cfg.target_cycles is not None:
        return choose_folding(net, cfg.target_cycles)
    return choose_folding(net, max_cycles(net))


def compile_onnx(onnx_path: Path, build: Path, cfg: CompileConfig) -> dict[str, Any]:
    """Lower an ONNX file into a fresh build directory (IR, folding, target code), atomically."""
    if cfg.target not in TARGETS:
        raise ConfigError(f"unknown target {cfg.target!r}; choose one of {sorted(TARGETS)}")
    qmodel = load_qonnx(onnx_path)
    net = lower(qmodel, cfg.input, str(onnx_path))
    folding = resolve_folding(net, cfg)
    meta = {p.key: p.value for p in qmodel.model.metadata_props}
    with atomic_build(build) as tmp:
        save_network(net, tmp)
        (tmp / "folding.json").write_text(folding.to_json(net))
        shutil.copyfile(onnx_path, tmp / "model.onnx")
        generated = TARGETS[cfg.target](net, folding, tmp / "model.onnx", tmp)
        write_manifest(
            tmp,
            source=str(Path(onnx_path).resolve()),
            checkpoint=meta.get(CHECKPOINT_KEY),
            target=cfg.target,
            steps=["compile"],
            layers=[layer.name for layer in net.layers],
            initiation_interval=initiation_interval(net, folding),
            generated=generated,
        )
    return {
        "build": str(build),
        "target": cfg.target,
        "initiation_interval": initiation_interval(net, folding),
        "layers": [
            {
                "name": layer.name,
                "kind": layer.kind.value,
                "in": layer.in_elements,
                "out": layer.out_elements,
                "pe": fold.pe,
                "simd": fold.simd,
                "cycles": layer_cycles(layer, fold),
            }
            for layer, fold in zip(net.layers, folding.layers, strict=True)
        ],
    }


def step_train(state: FlowState, cfg: RunConfig) -> FlowState:
    info = train_to_dir(
        cfg.out / "train",
        cfg.model,
        cfg.dataset,
        cfg.data_dir,
        cfg.input_mode,
        cfg.hidden,
        cfg.train,
    )
    return replace(state, checkpoint=Path(info["checkpoint"])).with_summary(
        test_accuracy=info["test_accuracy"]
    )


def step_export(state: FlowState, cfg: RunConfig) -> FlowState:
    assert state.checkpoint is not None, "step_export needs step_train before it"
    info = export_checkpoint(state.checkpoint, cfg.out / "model.onnx", cfg.data_dir)
    return replace(state, onnx=Path(info["onnx"])).with_summary(
        l1_label_mismatches=info["check_label_mismatches"]
    )


def step_compile(state: FlowState, cfg: RunConfig) -> FlowState:
    assert state.onnx is not None, "step_compile needs step_export before it"
    info = compile_onnx(
        state.onnx, cfg.out / "build", CompileConfig(target="rtl", target_cycles=cfg.target_cycles)
    )
    return replace(state, build=Path(info["build"])).with_summary(layers=len(info["layers"]))


def step_verify_reference(state: FlowState, cfg: RunConfig) -> FlowState:
    """L0 vs L1 vs L2 on the whole test split."""
    assert state.build is not None and state.checkpoint is not None and state.onnx is not None
    from hwbnn.ir.serialize import load_network

    data = load_dataset(cfg.dataset, cfg.data_dir)
    model, _ = load_checkpoint(state.checkpoint)
    report = run_ladder(
        load_network(state.build), data.x_test, data.y_test, model, load_qonnx(state.onnx)
    )
    (state.build / "ladder.json").write_text(json.dumps(report.to_dict(), indent=2) + "\n")
    if not report.ok:
        raise HwbnnError(f"verification ladder failed: {report.first_mismatch}")
    return state.with_summary(ladder=report.to_dict())


def step_simulate_rtl(state: FlowState, cfg: RunConfig) -> FlowState:
    """L4: the generated Verilog under random backpressure (Icarus), exact vs L2."""
    assert state.build is not None, "step_simulate_rtl needs step_compile before it"
    from hwbnn.ir.serialize import load_network
    from hwbnn.reference import to_codes
    from hwbnn.sim.top import verify_rtl

    net = load_network(state.build)
    x = load_dataset(cfg.dataset, cfg.data_dir).x_test[: cfg.sim_frames]
    report = verify_rtl(state.build, to_codes(net.input, x))
    summary = report.to_dict()
    (state.build / "rtl_sim.json").write_text(json.dumps(summary, indent=2, default=str) + "\n")
    return state.with_summary(rtl_sim=summary)


def step_bitstream(state: FlowState, cfg: RunConfig) -> FlowState:
    """The board top (UART bridge + accelerator) through yosys and nextpnr to a bitstream."""
    assert state.build is not None, "step_bitstream needs step_compile before it"
    if cfg.board is None:
        return state
    from hwbnn.fpga.bitstream import BitstreamConfig, run_bitstream_flow

    report = run_bitstream_flow(state.build, BitstreamConfig(board=cfg.board))
    return state.with_summary(bitstream=report)


Step = Callable[[FlowState, RunConfig], FlowState]
DEFAULT_FLOW: tuple[Step, ...] = (
    step_train,
    step_export,
    step_compile,
    step_verify_reference,
    step_simulate_rtl,
    step_bitstream,
)


def run_flow(
    cfg: RunConfig,
    flow: tuple[Step, ...] = DEFAULT_FLOW,
    on_step: Callable[[Step], None] | None = None,
) -> FlowState:
    """Run ``flow`` from an empty state; ``on_step`` is told before each step starts."""
    state = FlowState()
    for step in flow:
        if on_step is not None:
            on_step(step)
        state = step(state, cfg)
    return state


__all__ = ["DEFAULT_FLOW", "FlowState", "RunConfig", "run_flow"]
