"""Save and load a :class:`Network` as ``ir.json`` (structure) plus ``ir.npz`` (arrays).

Format ``hwbnn-ir-2`` lists the nodes in topological order, each with its ``inputs``; a build
written before graphs (``hwbnn-ir-1``, a chain) still loads. Arrays are keyed by node name, so
names must be unique: a network with two nodes of one name is refused when it is built and
when an ``ir.json`` is loaded.
"""

from __future__ import annotations

import json
import math
import struct
import zipfile
import zlib
from pathlib import Path
from typing import Any

import numpy as np

from hwbnn.errors import ModelError
from hwbnn.ir.types import (
    AddJoin,
    Concat,
    DBFMatrixVector,
    Fork,
    InputFormat,
    InputThreshold,
    Interaction,
    Layer,
    LayerKind,
    MajorityPool,
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
        elif isinstance(layer, Interaction):
            entry.update(deadzone=layer.deadzone, magnitude=layer.magnitude)
            arrays[f"{layer.name}.signs"] = layer.signs
            arrays[f"{layer.name}.negate"] = np.asarray(layer.negate, dtype=np.uint8)
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
                dilation=layer.dilation,
            )
        elif isinstance(layer, MaxPool):
            entry.update(_pool_entry(layer))
        elif isinstance(layer, MajorityPool):
            entry.update(_pool_entry(layer))
            arrays[f"{layer.name}.thresholds"] = layer.thresholds
        elif isinstance(layer, DBFMatrixVector):
            entry.update(_product_entry(layer), bases=layer.bases)
            arrays[f"{layer.name}.codes"] = np.packbits(layer.codes, axis=1, bitorder="little")
            arrays[f"{layer.name}.alpha"] = layer.alpha
            _save_tail(layer, arrays)
        else:
            entry.update(_product_entry(layer), emits_acc=layer.emits_acc)
            arrays[f"{layer.name}.weights"] = np.packbits(layer.weights, axis=1, bitorder="little")
            _save_tail(layer, arrays)
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


def _product_entry(layer: MatrixVector | DBFMatrixVector) -> dict[str, Any]:
    """The ir.json fields a matrix-vector and a DBF unit share."""
    return {
        "mh": layer.mh,
        "mw": layer.mw,
        "input_bits": layer.input_bits,
        "input_levels": layer.input_levels,
        "output": layer.is_output,
        "acc_bits": layer.acc_bits,
        "pixels": layer.pixels,
    }


def _save_tail(layer: MatrixVector | DBFMatrixVector, arrays: dict[str, np.ndarray]) -> None:
    """A unit's thresholds, or the output layer's per-class affine."""
    if layer.thresholds is not None:
        arrays[f"{layer.name}.thresholds"] = layer.thresholds
    elif layer.is_output:
        assert layer.out_scale is not None and layer.out_bias is not None
        arrays[f"{layer.name}.out_scale"] = layer.out_scale
        arrays[f"{layer.name}.out_bias"] = layer.out_bias


def load_network(directory: Path) -> Network:
    """The network of a build directory's ir.json/ir.npz.

    Both files are untrusted input: every field is type-checked (an integer field takes no
    float or bool), every array's dtype and shape is checked against its node, and ir.npz is
    read member by member with each ``.npy`` header checked against the member's size before
    anything is allocated (:func:`read_arrays`).

    Raises:
        ModelError: files missing, unreadable or damaged, another format, or a network that
            does not validate (e.g. two nodes of one name), naming the file and the node.
    """
    json_path, npz_path = directory / "ir.json", directory / "ir.npz"
    for path in (json_path, npz_path):
        if not path.is_file():
            raise ModelError(f"{path}: not found (is {directory} an hwbnn build directory?)")
    try:
        doc = json.loads(json_path.read_text())
    except (OSError, ValueError, RecursionError) as exc:
        raise ModelError(f"{json_path}: unreadable IR ({_reason(exc)}); compile again") from None
    if not isinstance(doc, dict) or doc.get("format") not in READABLE:
        found = doc.get("format") if isinstance(doc, dict) else None
        raise ModelError(
            f"{json_path}: IR format {found!r} is not one this hwbnn reads "
            f"({', '.join(READABLE)}); compile the model again"
        )
    arrays = read_arrays(npz_path)
    try:
        return _network(doc, arrays)
    except (KeyError, TypeError, ValueError, IndexError, OverflowError) as exc:
        raise ModelError(f"{json_path}: invalid IR ({_reason(exc)})") from None


