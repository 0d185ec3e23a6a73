"""Random binary graphs built directly as IR: residual blocks, add-joins and concatenations.

A graph is an image input (binarized by input thresholds), a 3x3 stem convolution, then a
sequence of blocks, then an OR pool and a dense output layer:

- ``"identity"``: Bi-Real block, ``out = acc >= T[c][x]`` where ``acc`` is a padded 3x3
  convolution of ``x`` (a hidden unit emitting accumulators) and ``x`` the block input, taken
  through a fork (a threshold with a side input);
- ``"pool"``: the same with a stride-2 convolution and a 2x2 OR pool on the shortcut;
- ``"conv"``: a stride-2 convolution to ``2 C`` channels and a strided 1x1 binary convolution
  on the shortcut;
- ``"add"``: two 3x3 convolutions of a fork, their accumulators summed (an add-join), then
  multi-step thresholds into a small integer grid, then a threshold back to bits;
- ``"concat"``: two 1x1 convolutions of a fork to bits, concatenated (2 C channels), then a
  1x1 convolution back to C;
- ``"majority"``: the Bi-Real block with a 3x3 majority pool (stride 1, padded with -1, the
  binary avg_pool_3x3) of ``x`` as the side input (a DARTS node of a conv and a pool edge).
- ``"darts"``: two DARTS edges of a fork, a 3x3 convolution of dilation 2 (padding 2, "same")
  and a 3x3 stride-1 max pool padded by 1, concatenated, then a padded 3x3 convolution back
  to C (more inputs than a 1x1 one: the ORed half of its input is mostly +1).

Weights are uniform random bits; thresholds are drawn near the middle of each accumulator's
range so that outputs vary.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from hwbnn.ir.types import (
    AddJoin,
    Concat,
    Fork,
    InputFormat,
    InputThreshold,
    Layer,
    MajorityPool,
    MatrixVector,
    MaxPool,
    Network,
    SlidingWindow,
    Threshold,
)

BLOCKS = ("identity", "pool", "conv", "add", "concat", "majority", "darts")


class _Builder:
    def __init__(self, rng: np.random.Generator) -> None:
        self.rng = rng
        self.layers: list[Layer] = []

    def add(self, layer: Layer) -> str:
        self.layers.append(layer)
        return layer.name

    def conv(
        self,
        name: str,
        src: str,
        shape: tuple[int, int, int],
        channels: int,
        kernel: int,
        stride: int,
        emit_acc: bool,
        dilation: int = 1,
    ) -> tuple[str, tuple[int, int, int]]:
        pad = dilation * (kernel - 1) // 2
        window = SlidingWindow(
            f"{name}_swg", shape, kernel, stride, (pad,) * 4, inputs=(src,), dilation=dilation
        )
        self.add(window)
        mw = window.window
        weights = self.rng.integers(0, 2, (channels, mw)).astype(bool)
        spread = max(1, int(np.sqrt(mw)))
        thresholds = None
        if not emit_acc:
            thresholds = np.clip(
                mw // 2 + self.rng.integers(-spread, spread + 1, channels), 0, mw + 1
            )
        unit = MatrixVector(
            name,
            weights,
            1,
            2,
            thresholds=thresholds,
            pixels=window.pixels,
            inputs=(window.name,),
        )
        oh, ow, _ = window.out_shape
        return self.add(unit), (oh, ow, channels)

    def side_thresholds(self, channels: int, mw: int) -> np.ndarray:
        spread = max(1, int(np.sqrt(mw)))
        t = self.rng.integers(-spread, spread + 1, (channels, 2, 1))
        t[:, 1, 0] -= self.rng.integers(0, spread + 1, channels)  # x = +1 lowers the bar
        return t


def _block(
    b: _Builder, kind: str, index: int, src: str, shape: tuple[int, int, int]
) -> tuple[str, tuple[int, int, int]]:
    h, w, c = shape
    name = f"b{index}"
    fork = b.add(Fork(f"{name}_fork", (src,)))
    if kind in ("identity", "pool", "conv", "majority"):
        stride = 1 if kind in ("identity", "majority") else 2
        out_c = 2 * c if kind == "conv" else c
        acc, out_shape = b.conv(f"{name}_conv", fork, shape, out_c, 3, stride, True)
        if kind == "identity":
            side = fork
        elif kind == "pool":
            side = b.add(MaxPool(f"{name}_pool", shape, 2, 2, inputs=(fork,)))
        elif kind == "majority":
            t = b.rng.integers(4, 7, c)
            pool = MajorityPool(f"{name}_majority", shape, 3, 1, (1, 1, 1, 1), t, inputs=(fork,))
            side = b.add(pool)
        else:
            side, _ = b.conv(f"{name}_down", fork, shape, out_c, 1, 2, False)
        t = b.side_thresholds(out_c, 9 * c)
        return b.add(Threshold(f"{name}_join", t, (acc, side))), out_shape
    if kind == "add":
        a, _ = b.conv(f"{name}_a", fork, shape, c, 3, 1, True)
        z, _ = b.conv(f"{name}_b", fork, shape, c, 3, 1, True)
        total = b.add(AddJoin(f"{name}_add", (a, z)))
        bound = 2 * 9 * c
        steps = np.sort(b.rng.integers(-bound // 4, bound // 4 + 1, (c, 1, 3)), axis=2)
        grid = b.add(Threshold(f"{name}_grid", steps, (total,), out_base=-2))
        back = b.rng.integers(-1, 2, (c, 1, 1))
        return b.add(Threshold(f"{name}_sign", back, (grid,))), shape
    if kind == "concat":
        a, _ = b.conv(f"{name}_a", fork, shape, c, 1, 1, False)
        z, _ = b.conv(f"{name}_b", fork, shape, c, 1, 1, False)
        cat = b.add(Concat(f"{name}_cat", (a, z)))
        return b.conv(f"{name}_mix", cat, (h, w, 2 * c), c, 1, 1, False)
    if kind == "darts":
        a, _ = b.conv(f"{name}_dil", fork, shape, c, 3, 1, False, dilation=2)
        z = b.add(MaxPool(f"{name}_pool", shape, 3, 1, inputs=(fork,), padding=(1,) * 4))
        cat = b.add(Concat(f"{name}_cat", (a, z)))
        return b.conv(f"{name}_mix", cat, (h, w, 2 * c), c, 3, 1, False)
    raise ValueError(f"unknown block kind {kind!r}; kinds are {BLOCKS}")


def random_graph_net(
    rng: np.random.Generator,
    image: tuple[int, int, int],
    channels: int,
    blocks: Sequence[str],
    classes: int,
    input_levels: int = 16,
) -> Network:
    """A random graph on a (C, H, W) image (see the module docstring)."""
    c, h, w = image
    fmt = InputFormat(image, np.arange(input_levels, dtype=np.float32) / (input_levels - 1))
    b = _Builder(rng)
    t = rng.integers(1, input_levels, c * h * w)
    src = b.add(InputThreshold("input_threshold", t, input_levels))
    src, shape = b.conv("stem", src, (h, w, c), channels, 3, 1, False)
    for index, kind in enumerate(blocks):
        src, shape = _block(b, kind, index, src, shape)
    if shape[0] >= 2 and shape[1] >= 2:
        src = b.add(MaxPool("pool", shape, 2, 2, inputs=(src,)))
        shape = (shape[0] // 2, shape[1] // 2, shape[2])
    mw = int(np.prod(shape))
    weights = rng.integers(0, 2, (classes, mw)).astype(bool)
    b.add(
        MatrixVector(
            "fc",
            weights,
            1,
            2,
            out_scale=np.ones(classes),
            out_bias=np.zeros(classes),
            inputs=(src,),
        )
    )
    return Network(fmt, tuple(b.layers), source="random_graph_net")
