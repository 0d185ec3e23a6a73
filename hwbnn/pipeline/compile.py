"""The compile step: an ONNX model into a build directory (IR, folding, plan, target code).

Into a fresh directory the build is assembled aside and renamed into place only when it is
complete (a failed compile leaves nothing). Into an existing build (``hwbnn run`` resuming, or
``hwbnn compile`` again) the new files are made aside first and then moved in; what the new
compile makes stale is removed and named:

- the target directory being regenerated (``rtl/``, ``hls/``, ``hls4ml/``), with the
  verification records and bitstreams that were made from it;
- when the IR or the folding changed: every other target directory, every bitstream and every
  verification record of L2 and above, since they describe another design.
"""

from __future__ import annotations

import hashlib
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from hwbnn.build import MANIFEST, atomic_build, read_manifest, update_manifest, write_manifest
from hwbnn.codegen import generate
from hwbnn.fpga.boards import LFE5U_85F
from hwbnn.frontend.load import load_model
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
from hwbnn.pipeline.config import CompileOptions, Target
from hwbnn.plan import Plan, load_plan
from hwbnn.units import count
from hwbnn.verify.record import Level, clear_results

CHECKPOINT_KEY = "hwbnn.checkpoint"
#: the files every compile writes, whatever the target
DESIGN_FILES = ("ir.json", "ir.npz", "folding.json")
#: verification levels that check a target's generated code
TARGET_LEVELS: dict[Target, tuple[Level, ...]] = {
    Target.IR: (),
    Target.RTL: (Level.L4, Level.L5, Level.DRIVER),
    Target.HLS: (Level.L3,),
    Target.HLS4ML: (Level.L3,),
}
BITSTREAM_DIR = "bitstream"
#: the device whose estimate the folding chooser minimises when no board is given
DEFAULT_DEVICE = LFE5U_85F


def resolve_folding(
    net: Network,
    cfg: CompileOptions,
    board: str | None = None,
    say: Callable[[str], None] | None = None,
) -> Folding:
    """An explicit folding file wins. Without a cycle budget the design is fully folded (PE =
    SIMD = 1 wherever that fits: :func:`hwbnn.ir.folding.choose_folding` at the slowest
    layer's cycles, fewest lanes). With one, the chooser meets it at the least estimated LUTs,
    then block RAM (:func:`hwbnn.fpga.estimate_cost.estimate_cost`) of ``board``'s device, or
    of an ECP5-85F (:data:`DEFAULT_DEVICE`) without a board.

    With ``board``, the folding must also fit the board: without a budget the cheapest folding
    that fits replaces a fully folded design that does not; DesignTooLarge otherwise
    (:func:`check_board_fit`, which names the fewest cycles/frame that fit)."""
    if cfg.folding is not None:
        return load_folding(cfg.folding, net)
    from hwbnn.fpga.boards import get_board
    from hwbnn.fpga.estimate_cost import board_fits, choose_for_board, estimate_cost

    budget = cfg.cycles_budget
    if budget is None:
        folded = choose_folding(net, max_cycles(net))
        if board is None or all(f.fits for f in board_fits(net, folded, get_board(board))):
            return folded
    target = budget if budget is not None else max_cycles(net)
    if board is None:
        return choose_folding(net, target, estimate_cost(net, DEFAULT_DEVICE))
    choice = choose_for_board(net, target, get_board(board))
    if not choice.fits:
        check_board_fit(net, choice.folding, board, say, choice.fastest_fitting)
    return choice.folding


def _design_digest(build: Path) -> str | None:
    if not all((build / name).is_file() for name in DESIGN_FILES):
        return None
    digest = hashlib.sha256()
    for name in DESIGN_FILES:
        digest.update((build / name).read_bytes())
    return digest.hexdigest()


