"""Fixtures of the HLS library tests."""

from __future__ import annotations

import pytest
from hls_bench import Compiler


@pytest.fixture(scope="session")
def compiler(tmp_path_factory: pytest.TempPathFactory) -> Compiler:
    """Compiles test programs against the HLS library; shared by the tests of this process."""
    return Compiler(tmp_path_factory.mktemp("cxx"))
