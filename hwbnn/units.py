"""Numbers as a user reads them: rounded and grouped (``4,096 cycles/frame``, ``154.2 MHz``)."""

from __future__ import annotations


def count(n: float | None, unit: str = "") -> str:
    """An integer with thousands separators: ``count(4096, "cycles/frame")`` ->
    ``4,096 cycles/frame``; a non-integer count is rounded to one decimal."""
    if n is None:
        return "n/a"
    text = f"{n:,.0f}" if float(n).is_integer() else f"{n:,.1f}"
    return f"{text} {unit}".rstrip()


def mhz(value: float | None) -> str:
    """``154.2 MHz``."""
    return "n/a" if value is None else f"{value:,.1f} MHz"


def rate(value: float | None, unit: str = "frames/s") -> str:
    """Three significant figures, grouped: ``9,150 frames/s``, ``12.3 frames/s``."""
    if value is None:
        return "n/a"
    if value >= 100:
        return f"{value:,.0f} {unit}"
    return f"{value:.3g} {unit}"


def seconds(value: float) -> str:
    """``0.4 s``, ``12.3 s``, ``3 min 05 s``."""
    if value < 60:
        return f"{value:.1f} s"
    minutes, rest = divmod(round(value), 60)
    return f"{minutes} min {rest:02d} s"


def fraction(value: float | None) -> str:
    """An accuracy or ratio with four decimals: ``0.9306``."""
    return "n/a" if value is None else f"{value:.4f}"