def _remove_stale(build: Path, target: Target, design_changed: bool) -> list[str]:
    """Remove what the new compile invalidates (see the module docstring); name each."""
    removed: list[str] = []
    targets = list(Target) if design_changed else [target]
    for t in targets:
        if t is not Target.IR and (build / t.value).exists():
            shutil.rmtree(build / t.value)
            removed.append(f"{t.value}/")
    if (build / BITSTREAM_DIR).exists() and (design_changed or target is Target.RTL):
        boards = sorted(p.name for p in (build / BITSTREAM_DIR).iterdir() if p.is_dir())
        shutil.rmtree(build / BITSTREAM_DIR)
        removed += [f"bitstream/{b}" for b in boards]
    levels = {lv for t in targets for lv in TARGET_LEVELS[t]}
    if design_changed:
        levels |= {Level.L0, Level.L1, Level.L2}
    for record in clear_results(build, sorted(levels, key=lambda lv: lv.value)):
        removed.append(f"{record.level.value} result ({record.engine})")
    return removed


def check_board_fit(
    net: Network,
    folding: Folding,
    board_name: str,
    say: Callable[[str], None] | None = None,
    fastest_fitting: int | None = None,
) -> list[dict[str, Any]]:
    """The estimate of the board top for ``board_name``
    (:func:`hwbnn.fpga.estimate_cost.board_fit`), told through ``say``; DesignTooLarge naming
    the first resource over capacity and, when the chooser searched them
    (:func:`hwbnn.fpga.estimate_cost.choose_for_board`), the fewest cycles/frame that fit
    (``fastest_fitting``; None: not even the fully folded design)."""
    from hwbnn.fpga.boards import get_board
    from hwbnn.fpga.estimate import estimate_plan
    from hwbnn.fpga.estimate_cost import board_fit
    from hwbnn.fpga.link import LinkFormat
    from hwbnn.fpga.nextpnr import DesignTooLarge
    from hwbnn.plan import build_plan

    board = get_board(board_name)
    plan = build_plan(net, folding)
    est = estimate_plan(plan, board.device)
    fits = board_fit(est, board.device, LinkFormat.from_plan(plan))
    if say is not None:
        say(
            f"  estimate on {board.name} ({board.device.name}): "
            + ", ".join(
                f"{f.name} {count(f.estimated)}/{count(f.available)} ({100 * f.fraction:.0f}%)"
                for f in fits
            )
        )
        soft = sorted(
            (m.cost.luts, f"{layer.name} {m.name} {m.depth} x {m.width}")
            for layer in est.layers
            for m in layer.memories
            if m.cost.kind != "bram" and m.cost.luts >= 64
        )[::-1]
        if soft:
            shown = ", ".join(f"{what} ({count(luts, 'LUTs')})" for luts, what in soft[:4])
            more = f" and {len(soft) - 4} more" if len(soft) > 4 else ""
            say(f"  memories in logic, not block RAM: {shown}{more}")
    over = next((f for f in fits if not f.fits), None)
    if over is not None:
        if fastest_fitting is not None:
            advice = (
                f"fold it further (a larger --target-cycles: {fastest_fitting} fits) or pick "
                f"a larger board"
            )
        elif plan.initiation_interval < max_cycles(net):
            advice = "fold it further (a larger --target-cycles) or pick a larger board"
        else:
            advice = "even fully folded it does not fit; pick a larger board"
        raise DesignTooLarge(
            f"folding at {count(plan.initiation_interval, 'cycles/frame')} does not fit "
            f"{board.name} ({board.device.name}): {over.name} {count(over.estimated)} estimated, "
            f"{count(over.available)} available ({100 * over.fraction:.0f}%); {advice}"
        )
    return [{"resource": f.name, "estimated": f.estimated, "available": f.available} for f in fits]


