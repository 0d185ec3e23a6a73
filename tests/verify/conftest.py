"""Builds of the session's trained digits MLP (tests/conftest.py) for the level runners."""

from __future__ import annotations

from pathlib import Path

import pytest


def compile_build(onnx: Path, build: Path, target: str, target_cycles: int | None = None) -> Path:
    """``hwbnn compile`` of ``onnx`` into ``build`` for ``target`` (rtl, hls, hls4ml)."""
    from hwbnn.pipeline.compile import compile_onnx
    from hwbnn.pipeline.config import CompileOptions

    compile_onnx(onnx, build, CompileOptions(target=target, target_cycles=target_cycles))
    return build


@pytest.fixture(scope="session")
def compile_digits():
    """:func:`compile_build`, for the tests (conftest modules are not imported by name)."""
    return compile_build


@pytest.fixture(scope="module")
def digits_rtl_build(digits_binary, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The trained binary-input digits MLP compiled for RTL at 1024 cycles/frame."""
    build = tmp_path_factory.mktemp("verify") / "rtl"
    return compile_build(digits_binary.onnx, build, "rtl", 1024)
