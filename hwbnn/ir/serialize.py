"""Save and load a :class:`Network` as ``ir.json`` (structure) plus ``ir.npz`` (arrays)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from hwbnn.errors import ModelError
from hwbnn.ir.types import (
    InputFormat,
    InputThreshold,
    Layer,
    LayerKind,
    MatrixVector,
    MaxPool,
    Network,
    SlidingWindow,
)

FORMAT = "hwbnn-ir-1"


def save_network(net: Network, directory: Path) -> tuple[Path, Path]:
    directory.mkdir(parents=True, exist_ok=True)
    arrays: dict[str, np.ndarray] = {"input.values": net.input.values}
    layers: list[dict[str, Any]] = []
    for layer in net.layers:
        entry: dict[str, Any] = {"name": layer.name, "kind": layer.kind.value}
        if isinstance(layer, InputThreshold):
            entry["levels"] = layer.levels
            arrays[f"{layer.name}.thresholds"] = layer.thresholds
        elif isinstance(layer, SlidingWindow):
            entry.update(
                in_shape=list(layer.in_shape),
                kernel=layer.kernel,
                stride=layer.stride,
                padding=list(layer.padding),
                input_levels=layer.input_levels,
                pad_code=layer.pad_code,
            )
        elif isinstance(layer, MaxPool):
            entry.update(in_shape=list(layer.in_shape), kernel=layer.kernel, stride=layer.stride)
        else:
            entry.update(
                mh=layer.mh,
                mw=layer.mw,
                input_bits=layer.input_bits,
                input_levels=layer.input_levels,
                output=layer.is_output,
                acc_bits=layer.acc_bits,
                pixels=layer.pixels,
            )
            arrays[f"{layer.name}.weights"] = np.packbits(layer.weights, axis=1, bitorder="little")
            if layer.thresholds is not None:
                arrays[f"{layer.name}.thresholds"] = layer.thresholds
            else:
                assert layer.out_scale is not None and layer.out_bias is not None
                arrays[f"{layer.name}.out_scale"] = layer.out_scale
                arrays[f"{layer.name}.out_bias"] = layer.out_bias
        layers.append(entry)
    doc = {
        "format": FORMAT,
        "source": net.source,
        "input": {"shape": list(net.input.shape), "levels": net.input.levels},
        "layers": layers,
    }
    json_path, npz_path = directory / "ir.json", directory / "ir.npz"
    json_path.write_text(json.dumps(doc, indent=2) + "\n")
    np.savez(npz_path, **arrays)  # type: ignore[arg-type]
    return json_path, npz_path


def load_network(directory: Path) -> Network:
    json_path, npz_path = directory / "ir.json", directory / "ir.npz"
    for path in (json_path, npz_path):
        if not path.is_file():
            raise ModelError(f"{path}: not found (is {directory} an hwbnn build directory?)")
    try:
        doc = json.loads(json_path.read_text())
        arrays = np.load(npz_path)
    except (OSError, ValueError) as exc:
        raise ModelError(f"{directory}: unreadable IR ({exc})") from None
    if doc.get("format") != FORMAT:
        raise ModelError(f"{json_path}: not an hwbnn IR (expected format {FORMAT})")
    inp = InputFormat(tuple(doc["input"]["shape"]), arrays["input.values"])
    layers: list[Layer] = []
    for entry in doc["layers"]:
        name = entry["name"]
        kind = LayerKind(entry["kind"])
        if kind is LayerKind.INPUT_THRESHOLD:
            layers.append(InputThreshold(name, arrays[f"{name}.thresholds"], entry["levels"]))
            continue
        if kind is LayerKind.SLIDING_WINDOW:
            layers.append(
                SlidingWindow(
                    name,
                    tuple(entry["in_shape"]),
                    entry["kernel"],
                    entry["stride"],
                    tuple(entry["padding"]),
                    entry["input_levels"],
                    entry["pad_code"],
                )
            )
            continue
        if kind is LayerKind.MAX_POOL:
            layers.append(MaxPool(name, tuple(entry["in_shape"]), entry["kernel"], entry["stride"]))
            continue
        packed = arrays[f"{name}.weights"]
        weights = np.unpackbits(packed, axis=1, count=entry["mw"], bitorder="little").astype(bool)
        output = entry["output"]
        layers.append(
            MatrixVector(
                name,
                weights,
                input_bits=entry["input_bits"],
                input_levels=entry["input_levels"],
                thresholds=None if output else arrays[f"{name}.thresholds"],
                out_scale=arrays[f"{name}.out_scale"] if output else None,
                out_bias=arrays[f"{name}.out_bias"] if output else None,
                pixels=entry.get("pixels", 1),
            )
        )
    return Network(inp, tuple(layers), doc.get("source", ""))
