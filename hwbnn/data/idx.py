"""Reader for the IDX format of MNIST and Fashion-MNIST (LeCun et al.), raw or gzip-compressed.

An IDX file starts with a 4-byte magic ``0x00 0x00 <type> <ndim>`` followed by ``ndim`` big-endian
uint32 sizes and the row-major data. Only unsigned bytes (type 0x08) occur in these data sets.
"""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np

from hwbnn.errors import DataError

_UBYTE = 0x08


def read_idx(path: Path, expected_ndim: int) -> np.ndarray:
    """Read an IDX file of unsigned bytes with ``expected_ndim`` dimensions."""
    path = Path(path)
    try:
        raw = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
    except FileNotFoundError:
        raise DataError(f"{path}: file not found") from None
    except (OSError, EOFError, gzip.BadGzipFile) as exc:
        raise DataError(f"{path}: cannot read ({exc})") from None
    if len(raw) < 4:
        raise DataError(f"{path}: truncated IDX file ({len(raw)} bytes)")
    zero, dtype, ndim = int.from_bytes(raw[:2], "big"), raw[2], raw[3]
    if zero != 0 or dtype != _UBYTE or ndim != expected_ndim:
        magic = raw[:4].hex()
        want = f"00000{_UBYTE:x}{expected_ndim:02x}"
        raise DataError(f"{path}: wrong IDX magic number 0x{magic} (expected 0x{want})")
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise DataError(f"{path}: truncated IDX header")
    shape = tuple(int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    count = int(np.prod(shape))
    if len(raw) - header != count:
        raise DataError(
            f"{path}: IDX payload has {len(raw) - header} bytes, header promises {count} {shape}"
        )
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(shape)
