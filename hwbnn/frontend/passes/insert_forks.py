"""InsertForks: a materialized stream read by several ONNX nodes gets a :class:`Fork`.

Contract: after every pass, each ONNX tensor newly bound to an :class:`Edge` that k >= 2
data-path nodes read is rebound to the same edge read through a ``Fork`` (named
``<source>_fork``) of its IR source, so every IR edge stays one point-to-point stream; the
fork's outputs go to its consumers in the order they are emitted. Unmaterialized values (a
product's accumulators before their activation) that branch are refused by the pass that
meets the second reader.
"""

from __future__ import annotations

from dataclasses import replace

from hwbnn.frontend.state import Edge, LoweringState
from hwbnn.ir.types import Fork


class InsertForks:
    def apply(self, state: LoweringState) -> None:
        fresh, state.fresh = state.fresh, []
        for tensor in fresh:
            edge = state.values[tensor]
            if not isinstance(edge, Edge) or state.consumers.get(tensor, 0) < 2:
                continue
            name = state.unique(f"{edge.source}_fork", "fork")
            state.emit(Fork(name, inputs=(edge.source,)))
            state.values[tensor] = replace(edge, source=name)
