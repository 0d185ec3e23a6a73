"""The import layering of hwbnn (pyproject.toml's [tool.importlinter] contracts) holds: no module
imports from a higher layer, and no two sibling packages or modules import each other in a
cycle. Imports inside functions count as well. It runs in well under a second."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

PYPROJECT = Path(__file__).resolve().parent.parent / "pyproject.toml"


def test_import_layers_and_no_cycles(capsys: pytest.CaptureFixture[str]) -> None:
    if not PYPROJECT.is_file():
        pytest.skip("not a source checkout (no pyproject.toml)")
    from importlinter.cli import lint_imports

    cwd = os.getcwd()
    os.chdir(PYPROJECT.parent)
    try:
        code = lint_imports(config_filename=str(PYPROJECT), no_cache=True, no_logo=True)
    finally:
        os.chdir(cwd)
    report = capsys.readouterr().out
    assert code == 0, report[report.find("Broken contracts") :]
