"""The steps of hwbnn's flow, and the default flow ``hwbnn run`` executes: ``DEFAULT_FLOW``.

Each step is a :class:`hwbnn.pipeline.runner.Step`: a plain function of the run's
:class:`~hwbnn.pipeline.runner.Context` plus what it reads (config part, build files, earlier
steps). ``hwbnn run`` runs the whole tuple, resuming; every single command (``hwbnn compile``,
``eval``, ``csim``, ``sim``, ``bitstream``) runs one slice of it. Print ``DEFAULT_FLOW`` or run
``hwbnn run --list-steps`` to see the flow; pass another tuple to
:func:`hwbnn.pipeline.runner.run_steps` to reorder or cut it.

The module imports the heavy parts (torch, qonnx, the generators) inside the step functions,
so listing the flow (``hwbnn run --help``) stays fast.

Build layout (``hwbnn run --out B``): ``B/train/`` (checkpoint, metrics, learning curve),
``B/model.onnx``, ``B/ir.json``, ``B/ir.npz``, ``B/folding.json``, ``B/plan.json``, the target
code (``B/rtl/``, ``B/hls/`` or ``B/hls4ml/``), ``B/verification.json``, ``B/bitstream/<board>/``
and ``B/manifest.json``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from hwbnn.errors import ConfigError, HwbnnError
from hwbnn.pipeline.config import Target, TrainOptions
from hwbnn.pipeline.provenance import compiler_version, simulator_version
from hwbnn.pipeline.runner import Context, Step, StepResult
from hwbnn.units import count, fraction, mhz


def train_to_dir(out: Path, opts: TrainOptions, progress: bool = True) -> dict[str, Any]:
    """Train a zoo model; write OUT/model.pt, OUT/metrics.json, OUT/learning_curve.png."""
    from hwbnn.data import load_dataset
    from hwbnn.nn import ModelConfig, cellnet_config, model_config
    from hwbnn.nn.genotype import load_genotype
    from hwbnn.train import TrainConfig, save_checkpoint, train
    from hwbnn.train.distributed import is_main_process
    from hwbnn.train.methods import build_methods
    from hwbnn.train.trainer import plot_learning_curve, write_metrics

    data = load_dataset(opts.dataset, opts.data_dir)
    config: ModelConfig
    if opts.genotype is not None:  # the genotype's content goes into the config (checkpoint)
        genotype = load_genotype(opts.genotype)
        config = cellnet_config(
            genotype,
            data.image_shape,
            data.classes,
            data.levels,
            data.input_bits,
            opts.input_mode,
            source=str(opts.genotype),
        )
    else:
        config = model_config(
            opts.model,
            data.image_shape,
            data.classes,
            data.levels,
            data.input_bits,
            opts.input_mode,
            opts.hidden,
        )
    cfg = TrainConfig(
        epochs=opts.epochs,
        seed=opts.seed,
        batch_size=opts.batch_size,
        lr=opts.lr,
        progress=progress,
        methods=build_methods(opts.methods),
    )
    result = train(config, data, cfg)
    if not is_main_process():  # under torchrun, rank 0 alone writes (hwbnn.train.distributed)
        return {"checkpoint": None, "test_accuracy": result.test_accuracy}
    out.mkdir(parents=True, exist_ok=True)
    model = opts.model if opts.genotype is None else f"genotype {opts.genotype}"
    info = {"model": model, "dataset": opts.dataset, "seed": opts.seed}
    write_metrics(out, result, {**info, "config": config.to_dict()})
    plot_learning_curve(out, result)
    save_checkpoint(
        out / "model.pt", result.model, opts.dataset, {"test_accuracy": result.test_accuracy}
    )
    return {
        "checkpoint": str(out / "model.pt"),
        "test_accuracy": result.test_accuracy,
        "data_sha256": _data_sha256(data),
    }


def _data_sha256(data: Any, test_only: bool = False) -> str:
    """The sha256 of a data set's arrays (hwbnn.pipeline.provenance.sha256_arrays)."""
    from hwbnn.pipeline.provenance import sha256_arrays

    if test_only:
        return sha256_arrays([data.x_test, data.y_test])
    return sha256_arrays([data.x_train, data.y_train, data.x_test, data.y_test])


