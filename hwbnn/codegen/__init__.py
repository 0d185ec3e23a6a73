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
    if target in ("hls", "hls4ml"):
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
