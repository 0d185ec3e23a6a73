"""Locate the non-Python parts of hwbnn (rtl/, hls/, fpga/).

In an installed wheel they are package data under ``hwbnn/_share``; in a source checkout
(including an editable install) they are the top-level folders beside ``hwbnn/``.
"""

from __future__ import annotations

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
