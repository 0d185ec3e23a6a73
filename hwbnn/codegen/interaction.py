"""The parameters of rtl/hwbnn_interact.v and hls/hwbnn/interact.hpp for an IR
:class:`~hwbnn.ir.interaction.Interaction`: the graph as constants (no memory).

- ``LEVEL``: ``8*C`` bits, channel ``j``'s level at ``[8*j +: 8]``;
- ``SIGNS``: ``2*C*C`` bits, the edge ``i -> j`` at ``[2*(j*C + i) +: 2]``: ``01`` for +1,
  ``11`` for -1, ``00`` for no edge;
- ``NEGATE``: ``C`` bits, bit ``j`` set where the output of channel ``j`` is negated.

Each is an unsigned integer with its width (a sized Verilog literal, or the words of a C++
array for HLS: :func:`interaction_arrays`).
"""

from __future__ import annotations

from hwbnn.ir.interaction import Interaction

#: the largest level and channel count the units take (8-bit level fields)
MAX_LEVEL = 255


def interaction_vectors(node: Interaction) -> dict[str, tuple[int, int]]:
    """``{"LEVEL" | "SIGNS" | "NEGATE": (value, width)}`` of ``node`` (module docstring);
    ValueError when the graph is deeper or wider than the units take."""
    channels, levels = node.channels, node.levels
    if channels > MAX_LEVEL or node.depth > MAX_LEVEL:
        raise ValueError(
            f"{node.name}: {channels} channels and {node.depth} levels; the interaction unit "
            f"takes at most {MAX_LEVEL} of each"
        )
    level = sum(int(v) << (8 * j) for j, v in enumerate(levels))
    signs = 0
    for i in range(channels):
        for j in range(channels):
            s = int(node.signs[i, j])
            if s:
                signs |= (0b01 if s > 0 else 0b11) << (2 * (j * channels + i))
    assert node.negate is not None
    negate = sum(1 << j for j in range(channels) if node.negate[j])
    return {
        "LEVEL": (level, 8 * channels),
        "SIGNS": (signs, 2 * channels * channels),
        "NEGATE": (negate, channels),
    }


def interaction_scalars(node: Interaction) -> dict[str, int]:
    """``LEVELS`` (the depth D), ``DEADZONE`` (m) and ``MAGNITUDE`` (c) of ``node``."""
    return {"LEVELS": node.depth, "DEADZONE": node.deadzone, "MAGNITUDE": node.magnitude}


def verilog_literal(value: int, width: int) -> str:
    """``value`` as a sized hexadecimal Verilog literal."""
    return f"{width}'h{value:x}"
