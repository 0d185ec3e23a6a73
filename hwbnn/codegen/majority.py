"""The thresholds of rtl/hwbnn_window_majority.v and hls/hwbnn/pool.hpp's majority pool for an
IR :class:`~hwbnn.ir.majority.MajorityPool`: ``THRESHOLDS``, ``8*C`` bits, channel ``c``'s
threshold ``T_c`` (0..K*K+1) at ``[8*c +: 8]`` (an unsigned integer with its width: a sized
Verilog literal, or the bytes of a C++ array)."""

from __future__ import annotations

from hwbnn.ir.majority import MajorityPool

#: the largest kernel the units take (8-bit thresholds up to K*K + 1)
MAX_KERNEL = 15


def majority_thresholds(node: MajorityPool) -> tuple[int, int]:
    """``(value, width)`` of ``node``'s THRESHOLDS vector (module docstring); ValueError when
    its kernel is larger than the units take."""
    if node.kernel > MAX_KERNEL:
        raise ValueError(
            f"{node.name}: a {node.kernel}x{node.kernel} majority pool; the unit takes kernels "
            f"up to {MAX_KERNEL}"
        )
    value = sum(int(t) << (8 * c) for c, t in enumerate(node.thresholds))
    return value, 8 * node.channels
