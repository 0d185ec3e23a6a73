"""Save and load a :class:`Network` as ``ir.json`` (structure) plus ``ir.npz`` (arrays).

Format ``hwbnn-ir-2`` lists the nodes in topological order, each with its ``inputs``; a build
written before graphs (``hwbnn-ir-1``, a chain) still loads. Arrays are keyed by node name, so
names must be unique: a network with two nodes of one name is refused when it is built and
when an ``ir.json`` is loaded.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from hwbnn.errors import ModelError
from hwbnn.ir.types import (
    AddJoin,
    Concat,
    Fork,
    InputFormat,
    InputThreshold,
    Layer,
    LayerKind,
    MatrixVector,
    MaxPool,
    Network,
    SlidingWindow,
    Threshold,
)

FORMAT = "hwbnn-ir-2"
#: Formats :func:`load_network` reads (ir-1: a chain without ``inputs``).
READABLE = ("hwbnn-ir-1", FORMAT)


def save_network(net: Network, directory: Path) -> tuple[Path, Path]:
    directory.mkdir(parents=True, exist_ok=True)
    arrays: dict[str, np.ndarray] = {"input.values": net.input.values}
    layers: list[dict[str, Any]] = []
    for layer in net.layers:
        entry: dict[str, Any] = {
            "name": layer.name,
            "kind": layer.kind.value,
            "inputs": list(net.inputs_of(layer.name)),
        }
        if isinstance(layer, Fork | AddJoin | Concat):
            pass
        elif isinstance(layer, Threshold):
            entry["out_base"] = layer.out_base
            arrays[f"{layer.name}.thresholds"] = layer.thresholds
        elif isinstance(layer, InputThreshold):
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
                emits_acc=layer.emits_acc,
                acc_bits=layer.acc_bits,
                pixels=layer.pixels,
            )
            arrays[f"{layer.name}.weights"] = np.packbits(layer.weights, axis=1, bitorder="little")
            if layer.thresholds is not None:
                arrays[f"{layer.name}.thresholds"] = layer.thresholds
            elif layer.is_output:
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
    """The network of a build directory's ir.json/ir.npz.

    Raises:
        ModelError: files missing or unreadable, another format, or a network that does not
            validate (e.g. two nodes of one name), naming the file.
    """
    json_path, npz_path = directory / "ir.json", directory / "ir.npz"
    for path in (json_path, npz_path):
        if not path.is_file():
            raise ModelError(f"{path}: not found (is {directory} an hwbnn build directory?)")
    try:
        doc = json.loads(json_path.read_text())
        arrays = np.load(npz_path)
    except (OSError, ValueError) as exc:
        raise ModelError(f"{directory}: unreadable IR ({exc})") from None
    if not isinstance(doc, dict) or doc.get("format") not in READABLE:
        found = doc.get("format") if isinstance(doc, dict) else None
        raise ModelError(
            f"{json_path}: IR format {found!r} is not one this hwbnn reads "
            f"({', '.join(READABLE)}); compile the model again"
        )
    try:
        names = [entry["name"] for entry in doc["layers"]]
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise ValueError(f"{twice[0]}: duplicate node name (names must be unique)")
        inp = InputFormat(tuple(doc["input"]["shape"]), arrays["input.values"])
        layers = [_load_layer(entry, arrays) for entry in doc["layers"]]
        return Network(inp, tuple(layers), doc.get("source", ""))
    except (KeyError, TypeError, ValueError) as exc:
        raise ModelError(f"{json_path}: invalid IR ({type(exc).__name__}: {exc})") from None


def _load_layer(entry: dict[str, Any], arrays: Any) -> Layer:
    name = entry["name"]
    kind = LayerKind(entry["kind"])
    inputs = tuple(entry.get("inputs", ()))
    if kind is LayerKind.FORK:
        return Fork(name, inputs)
    if kind is LayerKind.ADD_JOIN:
        return AddJoin(name, inputs)
    if kind is LayerKind.CONCAT:
        return Concat(name, inputs)
    if kind is LayerKind.THRESHOLD:
        return Threshold(name, arrays[f"{name}.thresholds"], inputs, entry["out_base"])
    if kind is LayerKind.INPUT_THRESHOLD:
        return InputThreshold(name, arrays[f"{name}.thresholds"], entry["levels"], inputs=inputs)
    if kind is LayerKind.SLIDING_WINDOW:
        return SlidingWindow(
            name,
            tuple(entry["in_shape"]),
            entry["kernel"],
            entry["stride"],
            tuple(entry["padding"]),
            entry["input_levels"],
            entry["pad_code"],
            inputs=inputs,
        )
    if kind is LayerKind.MAX_POOL:
        return MaxPool(
            name, tuple(entry["in_shape"]), entry["kernel"], entry["stride"], inputs=inputs
        )
    packed = arrays[f"{name}.weights"]
    weights = np.unpackbits(packed, axis=1, count=entry["mw"], bitorder="little").astype(bool)
    output = entry["output"]
    emits_acc = entry.get("emits_acc", output)
    return MatrixVector(
        name,
        weights,
        input_bits=entry["input_bits"],
        input_levels=entry["input_levels"],
        thresholds=None if emits_acc else arrays[f"{name}.thresholds"],
        out_scale=arrays[f"{name}.out_scale"] if output else None,
        out_bias=arrays[f"{name}.out_bias"] if output else None,
        pixels=entry.get("pixels", 1),
        inputs=inputs,
    )
