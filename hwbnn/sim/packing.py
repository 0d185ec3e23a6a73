"""Pack vectors into AXI4-Stream beats and back, as the numeric contract lays them out.

The one implementation is :mod:`hwbnn.plan.packing` (it also packs the weight and threshold
memories); these names stay here for the benches and drivers that import them from hwbnn.sim.
"""

from __future__ import annotations

from hwbnn.plan.packing import pack_beats, unpack_beats

__all__ = ["pack_beats", "unpack_beats"]
