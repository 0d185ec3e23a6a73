"""Renderers of the hardware plan (hwbnn.plan): Verilog top, HLS C++ top, hls4ml project.

:func:`generate` is the one entry point: it builds the plan once, writes ``BUILD/plan.json``
and renders the target's code into the build directory.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hwbnn.errors import ConfigError
from hwbnn.ir.folding import Folding
from hwbnn.ir.types import Network

#: The code generation targets; "ir" writes the plan only.
TARGETS = ("ir", "rtl", "hls", "hls4ml")


def generate(
    target: str, net: Network, folding: Folding, onnx_path: Path, build: Path
) -> dict[str, Any]:
    """Plan ``net`` at ``folding``, write ``build/plan.json`` and render ``target`` into
    ``build``; return the generator's summary for the manifest (``{}`` for "ir").

    Raises:
        ConfigError: an unknown target, or a folding the plan does not fit (naming the layer).
    """
    from hwbnn.plan import build_plan, write_plan

    if target not in TARGETS:
        raise ConfigError(f"unknown target {target!r}; choose one of {', '.join(TARGETS)}")
    plan = build_plan(net, folding)
    if target == "hls4ml":
        plan.require_chain(target)
    build = Path(build)
    write_plan(plan, build)
    if target == "rtl":
        from hwbnn.codegen.rtl import render_rtl

        return render_rtl(plan, net, onnx_path, build)
    if target == "hls":
        from hwbnn.codegen.hls import render_hls

        return render_hls(plan, net, onnx_path, build)
    if target == "hls4ml":
        # imports hls4ml; the project's pass plans the same network again from the ONNX model
        from hwbnn.codegen.hls4ml_backend.project import generate_hls4ml

        return generate_hls4ml(net, folding, onnx_path, build)
    return {}


def write_build(
    net: Network,
    folding: Folding,
    build_dir: Path,
    *,
    target: str = "rtl",
    fifo_depth: int | None = None,
    plan: Any = None,
) -> dict[str, Any]:
    """A ``--target rtl`` or ``hls`` build straight from an IR (no ONNX model): ir.json/ir.npz,
    folding.json, plan.json, rtl/ or hls/ and the manifest, written atomically. For tests and
    benchmarks; ``plan`` (a :class:`hwbnn.plan.Plan` of this net and folding) replaces the
    planned one, e.g. with other FIFO depths."""
    from hwbnn.build import atomic_build, write_manifest
    from hwbnn.ir.serialize import save_network
    from hwbnn.plan import build_plan, write_plan

    if target not in ("rtl", "hls"):
        raise ConfigError(f"write_build makes rtl or hls builds, not {target!r}")
    if plan is None:
        plan = build_plan(net, folding, fifo_depth=fifo_depth)
    with atomic_build(Path(build_dir)) as tmp:
        save_network(net, tmp)
        (tmp / "folding.json").write_text(folding.to_json(net))
        write_plan(plan, tmp)
        source = Path(net.source or "network")
        if target == "rtl":
            from hwbnn.codegen.rtl import render_rtl

            generated = render_rtl(plan, net, source, tmp)
        else:
            from hwbnn.codegen.hls import render_hls

            generated = render_hls(plan, net, source, tmp)
        write_manifest(
            tmp,
            source=net.source,
            target=target,
            steps=["write_build"],
            layers=[layer.name for layer in net.layers],
            initiation_interval=plan.initiation_interval,
            generated=generated,
        )
    return generated
