"""A straightforward model of the numeric contract, for tests of the fast reference: +-1
integers, no packing, windows and pools by explicit index maps, every node on int64."""

from __future__ import annotations

import numpy as np

from hwbnn.ir.types import (
    INPUT,
    AddJoin,
    Concat,
    Fork,
    InputThreshold,
    MajorityPool,
    MatrixVector,
    MaxPool,
    Network,
    SlidingWindow,
    Threshold,
    ValueKind,
)


def _window_index(shape, kernel, stride, padding, out_shape, dilation=1) -> np.ndarray:
    """(OH*OW*K*K*C,) index into the (H*W*C) stream, -1 where the window hangs over the edge;
    order (oy, ox, ky, kx, c); taps ``dilation`` apart."""
    h, w, c = shape
    oh, ow, _ = out_shape
    top, left = padding[0], padding[1]
    oy, ox, ky, kx, ch = np.indices((oh, ow, kernel, kernel, c)).reshape(5, -1)
    y, x = oy * stride + ky * dilation - top, ox * stride + kx * dilation - left
    inside = (y >= 0) & (y < h) & (x >= 0) & (x < w)
    return np.where(inside, (y * w + x) * c + ch, -1)


def naive_outputs(net: Network, codes: np.ndarray) -> dict[str, np.ndarray]:
    """Every node's (B, n) output as int64 (bits 0/1) for input codes (B, n)."""
    values = {INPUT: np.asarray(codes, dtype=np.int64)}
    for layer in net.layers:
        args = [values[name] for name in net.inputs_of(layer.name)]
        x = args[0]
        if isinstance(layer, InputThreshold):
            out = (x >= layer.thresholds).astype(np.int64)
        elif isinstance(layer, SlidingWindow):
            index = _window_index(
                layer.in_shape,
                layer.kernel,
                layer.stride,
                layer.padding,
                layer.out_shape,
                layer.dilation,
            )
            out = np.where(index >= 0, x[:, np.maximum(index, 0)], layer.pad_code)
        elif isinstance(layer, MaxPool):
            oh, ow, c = layer.out_shape
            index = _window_index(
                layer.in_shape, layer.kernel, layer.stride, layer.padding, (oh, ow, c)
            )
            # positions outside the image are -1 (bit 0): they never win the max
            taps = np.where(index >= 0, x[:, np.maximum(index, 0)], 0)
            out = taps.reshape(len(x), oh * ow, layer.kernel**2, c).max(axis=2)
            out = out.reshape(len(x), layer.out_elements)
        elif isinstance(layer, MajorityPool):
            oh, ow, c = layer.out_shape
            index = _window_index(
                layer.in_shape, layer.kernel, layer.stride, layer.padding, (oh, ow, c)
            )
            ones = np.where(index >= 0, x[:, np.maximum(index, 0)], 0)  # padding counts as -1
            count = ones.reshape(len(x), oh * ow, layer.kernel**2, c).sum(axis=2)
            out = (count >= layer.thresholds).astype(np.int64).reshape(len(x), layer.out_elements)
        elif isinstance(layer, MatrixVector):
            rows = x.reshape(len(x) * layer.pixels, layer.mw)
            signed_in = 2 * rows - 1 if layer.binary_input else rows
            acc = signed_in @ np.where(layer.weights, 1, -1).T
            if layer.thresholds is None:
                out = acc
            else:
                value = (acc + layer.mw) // 2 if layer.binary_input else acc
                out = (value >= layer.thresholds).astype(np.int64)
            out = out.reshape(len(x), layer.pixels * layer.mh)
        elif isinstance(layer, Fork):
            out = x
        elif isinstance(layer, AddJoin):
            edges = net.in_edges(layer.name)
            out = sum(
                (2 * a - 1 if e.kind is ValueKind.BITS else a)
                for a, e in zip(args, edges, strict=True)
            )
        elif isinstance(layer, Concat):
            pixels = net.in_edges(layer.name)[0].pixels
            parts = [a.reshape(len(a), pixels, -1) for a in args]
            out = np.concatenate(parts, axis=2).reshape(len(x), -1)
        elif isinstance(layer, Threshold):
            channel = np.arange(x.shape[1]) % layer.channels
            side = args[1] if layer.has_side else np.zeros_like(x)
            steps = layer.thresholds[channel[None, :], side]  # (B, n, N)
            out = layer.out_base + (x[..., None] >= steps).sum(axis=2)
        else:
            raise AssertionError(f"no naive model of {layer!r}")
        values[layer.name] = np.asarray(out, dtype=np.int64)
    return values
