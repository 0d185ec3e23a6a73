"""``hwbnn report`` draws the dataflow of the build's plan (a graph's edges with their FIFO
depths, or a chain) as a PNG that the page shows."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from hwbnn.codegen import write_build
from hwbnn.ir.folding import choose_folding
from hwbnn.plan import load_plan
from hwbnn.report import write_build_report
from hwbnn.report.plots import _dataflow_edges, _dataflow_layout
from hwbnn.sim.random_graphs import random_graph_net
from hwbnn.sim.random_nets import random_mlp

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _check_picture(build: Path) -> None:
    info = write_build_report(build, sweep_points=2)
    png = build / "report" / "dataflow.png"
    data = png.read_bytes()
    assert data.startswith(PNG_MAGIC) and len(data) > 20_000
    assert str(png) in info["plots"]
    html = Path(info["index"]).read_text()
    assert '<img src="dataflow.png"' in html and "<figcaption>" in html


def test_graph_build_gets_its_dataflow_picture(tmp_path: Path) -> None:
    net = random_graph_net(np.random.default_rng(0), (1, 6, 6), 4, ("identity", "add"), 3)
    build = tmp_path / "graph"
    write_build(net, choose_folding(net, 400), build)
    plan = load_plan(build)
    assert plan.is_graph and plan.edges
    _check_picture(build)
    # one arrow per edge and one to m_axis; every unit right of all its producers
    edges = _dataflow_edges(plan)
    assert len(edges) == len(plan.edges) + 1
    pos = _dataflow_layout(len(plan.units), edges)
    assert all(pos[src][0] < pos[dst][0] for src, dst, _ in edges)
    labels = {(e.src, e.dst): label for (_, _, label), e in zip(edges, plan.edges, strict=False)}
    skip = next(e for e in plan.edges if e.lag_beats and e.src >= 0 and e.dst_port == 1)
    assert labels[(skip.src, skip.dst)].startswith(f"fifo {skip.fifo_depth}")


def test_chain_build_gets_its_dataflow_picture(tmp_path: Path) -> None:
    net = random_mlp(np.random.default_rng(0), 64, (32, 16), 10, input_levels=16)
    build = tmp_path / "chain"
    write_build(net, choose_folding(net, 256), build, fifo_depth=4)
    plan = load_plan(build)
    assert not plan.is_graph and not plan.edges
    _check_picture(build)
    edges = _dataflow_edges(plan)
    n = len(plan.units)
    assert [(s, d) for s, d, _ in edges] == [(i - 1, i) for i in range(n + 1)]
    assert edges[0][2] == "no fifo" and edges[1][2].startswith("fifo 4")


def test_unreadable_plan_is_named_not_drawn(tmp_path: Path) -> None:
    net = random_mlp(np.random.default_rng(0), 64, (32,), 10, input_levels=16)
    build = tmp_path / "stale"
    write_build(net, choose_folding(net, 256), build)
    (build / "plan.json").write_text('{"units": []}')
    html = Path(write_build_report(build, sweep_points=1)["index"]).read_text()
    assert "No dataflow picture:" in html and "not a hardware plan" in html
    assert not (build / "report" / "dataflow.png").exists()
