"""Two builds of the same model are byte-identical, wherever they are made: every file the
compiler writes (IR, folding, plan, RTL and memory files, HLS C++, the hls4ml project), and the
manifest up to the times it records; and two bitstreams of one small design (slow)."""

from __future__ import annotations

import hashlib
import json
import uuid
from pathlib import Path
from typing import Any

import pytest

import hwbnn

#: manifest fields that hold when a step ran and how long it took
TIMES = ("finished", "started", "seconds")


def sha256_tree(root: Path) -> dict[str, str]:
    """Relative path -> sha256 of every file under ``root``."""
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def without_times(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: without_times(v) for k, v in value.items() if k not in TIMES}
    if isinstance(value, list):
        return [without_times(v) for v in value]
    return value


#: a uuid whose last 8 characters (hls4ml's random project stamp) read as a number in YAML,
#: so PyYAML quotes the stamp: the second compile draws it, the first a random one
NUMERIC_STAMP = uuid.UUID("00000000-0000-4000-8000-000012345678")


@pytest.mark.parametrize("target", ["rtl", "hls", "hls4ml"])
def test_two_compiles_of_one_model_are_byte_identical(
    tmp_path: Path, digits_binary: Any, target: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    first, second = tmp_path / "a" / "build", tmp_path / "b" / "deeper" / "build"
    hwbnn.compile(digits_binary.onnx, first, target=target, target_cycles=64)
    monkeypatch.setattr(uuid, "uuid4", lambda: NUMERIC_STAMP)
    hwbnn.compile(digits_binary.onnx, second, target=target, target_cycles=64)
    a, b = sha256_tree(first), sha256_tree(second)
    assert sorted(a) == sorted(b)
    code = [name for name in a if name.startswith(f"{target}/")]
    assert len(code) >= 5 and {"ir.json", "ir.npz", "folding.json", "plan.json"} <= set(a)
    differ = sorted(name for name in a if a[name] != b[name])
    assert differ in ([], ["manifest.json"])  # only the times, checked next
    manifests = [json.loads((out / "manifest.json").read_text()) for out in (first, second)]
    assert without_times(manifests[0]) == without_times(manifests[1])
    source = digits_binary.onnx.resolve()
    assert manifests[0]["inputs"] == {str(source): hashlib.sha256(source.read_bytes()).hexdigest()}
    assert {"hwbnn", "python", "numpy", "onnx", "qonnx", "onnxruntime", "jinja2"} <= set(
        manifests[0]["tools"]
    )
    assert [(e["step"], e["status"]) for e in manifests[0]["flow"]] == [("compile", "complete")]
    assert manifests[0]["state"] == "complete"


@pytest.mark.slow
def test_two_bitstreams_of_one_design_are_byte_identical(tmp_path: Path) -> None:
    """yosys + nextpnr (YoWASP) twice on one design in two directories: the same iCE40 image
    (the default --pnr-seed; nextpnr single-threaded)."""
    import numpy as np

    from hwbnn.fpga.bitstream import BitstreamConfig, bitstream_dir, run_bitstream_flow
    from hwbnn.fpga.synthetic import write_network_build
    from hwbnn.ir.folding import choose_folding
    from hwbnn.sim.random_nets import random_mlp

    net = random_mlp(np.random.default_rng(0), 16, (8,), 4)
    images = []
    for build in (tmp_path / "a" / "build", tmp_path / "b" / "deeper" / "build"):
        write_network_build(net, choose_folding(net, 16), build)
        run_bitstream_flow(build, BitstreamConfig("icebreaker", tools="yowasp"))
        images.append((bitstream_dir(build, "icebreaker") / "hwbnn_board_top.bin").read_bytes())
    assert len(images[0]) > 10_000 and images[0] == images[1]
