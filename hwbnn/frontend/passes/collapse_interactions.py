"""CollapseInteractions: each CI-BCNN interaction layer of the exported graph becomes one node.

Contract: :func:`hwbnn.export.ci_bcnn.find_interactions` recognises every layer's steps
(``GreaterOrEqual``/``LessOrEqual`` -> ``Cast`` -> ``Sub`` -> 1x1 ``Conv`` -> ``Add`` per level;
a comparison that does not begin that exact pattern is a ModelError naming the node). The
steps of one layer are replaced by one node ``ChannelInteraction`` (domain :data:`DOMAIN`)
from the convolution's output ``Y`` to the interacted ``Y'`` that the BatchNorm reads, with
integer attributes ``deadzone`` (m), ``magnitude`` (c) and ``signs`` (the C x C signs
``s_ij`` row-major, ``signs[i*C + j]``), the graph the steps spell bit for bit. The model is
no longer executable as a whole after this rewrite (only pieces after the node are run, by
the threshold search); :class:`~hwbnn.frontend.passes.lower_interaction.LowerInteraction`
lowers the node. The steps' weights become unused and are removed.
"""

from __future__ import annotations

import numpy as np
from onnx import NodeProto, helper
from qonnx.core.modelwrapper import ModelWrapper
from qonnx.transformation.base import Transformation
from qonnx.transformation.general import RemoveUnusedTensors

from hwbnn.errors import ModelError
from hwbnn.export.ci_bcnn import find_interactions
from hwbnn.frontend.graph import node_attr, node_label

#: the collapsed node's op type and domain
INTERACTION_OP = "ChannelInteraction"
DOMAIN = "hwbnn.ci_bcnn"


def interaction_attributes(node: NodeProto) -> tuple[np.ndarray, int, int]:
    """(signs (C, C) int8, m, c) of a collapsed node; a ModelError naming it if malformed."""
    flat = np.asarray(node_attr(node, "signs", []), dtype=np.int64)
    channels = int(round(float(np.sqrt(flat.size))))
    deadzone, magnitude = node_attr(node, "deadzone", 0), node_attr(node, "magnitude", 0)
    if channels * channels != flat.size or channels < 1 or min(deadzone, magnitude) < 1:
        raise ModelError(f"{node_label(node)}: malformed interaction attributes")
    return flat.reshape(channels, channels).astype(np.int8), int(deadzone), int(magnitude)


class CollapseInteractions(Transformation):
    """See the module docstring."""

    def apply(self, model: ModelWrapper) -> tuple[ModelWrapper, bool]:
        found = find_interactions(model)
        if not found:
            return model, False
        for number, layer in enumerate(found):
            names = set(layer.nodes)
            steps = [n for n in model.graph.node if n.name in names]
            position = list(model.graph.node).index(steps[0])
            for node in steps:
                model.graph.node.remove(node)
            graph = layer.graph
            collapsed = helper.make_node(
                INTERACTION_OP,
                [layer.source],
                [layer.output],
                name=f"{INTERACTION_OP}_{number}",
                domain=DOMAIN,
                deadzone=graph.deadzone,
                magnitude=graph.magnitude,
                signs=[int(s) for s in graph.signs().reshape(-1)],
            )
            model.graph.node.insert(position, collapsed)
        if not any(op.domain == DOMAIN for op in model.model.opset_import):
            model.model.opset_import.append(helper.make_opsetid(DOMAIN, 1))
        return model.transform(RemoveUnusedTensors()), False
