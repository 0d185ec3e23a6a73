"""hls4ml projects of binary QONNX models with hwbnn's exact layers: config, conversion, the
``hwbnn compile --target hls4ml`` generator, reloading a build, and the C-sim check (L3).
"""

from __future__ import annotations

import contextlib
import hashlib
import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from qonnx.core.modelwrapper import ModelWrapper

from hwbnn.codegen.hls4ml_backend.layers import HwbnnInputThreshold, HwbnnMvau
from hwbnn.codegen.hls4ml_backend.registry import register
from hwbnn.codegen.hls4ml_backend.replace_binary_layers import FLOW, SETTINGS_KEY, settings_entry
from hwbnn.errors import ConfigError, HwbnnError, ModelError
from hwbnn.frontend.graph import node_label
from hwbnn.frontend.lower import InputSpec, prepare
from hwbnn.ir.folding import Folding, LayerFolding, check_folding, load_folding
from hwbnn.ir.types import InputThreshold, Layer, LayerKind, MatrixVector, Network
from hwbnn.reference import Reference

DEFAULT_BACKEND = "Vitis"
PROJECT_NAME = "hwbnn_hls4ml"
HLS4ML_DIR = "hls4ml"
#: hls4ml's model-wide default precision; after the pass no layer uses it (the input and the
#: hwbnn layers set their own types).
DEFAULT_PRECISION = "fixed<16,6>"
#: Frames in the project testbench's tb_data.
TB_FRAMES = 8


def input_spec_of(net: Network) -> InputSpec:
    """The InputSpec that makes lowering reproduce ``net``'s input format."""
    values = net.input.values
    return InputSpec(net.input.levels, float(values[0]), float(values[-1]))


def hls_config(
    net: Network, folding: Folding, backend: str = DEFAULT_BACKEND, trace: bool = True
) -> dict[str, Any]:
    """An hls4ml config that maps ``net``'s model with hwbnn's layers at ``folding``.

    ``LayerName`` gets each IR layer's PE and SIMD (and Trace, so a mismatch can be located
    with ``trace()``); ``Flows`` runs hwbnn's pass before the backend's default flow.
    """
    from hls4ml.backends import get_backend

    check_folding(net, folding)
    layers: dict[str, dict[str, Any]] = {}
    for layer, fold in zip(net.layers, folding.layers, strict=True):
        entry: dict[str, Any] = {"SIMD": fold.simd, "Trace": trace}
        if isinstance(layer, MatrixVector):
            entry["PE"] = fold.pe
        layers[layer.name] = entry
    register()
    return {
        "Model": {
            "Precision": DEFAULT_PRECISION,
            "ReuseFactor": 1,
            "Strategy": "Latency",
            SETTINGS_KEY: settings_entry(input_spec_of(net)),
        },
        "LayerName": layers,
        "Flows": [FLOW, get_backend(backend).get_default_flow()],
    }


def convert(
    model: ModelWrapper,
    config: dict[str, Any],
    output_dir: Path,
    backend: str = DEFAULT_BACKEND,
    project_name: str = PROJECT_NAME,
) -> Any:
    """hls4ml's ONNX conversion (io_stream) of ``model`` after hwbnn's graph preparation.

    Errors of hls4ml's front end become ModelError; hls4ml's console output is suppressed.
    """
    import hls4ml

    register()
    prepared = prepare(model)
    supported = set(hls4ml.converters.get_supported_onnx_layers()) | {"Identity", "Dropout"}
    for node in prepared.graph.node:
        if node.op_type not in supported:
            raise ModelError(
                f"{node_label(node)}: hls4ml's ONNX front end has no {node.op_type} layer"
            )
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            return hls4ml.converters.convert_from_onnx_model(
                prepared,
                output_dir=str(output_dir),
                project_name=project_name,
                io_type="io_stream",
                backend=backend,
                hls_config=config,
            )
    except HwbnnError:
        raise
    except Exception as exc:
        raise ModelError(f"hls4ml cannot convert the model: {type(exc).__name__}: {exc}") from None


def mapped_network(hls_model: Any) -> tuple[tuple[Layer, ...], Folding]:
    """The IR layers and folding the hwbnn layers of a converted model implement."""
    layers: list[Layer] = []
    folds: list[LayerFolding] = []
    for node in hls_model.get_layers():
        if isinstance(node, HwbnnInputThreshold | HwbnnMvau):
            unit = node.get_attr("unit")
            folds.append(LayerFolding(unit.pe, unit.simd))
            layers.append(node.get_attr("ir_layer"))
    return tuple(layers), Folding(tuple(folds))


