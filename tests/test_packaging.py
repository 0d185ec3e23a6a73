"""A non-editable install carries rtl/, hls/ and fpga/ as package data."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_wheel_install_finds_share_dirs(tmp_path: Path) -> None:
    wheels, target = tmp_path / "wheels", tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(wheels), str(ROOT)],
        check=True,
    )
    (wheel,) = wheels.glob("hwbnn-*.whl")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--no-deps",
            "-q",
            "--target",
            str(target),
            str(wheel),
        ],
        check=True,
    )
    code = (
        "from hwbnn.resources import share_dir; import hwbnn; "
        "print(hwbnn.__file__); "
        "print(*(share_dir(n) for n in ('rtl', 'hls', 'fpga')), sep='\\n')"
    )
    env = {**os.environ, "PYTHONPATH": str(target)}
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        check=True,
    )
    lines = done.stdout.split()
    assert lines[0].startswith(str(target))
    for name, line in zip(("rtl", "hls", "fpga"), lines[1:], strict=True):
        assert line == str(target / "hwbnn" / "_share" / name)
    assert (target / "hwbnn" / "_share" / "hls" / "hwbnn" / "mvau.hpp").is_file()
    assert any((target / "hwbnn" / "_share" / "rtl").glob("*.v"))


def test_rtl_files_lists_instantiated_modules_first(tmp_path: Path, monkeypatch) -> None:
    """rtl_files follows instantiations of hwbnn_* modules, dependencies before their users."""
    import hwbnn.resources as resources

    (tmp_path / "hwbnn_leaf.v").write_text("module hwbnn_leaf; endmodule\n")
    (tmp_path / "hwbnn_mid.v").write_text(
        "module hwbnn_mid;\n  hwbnn_leaf #(.A(1)) u_leaf ();\nendmodule\n"
    )
    (tmp_path / "hwbnn_top.v").write_text(
        "module hwbnn_top;\n  hwbnn_mid u_mid ();\n  hwbnn_leaf u_leaf2 ();\nendmodule\n"
    )
    monkeypatch.setattr(resources, "share_dir", lambda name: tmp_path)
    names = [p.stem for p in resources.rtl_files("hwbnn_top", "hwbnn_leaf")]
    assert names == ["hwbnn_leaf", "hwbnn_mid", "hwbnn_top"]
    with pytest.raises(FileNotFoundError, match="hwbnn_nope"):
        resources.rtl_files("hwbnn_nope")
