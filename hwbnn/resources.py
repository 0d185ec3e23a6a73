"""Locate the non-Python parts of hwbnn (rtl/, hls/, fpga/).

In an installed wheel they are package data under ``hwbnn/_share``; in a source checkout
(including an editable install) they are the top-level folders beside ``hwbnn/``.
"""

from __future__ import annotations

import re
from importlib import resources
from pathlib import Path

SHARE_DIRS = ("rtl", "hls", "fpga")


def share_dir(name: str) -> Path:
    """Return the directory holding the shared files ``name`` (one of rtl, hls, fpga)."""
    if name not in SHARE_DIRS:
        raise ValueError(f"unknown share directory {name!r}; expected one of {SHARE_DIRS}")
    packaged = Path(str(resources.files("hwbnn"))) / "_share" / name
    if packaged.is_dir():
        return packaged
    checkout = Path(__file__).resolve().parent.parent / name
    if checkout.is_dir():
        return checkout
    raise FileNotFoundError(
        f"hwbnn installation is incomplete: no {name}/ directory at {packaged} or {checkout}"
    )


# an instantiation of one of our modules: `hwbnn_x #(` or `hwbnn_x u_name (`
_INSTANCE = re.compile(r"^\s*(hwbnn_\w+)\s*(?:#\s*\(|[A-Za-z_]\w*\s*\()", re.MULTILINE)


def rtl_files(*modules: str) -> list[Path]:
    """The rtl/ files of ``modules`` and of every rtl/ module they instantiate, in compile
    order (a module after the modules it instantiates), each once.

    Raises:
        FileNotFoundError: a module has no ``rtl/<name>.v``.
    """
    rtl = share_dir("rtl")
    order: list[Path] = []

    def visit(name: str, path: tuple[str, ...]) -> None:
        file = rtl / f"{name}.v"
        if file in order or name in path:
            return
        if not file.is_file():
            raise FileNotFoundError(f"no Verilog module {name} ({file} does not exist)")
        for dep in _INSTANCE.findall(file.read_text()):
            if dep != name and (rtl / f"{dep}.v").is_file():
                visit(dep, (*path, name))
        order.append(file)

    for module in modules:
        visit(module, ())
    return order