def _same_layer(a: Layer, b: Layer) -> bool:
    if type(a) is not type(b) or a.name != b.name:
        return False
    if isinstance(a, InputThreshold):
        assert isinstance(b, InputThreshold)
        return a.levels == b.levels and np.array_equal(a.thresholds, b.thresholds)
    assert isinstance(a, MatrixVector) and isinstance(b, MatrixVector)
    arrays = ("weights", "thresholds", "out_scale", "out_bias")
    return a.input_bits == b.input_bits and all(
        (getattr(a, k) is None) == (getattr(b, k) is None)
        and (getattr(a, k) is None or np.array_equal(getattr(a, k), getattr(b, k)))
        for k in arrays
    )


def check_mapping(hls_model: Any, net: Network, folding: Folding) -> None:
    """Raise HwbnnError unless ``hls_model``'s hwbnn layers are exactly ``net`` at ``folding``."""
    layers, used = mapped_network(hls_model)
    if len(layers) != len(net.layers) or not all(
        _same_layer(a, b) for a, b in zip(layers, net.layers, strict=False)
    ):
        raise HwbnnError("the hls4ml model's hwbnn layers differ from the lowered network")
    if used != folding:
        raise HwbnnError(f"the hls4ml model's folding {used} differs from {folding}")


def build_model(
    net: Network,
    folding: Folding,
    onnx_path: Path,
    output_dir: Path,
    backend: str = DEFAULT_BACKEND,
) -> Any:
    """The hls4ml ModelGraph of the QONNX file ``onnx_path`` (lowered to ``net``) at ``folding``,
    with its project directory ``output_dir`` (written by ``write()``/``compile()``)."""
    from hwbnn.export import load_qonnx

    config = hls_config(net, folding, backend)
    hls_model = convert(load_qonnx(onnx_path), config, output_dir, backend)
    check_mapping(hls_model, net, folding)
    return hls_model


def generate_hls4ml(
    net: Network, folding: Folding, onnx_path: Path, build_dir: Path
) -> dict[str, Any]:
    """``hwbnn compile --target hls4ml``: write the hls4ml project into ``build_dir/hls4ml/``."""
    dbf = [layer.name for layer in net.layers if layer.kind is LayerKind.DBF_MATRIX_VECTOR]
    if dbf:
        raise ConfigError(
            f"{net.source or 'model'}: layer {dbf[0]} is a DBF layer, which --target hls4ml "
            f"does not map; compile it with --target hls or --target rtl"
        )
    if not net.is_dense:
        raise ConfigError(
            f"{net.source or 'model'}: --target hls4ml maps dense binary networks only; compile "
            f"a convolutional network with --target hls or --target rtl"
        )
    out = Path(build_dir) / HLS4ML_DIR
    hls_model = build_model(net, folding, onnx_path, out)
    with contextlib.redirect_stdout(io.StringIO()):
        hls_model.write()
    _make_output_dir_relative(out)
    _make_stamp_reproducible(out, str(hls_model.config.get_config_value("Stamp")))
    write_tb_data(net, out)
    last = net.output_layer
    return {
        "hls4ml": {
            "dir": HLS4ML_DIR,
            "project": PROJECT_NAME,
            "backend": DEFAULT_BACKEND,
            "io_type": "io_stream",
            "layers": [layer.name for layer in net.layers],
            "input": f"uint<{net.input.bits}> codes, {folding.layers[0].simd} per beat",
            "output": f"{last.mh} accumulators, {folding.layers[-1].pe} per beat",
        }
    }


def _make_output_dir_relative(out: Path) -> None:
    """hls4ml records its absolute OutputDir in hls4ml_config.yml; a build directory is
    assembled elsewhere and renamed, so record it relative to the build directory instead."""
    path = out / "hls4ml_config.yml"
    lines = path.read_text().splitlines(keepends=True)
    fixed = [f"OutputDir: {HLS4ML_DIR}\n" if ln.startswith("OutputDir: ") else ln for ln in lines]
    path.write_text("".join(fixed))


#: the files where hls4ml writes its stamp (the name of the library its C simulation compiles)
STAMPED = ("hls4ml_config.yml", "build_lib.sh")


def _make_stamp_reproducible(out: Path, stamp: str) -> None:
    """hls4ml stamps a project with 8 characters of a random uuid (its ``make_stamp`` pass), so
    two compiles of one model differed; use the first 8 hex digits of the sha256 of the
    generated firmware instead (a new library name whenever the code changes)."""
    digest = hashlib.sha256()
    for path in sorted((out / "firmware").rglob("*")):
        if path.is_file():
            digest.update(path.relative_to(out).as_posix().encode() + b"\0" + path.read_bytes())
    fixed = digest.hexdigest()[:8]
    for name in STAMPED:
        path = out / name
        if path.is_file():
            path.write_text(_restamp(path.read_text(), stamp, fixed))


