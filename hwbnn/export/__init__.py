"""Brevitas -> QONNX export and QONNX clean-up."""

from hwbnn.export.qonnx_export import (
    ExportCheck,
    check_export,
    clean_qonnx,
    export_qonnx_model,
    load_qonnx,
    run_qonnx,
)

__all__ = [
    "ExportCheck",
    "check_export",
    "clean_qonnx",
    "export_qonnx_model",
    "load_qonnx",
    "run_qonnx",
]