def _reason(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or "no detail"
    return text if isinstance(exc, ValueError) else f"{type(exc).__name__}: {text}"


#: Most bytes the arrays of one ir.npz may hold once read (a CNV's IR holds about 1 MB): a
#: compressed member cannot make the reader allocate more than this.
MAX_ARRAY_BYTES = 1 << 30
#: Most elements an input frame or an image stage may have (64 Mi; CIFAR-10 has 3,072).
MAX_ELEMENTS = 1 << 26
_NPY_HEADERS = {
    (1, 0): np.lib.format.read_array_header_1_0,
    (2, 0): np.lib.format.read_array_header_2_0,
}


def read_arrays(path: Path) -> dict[str, np.ndarray]:
    """Every array of an ``.npz`` file, read eagerly.

    Each member's ``.npy`` header (shape, dtype) must account for exactly the member's size,
    checked before its data is read, and the sizes must stay within :data:`MAX_ARRAY_BYTES`;
    reading a member to its end checks its CRC. Object arrays are refused (no pickle).

    Raises:
        ModelError: a damaged, truncated or foreign file, naming it.
    """
    arrays: dict[str, np.ndarray] = {}
    total = 0
    try:
        with zipfile.ZipFile(path) as archive:
            for info in archive.infolist():
                key = info.filename.removesuffix(".npy")
                if key == info.filename or key in arrays:
                    raise ValueError(f"member {info.filename!r} is not one .npy array")
                if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
                    raise ValueError(f"member {info.filename!r}: unsupported compression")
                total += info.file_size
                if total > MAX_ARRAY_BYTES:
                    raise ValueError(f"arrays larger than {MAX_ARRAY_BYTES} bytes")
                arrays[key] = _read_member(archive, info)
    except (
        OSError,
        EOFError,
        ValueError,
        RuntimeError,  # an encrypted member
        NotImplementedError,
        struct.error,
        zipfile.BadZipFile,
        zlib.error,
    ) as exc:
        raise ModelError(f"{path}: damaged IR arrays ({_reason(exc)}); compile again") from None
    return arrays


def _read_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> np.ndarray:
    with archive.open(info) as handle:
        version = np.lib.format.read_magic(handle)
        header_reader = _NPY_HEADERS.get(version)
        if header_reader is None:
            raise ValueError(f"member {info.filename!r}: .npy format version {version}")
        shape, fortran, dtype = header_reader(handle)
        if dtype.hasobject or dtype.itemsize == 0:
            raise ValueError(f"member {info.filename!r}: dtype {dtype} is not a number")
        nbytes = math.prod(shape) * dtype.itemsize
        if handle.tell() + nbytes != info.file_size:
            raise ValueError(
                f"member {info.filename!r}: header promises {nbytes} bytes of {dtype} "
                f"{shape}, the member holds {info.file_size - handle.tell()}"
            )
        data = handle.read(nbytes)
        if len(data) != nbytes or handle.read(1):
            raise ValueError(f"member {info.filename!r}: truncated")
    array = np.frombuffer(data, dtype=dtype).reshape(shape, order="F" if fortran else "C")
    return array.copy()


_MISSING = object()


class _Node:
    """One node of ir.json with its fields read type-checked; errors name the node."""

    def __init__(self, entry: object, index: int, arrays: dict[str, np.ndarray]) -> None:
        if not isinstance(entry, dict):
            raise ValueError(f"node {index} is not a JSON object")
        name = entry.get("name")
        if not isinstance(name, str) or not name:
            raise ValueError(f"node {index}: name must be a non-empty string, got {name!r}")
        self.entry, self.name, self.arrays = entry, name, arrays
        self.used: list[str] = []

    def _get(self, key: str, default: Any = _MISSING) -> Any:
        if key in self.entry:
            return self.entry[key]
        if default is _MISSING:
            raise ValueError(f"node {self.name}: field {key!r} missing")
        return default

    def integer(self, key: str, low: int = 0, default: Any = _MISSING) -> int:
        return self._checked(key, self._get(key, default), low)

    def _checked(self, key: str, value: Any, low: int) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value < 1 << 31:
            raise ValueError(f"node {self.name}: {key} must be an integer >= {low}, got {value!r}")
        return value

    def flag(self, key: str, default: Any = _MISSING) -> bool:
        value = self._get(key, default)
        if not isinstance(value, bool):
            raise ValueError(f"node {self.name}: {key} must be true or false, got {value!r}")
        return value

    def ints(self, key: str, low: int, length: int | None = None) -> tuple[int, ...]:
        """A list of integers >= ``low`` (of ``length`` items, if given)."""
        value = self._get(key)
        if not isinstance(value, list) or not value or length not in (None, len(value)):
            count = "a list of" if length is None else f"{length}"
            raise ValueError(f"node {self.name}: {key} must be {count} integers, got {value!r}")
        values = tuple(self._checked(f"{key}[{i}]", v, low) for i, v in enumerate(value))
        if math.prod(values) > MAX_ELEMENTS:
            raise ValueError(f"node {self.name}: {key} {values} exceeds {MAX_ELEMENTS} elements")
        return values

    def shape3(self, key: str) -> tuple[int, int, int]:
        height, width, channels = self.ints(key, 1, 3)
        return height, width, channels

    def padding(self) -> tuple[int, int, int, int]:
        top, left, bottom, right = self.ints("padding", 0, 4)
        return top, left, bottom, right

    def inputs(self) -> tuple[str, ...]:
        value = self._get("inputs", [])
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ValueError(f"node {self.name}: inputs must be a list of node names")
        return tuple(value)

    def array(self, suffix: str, kinds: str, ndim: int) -> np.ndarray:
        """The array ``NAME.suffix`` of ir.npz: dtype kind one of ``kinds`` (``i``/``u``
        integers, ``f`` finite floats), ``ndim`` dimensions."""
        key = f"{self.name}.{suffix}"
        if key not in self.arrays:
            raise ValueError(f"node {self.name}: ir.npz has no array {key!r}")
        array = self.arrays[key]
        if array.dtype.kind not in kinds or array.ndim != ndim:
            raise ValueError(
                f"node {self.name}: ir.npz array {key!r} is {array.dtype} {array.shape}, expected "
                f"{ndim}-D {'integers' if 'f' not in kinds else 'floats'}"
            )
        if array.dtype.kind == "f" and not np.isfinite(array).all():
            raise ValueError(f"node {self.name}: ir.npz array {key!r} holds NaN or infinity")
        self.used.append(key)
        return array


def _network(doc: dict[str, Any], arrays: dict[str, np.ndarray]) -> Network:
    entries = doc.get("layers")
    if not isinstance(entries, list) or not entries:
        raise ValueError("'layers' must be a non-empty list")
    nodes = [_Node(entry, i, arrays) for i, entry in enumerate(entries)]
    names = [node.name for node in nodes]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise ValueError(f"{twice[0]}: duplicate node name (names must be unique)")
    source = doc.get("source", "")
    if not isinstance(source, str):
        raise ValueError(f"source must be a string, got {source!r}")
    inp = _input_format(doc.get("input"), arrays)
    layers = [_load_layer(node) for node in nodes]
    unused = set(arrays) - {"input.values"} - {key for node in nodes for key in node.used}
    if unused:
        raise ValueError(f"ir.npz holds {sorted(unused)[0]!r}, which no node of ir.json uses")
    return Network(inp, tuple(layers), source)


def _input_format(entry: object, arrays: dict[str, np.ndarray]) -> InputFormat:
    if not isinstance(entry, dict):
        raise ValueError("'input' must be an object with shape and levels")
    node = _Node({**entry, "name": "input"}, 0, arrays)
    dims = node.ints("shape", 1)
    values = node.array("values", "f", 1)
    if node.integer("levels", 2) != len(values):
        raise ValueError(f"input: levels {entry['levels']} but {len(values)} code values")
    return InputFormat(dims, values)


def _load_layer(node: _Node) -> Layer:
    name = node.name
    kind = LayerKind(node._get("kind"))
    inputs = node.inputs()
    if kind is LayerKind.FORK:
        return Fork(name, inputs)
    if kind is LayerKind.ADD_JOIN:
        return AddJoin(name, inputs)
    if kind is LayerKind.CONCAT:
        return Concat(name, inputs)
    if kind is LayerKind.THRESHOLD:
        thresholds = node.array("thresholds", "iu", 3)
        return Threshold(name, thresholds, inputs, node.integer("out_base", -(1 << 30)))
    if kind is LayerKind.INTERACTION:
        negate = node.array("negate", "u", 1)
        if negate.max(initial=0) > 1:
            raise ValueError(f"node {name}: negate must hold 0 or 1")
        return Interaction(
            name,
            node.array("signs", "i", 2),
            node.integer("deadzone", 1),
            node.integer("magnitude", 1),
            negate.astype(bool),
            inputs,
        )
    if kind is LayerKind.INPUT_THRESHOLD:
        thresholds = node.array("thresholds", "iu", 1)
        return InputThreshold(name, thresholds, node.integer("levels", 2), inputs=inputs)
    if kind is LayerKind.SLIDING_WINDOW:
        return SlidingWindow(
            name,
            node.shape3("in_shape"),
            node.integer("kernel", 1),
            node.integer("stride", 1),
            node.padding(),
            node.integer("input_levels", 2),
            node.integer("pad_code", 0),
            inputs=inputs,
            dilation=node.integer("dilation", 1, default=1),  # files before dilation: 1
        )
    if kind is LayerKind.MAX_POOL:
        shape = node.shape3("in_shape")
        padding = node.padding() if "padding" in node.entry else (0, 0, 0, 0)  # older files
        kernel, stride = node.integer("kernel", 1), node.integer("stride", 1)
        return MaxPool(name, shape, kernel, stride, inputs=inputs, padding=padding)
    if kind is LayerKind.MAJORITY_POOL:
        return MajorityPool(
            name,
            node.shape3("in_shape"),
            node.integer("kernel", 1),
            node.integer("stride", 1),
            node.padding(),
            node.array("thresholds", "iu", 1),
            inputs=inputs,
        )
    if kind is LayerKind.DBF_MATRIX_VECTOR:
        return _dbf_matrix_vector(node, inputs)
    return _matrix_vector(node, inputs)


def _pool_entry(layer: MaxPool | MajorityPool) -> dict[str, Any]:
    return {
        "in_shape": list(layer.in_shape),
        "kernel": layer.kernel,
        "stride": layer.stride,
        "padding": list(layer.padding),
    }


def _bit_rows(node: _Node, suffix: str, rows: int, columns: int) -> np.ndarray:
    """A (rows, columns) bool array stored packed 8 per byte, LSB first."""
    packed = node.array(suffix, "u", 2)
    if packed.dtype != np.uint8 or packed.shape != (rows, -(-columns // 8)):
        raise ValueError(
            f"node {node.name}: ir.npz {suffix} are {packed.dtype} {packed.shape}, expected "
            f"uint8 {(rows, -(-columns // 8))} ({rows} x {columns} packed 8 per byte)"
        )
    return np.unpackbits(packed, axis=1, count=columns, bitorder="little").astype(bool)


def _dbf_matrix_vector(node: _Node, inputs: tuple[str, ...]) -> DBFMatrixVector:
    name = node.name
    mh, mw, bases = node.integer("mh", 1), node.integer("mw", 1), node.integer("bases", 1)
    alpha = node.array("alpha", "i", 2)
    if alpha.shape != (mh, bases):
        raise ValueError(f"node {name}: ir.npz alpha is {alpha.shape}, expected {(mh, bases)}")
    output = node.flag("output")
    layer = DBFMatrixVector(
        name,
        _bit_rows(node, "codes", bases, mw),
        alpha,
        **_product_fields(node, output, output),
        inputs=inputs,
    )
    _check_product(node, layer, "codes and alpha")
    return layer


def _product_fields(node: _Node, output: bool, emits_acc: bool) -> dict[str, Any]:
    """The constructor fields a matrix-vector and a DBF unit share (``_product_entry``'s)."""
    return {
        "input_bits": node.integer("input_bits", 1),
        "input_levels": node.integer("input_levels", 2),
        "thresholds": None if emits_acc else node.array("thresholds", "iu", 1),
        "out_scale": node.array("out_scale", "f", 1) if output else None,
        "out_bias": node.array("out_bias", "f", 1) if output else None,
        "pixels": node.integer("pixels", 1, default=1),
    }


def _check_product(node: _Node, layer: MatrixVector | DBFMatrixVector, source: str) -> None:
    """ValueError if the unit's pixels are out of bounds or its recorded acc_bits are not
    what ``source`` (its weights, or codes and alpha) needs."""
    if layer.pixels > MAX_ELEMENTS:
        raise ValueError(f"node {node.name}: pixels {layer.pixels} exceeds {MAX_ELEMENTS}")
    acc_bits = node.integer("acc_bits", 1, default=layer.acc_bits)
    if acc_bits != layer.acc_bits:
        raise ValueError(
            f"node {node.name}: acc_bits {acc_bits} but its {source} need {layer.acc_bits}"
        )


def _matrix_vector(node: _Node, inputs: tuple[str, ...]) -> MatrixVector:
    name = node.name
    mh, mw = node.integer("mh", 1), node.integer("mw", 1)
    weights = _bit_rows(node, "weights", mh, mw)
    output = node.flag("output")
    emits_acc = node.flag("emits_acc", output)
    if output and not emits_acc:
        raise ValueError(f"node {name}: the output layer emits its accumulators")
    layer = MatrixVector(name, weights, **_product_fields(node, output, emits_acc), inputs=inputs)
    _check_product(node, layer, "weights")
    return layer
