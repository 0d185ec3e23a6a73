"""Shared checks of the CI-BCNN tests (tests/export, tests/train/methods): random interaction
graphs, and L1 (execute_onnx) against L0 (torch) on interacted integers and labels."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from hwbnn.export import check_export, export_qonnx_model
from hwbnn.export.ci_bcnn import ExportedInteraction, find_interactions, interacted_values
from hwbnn.nn.ci_bcnn import ChannelInteraction, InteractionGraph


def random_dag(layer: ChannelInteraction, rng: np.random.Generator, depth: int = 3) -> None:
    """Give ``layer`` a random DAG of ``depth`` levels: every channel gets a random rank in
    0..depth-1, and each pair of ranks r < r' an edge with probability 1/4 and a random sign."""
    rank = rng.integers(0, depth, layer.channels)
    edges = tuple(
        (i, j, int(rng.choice([-1, 1])))
        for i in range(layer.channels)
        for j in range(layer.channels)
        if rank[i] < rank[j] and rng.random() < 0.25
    )
    graph = layer.graph()
    layer.set_graph(InteractionGraph(graph.channels, edges, graph.deadzone, graph.magnitude))


def interaction_layers(model: torch.nn.Module) -> list[ChannelInteraction]:
    return [m for m in model.modules() if isinstance(m, ChannelInteraction)]


def torch_interacted(model: torch.nn.Module, x: np.ndarray) -> list[tuple[np.ndarray, ...]]:
    """(input Y, output Y') of every interaction layer with edges of ``model`` (eval) on ``x``."""
    seen: list[tuple[np.ndarray, ...]] = []
    handles = [
        layer.register_forward_hook(lambda m, i, o: seen.append((i[0].numpy(), o.numpy())))
        for layer in interaction_layers(model)
        if layer.graph().edges
    ]
    with torch.no_grad():
        model.eval()(torch.from_numpy(x))
    for handle in handles:
        handle.remove()
    return seen


def check_l1_equals_l0(
    model: torch.nn.Module, path: Path, x: np.ndarray
) -> list[ExportedInteraction]:
    """Export ``model``; the recognised graphs are the model's, the interacted integers and the
    labels of execute_onnx equal torch's on ``x``. Returns the recognised layers."""
    qmodel = export_qonnx_model(model, path)
    found = find_interactions(qmodel)
    with_edges = [m.graph() for m in interaction_layers(model) if m.graph().edges]
    assert [f.graph for f in found] == with_edges
    got = interacted_values(qmodel, x)
    pairs = torch_interacted(model, x)
    assert len(got) == len(pairs) == len(found)
    for layer, (y, y_torch), y_onnx in zip(found, pairs, got, strict=True):
        assert np.array_equal(y_onnx, y_torch)  # L1 == L0 exactly
        assert np.array_equal(layer.graph.apply(y.astype(np.int64)), y_onnx)  # == the rule
    check = check_export(model, qmodel, x)
    assert check.frames == len(x) and check.label_mismatches == 0
    return found
