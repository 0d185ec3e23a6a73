"""hwbnn: binarized neural networks from training to verified FPGA hardware.

The Python API (:mod:`hwbnn.api`): ``hwbnn.compile(onnx, out, ...) -> Build``,
``hwbnn.open(path) -> Build``, ``hwbnn.run(config)``; imported on first use, so ``import hwbnn``
stays light.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_API = ("Build", "compile", "open", "run", "Prediction", "BitstreamResult", "BuildReport")

__all__ = ["__version__", *_API]


def __getattr__(name: str) -> Any:
    if name in _API:
        return getattr(importlib.import_module("hwbnn.api"), name)
    raise AttributeError(f"module 'hwbnn' has no attribute {name!r}")
