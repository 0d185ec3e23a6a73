"""Write the $readmemh files of rtl/hwbnn_mvau.v, rtl/hwbnn_input_threshold.v and
rtl/hwbnn_threshold.v.

Layouts (the module headers in rtl/ document the same):

hwbnn_mvau weights, ``<prefix>_weights.hex``: (MH/PE)*(MW/SIMD) words of PE*SIMD bits. Word
``nf*(MW/SIMD) + sf`` holds, at bit ``p*SIMD + s``, the weight of output channel ``nf*PE + p``
and input column ``sf*SIMD + s`` (1 = +1, 0 = -1): the PE weight memories side by side.

hwbnn_mvau thresholds, ``<prefix>_thresholds.hex`` (threshold mode only): MH/PE words of
PE*THRESH_WIDTH bits; word ``nf`` holds T of channel ``nf*PE + p`` at bits
``[p*THRESH_WIDTH, (p+1)*THRESH_WIDTH)``: unsigned popcount thresholds in [0, MW+1] for 1-bit
inputs, two's complement thresholds in [-MW*(2^B-1), MW*(2^B-1)+1] for B-bit inputs.

hwbnn_input_threshold, ``<prefix>_input_thresholds.hex``: N/SIMD words of SIMD*(B+1) bits;
word ``f`` holds T of element ``f*SIMD + s`` (unsigned, in [0, 2^B]) at bits
``[s*(B+1), (s+1)*(B+1))``.

hwbnn_threshold (graph thresholds (C, S, N), S = 1 or 2 selections, N steps): C/SIMD words of
SIMD*S*N*W bits; word ``f`` holds ``T[f*SIMD + s, v, j]`` at bits
``[((s*S + v)*N + j)*W, +W)``, two's complement (:func:`write_threshold_memfile`).

Each file starts with ``//`` comment lines, then one word per line in hexadecimal.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import numpy as np

from hwbnn.ir.folding import WeightStorage
from hwbnn.ir.types import InputThreshold, Layer, MatrixVector, Threshold
from hwbnn.plan import UnitPlan
from hwbnn.plan.packing import memory_words, pack_fields, value_lanes, weight_memory_words
from hwbnn.plan.widths import MvauWidths, clog2, mvau_threshold_range, mvau_widths

__all__ = [
    "MvauWidths",
    "clog2",
    "mvau_threshold_range",
    "mvau_widths",
    "threshold_width",
    "write_input_threshold_memfile",
    "write_mvau_memfiles",
    "write_threshold_memfile",
    "write_unit_memories",
]


def write_unit_memories(unit: UnitPlan, layer: Layer, out_dir: Path) -> list[Path]:
    """Write the memory files of one planned unit (none for image stages), named
    ``<unit.ident>_*.hex``; return their paths (weights first; constant weights have none)."""
    if isinstance(layer, InputThreshold):
        path = write_input_threshold_memfile(
            layer.thresholds, unit.simd, unit.in_bits, out_dir, unit.ident
        )
        return [path]
    if isinstance(layer, MatrixVector):
        weights, thresholds = write_mvau_memfiles(
            layer.weights, layer.thresholds, unit.pe, unit.simd, unit.in_bits, out_dir, unit.ident
        )
        files = [weights] if thresholds is None else [weights, thresholds]
        if unit.weights is not None and unit.weights.storage is WeightStorage.CONSTANT:
            weights.unlink()  # the top holds them (the WEIGHTS parameter): no file to edit
            files = files[1:]
        return files
    if isinstance(layer, Threshold):
        path = out_dir / f"{unit.ident}_thresholds.hex"
        write_threshold_memfile(path, layer.thresholds, unit.simd, unit.threshold_bits)
        return [path]
    return []


def write_mvau_memfiles(
    weights: np.ndarray,
    thresholds: np.ndarray | None,
    pe: int,
    simd: int,
    input_bits: int,
    out_dir: Path,
    prefix: str,
) -> tuple[Path, Path | None]:
    """Write the weight file and (when ``thresholds`` is given) the threshold file.

    Args:
        weights: (MH, MW) array of bool (or 0/1 integers); True/1 is +1.
        thresholds: (MH,) integers, or None for OUTPUT_MODE 1 (accumulators).
        pe: output channels per cycle; divides MH.
        simd: input elements per cycle; divides MW.
        input_bits: bits per input element (1: bipolar XNOR-popcount).
        out_dir: directory for the files (created when missing).
        prefix: file name prefix.

    Returns:
        (weight file, threshold file or None).
    """
    w = _as_bits(weights, "weights")
    if w.ndim != 2:
        raise ValueError(f"weights must be 2-D (MH, MW), got shape {w.shape}")
    mh, mw = w.shape
    _check_fold("PE", pe, "MH", mh)
    _check_fold("SIMD", simd, "MW", mw)
    if input_bits < 1:
        raise ValueError(f"input_bits must be at least 1, got {input_bits}")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    header = [
        f"hwbnn_mvau weights: MH={mh} MW={mw} PE={pe} SIMD={simd}",
        "word nf*(MW/SIMD)+sf, bit p*SIMD+s = weight[nf*PE+p, sf*SIMD+s] (1 = +1)",
    ]
    weight_path = out_dir / f"{prefix}_weights.hex"
    _write_hex(weight_path, header, weight_memory_words(w, pe, simd), pe * simd)
    if thresholds is None:
        return weight_path, None

    t = _as_int(thresholds, "thresholds")
    if t.shape != (mh,):
        raise ValueError(f"thresholds must have shape (MH,) = ({mh},), got {t.shape}")
    lo, hi = mvau_threshold_range(mw, input_bits)
    _check_range(t, lo, hi, "thresholds")
    width = mvau_widths(mw, input_bits).thresh_width
    header = [
        f"hwbnn_mvau thresholds: MH={mh} MW={mw} PE={pe} INPUT_BITS={input_bits}"
        f" THRESH_WIDTH={width}",
        "word nf, bits [p*THRESH_WIDTH +: THRESH_WIDTH] = T[nf*PE+p]"
        + (" (two's complement)" if input_bits > 1 else " (unsigned)"),
    ]
    thresh_path = out_dir / f"{prefix}_thresholds.hex"
    words = memory_words(value_lanes(t, pe).tolist(), width)
    _write_hex(thresh_path, header, words, pe * width)
    return weight_path, thresh_path


def write_input_threshold_memfile(
    thresholds: np.ndarray, simd: int, input_bits: int, out_dir: Path, prefix: str
) -> Path:
    """Write the threshold file of hwbnn_input_threshold.

    Args:
        thresholds: (N,) integers in [0, 2**input_bits]; element i gives 1 iff code_i >= T_i.
        simd: elements per beat; divides N.
        input_bits: bits per unsigned input element.
        out_dir: directory for the file (created when missing).
        prefix: file name prefix.
    """
    t = _as_int(thresholds, "thresholds")
    if t.ndim != 1:
        raise ValueError(f"thresholds must be 1-D (N,), got shape {t.shape}")
    if input_bits < 1:
        raise ValueError(f"input_bits must be at least 1, got {input_bits}")
    n = t.shape[0]
    _check_fold("SIMD", simd, "N", n)
    _check_range(t, 0, 1 << input_bits, "thresholds")
    width = input_bits + 1
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    header = [
        f"hwbnn_input_threshold thresholds: N={n} SIMD={simd} INPUT_BITS={input_bits}",
        f"word f, bits [s*{width} +: {width}] = T[f*SIMD+s] (unsigned)",
    ]
    path = out_dir / f"{prefix}_input_thresholds.hex"
    words = memory_words(value_lanes(t, simd).tolist(), width)
    _write_hex(path, header, words, simd * width)
    return path


def _check_fold(name: str, value: int, of_name: str, of: int) -> None:
    if of < 1:
        raise ValueError(f"{of_name}={of} must be at least 1")
    if value < 1 or of % value != 0:
        raise ValueError(f"{name}={value} does not divide {of_name}={of}")


def _check_range(values: np.ndarray, lo: int, hi: int, what: str) -> None:
    if values.size and (values.min() < lo or values.max() > hi):
        bad = values[(values < lo) | (values > hi)][0]
        raise ValueError(f"{what} must lie in [{lo}, {hi}], found {bad}")


def _as_bits(array: np.ndarray, what: str) -> np.ndarray:
    a = np.asarray(array)
    if a.dtype == np.bool_:
        return a
    if not np.issubdtype(a.dtype, np.integer) or (a.size and not np.isin(a, (0, 1)).all()):
        raise ValueError(f"{what} must be bool or 0/1 integers")
    return a.astype(bool)


def _as_int(array: np.ndarray, what: str) -> np.ndarray:
    a = np.asarray(array)
    if not np.issubdtype(a.dtype, np.integer):
        raise ValueError(f"{what} must be integers, got dtype {a.dtype}")
    return a.astype(np.int64)


def _write_hex(path: Path, header: list[str], words: Iterable[int], width: int) -> None:
    digits = (width + 3) // 4
    lines = [f"// {line}" for line in header]
    lines += [f"{word:0{digits}x}" for word in words]
    path.write_text("\n".join(lines) + "\n")


def threshold_width(low: int, high: int) -> int:
    """Bits of a two's complement field holding every integer in ``[low, high]`` (at least 1);
    the THRESH_WIDTH of hwbnn_threshold for thresholds in that range. Unlike
    :func:`hwbnn.ir.edges.bits_for_range` it is signed even when ``low >= 0``."""
    if low > high:
        raise ValueError(f"empty range [{low}, {high}]")
    width = 1
    while not -(1 << (width - 1)) <= low <= high < (1 << (width - 1)):
        width += 1
    return width


def write_threshold_memfile(path: Path, thresholds: np.ndarray, simd: int, width: int) -> None:
    """Write the threshold file of hwbnn_threshold (its THRESH_FILE) to ``path``.

    Layout: C/SIMD words of SIMD*S*N*``width`` bits; word ``f`` holds ``T[f*SIMD + s, v, j]``
    (lane ``s``, selection ``v`` in 0..S-1, step ``j``) at bits
    ``[((s*S + v)*N + j)*width, +width)``, two's complement.

    Args:
        path: the file to write (its directory is created when missing).
        thresholds: (C, S, N) integers; S = 1 (no side input) or 2 (selected by the side bit).
        simd: elements per beat; divides C.
        width: THRESH_WIDTH, bits per two's complement threshold (:func:`threshold_width`).

    Raises:
        ValueError: the shape is not (C, 1 or 2, N >= 1), SIMD does not divide C, or a
            threshold does not fit in ``width`` bits.
    """
    t = _as_int(thresholds, "thresholds")
    if t.ndim != 3 or t.shape[1] not in (1, 2) or t.shape[2] < 1:
        raise ValueError(f"thresholds must have shape (C, 1 or 2, N >= 1), got {t.shape}")
    channels, sets, steps = t.shape
    _check_fold("SIMD", simd, "C", channels)
    if width < 1:
        raise ValueError(f"width must be at least 1, got {width}")
    _check_range(t, -(1 << (width - 1)), (1 << (width - 1)) - 1, f"{width}-bit thresholds")
    header = [
        f"hwbnn_threshold thresholds: CHANNELS={channels} SIMD={simd} SIDE={sets - 1}"
        f" STEPS={steps} THRESH_WIDTH={width}",
        "word f, bits [((s*(SIDE+1)+v)*STEPS+j)*THRESH_WIDTH +: THRESH_WIDTH]"
        " = T[f*SIMD+s][v][j] (two's complement)",
    ]
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    words = pack_fields(t.reshape(channels // simd, simd * sets * steps), width)
    _write_hex(path, header, words, simd * sets * steps * width)
