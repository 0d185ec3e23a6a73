"""Exporting does not print Brevitas' warning about its optional package fast_hadamard_transform
(brevitas.graph.equalize warns when it is imported), and only that warning is silenced."""

from __future__ import annotations

import subprocess
import sys

from hwbnn.export.qonnx_export import FAST_HADAMARD_WARNING

EXPORT = """
import tempfile, warnings
from pathlib import Path
warnings.simplefilter("always")
from hwbnn.export import export_qonnx_model
from hwbnn.nn import MLPConfig, build_model
with tempfile.TemporaryDirectory() as tmp:
    export_qonnx_model(build_model(MLPConfig((1, 4, 4), (8,), 3)), Path(tmp) / "m.onnx")
import brevitas.graph.equalize
print("exported")
"""

# brevitas.export imported directly, under the same filter: the warning is there to silence
PLAIN_IMPORT = """
import warnings
warnings.simplefilter("always")
import brevitas.export
"""


def run(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=300, check=False
    )


def test_export_does_not_print_the_optional_package_warning() -> None:
    plain = run(PLAIN_IMPORT)
    assert plain.returncode == 0, plain.stderr
    assert FAST_HADAMARD_WARNING in plain.stderr  # Brevitas still warns without the filter
    exported = run(EXPORT)
    assert exported.returncode == 0 and "exported" in exported.stdout, exported.stderr
    assert FAST_HADAMARD_WARNING not in exported.stderr, exported.stderr
