"""Build directories made straight from an IR network, without ONNX or training: for resource
sweeps (benchmarks/bitstream_resources.py) and the flow tests.

The directory has what ``hwbnn compile --target rtl`` writes (``ir.json``/``ir.npz``,
``folding.json``, ``rtl/``, ``manifest.json``), so every flow and report runs on it.
"""

from __future__ import annotations

from pathlib import Path

from hwbnn.build import atomic_build, write_manifest
from hwbnn.codegen.rtl import generate_rtl
from hwbnn.ir.folding import Folding, check_folding
from hwbnn.ir.serialize import save_network
from hwbnn.ir.types import Network


def write_network_build(
    net: Network, folding: Folding, build: Path, source: str = "synthetic"
) -> Path:
    """Write a ``--target rtl`` build of ``net`` folded as ``folding`` (atomically)."""
    check_folding(net, folding)
    with atomic_build(Path(build)) as tmp:
        save_network(net, tmp)
        (tmp / "folding.json").write_text(folding.to_json(net))
        generated = generate_rtl(net, folding, Path(f"{source}.onnx"), tmp)
        write_manifest(tmp, source=source, target="rtl", steps=["compile"], generated=generated)
    return Path(build)