def export_checkpoint(checkpoint: Path, onnx_path: Path, data_dir: Path | None) -> dict[str, Any]:
    """Export a checkpoint to QONNX and check execute_onnx against torch on its test split."""
    import onnx

    from hwbnn.data import load_dataset
    from hwbnn.export import check_export, export_qonnx_model
    from hwbnn.pipeline.compile import CHECKPOINT_KEY
    from hwbnn.train import load_checkpoint

    model, ckpt = load_checkpoint(checkpoint)
    if getattr(model.config, "precision", "binary") != "binary":
        raise ConfigError(
            f"{checkpoint}: a full-precision baseline (hwbnn train --method fp) has float "
            f"weights and ReLU activations; it measures the accuracy gap and cannot be exported "
            f"to binary hardware (train without --method fp)"
        )
    onnx_path.parent.mkdir(parents=True, exist_ok=True)
    qmodel = export_qonnx_model(model, onnx_path)
    meta = {p.key: p.value for p in qmodel.model.metadata_props}
    meta[CHECKPOINT_KEY] = str(Path(checkpoint).resolve())
    onnx.helper.set_model_props(qmodel.model, meta)
    qmodel.save(str(onnx_path))
    data = load_dataset(ckpt["dataset"], data_dir)
    check = check_export(model, qmodel, data.x_test)
    if not check.ok:
        onnx_path.unlink()
        raise HwbnnError(
            f"{onnx_path}: execute_onnx disagrees with torch on {check.label_mismatches} of "
            f"{check.frames} labels"
        )
    return {
        "onnx": str(onnx_path),
        "check_frames": check.frames,
        "check_label_mismatches": check.label_mismatches,
        "check_max_abs_logit_diff": check.max_abs_logit_diff,
        "dataset": ckpt["dataset"],
        "data_sha256": _data_sha256(data, test_only=True),
    }


# --- the steps -------------------------------------------------------------------------------


def run_train(ctx: Context) -> StepResult:
    info = train_to_dir(ctx.checkpoint.parent, ctx.cfg.train, progress=ctx.progress)
    data = {f"data:{ctx.cfg.train.dataset}": info.pop("data_sha256")}
    return StepResult(f"test accuracy {fraction(info['test_accuracy'])}", info, data)


def run_export(ctx: Context) -> StepResult:
    info = export_checkpoint(ctx.checkpoint, ctx.onnx, ctx.cfg.train.data_dir)
    data = {f"data:{info['dataset']}:test": info.pop("data_sha256")}
    return StepResult(
        f"execute_onnx labels == torch labels on {count(info['check_frames'])} test images",
        info,
        data,
    )


def fit_board(ctx: Context) -> str | None:
    """The board the compiled folding must fit (:func:`hwbnn.pipeline.compile.check_board_fit`):
    the compile command's ``--board`` (``ctx.extra['board']``, None for none), else, in
    ``hwbnn run``, the board of the bitstream step when that step applies, so a folding that
    cannot fit stops the run at compile, before simulation and synthesis."""
    if "board" in ctx.extra:
        board: str | None = ctx.extra["board"]
        return board
    cfg = ctx.cfg
    return cfg.bitstream.board if cfg.compile.target is Target.RTL else None


def run_compile(ctx: Context) -> StepResult:
    from hwbnn.pipeline.compile import compile_onnx

    info = compile_onnx(ctx.onnx, ctx.build, ctx.cfg.compile, ctx.say, fit_board(ctx))
    ctx.extra["compile"] = info
    keys = ("target", "initiation_interval", "latency_cycles", "layers", "branch_fifos")
    summary = {k: info[k] for k in keys}
    return StepResult(
        f"{len(info['layers'])} layers, {count(info['initiation_interval'], 'cycles/frame')}, "
        f"target {info['target']}",
        summary,
    )


def test_frames(ctx: Context) -> tuple[np.ndarray, np.ndarray | None]:
    """The float frames (and labels) a verification step checks: ``ctx.extra['frames']`` when
    the command gave some (``--inputs``), else the test split of the run's dataset."""
    if "frames" in ctx.extra:
        return ctx.extra["frames"], ctx.extra.get("labels")
    from hwbnn.data import load_dataset

    data = load_dataset(ctx.cfg.train.dataset, ctx.cfg.train.data_dir)
    return data.x_test, data.y_test


def _raise_if_failed(records: list[Any]) -> None:
    from hwbnn.verify.record import VerificationFailed

    for record in records:
        if not record.ok:
            raise VerificationFailed(record)


