"""Images/s of the bit-exact reference (L2) against qonnx execute_onnx (L1) and onnxruntime, side
by side in one run, on TFC-shaped (784-64-64-64-10) and SFC-shaped (784-256-256-256-10) MLPs and
on digits-cnn, at batch 1, 1,000 and 10,000; and the share of the machine's popcount rate the
reference reaches.

Usage: python benchmarks/reference_speed.py [--batches 1 1000 10000] [--models tfc sfc digits-cnn]
           [--seconds 1.0] [--onnx-limit 10000] [--rounds 3]

- Models: Brevitas models with random weights and BatchNorm statistics (speed does not depend
  on training), binarized input (8-bit MNIST-like codes for the MLPs, the digits' 17 levels for
  digits-cnn), exported to QONNX and lowered as ``hwbnn compile`` does. Inputs: random codes.
- reference: ``Reference(net).run(x)`` from float images to labels (input codes proven exact,
  every layer), with the compiled kernel (numba, the default) and with the NumPy kernel (the
  definition). Both are checked equal to execute_onnx's labels on every measured batch.
- execute_onnx: qonnx ``execute_onnx`` on the model re-batched beforehand (``ChangeBatchSize``
  outside the timing); at batches above ``--onnx-limit`` it runs on that many images and the
  rate is scaled (said in the table).
- onnxruntime: plain onnxruntime cannot run QONNX's BipolarQuant (a custom op), so the column
  runs the same graph with each BipolarQuant written as standard ONNX
  (``Where(x >= 0, scale, -scale)``, the same arithmetic) in one InferenceSession.
- Times are the best of repeated runs (at least 3, for ``--seconds`` each), in ``--rounds``
  rounds that visit every engine in turn (the best round kept: this shared 2-core machine has
  spells of several seconds in which the parallel kernels run at half speed); numba compiles
  its kernel before the timing.
- Popcount peak: the machine's rate of XOR + popcount + add on uint64 words, measured on a
  cache-resident block (1,024 rows of 16 words against 64 weight rows) with the compiled
  kernel (AVX-512 VPOPCNTQ, rows on every core, as the reference runs it); NumPy's passes
  (``np.bitwise_count``, the NumPy kernel, one core) on the same block are printed beside
  it. The share is the XNOR words the reference's binary layers count per image times its
  images/s, over that peak.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import torch
from qonnx.core.modelwrapper import ModelWrapper
from qonnx.core.onnx_exec import execute_onnx
from qonnx.transformation.change_batchsize import ChangeBatchSize
from qonnx.transformation.infer_shapes import InferShapes

from hwbnn.data import code_values
from hwbnn.export import export_qonnx_model
from hwbnn.frontend.lower import lower
from hwbnn.ir.types import MatrixVector, Network
from hwbnn.nn import build_model, model_config
from hwbnn.reference import Reference
from hwbnn.reference.kernels import mismatches
from hwbnn.units import count, rate

MODELS = {  # name: (zoo model, input shape, levels, input bits, hidden widths)
    "tfc": ("tfc", (1, 28, 28), 256, 8, (64, 64, 64)),
    "sfc": ("sfc", (1, 28, 28), 256, 8, (256, 256, 256)),
    "digits-cnn": ("digits-cnn", (1, 8, 8), 17, 5, None),
}


def per_s(value: float) -> str:
    """A rate, rounded and grouped: ``9,150``."""
    return rate(value, "").strip()


def best(fn: Callable[[], object], seconds: float) -> float:
    """Best time of at least 3 calls, calling for about ``seconds``."""
    times: list[float] = []
    start = time.perf_counter()
    while len(times) < 3 or time.perf_counter() - start < seconds:
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def build(name: str, out: Path) -> tuple[ModelWrapper, Network]:
    zoo, shape, levels, bits, hidden = MODELS[name]
    torch.manual_seed(0)
    model = build_model(model_config(zoo, shape, 10, levels, bits, "binary", hidden)).eval()
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, torch.nn.BatchNorm1d | torch.nn.BatchNorm2d):
                module.running_mean.uniform_(-8, 8)
                module.running_var.uniform_(20, 200)
    qmodel = export_qonnx_model(model, out / f"{name}.onnx")
    return qmodel, lower(qmodel)


def batched(qmodel: ModelWrapper, batch: int) -> ModelWrapper:
    copy = ModelWrapper(onnx.ModelProto.FromString(qmodel.model.SerializeToString()))
    return copy.transform(ChangeBatchSize(batch)).transform(InferShapes())


def plain_onnx(model: ModelWrapper) -> ort.InferenceSession | str:
    """The graph with every BipolarQuant as standard ONNX, in onnxruntime (or why not)."""
    graph = onnx.ModelProto.FromString(model.model.SerializeToString()).graph
    nodes = []
    for node in graph.node:
        if node.op_type != "BipolarQuant":
            if node.domain not in ("", "ai.onnx"):
                return f"n/a ({node.op_type} has no standard ONNX form)"
            nodes.append(node)
            continue
        x, scale = node.input
        ge, neg = node.output[0] + "_ge", node.output[0] + "_neg"
        zero = node.output[0] + "_zero"
        graph.initializer.append(onnx.numpy_helper.from_array(np.float32(0), zero))
        nodes += [
            onnx.helper.make_node("GreaterOrEqual", [x, zero], [ge]),
            onnx.helper.make_node("Neg", [scale], [neg]),
            onnx.helper.make_node("Where", [ge, scale, neg], [node.output[0]]),
        ]
    del graph.node[:]
    graph.node.extend(nodes)
    plain = onnx.helper.make_model(graph, opset_imports=[onnx.helper.make_opsetid("", 17)])
    plain.ir_version = model.model.ir_version
    return ort.InferenceSession(plain.SerializeToString(), providers=["CPUExecutionProvider"])


def xnor_words(net: Network) -> int:
    """64-bit XNOR words counted per image by the binary layers."""
    return sum(
        layer.pixels * layer.mh * ((layer.mw + 63) // 64)
        for layer in net.layers
        if isinstance(layer, MatrixVector) and layer.binary_input
    )


def popcount_rates(seconds: float) -> tuple[float, float]:
    """Words/s of XOR + popcount + add on one cache-resident block (1,024 rows of 16 words
    against 64 weight rows): the NumPy kernel's passes, and the compiled kernel."""
    rng = np.random.default_rng(0)
    x = rng.integers(0, 2**63, (1024, 16), dtype=np.uint64)  # (R, W) words
    w = rng.integers(0, 2**63, (64, 16), dtype=np.uint64)  # (MH, W)
    x_major = np.ascontiguousarray(x.T)  # the NumPy kernel's word-major layout
    temp = np.empty((64, 1024), dtype=np.uint64)
    lanes = np.zeros_like(temp)

    def numpy_pass() -> None:
        for k in range(16):
            np.bitwise_xor(w[:, k, None], x_major[k][None, :], out=temp)
            np.bitwise_count(temp.view(np.uint8), out=temp.view(np.uint8))
            lanes.__iadd__(temp)

    def compiled() -> None:
        mismatches(x, w, "numba")

    compiled()  # compile before timing
    words = x.shape[0] * w.shape[0] * w.shape[1]
    return words / best(numpy_pass, seconds), words / best(compiled, seconds)


