"""The backend-neutral hardware plan, built once from the IR and its folding.

:func:`build_plan` computes and validates every width, beat layout, memory layout, FIFO depth
and identifier of a folded network (:class:`Plan`); :func:`write_plan` stores it as
``BUILD/plan.json`` and :func:`load_plan` reads it back. Packing numbers into words (stream
beats, weight and threshold memories) lives in :mod:`hwbnn.plan.packing`, the width arithmetic
(``clog2``, accumulator and threshold widths, identifiers) in :mod:`hwbnn.plan.widths`.
"""

from __future__ import annotations

import json
from pathlib import Path

from hwbnn.errors import ConfigError
from hwbnn.plan.build import PlanError, auto_fifo_depth, line_buffer_rows
from hwbnn.plan.graph import build_plan
from hwbnn.plan.model import (
    PLAN_FORMAT,
    Converter,
    Edge,
    Memory,
    MemoryKind,
    Plan,
    StreamFormat,
    UnitKind,
    UnitPlan,
    Window,
)
from hwbnn.plan.widths import MvauWidths, clog2, identifier, mvau_threshold_range, mvau_widths

#: The plan's file in a build directory.
PLAN_FILE = "plan.json"

__all__ = [
    "PLAN_FILE",
    "PLAN_FORMAT",
    "Converter",
    "Edge",
    "Memory",
    "MemoryKind",
    "MvauWidths",
    "Plan",
    "PlanError",
    "StreamFormat",
    "UnitKind",
    "UnitPlan",
    "Window",
    "auto_fifo_depth",
    "build_plan",
    "clog2",
    "identifier",
    "line_buffer_rows",
    "load_plan",
    "mvau_threshold_range",
    "mvau_widths",
    "write_plan",
]


def write_plan(plan: Plan, build: Path) -> Path:
    """Write ``build/plan.json`` (the directory must exist); return its path."""
    path = Path(build) / PLAN_FILE
    path.write_text(plan.to_json())
    return path


def load_plan(build: Path) -> Plan:
    """The plan of a build directory: its plan.json, or for a build written before plans
    existed, the plan of its ir.json/ir.npz and folding.json.

    Raises:
        ConfigError: neither a plan.json nor an IR with a folding.json (compile the build
            again), or a plan.json that is not a plan of this version.
    """
    build = Path(build)
    path = build / PLAN_FILE
    if not path.is_file():
        from hwbnn.ir.folding import load_folding
        from hwbnn.ir.serialize import load_network

        if not (build / "folding.json").is_file():
            raise ConfigError(f"{build}: no {PLAN_FILE} and no folding.json; compile the model")
        net = load_network(build)
        return build_plan(net, load_folding(build / "folding.json", net))
    try:
        return Plan.from_dict(json.loads(path.read_text()))
    except (ValueError, KeyError, TypeError) as exc:
        raise ConfigError(f"{path}: not a hardware plan ({type(exc).__name__}: {exc})") from None
