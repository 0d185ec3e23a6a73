"""Lowering of image ops: Pad + Conv to SlidingWindow + MatrixVector, MaxPool to an OR pool.

Stream order (:mod:`hwbnn.ir.types`): an ONNX image tensor (1, C, H, W) travels as H*W pixels
in raster order, channel innermost. :class:`Stream` records, for the tensor on the data path,
how its ONNX elements sit in the hardware stream.

- ``Pad(x, pads, v)`` (mode constant) followed by ``Conv(W)`` (group 1, square kernel, equal
  strides, equal dilations D, ``pads`` attribute 0) becomes ``SlidingWindow`` with dilation D,
  padding (top, left, bottom, right) (each at most D*(K-1)) and pad code ``k`` where ``v`` is
  the value of code ``k``: -s (code 0) after a binary activation of scale s, ``k * s`` after an
  unsigned integer input quantizer of scale s. A Conv's own ``pads`` attribute pads with 0,
  which is code 0 of an integer input but not a +-1 value: after a binary activation it (or a
  ``Pad`` with value 0) is an error.
- The Conv weight ``W[m, c, ky, kx] = +-s_m`` becomes the row ``m`` of a MatrixVector with
  ``pixels = OH*OW`` whose columns are ordered ``(ky, kx, c)``; its thresholds come from the
  per-channel tail exactly as for a MatMul (the tail ops run on (m, C) rows).
- ``Flatten``/``Reshape`` of an image to (1, C*H*W) leaves the stream in (y, x, c) order while
  ONNX numbers the elements (c, y, x): the next MatMul's weight columns are permuted.
- ``MaxPool`` (floor mode, dilation 1) of bits is the OR of :class:`MaxPool` (``pool_layer``),
  its ``pads`` (ONNX pads a max pool with -inf) and a ``Pad`` with -s before it (the -1 of a
  binary activation of scale s) both padding with bit 0, the OR's neutral element; a MaxPool
  between a product and its activation is moved behind it by
  :mod:`hwbnn.frontend.passes.move_pool_behind_threshold`.

The lowering passes (:mod:`hwbnn.frontend.passes`) call these helpers.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from onnx import NodeProto
from qonnx.core.modelwrapper import ModelWrapper

from hwbnn.errors import ModelError
from hwbnn.frontend.graph import (
    binary_matrix,
    constant_scalar,
    constant_value,
    node_attr,
    node_label,
)
from hwbnn.ir.types import MaxPool, Shape3, SlidingWindow

RETRAIN_PADDING = (
    "retrain padding the +-1 activation with -1 explicitly (hwbnn.nn.ConvStage(padding=p), "
    "i.e. F.pad(x, (p, p, p, p), value=-1) before a Conv2d with padding=0)"
)


def chw_stream_index(c: int, h: int, w: int) -> np.ndarray:
    """``p`` with ``stream[i] == flat[p[i]]`` for a (C, H, W) image flattened in ONNX order."""
    return np.arange(c * h * w).reshape(c, h, w).transpose(1, 2, 0).reshape(-1)


@dataclass(frozen=True)
class Stream:
    """The data tensor's layout: ``image`` (H, W, C) when it is a (1, C, H, W) ONNX image;
    else a flat (1, n) tensor whose ONNX element ``perm[i]`` is stream element ``i``
    (``perm`` None: the same order)."""

    image: Shape3 | None
    perm: np.ndarray | None = None

    def onnx_shape(self) -> list[int] | None:
        if self.image is None:
            return None
        h, w, c = self.image
        return [1, c, h, w]


def stream_after_layout(model: ModelWrapper, node: NodeProto, stream: Stream) -> Stream:
    """The stream after a layout op (Flatten/Reshape/...) on the data path."""
    if node.op_type == "Flatten":  # the recorded output shape holds only for these axes
        rank = 2 if stream.image is None else 4
        axis = node_attr(node, "axis", 1)
        if axis not in (1, 1 - rank):
            raise ModelError(
                f"{node_label(node)}: axis {axis} of a rank-{rank} tensor; hwbnn flattens "
                f"everything after the batch dimension (axis 1)"
            )
    shape = model.get_tensor_shape(node.output[0])
    if stream.image is None:
        if shape is None or len(shape) != 2:
            raise ModelError(f"{node_label(node)}: hwbnn cannot reshape a vector into {shape}")
        return stream
    if shape == stream.onnx_shape():
        return stream
    h, w, c = stream.image
    if shape != [1, c * h * w]:
        raise ModelError(
            f"{node_label(node)}: reshapes a (1, {c}, {h}, {w}) image to {shape}; only "
            f"flattening to (1, {c * h * w}) is supported"
        )
    return Stream(None, chw_stream_index(c, h, w))


def _require_image(node: NodeProto, stream: Stream) -> Shape3:
    if stream.image is None:
        raise ModelError(f"{node_label(node)}: needs a (1, C, H, W) image on the data path")
    return stream.image


def pad_geometry(
    model: ModelWrapper, node: NodeProto, stream: Stream, scale: float, levels: int
) -> tuple[tuple[int, int, int, int], int]:
    """(top, left, bottom, right) and the pad code of a constant ``Pad`` on an image of
    activations with ``levels`` codes of scale ``scale`` (2: binary +-scale)."""
    _require_image(node, stream)
    mode = attr_text(node, "mode", "constant")
    if mode != "constant":
        raise ModelError(f"{node_label(node)}: only constant padding is supported, got {mode}")
    if len(node.input) > 1 and node.input[1]:
        pads = np.asarray(constant_value(model, node.input[1], node), dtype=np.int64).reshape(-1)
    else:  # opset < 11: attributes
        pads = np.asarray(node_attr(node, "pads", []), dtype=np.int64)
    if len(node.input) > 2 and node.input[2]:
        value = constant_scalar(model, node.input[2], node, "the pad value")
    else:
        value = float(node_attr(node, "value", 0.0))
    if len(node.input) > 3 and node.input[3]:
        raise ModelError(f"{node_label(node)}: Pad with an axes input is not supported")
    if pads.shape != (8,) or np.any(pads[[0, 1, 4, 5]] != 0) or np.any(pads < 0):
        raise ModelError(
            f"{node_label(node)}: pads {pads.tolist()} must pad only H and W, non-negatively"
        )
    geometry = (int(pads[2]), int(pads[3]), int(pads[6]), int(pads[7]))
    if levels == 2:
        if value != -scale:
            raise ModelError(
                f"{node_label(node)}: pads a binary activation (+-{scale:g}) with {value:g}, "
                f"which is not a 1-bit value; {RETRAIN_PADDING}"
            )
        return geometry, 0
    code = value / scale
    if not (code == int(code) and 0 <= code < levels):
        raise ModelError(
            f"{node_label(node)}: pads integer inputs (codes k * {scale:g}, k < {levels}) with "
            f"{value:g}, which is not an input code"
        )
    return geometry, int(code)


def attr_text(node: NodeProto, name: str, default: str) -> str:
    """A string attribute (ONNX stores bytes) as text; bytes that are not UTF-8 become U+FFFD,
    so a damaged value is reported, not a decoding error."""
    value = node_attr(node, name, default)
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def spatial_ints(node: NodeProto, name: str, default: int, length: int = 2) -> list[int]:
    """An ints attribute of a 2-D Conv or MaxPool (``pads``: 4 values, others 2), ``default``
    for each value when absent; an error naming the node when it has another length."""
    values = [int(v) for v in node_attr(node, name, [default] * length)]
    if len(values) != length:
        raise ModelError(
            f"{node_label(node)}: attribute {name} has {len(values)} values, a 2-D "
            f"{node.op_type} needs {length}"
        )
    return values


def conv_weights(model: ModelWrapper, node: NodeProto) -> tuple[np.ndarray, np.ndarray, int, int]:
    """(bool weights (MH, K*K*C) in (ky, kx, c) column order, magnitudes (MH,), K, stride)."""
    if node_attr(node, "group", 1) != 1:
        raise ModelError(f"{node_label(node)}: grouped/depthwise convolution is not supported")
    auto_pad = attr_text(node, "auto_pad", "NOTSET")
    if auto_pad != "NOTSET":
        raise ModelError(f"{node_label(node)}: auto_pad={auto_pad} is not supported; use pads")
    conv_dilation(node)  # checked here, read by conv_window's caller
    w = np.asarray(constant_value(model, node.input[1], node), dtype=np.float32)
    if w.ndim != 4 or w.shape[2] != w.shape[3]:
        raise ModelError(f"{node_label(node)}: needs a square 2-D kernel, weight shape {w.shape}")
    strides = list(node_attr(node, "strides", [1, 1]))
    if len(strides) != 2 or strides[0] != strides[1]:
        raise ModelError(f"{node_label(node)}: strides {strides} must be equal")
    mh, c, k, _ = w.shape
    kernel_shape = node_attr(node, "kernel_shape")
    if kernel_shape is not None and list(kernel_shape) != [k, k]:
        raise ModelError(
            f"{node_label(node)}: kernel_shape {list(kernel_shape)} does not match the {k}x{k} "
            f"weights"
        )
    bits, scale = binary_matrix(node, w.reshape(mh, -1).T)
    columns = bits.reshape(mh, c, k, k).transpose(0, 2, 3, 1).reshape(mh, -1)
    return columns, scale, int(k), int(strides[0])


def conv_dilation(node: NodeProto) -> int:
    """The dilation D of a Conv (equal in both directions, >= 1): its taps are D apart."""
    dilations = spatial_ints(node, "dilations", 1)
    if dilations[0] != dilations[1] or dilations[0] < 1:
        raise ModelError(f"{node_label(node)}: dilations {dilations} must be equal and >= 1")
    return dilations[0]


def conv_window(
    model: ModelWrapper,
    pad: NodeProto | None,
    conv: NodeProto,
    stream: Stream,
    scale: float,
    levels: int,
    kernel: int,
    stride: int,
    dilation: int = 1,
) -> SlidingWindow:
    """The sliding window feeding ``conv`` (padded by ``pad`` and/or its ``pads`` attribute),
    its taps ``dilation`` apart."""
    image = _require_image(conv, stream)
    geometry, pad_code = (0, 0, 0, 0), 0
    if pad is not None:
        geometry, pad_code = pad_geometry(model, pad, stream, scale, levels)
    own = spatial_ints(conv, "pads", 0, 4)
    if any(own):
        if levels == 2:
            raise ModelError(
                f"{node_label(conv)}: zero padding (pads={own}) of a binary convolution cannot "
                f"be represented in 1 bit; {RETRAIN_PADDING}"
            )
        if pad is not None and pad_code != 0:
            raise ModelError(f"{node_label(conv)}: pads with 0 after padding with code {pad_code}")
        top, left, bottom, right = own
        geometry = tuple(  # type: ignore[assignment]
            a + b for a, b in zip(geometry, (top, left, bottom, right), strict=True)
        )
    extent = dilation * (kernel - 1) + 1
    if max(geometry) >= extent:
        what = f"{kernel}x{kernel} kernel" + (f" (dilation {dilation})" if dilation > 1 else "")
        raise ModelError(
            f"{node_label(conv)}: padding {geometry} must be smaller than the {extent}x{extent} "
            f"extent of the {what}"
        )
    try:
        return SlidingWindow(
            f"{conv.name}_window",
            image,
            kernel,
            stride,
            geometry,
            levels,
            pad_code,
            dilation=dilation,
        )
    except ValueError as exc:
        raise ModelError(f"{node_label(conv)}: {exc}") from None


def pool_layer(
    model: ModelWrapper,
    node: NodeProto,
    stream: Stream,
    before: tuple[int, int, int, int] = (0, 0, 0, 0),
) -> MaxPool:
    """The OR pool of a MaxPool on a binary image (floor mode), padded by its ``pads`` and by
    ``before`` (a -1 ``Pad`` in front of it) with bit 0."""
    image = _require_image(node, stream)
    kernel, stride = pool_window(node, "max pooling")
    top, left, bottom, right = spatial_ints(node, "pads", 0, 4)
    padding = (before[0] + top, before[1] + left, before[2] + bottom, before[3] + right)
    if max(padding) >= kernel:
        raise ModelError(
            f"{node_label(node)}: padding {padding} must be smaller than the kernel {kernel}"
        )
    if node_attr(node, "storage_order", 0):
        raise ModelError(f"{node_label(node)}: storage_order=1 is not supported")
    try:
        return MaxPool(node.name or "maxpool", image, kernel, stride, padding=padding)
    except ValueError as exc:
        raise ModelError(f"{node_label(node)}: {exc}") from None


def pool_window(node: NodeProto, what: str) -> tuple[int, int]:
    """(kernel, stride) of a pooling node (MaxPool, AveragePool: ``what``): a square kernel and
    equal strides in floor mode, without dilation or auto_pad; else a ModelError naming the
    node."""
    kernel = list(node_attr(node, "kernel_shape", []))
    strides = list(node_attr(node, "strides", [1, 1]))
    if len(kernel) != 2 or kernel[0] != kernel[1] or len(strides) != 2 or strides[0] != strides[1]:
        raise ModelError(
            f"{node_label(node)}: needs a square kernel and equal strides, got kernel {kernel} "
            f"strides {strides}"
        )
    if node_attr(node, "ceil_mode", 0):
        raise ModelError(f"{node_label(node)}: ceil_mode=1 is not supported (use floor mode)")
    if spatial_ints(node, "dilations", 1) != [1, 1]:
        raise ModelError(f"{node_label(node)}: dilated {what} is not supported")
    auto_pad = attr_text(node, "auto_pad", "NOTSET")
    if auto_pad != "NOTSET":
        raise ModelError(f"{node_label(node)}: auto_pad={auto_pad} is not supported")
    return int(kernel[0]), int(strides[0])