def run_verify(ctx: Context) -> StepResult:
    """L0 (torch), L1 (execute_onnx) and L2 (reference) on the test images, exactly."""
    from hwbnn.build import read_manifest
    from hwbnn.export import load_qonnx
    from hwbnn.train import load_checkpoint
    from hwbnn.verify.ladder import verify_ladder

    x, y = test_frames(ctx)
    if ctx.cfg.verify.frames:
        x, y = x[: ctx.cfg.verify.frames], None if y is None else y[: ctx.cfg.verify.frames]
    checkpoint: Path | None = ctx.checkpoint
    if not ctx.checkpoint.is_file() and ctx.checkpoint_file is None:
        recorded = read_manifest(ctx.build).get("checkpoint")
        checkpoint = Path(recorded) if recorded else None
    torch_model = None
    if checkpoint is not None and not ctx.extra.get("no_torch"):
        if not checkpoint.is_file():
            raise ConfigError(
                f"{checkpoint}: the checkpoint this build was exported from is gone; give "
                f"--checkpoint FILE, or --no-torch to check L1/L2 only"
            )
        torch_model = load_checkpoint(checkpoint)[0]
    onnx_model = None if ctx.extra.get("no_onnx") else load_qonnx(ctx.build / "model.onnx")
    records = verify_ladder(
        ctx.build, x, y, torch_model=torch_model, onnx_model=onnx_model, command=ctx.command
    )
    _raise_if_failed(records)
    levels = "/".join(r.level.value for r in records)
    accuracy = next((r.accuracy for r in records if r.accuracy is not None), None)
    return StepResult(
        f"{levels} agree on {count(len(x))} test images"
        + (f"; accuracy {fraction(accuracy)}" if accuracy is not None else ""),
        {"records": [r.to_dict() for r in records]},
        _frames_input("verify", x, y),
    )


def _frames_input(step: str, *arrays: np.ndarray | None) -> dict[str, str]:
    """The frames (and labels) a verification step checked, as a manifest input."""
    from hwbnn.pipeline.provenance import sha256_arrays

    return {f"frames:{step}": sha256_arrays(arrays)}


def _codes(ctx: Context, frames: int) -> np.ndarray:
    from hwbnn.ir.serialize import load_network
    from hwbnn.reference import to_codes

    x, _ = test_frames(ctx)
    x = x[: frames or None]  # 0: all of them
    return to_codes(load_network(ctx.build).input, x, ctx.extra.get("rounding", False))


def run_csim(ctx: Context) -> StepResult:
    """L3: g++ C-simulation of the HLS (or hls4ml) code, exactly against the reference."""
    from hwbnn.verify.csim import verify_csim

    codes = _codes(ctx, ctx.cfg.sim.frames)
    record = verify_csim(ctx.build, codes, command=ctx.command, progress=ctx.progress)
    _raise_if_failed([record])
    return StepResult(
        f"{record.engine} C-sim exact on {count(record.frames, 'frames')}",
        record.to_dict(),
        _frames_input("csim", codes),
    )


def run_simulate(ctx: Context) -> StepResult:
    """L4: RTL simulation under random gaps and backpressure, exactly against the reference."""
    from hwbnn.sim.top import SimConfig
    from hwbnn.verify.rtl import verify_rtl

    sim = ctx.cfg.sim
    cfg = SimConfig(
        simulator=sim.simulator.value,
        seed=sim.seed,
        gap_prob=sim.gap_prob,
        backpressure_prob=sim.backpressure_prob,
        ii_frames=sim.ii_frames,
        waves=sim.waves,
        fast=sim.fast,
    )
    codes = _codes(ctx, sim.frames)
    if sim.soak_frames:  # a long run: the test images again and again
        codes = codes[np.arange(sim.soak_frames) % len(codes)]
    record = verify_rtl(
        ctx.build,
        codes,
        cfg,
        dut=ctx.extra.get("dut"),
        command=ctx.command,
        progress=ctx.progress,
        verbose=ctx.verbose,
    )
    _raise_if_failed([record])
    timing = ""
    if record.cycles_per_frame is not None:
        timing = f" at {count(record.cycles_per_frame, 'cycles/frame')}"
    return StepResult(
        f"{record.engine} simulation exact on {count(record.frames, 'frames')}{timing}",
        record.to_dict(),
        _frames_input("simulate", codes),
    )


def run_bitstream(ctx: Context) -> StepResult:
    """The board top (UART bridge + accelerator) through yosys and nextpnr to a bitstream."""
    from hwbnn.fpga.bitstream import BitstreamConfig, run_bitstream_flow
    from hwbnn.ir.folding import load_folding
    from hwbnn.ir.serialize import load_network
    from hwbnn.pipeline.compile import check_board_fit

    opts = ctx.cfg.bitstream
    assert opts.board is not None
    # the fit check of the compile step, for a build compiled for another board or none
    net = load_network(ctx.build)
    check_board_fit(net, load_folding(ctx.build / "folding.json", net), opts.board, ctx.say)
    report = run_bitstream_flow(
        ctx.build,
        BitstreamConfig(
            board=opts.board,
            clock_mhz=opts.clock_mhz,
            baud=opts.baud,
            tools=opts.tools,
            seed=opts.seed,
            strict_timing=opts.strict_timing,
        ),
        say=ctx.say,
        verbose=ctx.verbose,
    )
    clock = report["clock"]
    if clock["achieved_mhz"] is None:
        return StepResult(f"wrote {report['dir']} (no bitstream made here)", report)
    verdict = "met" if clock["timing_met"] else "NOT met"
    return StepResult(
        f"{report['board']}: Fmax {mhz(clock['achieved_mhz'])} for "
        f"{mhz(clock['requested_mhz'])} ({verdict})",
        report,
    )


