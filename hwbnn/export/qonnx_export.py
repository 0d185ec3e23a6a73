"""Export a trained Brevitas model to QONNX, clean it with qonnx, and run it (ladder level L1).

Brevitas' default (dynamo) exporter emits Gemm without bias, which qonnx's GemmToMatMul cannot
handle, so export uses the TorchScript exporter (``dynamo=False``), which emits MatMul.
The exported model records its input format in ``metadata_props`` (``hwbnn.input_levels``:
input values are codes ``k / (levels - 1)``), which lowering reads.
"""

from __future__ import annotations

import tempfile
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnx
import torch
from qonnx.core.modelwrapper import ModelWrapper
from qonnx.core.onnx_exec import execute_onnx
from qonnx.transformation.change_batchsize import ChangeBatchSize
from qonnx.transformation.infer_shapes import InferShapes
from qonnx.util.cleanup import cleanup_model

from hwbnn.errors import ModelError
from hwbnn.export.ci_bcnn import check_interactions
from hwbnn.nn import BinaryNet

INPUT_LEVELS_KEY = "hwbnn.input_levels"
QONNX_DOMAIN = "qonnx.custom_op.general"
# custom-op domains that older exporters used for Quant / BipolarQuant
LEGACY_QUANT_DOMAINS = ("", "finn.custom_op.general", "onnx.brevitas", "finn", QONNX_DOMAIN)

# brevitas.export imports brevitas.graph.equalize, which warns at import time that the optional
# package fast_hadamard_transform (used only by its Hadamard-rotation equalisation, which hwbnn
# never runs) is missing; that warning, and only it, is silenced.
FAST_HADAMARD_WARNING = "fast_hadamard_transform package not found"


def brevitas_export_qonnx() -> Callable[..., object]:
    """``brevitas.export.export_qonnx``, imported without the optional-package warning."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=FAST_HADAMARD_WARNING, category=UserWarning)
        from brevitas.export import export_qonnx
    return export_qonnx


def load_qonnx(path: Path) -> ModelWrapper:
    """Load an ONNX file into a qonnx ModelWrapper, with a one-line error for unreadable files."""
    path = Path(path)
    if not path.is_file():
        raise ModelError(f"{path}: ONNX file not found")
    try:
        proto = onnx.load(str(path))
    except Exception as exc:  # protobuf raises DecodeError and others
        raise ModelError(f"{path}: not a readable ONNX model ({type(exc).__name__})") from None
    if len(proto.graph.node) == 0:
        raise ModelError(f"{path}: ONNX graph has no nodes (empty or truncated file)")
    return ModelWrapper(proto)


def normalize_quant_domains(proto: onnx.ModelProto) -> None:
    """Put Quant/BipolarQuant/Trunc in qonnx's domain (legacy exporters used others) and
    declare it once in opset_import; a quantizer in an unknown domain is a ModelError."""
    for node in proto.graph.node:
        if node.op_type in ("Quant", "BipolarQuant", "Trunc"):
            if node.domain not in LEGACY_QUANT_DOMAINS:
                raise ModelError(
                    f"node {node.name or node.op_type}: {node.op_type} in unknown domain "
                    f"{node.domain!r}"
                )
            node.domain = QONNX_DOMAIN
    if QONNX_DOMAIN not in {op.domain for op in proto.opset_import}:
        proto.opset_import.append(onnx.helper.make_opsetid(QONNX_DOMAIN, 1))


def clean_qonnx(model: ModelWrapper) -> ModelWrapper:
    """qonnx clean-up: domains, shapes, constant folding, names. ``model`` is not modified."""
    model = ModelWrapper(onnx.ModelProto.FromString(model.model.SerializeToString()))
    normalize_quant_domains(model.model)
    try:
        return cleanup_model(model)
    except Exception as exc:
        raise ModelError(f"qonnx clean-up failed: {type(exc).__name__}: {exc}") from None


def export_qonnx_model(model: BinaryNet, path: Path) -> ModelWrapper:
    """Export ``model`` (eval mode) to a cleaned QONNX file at ``path``."""
    export_qonnx = brevitas_export_qonnx()

    model.eval()
    config = model.config
    example = torch.zeros((1, *config.input_shape), dtype=torch.float32)
    with tempfile.TemporaryDirectory() as tmp:
        raw = Path(tmp) / "raw.onnx"
        with torch.no_grad():
            export_qonnx(model, example, export_path=str(raw), dynamo=False)
        cleaned = clean_qonnx(ModelWrapper(str(raw)))
    check_interactions(model, cleaned)  # CI-BCNN layers: the exported steps spell their graphs
    onnx.helper.set_model_props(cleaned.model, {INPUT_LEVELS_KEY: str(config.levels)})
    path.parent.mkdir(parents=True, exist_ok=True)
    cleaned.save(str(path))
    return cleaned


def run_qonnx(model: ModelWrapper, x: np.ndarray, batch_size: int = 256) -> np.ndarray:
    """Execute a QONNX model with qonnx execute_onnx (L1) on float inputs ``x``, batched."""
    iname = model.graph.input[0].name
    oname = model.graph.output[0].name
    outputs = []
    batched: dict[int, ModelWrapper] = {}
    for start in range(0, len(x), batch_size):
        chunk = np.ascontiguousarray(x[start : start + batch_size], dtype=np.float32)
        n = len(chunk)
        if n not in batched:
            copy = ModelWrapper(onnx.ModelProto.FromString(model.model.SerializeToString()))
            batched[n] = copy.transform(ChangeBatchSize(n)).transform(InferShapes())
        outputs.append(execute_onnx(batched[n], {iname: chunk})[oname])
    return np.concatenate(outputs)


@dataclass(frozen=True)
class ExportCheck:
    """Agreement of qonnx execute_onnx (L1) with the torch model (L0)."""

    frames: int
    label_mismatches: int
    max_abs_logit_diff: float

    @property
    def ok(self) -> bool:
        return self.label_mismatches == 0


def check_export(model: BinaryNet, qmodel: ModelWrapper, x: np.ndarray) -> ExportCheck:
    """Compare labels (exactly) and logits of torch and execute_onnx on images ``x``."""
    with torch.no_grad():
        torch_logits = model(torch.from_numpy(x)).numpy()
    onnx_logits = run_qonnx(qmodel, x).reshape(torch_logits.shape)
    mismatches = int(np.sum(torch_logits.argmax(1) != onnx_logits.argmax(1)))
    diff = float(np.max(np.abs(torch_logits - onnx_logits))) if len(x) else 0.0
    return ExportCheck(len(x), mismatches, diff)
