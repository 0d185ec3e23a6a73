"""Fixtures of the flow tests: the trained digits MLP compiled for RTL."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def digits_rtl_default(digits_binary, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The trained digits MLP, compiled for RTL with the default (fully folded) folding."""
    import hwbnn

    build = tmp_path_factory.mktemp("fpga") / "digits"
    return hwbnn.compile(digits_binary.onnx, build, target="rtl").path