def _target(*targets: Target):  # noqa: ANN202 - a predicate on RunConfig
    return lambda cfg: cfg.compile.target in targets


# --- the programs each step ran, for the manifest ------------------------------------------


def _flow_tools(ctx: Context, result: StepResult) -> dict[str, str]:
    """yosys and nextpnr as the bitstream report recorded them (``origin``: yowasp/system)."""
    tools = result.summary.get("tools", {})
    return {str(k): str(v) for k, v in tools.items()} if isinstance(tools, dict) else {}


def _built(*names: str):  # noqa: ANN202 - the inputs callable of a Step
    """Build files a step reads, those that exist: a missing one is the step's own one-line
    error (e.g. ``simulate`` on a build without rtl/), not the runner's generic one."""
    return lambda ctx: [ctx.build / n for n in names if (ctx.build / n).exists()]


def _verify_inputs(ctx: Context) -> list[Path]:
    """The IR, the QONNX model (L1) and the checkpoint (L0), when present."""
    paths = _built("ir.json", "ir.npz", "model.onnx")(ctx)
    return paths + ([ctx.checkpoint] if ctx.checkpoint.is_file() else [])


IR = ("ir.json", "ir.npz", "folding.json", "plan.json")
TORCH = ("numpy", "torch", "brevitas")
ONNX = ("onnx", "qonnx", "onnxruntime")


DEFAULT_FLOW: tuple[Step, ...] = (
    Step(
        "train",
        "train the model (Brevitas)",
        run_train,
        config=lambda ctx: ctx.cfg.train,
        inputs=lambda ctx: [ctx.cfg.train.genotype] if ctx.cfg.train.genotype else [],
        outputs=("train/model.pt",),
        packages=TORCH,
    ),
    Step(
        "export",
        "export to QONNX, check execute_onnx (L1)",
        run_export,
        config=lambda ctx: ctx.cfg.train.data_dir,
        inputs=lambda ctx: [ctx.checkpoint],
        outputs=("model.onnx",),
        packages=TORCH + ONNX,
    ),
    Step(
        "compile",
        "lower, fold, plan and generate code",
        run_compile,
        config=lambda ctx: (ctx.cfg.compile, fit_board(ctx)),
        inputs=lambda ctx: (
            [ctx.onnx] + ([ctx.cfg.compile.folding] if ctx.cfg.compile.folding else [])
        ),
        outputs=("ir.json", "folding.json"),
        packages=("numpy", *ONNX, "jinja2"),
    ),
    Step(
        "verify",
        "check L0 == L1 == L2 on the test set",
        run_verify,
        config=lambda ctx: (ctx.cfg.train.dataset, ctx.cfg.train.data_dir, ctx.cfg.verify),
        inputs=_verify_inputs,
        after=("compile",),
        packages=TORCH + ONNX,
    ),
    Step(
        "csim",
        "C-simulate the HLS code (L3)",
        run_csim,
        config=lambda ctx: (ctx.cfg.train.dataset, ctx.cfg.train.data_dir, ctx.cfg.sim.frames),
        inputs=_built(*IR, "hls"),  # not hls4ml/: its C-sim compiles into it
        after=("compile",),
        applies=_target(Target.HLS, Target.HLS4ML),
        packages=("numpy", "hls4ml"),
        programs=lambda ctx, result: compiler_version("g++"),
    ),
    Step(
        "simulate",
        "simulate the RTL (L4)",
        run_simulate,
        config=lambda ctx: (ctx.cfg.train.dataset, ctx.cfg.train.data_dir, ctx.cfg.sim),
        inputs=_built(*IR, "rtl"),
        after=("compile",),
        applies=_target(Target.RTL),
        packages=("numpy", "cocotb"),
        programs=lambda ctx, result: simulator_version(
            "verilator" if ctx.cfg.sim.fast else ctx.cfg.sim.simulator.value
        ),
    ),
    Step(
        "bitstream",
        "synthesize, place and route for the board",
        run_bitstream,
        config=lambda ctx: ctx.cfg.bitstream,
        inputs=_built(*IR, "rtl"),
        after=("compile",),
        outputs=("bitstream",),
        applies=lambda cfg: cfg.compile.target is Target.RTL and cfg.bitstream.board is not None,
        programs=_flow_tools,
    ),
)

STEP_NAMES = tuple(step.name for step in DEFAULT_FLOW)

__all__ = ["DEFAULT_FLOW", "STEP_NAMES", "export_checkpoint", "train_to_dir"]
