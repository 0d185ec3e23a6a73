"""Checks of frames and labels a user hands to a verification (``--inputs``, ``--labels``, or
the API's ``x``/``y``), made before anything runs so that a wrong file is a one-line error
instead of a crash deep in a simulator or, worse, a plausible wrong number.

Frames: real numbers (float or integer, not bool, complex or text), shaped ``(frames, *S)``
with ``S`` the model's input shape, at least one frame, finite, and each value one of the
model's input codes (:func:`hwbnn.reference.to_codes`'s check); with rounding, within half a
code step of the model's input range ``[low, high]`` (the nearest code of a value further
out is not a rounding of it, and the usual cause is a scale mistake such as 0..255 pixels
for a 0..1 model).

Labels: integer class indices in ``[0, classes)``, one per frame: shape ``(frames,)`` exactly,
because a ``(frames, 1)`` array compared with ``(frames,)`` predictions broadcasts to a
``frames x frames`` table and gives a wrong accuracy without an error.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from hwbnn.errors import ConfigError, DataError
from hwbnn.ir.types import InputFormat
from hwbnn.reference.codes import to_codes


def check_frames(x: np.ndarray, fmt: InputFormat, rounding: bool = False, what: str = "") -> None:
    """Raise DataError (prefixed by ``what``, e.g. the file) unless ``x`` is frames of ``fmt``
    as the module docstring says."""
    where = f"{what}: " if what else ""
    x = np.asarray(x)
    if x.dtype.kind not in "iuf":
        raise DataError(
            f"{where}inputs of dtype {x.dtype}; expected real numbers (float or integer) "
            f"in the model's input format"
        )
    if x.ndim != len(fmt.shape) + 1 or x.shape[1:] != fmt.shape:
        dims = ", ".join(str(d) for d in fmt.shape)
        raise DataError(
            f"{where}inputs of shape {x.shape}; expected (frames, {dims}): frames of the "
            f"model's input shape {fmt.shape}"
        )
    if not len(x):
        raise DataError(f"{where}no input frames (shape {x.shape})")
    flat = x.reshape(len(x), -1)
    if flat.dtype.kind == "f":
        bad = ~np.isfinite(flat)
        if bad.any():
            frame, element = np.argwhere(bad)[0]
            raise DataError(
                f"{where}input frame {frame} element {element} is {flat[frame, element]}; "
                f"inputs must be finite"
            )
    low, high = float(fmt.values[0]), float(fmt.values[-1])
    step = (high - low) / (fmt.levels - 1)
    slack = step / 2 if rounding else 0.0
    outside = (flat < low - slack) | (flat > high + slack)
    if outside.any():
        frame, element = np.argwhere(outside)[0]
        how = "more than half a code step outside" if rounding else "outside"
        raise DataError(
            f"{where}input frame {frame} element {element}: value {flat[frame, element]} is "
            f"not one of the model's {fmt.levels} input codes, {how} their range "
            f"[{low:g}, {high:g}] (code k stands for {low:g} + k * {step:g}); scale the inputs"
        )
    if not rounding:  # every value a code: the reference's own check, in chunks of frames
        for start in range(0, len(x), CHUNK_FRAMES):
            try:
                to_codes(fmt, x[start : start + CHUNK_FRAMES], False, start)
            except DataError as exc:
                raise DataError(f"{where}{exc}") from None


#: frames checked at a time (bounds the memory of the codes the check makes)
CHUNK_FRAMES = 1024


def check_labels(y: np.ndarray, frames: int, classes: int, what: str = "") -> None:
    """Raise DataError (prefixed by ``what``) unless ``y`` is ``frames`` integer class
    indices in ``[0, classes)`` of shape ``(frames,)``."""
    where = f"{what}: " if what else ""
    y = np.asarray(y)
    if y.dtype.kind not in "iu":
        raise DataError(
            f"{where}labels of dtype {y.dtype}; expected integer class indices "
            f"(e.g. y.astype(np.int64))"
        )
    if y.shape != (frames,):
        hint = " (flatten them: y.ravel())" if y.size == frames else ""
        raise DataError(
            f"{where}labels of shape {y.shape}; expected ({frames},): one class index per "
            f"input frame{hint}"
        )
    outside = np.flatnonzero((y < 0) | (y >= classes))
    if outside.size:
        first = int(outside[0])
        raise DataError(
            f"{where}label {int(y[first])} of frame {first} is not a class of the model "
            f"(0..{classes - 1})"
        )


def load_npy(path: Path, what: str) -> np.ndarray:
    """One array from a ``.npy`` file, without pickle. Its header (shape, dtype) must account
    for exactly the file's size, checked before the data is read: a damaged header is an
    error, not an allocation of whatever it promises."""
    path = Path(path)
    try:
        with path.open("rb") as handle:
            version = np.lib.format.read_magic(handle)
            if version not in _NPY_HEADERS:
                raise ValueError(f".npy format version {version}")
            shape, _, dtype = _NPY_HEADERS[version](handle)
            offset = handle.tell()
        if dtype.hasobject:
            raise DataError(
                f"{path}: {what} hold Python objects (pickle), which hwbnn does not load"
            )
        nbytes, held = math.prod(shape) * dtype.itemsize, path.stat().st_size - offset
        if nbytes != held:
            raise DataError(
                f"{path}: damaged .npy file (its header promises {nbytes} bytes of {dtype} "
                f"{shape}, the file holds {held})"
            )
        return np.load(path, allow_pickle=False)
    except FileNotFoundError:
        raise DataError(f"{path}: {what} file not found") from None
    except (OSError, ValueError, EOFError) as exc:
        raise DataError(f"{path}: not a readable .npy file ({exc})") from None


_NPY_HEADERS = {
    (1, 0): np.lib.format.read_array_header_1_0,
    (2, 0): np.lib.format.read_array_header_2_0,
}


def frame_codes(codes: np.ndarray, what: str = "simulate") -> np.ndarray:
    """Input codes as (frames, elements) int64, at least one frame (ConfigError otherwise:
    an empty array cannot be reshaped to frames, and nothing would be checked)."""
    codes = np.asarray(codes)
    if codes.ndim == 0 or len(codes) == 0 or codes.size == 0:
        raise ConfigError(f"no input frames to {what} (codes of shape {codes.shape})")
    if codes.dtype.kind not in "iu":
        raise ConfigError(f"input codes must be integers, got {codes.dtype}")
    return codes.astype(np.int64).reshape(len(codes), -1)