def _restamp(text: str, stamp: str, fixed: str) -> str:
    """``text`` with hls4ml's ``stamp`` replaced by ``fixed``; the YAML line ``Stamp:`` is
    rewritten whole and always quoted, since PyYAML quotes a random stamp only when it would
    otherwise read as a number (``'12345678'``, ``'1e345678'``), which made builds differ."""
    lines = text.splitlines(keepends=True)
    return "".join(
        f"Stamp: '{fixed}'\n" if ln.startswith("Stamp:") else ln.replace(stamp, fixed)
        for ln in lines
    )


def write_tb_data(net: Network, project_dir: Path, frames: int = TB_FRAMES, seed: int = 0) -> None:
    """Seeded random input codes and their reference accumulators as the project testbench's
    ``tb_data/tb_input_features.dat`` and ``tb_output_predictions.dat`` (one frame per line);
    the testbench (Vitis HLS csim) writes its own to ``tb_data/csim_results.log``."""
    codes = np.random.default_rng(seed).integers(0, net.input.levels, (frames, net.input.elements))
    expected = Reference(net).run_codes(codes).accumulators
    tb = Path(project_dir) / "tb_data"
    tb.mkdir(parents=True, exist_ok=True)
    for name, rows in (("tb_input_features.dat", codes), ("tb_output_predictions.dat", expected)):
        (tb / name).write_text("".join(" ".join(str(int(v)) for v in row) + "\n" for row in rows))


def load_project(build_dir: Path, backend: str = DEFAULT_BACKEND) -> Any:
    """The hls4ml ModelGraph of an ``hwbnn compile --target hls4ml`` build, rebuilt from its
    model.onnx, IR and folding.json, with its project directory ``build_dir/hls4ml``."""
    from hwbnn.ir.serialize import load_network

    build_dir = Path(build_dir)
    net = load_network(build_dir)
    folding = load_folding(build_dir / "folding.json", net)
    return build_model(net, folding, build_dir / "model.onnx", build_dir / HLS4ML_DIR, backend)


def predict_accumulators(hls_model: Any, codes: np.ndarray) -> np.ndarray:
    """C-sim of ``hls_model`` (compiled) on input codes (B, n): integer accumulators (B, C)."""
    x = np.ascontiguousarray(np.asarray(codes, dtype=np.float32).reshape(len(codes), -1))
    with contextlib.redirect_stdout(io.StringIO()):
        y = np.asarray(hls_model.predict(x), dtype=np.float64).reshape(len(codes), -1)
    if not np.array_equal(y, np.rint(y)):
        raise HwbnnError("the hls4ml C-sim returned non-integer accumulators")
    return y.astype(np.int64)


@dataclass(frozen=True)
class CsimCheck:
    """C-sim accumulators vs the reference; ``mismatch`` names the first difference."""

    frames: int
    accumulators: np.ndarray
    mismatch: str | None

    @property
    def ok(self) -> bool:
        return self.mismatch is None


def check_csim(hls_model: Any, net: Network, codes: np.ndarray) -> CsimCheck:
    """Run the C-sim on ``codes`` and compare its accumulators with the reference exactly.

    On a difference, ``trace()`` (a recompile) locates the first layer, channel and frame that
    differ from the reference's layer outputs.
    """
    codes = np.asarray(codes, dtype=np.int64).reshape(len(codes), -1)
    expected = Reference(net).run_codes(codes, keep_layers=True)
    got = predict_accumulators(hls_model, codes)
    if np.array_equal(got, expected.accumulators):
        return CsimCheck(len(codes), got, None)
    with contextlib.redirect_stdout(io.StringIO()):
        _, traces = hls_model.trace(np.ascontiguousarray(codes.astype(np.float32)))
    for layer, want in zip(net.layers, expected.layer_outputs, strict=True):
        have = np.asarray(traces.get(layer.name, got), dtype=np.float64).reshape(len(codes), -1)
        diff = have != np.asarray(want, dtype=np.float64)
        if diff.any():
            frame, channel = (int(v) for v in np.argwhere(diff)[0])
            return CsimCheck(
                len(codes),
                got,
                f"layer {layer.name} channel {channel} frame {frame}: C-sim "
                f"{have[frame, channel]:g}, reference {float(want[frame, channel]):g}",
            )
    frame = int(np.flatnonzero(np.any(got != expected.accumulators, axis=1))[0])
    return CsimCheck(len(codes), got, f"output frame {frame} differs (not located by trace)")
