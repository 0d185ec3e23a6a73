"""The README's Python example runs as written and predicts what `hwbnn eval` predicts."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import numpy as np
import pytest

from hwbnn.cli import main

README = Path(__file__).resolve().parents[1] / "README.md"


def python_example() -> str:
    """The first ```python block under the README's "Python API" heading."""
    text = README.read_text()
    section = text[text.index("## Python API") :]
    match = re.search(r"```python\n(.*?)```", section, re.DOTALL)
    assert match, "README.md has no ```python block under '## Python API'"
    return match.group(1)


@pytest.mark.slow
def test_readme_python_example(tmp_path: Path, digits_binary, monkeypatch) -> None:
    (tmp_path / "runs" / "d").mkdir(parents=True)
    shutil.copyfile(digits_binary.onnx, tmp_path / "runs" / "d" / "model.onnx")
    monkeypatch.chdir(tmp_path)
    scope: dict = {}
    exec(compile(python_example(), str(README), "exec"), scope)  # noqa: S102 - the README's code
    build = scope["build"]
    # the same labels as `hwbnn eval --inputs X --save` on the same images
    np.save(tmp_path / "x.npy", scope["data"].x_test)
    assert main(["eval", str(build.path), "--inputs", "x.npy", "--save", "eval.npz"]) == 0
    saved = np.load(tmp_path / "eval.npz")
    assert np.array_equal(scope["labels"], saved["labels"])
    assert np.array_equal(scope["accumulators"], saved["accumulators"])
    assert scope["record"].ok and scope["record"].frames == 20
    assert os.path.isfile(scope["report"].index)