def row(
    name: str,
    qmodel: ModelWrapper,
    references: tuple[Reference, Reference],
    x: np.ndarray,
    args: argparse.Namespace,
    peak: tuple[float, float],
) -> str:
    """One table row: every engine on the batch ``x``, the references checked against L1."""
    fast, definition = references
    batch = len(x)
    onnx_n = min(batch, args.onnx_limit)
    model = batched(qmodel, onnx_n)
    iname, oname = model.graph.input[0].name, model.graph.output[0].name
    x_onnx = np.ascontiguousarray(x[:onnx_n])
    want = execute_onnx(model, {iname: x_onnx})[oname].reshape(onnx_n, -1).argmax(1)
    for reference in references:
        assert np.array_equal(reference.run(x).labels[:onnx_n], want), f"{name}: L2 != L1"
    session = plain_onnx(model)
    engines: dict[str, tuple[Callable[[], object], int, float]] = {
        "reference": (lambda: fast.run(x), batch, args.seconds),
        "definition": (lambda: definition.run(x), batch, args.seconds),
        "execute_onnx": (lambda: execute_onnx(model, {iname: x_onnx}), onnx_n, 0),
    }
    if not isinstance(session, str):
        feed = {session.get_inputs()[0].name: x_onnx}
        engines["onnxruntime"] = (lambda: session.run(None, feed), onnx_n, 0)
    rates: dict[str, float] = dict.fromkeys(engines, 0.0)
    for _ in range(args.rounds):  # interleaved rounds: a slow spell of the machine hits all
        for key, (fn, images, seconds) in engines.items():
            rates[key] = max(rates[key], images / best(fn, seconds))
    ref_rate, def_rate, onnx_rate = rates["reference"], rates["definition"], rates["execute_onnx"]
    if isinstance(session, str):
        ort_cell, ort_ratio = session, "-"
    else:
        ort_cell = per_s(rates["onnxruntime"])
        ort_ratio = f"{ref_rate / rates['onnxruntime']:.1f}x"
    scaled = f" (on {count(onnx_n)}, scaled)" if onnx_n < batch else ""
    words = ref_rate * xnor_words(fast.net)
    return (
        f"| {name} | {count(batch)} | {per_s(ref_rate)} | {per_s(def_rate)} | "
        f"{per_s(onnx_rate)}{scaled} | {ort_cell} | {ref_rate / onnx_rate:.1f}x | {ort_ratio} "
        f"| {words / peak[1]:.0%} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 1000, 10000])
    parser.add_argument("--models", nargs="+", default=list(MODELS), choices=list(MODELS))
    parser.add_argument("--seconds", type=float, default=1.0)
    parser.add_argument("--onnx-limit", type=int, default=10000)
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds, best kept")
    args = parser.parse_args()
    rates = popcount_rates(args.seconds)
    print(
        f"popcount peak (XOR + popcount + add of uint64 words, compiled kernel, all cores): "
        f"{rate(rates[1] / 1e6, 'M words/s')}; NumPy passes on the same block: "
        f"{rate(rates[0] / 1e6, 'M words/s')}; {os.cpu_count()} cores (onnxruntime may use all, "
        f"the reference's numba kernels too)"
    )
    print(
        "| model | batch | reference img/s | reference (NumPy kernel) img/s | execute_onnx img/s "
        "| onnxruntime img/s | ref / execute_onnx | ref / onnxruntime "
        "| share of popcount peak |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.models:
            qmodel, net = build(name, Path(tmp))
            references = (Reference(net, "numba"), Reference(net, "numpy"))
            _, shape, levels, _, _ = MODELS[name]
            rng = np.random.default_rng(1)
            x_all = code_values(levels)[rng.integers(0, levels, (max(args.batches), *shape))]
            for batch in args.batches:
                print(row(name, qmodel, references, x_all[:batch], args, rates), flush=True)


if __name__ == "__main__":
    main()
