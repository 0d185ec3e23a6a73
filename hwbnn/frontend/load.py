"""LoadModel: read an ONNX file that someone else made, without trusting it.

- The file and the external data it names must together stay under ``MAX_MODEL_BYTES``
  (protobuf's 2 GiB limit); the file is parsed as binary protobuf.
- External data (initializers whose values sit in other files, as ``onnx.save`` writes large
  models): each location must be a relative path without ``..`` and without symbolic links
  (onnx's own rules) naming a regular file in the model's folder; ``offset`` and ``length``
  must be integers within the file and the length must match the tensor's dimensions.
  Anything else is refused before a byte outside the folder is opened. Only initializers
  may be external.
- The data is read into the model, so the model is self-contained (the build keeps that copy).

Then the graph is checked (:mod:`hwbnn.frontend.validate`). Every failure is a
:class:`~hwbnn.errors.ModelError` naming the file (and the tensor or node).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path

import onnx
from onnx import TensorProto, helper
from qonnx.core.modelwrapper import ModelWrapper

from hwbnn.errors import ModelError
from hwbnn.frontend.graph import one_line
from hwbnn.frontend.limits import MAX_MODEL_BYTES, MAX_TENSOR_ELEMENTS
from hwbnn.frontend.validate import validate_model

#: element types an external initializer may have (fixed item sizes)
EXTERNAL_TYPES = frozenset(
    {
        TensorProto.FLOAT,
        TensorProto.DOUBLE,
        TensorProto.FLOAT16,
        TensorProto.INT8,
        TensorProto.INT16,
        TensorProto.INT32,
        TensorProto.INT64,
        TensorProto.UINT8,
        TensorProto.UINT16,
        TensorProto.UINT32,
        TensorProto.UINT64,
        TensorProto.BOOL,
    }
)


@dataclass(frozen=True)
class LoadedModel:
    """A model read by :func:`load_model`; ``external``: the data files it read (in its folder)."""

    model: ModelWrapper
    external: tuple[Path, ...] = ()


def load_model(path: Path | str) -> LoadedModel:
    """Read the ONNX file ``path`` (see the module docstring)."""
    path = Path(path)
    if not path.is_file():
        raise ModelError(f"{path}: ONNX file not found")
    size = path.stat().st_size
    if size > MAX_MODEL_BYTES:
        raise ModelError(f"{path}: {size} bytes, more than an ONNX file can hold (2 GiB)")
    try:
        proto = onnx.ModelProto.FromString(path.read_bytes())
    except Exception as exc:  # protobuf raises DecodeError and others
        raise ModelError(f"{path}: not a readable ONNX model ({type(exc).__name__})") from None
    if len(proto.graph.node) == 0:
        raise ModelError(f"{path}: ONNX graph has no nodes (empty or truncated file)")
    for node in proto.graph.node:
        for attr in node.attribute:
            tensors = [attr.t] if attr.HasField("t") else []
            if any(t.data_location == TensorProto.EXTERNAL for t in [*tensors, *attr.tensors]):
                raise ModelError(
                    f"{path}: node {node.name or node.op_type} keeps a tensor in an external "
                    f"file; hwbnn reads external data of initializers only"
                )
    files, total = [], size
    for tensor in proto.graph.initializer:
        if tensor.data_location == TensorProto.EXTERNAL:
            file, length = _read_external(path, tensor, MAX_MODEL_BYTES - total)
            files.append(file)
            total += length
    try:
        validate_model(proto)  # before ModelWrapper, which asserts on some malformed graphs
    except ModelError as exc:
        raise ModelError(f"{path}: {exc}") from None
    return LoadedModel(ModelWrapper(proto), tuple(dict.fromkeys(files)))


def _integer(path: Path, what: str, text: str | None) -> int | None:
    if text is None:
        return None
    if not re.fullmatch(r"[0-9]{1,19}", text):
        raise ModelError(f"{path}: {what} is {text[:30]!r}, not a non-negative integer")
    return int(text)


def _read_external(path: Path, tensor: TensorProto, budget: int) -> tuple[Path, int]:
    """Check the external data of ``tensor`` and read it into the tensor; (file, bytes)."""
    what = f"initializer {tensor.name}"
    info = {entry.key: entry.value for entry in tensor.external_data}
    location = info.get("location", "")
    if not location or "\x00" in location or Path(location).is_absolute():
        raise ModelError(
            f"{path}: {what}: external data location {location!r} is not a relative path"
        )
    folder = path.parent.resolve()
    parts = Path(location).parts
    if ".." in parts:
        raise ModelError(
            f"{path}: {what}: external data {location!r} climbs out with '..'; hwbnn reads "
            f"data files in the model's folder only"
        )
    step = folder
    for part in parts:  # no link anywhere on the way (as onnx itself requires)
        step = step / part
        if step.is_symlink():
            raise ModelError(
                f"{path}: {what}: external data {location!r} goes through the symbolic link "
                f"{step}; hwbnn reads data files in the model's folder only"
            )
    target = folder.joinpath(*parts)
    if folder not in target.parents or not target.is_file():
        raise ModelError(f"{path}: {what}: external data {location!r} is not a file")
    if tensor.data_type not in EXTERNAL_TYPES:
        raise ModelError(f"{path}: {what}: element type {tensor.data_type} cannot be external")
    dims = list(tensor.dims)
    if any(d < 0 for d in dims) or math.prod(dims) > MAX_TENSOR_ELEMENTS:
        raise ModelError(f"{path}: {what}: dimensions {dims} exceed {MAX_TENSOR_ELEMENTS}")
    expected = math.prod(dims) * helper.tensor_dtype_to_np_dtype(tensor.data_type).itemsize
    size = target.stat().st_size
    offset = _integer(path, f"{what}: external data offset", info.get("offset")) or 0
    length = _integer(path, f"{what}: external data length", info.get("length"))
    length = size - offset if length is None else length
    if offset + length > size or length != expected or length > budget:
        raise ModelError(
            f"{path}: {what}: external data {location!r} gives {length} bytes at offset "
            f"{offset} of a {size}-byte file; the tensor needs {expected} bytes"
        )
    try:
        with target.open("rb") as handle:
            handle.seek(offset)
            raw = handle.read(length)
    except OSError as exc:
        raise ModelError(f"{path}: {what}: cannot read {location!r}: {one_line(exc)}") from None
    tensor.raw_data = raw
    del tensor.external_data[:]
    tensor.data_location = TensorProto.DEFAULT
    return target, length