def compile_onnx(
    onnx_path: Path,
    build: Path,
    cfg: CompileOptions,
    say: Callable[[str], None] | None = None,
    board: str | None = None,
) -> dict[str, Any]:
    """Lower ``onnx_path`` into ``build``: IR, folding, plan and ``cfg.target``'s code.

    With ``board``, the folding's estimate must fit that board (:func:`check_board_fit`)
    before anything is written: DesignTooLarge otherwise, and ``build`` stays as it was."""
    onnx_path, build = Path(onnx_path), Path(build)
    loaded = load_model(onnx_path)  # checked; external data read from the model's folder
    qmodel = loaded.model
    spec = InputSpec(cfg.input_levels, *cfg.input_range)
    net = lower(qmodel, spec, str(onnx_path))
    folding = resolve_folding(net, cfg, board, say)
    fit = check_board_fit(net, folding, board, say) if board is not None else None
    meta = {p.key: p.value for p in qmodel.model.metadata_props}
    fields = {
        "source": str(onnx_path.resolve()),
        "checkpoint": meta.get(CHECKPOINT_KEY),
        "target": cfg.target.value,
        "layers": [layer.name for layer in net.layers],
        "initiation_interval": initiation_interval(net, folding),
    }

    def make(directory: Path) -> dict[str, Any]:
        """Write the compile's files into ``directory``; the build's copy of the model stays
        where it is when it is the model being compiled (``hwbnn run``)."""
        save_network(net, directory)
        (directory / "folding.json").write_text(folding.to_json(net))
        model = build / "model.onnx"
        if loaded.external:  # the build's copy holds the data (later steps read the build only)
            model = directory / "model.onnx"
            model.write_bytes(qmodel.model.SerializeToString())
        elif not (model.is_file() and model.resolve() == onnx_path.resolve()):
            model = directory / "model.onnx"
            shutil.copyfile(onnx_path, model)
        return generate(cfg.target.value, net, folding, model, directory)

    if not (build / MANIFEST).is_file():
        with atomic_build(build) as tmp:
            generated = make(tmp)
            write_manifest(tmp, **fields, generated=generated)
    else:
        generated = _compile_into(build, make, cfg.target, say)
        old = read_manifest(build).get("generated", {})
        old = old if isinstance(old, dict) else {}
        kept = {t: info for t, info in old.items() if (build / t).is_dir()}  # not stale
        update_manifest(build, **fields, generated={**kept, **generated})
    plan = load_plan(build)  # generate() wrote it
    return {
        "build": str(build),
        "target": cfg.target.value,
        "board_fit": fit,
        "branch_fifos": _branch_fifos(plan),
        "initiation_interval": plan.initiation_interval,
        "latency_cycles": plan.latency_cycles,
        "layers": [
            {
                "name": layer.name,
                "kind": layer.kind.value,
                "in": sum(edge.elements for edge in net.in_edges(layer.name)),
                "out": net.edge(layer.name).elements,
                "pe": fold.pe,
                "simd": fold.simd,
                "cycles": layer_cycles(layer, fold, net),
            }
            for layer, fold in zip(net.layers, folding.layers, strict=True)
        ],
    }


def _compile_into(
    build: Path,
    make: Callable[[Path], dict[str, Any]],
    target: Target,
    say: Callable[[str], None] | None,
) -> dict[str, Any]:
    """Make the new files aside, then move them into the existing ``build``."""
    tmp = Path(tempfile.mkdtemp(prefix=f".{build.name}.compile-", dir=build.parent))
    try:
        generated = make(tmp)
        changed = _design_digest(build) != _design_digest(tmp)
        removed = _remove_stale(build, target, changed)
        for item in sorted(tmp.iterdir()):
            dest = build / item.name
            if dest.is_dir():
                shutil.rmtree(dest)
            item.replace(dest)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if removed and say is not None:
        say(f"  replaced: {', '.join(removed)}")
    return generated


def _branch_fifos(plan: Plan) -> list[dict[str, Any]]:
    """The FIFOs that a graph's plan sized for its branches (none for a chain)."""
    return [
        {
            "from": plan.units[e.src].name,
            "to": plan.units[e.dst].name,
            "port": e.dst_port,
            "depth": e.fifo_depth,
            "lag_beats": e.lag_beats,
        }
        for e in plan.edges
        if e.lag_beats
    ]
