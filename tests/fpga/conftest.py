"""Fixtures of the flow tests: the trained digits MLP compiled for RTL."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def digits_rtl_default(digits_binary, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The trained digits MLP, compiled for RTL with the default (fully folded) folding."""
    from hwbnn.pipeline.steps import CompileConfig, compile_onnx

    build = tmp_path_factory.mktemp("flows") / "digits"
    compile_onnx(digits_binary.onnx, build, CompileConfig(target="rtl"))
    return build
