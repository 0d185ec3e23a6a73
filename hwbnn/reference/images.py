"""Image stages of the reference (sliding windows, OR max pools, majority pools) on a block of
frames, and the
byte-packed form of a binary stream they can work on.

Streams are (B, H*W*C) in stream order (pixels row by row, channel innermost). A binary stream
whose pixels hold whole bytes (C a multiple of 8) may travel as :class:`PackedBits`: element i
of a frame at bit i % 8 of byte i // 8 (LSB first, the packing of
:func:`hwbnn.reference.kernels.pack_bits`). A window or a pool then moves a pixel's bytes, eight
times less data than its bits, and a matrix-vector unit reads its rows' bytes as they are.
Every stage gives the same values either way; :func:`unpacked` turns a packed stream back into
bits.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hwbnn.ir.types import MajorityPool, MaxPool, SlidingWindow


@dataclass(frozen=True)
class PackedBits:
    """A binary stream of ``data.shape[1] * 8`` elements per frame, packed into bytes."""

    data: np.ndarray  # (B, elements // 8) uint8

    def __len__(self) -> int:
        return len(self.data)

    @property
    def elements(self) -> int:
        return self.data.shape[1] * 8


def pack_stream(bits: np.ndarray) -> PackedBits:
    """(B, n) bits with n a multiple of 8 -> :class:`PackedBits`."""
    flat = np.ascontiguousarray(bits, dtype=bool).reshape(-1)
    return PackedBits(np.packbits(flat, bitorder="little").reshape(len(bits), bits.shape[1] // 8))


def unpacked(x: np.ndarray | PackedBits) -> np.ndarray:
    """A stream as an array: packed bits unpacked to (B, n) bool, anything else as it is."""
    if not isinstance(x, PackedBits):
        return x
    bits = np.unpackbits(x.data, axis=1, bitorder="little")
    return bits.view(bool)


def _window_view(image: np.ndarray, s: int, oh: int, ow: int, dy: int, dx: int):
    """The pixels at image offset (dy, dx) of every output position: (B, OH, OW, ...)."""
    return image[:, dy : dy + (oh - 1) * s + 1 : s, dx : dx + (ow - 1) * s + 1 : s]


def _windows(layer: SlidingWindow, image: np.ndarray, pad: np.ndarray) -> np.ndarray:
    """(B, H, W, c) pixels -> (B, OH, OW, K, K, c) windows, padded with ``pad`` per element."""
    b, h, w, c = image.shape
    k, s, d = layer.kernel, layer.stride, layer.dilation
    oh, ow, _ = layer.out_shape
    top, left, bottom, right = layer.padding
    if c * image.dtype.itemsize <= 16:
        # small pixels: one copy per window offset, a pixel's values moved as one element
        # (an unsigned integer where one is that wide: NumPy copies those fastest)
        size = c * image.dtype.itemsize
        pixel = np.dtype(f"<u{size}") if size in (1, 2, 4, 8) else np.dtype((np.void, size))
        fill = np.full((1, c), pad, dtype=image.dtype).view(pixel)[0, 0]
        pixels = np.full((b, h + top + bottom, w + left + right), fill, dtype=pixel)
        pixels[:, top : top + h, left : left + w] = np.ascontiguousarray(image).view(pixel)[..., 0]
        out = np.empty((b, oh, ow, k, k), dtype=pixel)
        for dy in range(k):
            for dx in range(k):
                out[:, :, :, dy, dx] = _window_view(pixels, s, oh, ow, dy * d, dx * d)
        return out.view(image.dtype).reshape(b, oh, ow, k, k, c)
    padded = np.pad(image, ((0, 0), (top, bottom), (left, right), (0, 0)), constant_values=pad)
    # (B, H', W', C, E, E) -> strided output positions, dilated taps -> (B, OH, OW, K, K, C)
    extent = layer.extent
    view = np.lib.stride_tricks.sliding_window_view(padded, (extent, extent), axis=(1, 2))
    view = view[:, : (oh - 1) * s + 1 : s, : (ow - 1) * s + 1 : s, :, ::d, ::d]
    return view.transpose(0, 1, 2, 4, 5, 3)


def sliding_windows(layer: SlidingWindow, x: np.ndarray | PackedBits) -> np.ndarray | PackedBits:
    """(B, H*W*C) -> (B, OH*OW*K*K*C): each output pixel's window, ``(ky, kx, c)`` order.

    Packed bits stay packed (a pixel's C/8 bytes move together, the pad bit fills whole bytes).
    """
    h, w, c = layer.in_shape
    if isinstance(x, PackedBits):
        image = x.data.reshape(len(x), h, w, c // 8)
        fill = np.asarray(0xFF if layer.pad_code else 0, dtype=np.uint8)  # 8 pad bits
        return PackedBits(_windows(layer, image, fill).reshape(len(x), layer.out_elements // 8))
    x = np.ascontiguousarray(x)
    image = x.reshape(len(x), h, w, c)
    pad = np.asarray(layer.pad_code).astype(image.dtype)
    return _windows(layer, image, pad).reshape(len(x), layer.out_elements)


def or_pool(
    layer: MaxPool, x: np.ndarray | PackedBits, kernel: str = "numpy"
) -> np.ndarray | PackedBits:
    """(B, H*W*C) bits -> (B, OH*OW*C): OR over each K x K window (max of +-1), padding bit 0
    (the OR's neutral element); packed bits are ORed a byte (8 channels) at a time and stay
    packed. ``kernel="numba"`` ORs the same bytes in a compiled loop."""
    h, w, c = layer.in_shape
    k, s = layer.kernel, layer.stride
    oh, ow, _ = layer.out_shape
    if isinstance(x, PackedBits):
        image = x.data.reshape(len(x), h, w, c // 8)
    else:
        image = np.asarray(x).astype(bool, copy=False).reshape(len(x), h, w, c)
    top, left, bottom, right = layer.padding
    if top or left or bottom or right:
        image = np.pad(image, ((0, 0), (top, bottom), (left, right), (0, 0)))
    if kernel == "numba":
        from hwbnn.reference import _compiled

        data = np.ascontiguousarray(image).view(np.uint8)
        pooled = _compiled.or_pool(data, k, s, oh, ow).view(image.dtype)
        if isinstance(x, PackedBits):
            return PackedBits(pooled.reshape(len(x), layer.out_elements // 8))
        return pooled.reshape(len(x), layer.out_elements)
    out = np.zeros((len(x), oh, ow, image.shape[3]), dtype=image.dtype)
    for dy in range(k):  # one pass per window offset, each over the whole block
        for dx in range(k):
            out |= _window_view(image, s, oh, ow, dy, dx)
    if isinstance(x, PackedBits):
        return PackedBits(out.reshape(len(x), layer.out_elements // 8))
    return out.reshape(len(x), layer.out_elements)


def majority_pool(layer: MajorityPool, x: np.ndarray | PackedBits) -> np.ndarray:
    """(B, H*W*C) bits -> (B, OH*OW*C) bits: ``count of 1s in the K x K window >= T_c``, the
    image padded with 0 (-1) bits (:mod:`hwbnn.ir.majority`)."""
    h, w, c = layer.in_shape
    k, s = layer.kernel, layer.stride
    oh, ow, _ = layer.out_shape
    top, left, bottom, right = layer.padding
    bits = np.asarray(unpacked(x)).astype(np.uint8).reshape(len(x), h, w, c)
    padded = np.pad(bits, ((0, 0), (top, bottom), (left, right), (0, 0)))
    count = np.zeros((len(x), oh, ow, c), dtype=np.int64)
    for dy in range(k):  # one pass per window offset, each over the whole block
        for dx in range(k):
            count += _window_view(padded, s, oh, ow, dy, dx)
    return (count >= layer.thresholds).reshape(len(x), layer.out_elements)
