"""Reader for the IDX format of MNIST and Fashion-MNIST (LeCun et al.), raw or gzip-compressed.

An IDX file starts with a 4-byte magic ``0x00 0x00 <type> <ndim>`` followed by ``ndim`` big-endian
uint32 sizes and the row-major data. Only unsigned bytes (type 0x08) occur in these data sets.

The sizes are untrusted: their product is checked against what the file can hold (its length,
or for a ``.gz`` file its length times deflate's largest ratio) before any payload is read, so
a damaged header cannot make the reader allocate more than the file justifies.
"""

from __future__ import annotations

import gzip
import math
import zlib
from pathlib import Path
from typing import Protocol

import numpy as np

from hwbnn.errors import DataError

_UBYTE = 0x08
#: deflate's largest compression ratio (about 1032:1): a .gz file of n bytes decompresses to
#: at most this many times n
GZIP_MAX_RATIO = 1032


class _Readable(Protocol):
    def read(self, size: int = -1, /) -> bytes: ...


def read_idx(path: Path, expected_ndim: int) -> np.ndarray:
    """Read an IDX file of unsigned bytes with ``expected_ndim`` dimensions.

    Raises:
        DataError: the file is missing, unreadable, not an IDX file of unsigned bytes with
            ``expected_ndim`` dimensions, or its payload does not match its header.
    """
    path = Path(path)
    compressed = path.suffix == ".gz"
    try:
        size = path.stat().st_size
        with gzip.open(path, "rb") if compressed else path.open("rb") as handle:
            return _read(handle, path, expected_ndim, size, compressed)
    except FileNotFoundError:
        raise DataError(f"{path}: file not found") from None
    except (OSError, EOFError, zlib.error) as exc:  # gzip.BadGzipFile is an OSError
        raise DataError(f"{path}: cannot read ({exc})") from None


def _read(
    handle: _Readable, path: Path, expected_ndim: int, size: int, compressed: bool
) -> np.ndarray:
    magic = handle.read(4)
    if len(magic) < 4:
        raise DataError(f"{path}: truncated IDX file ({len(magic)} bytes)")
    zero, dtype, ndim = int.from_bytes(magic[:2], "big"), magic[2], magic[3]
    if zero != 0 or dtype != _UBYTE or ndim != expected_ndim:
        want = f"00000{_UBYTE:x}{expected_ndim:02x}"
        raise DataError(f"{path}: wrong IDX magic number 0x{magic.hex()} (expected 0x{want})")
    sizes = handle.read(4 * ndim)
    if len(sizes) < 4 * ndim:
        raise DataError(f"{path}: truncated IDX header")
    shape = tuple(int.from_bytes(sizes[4 * i : 4 * i + 4], "big") for i in range(ndim))
    count = math.prod(shape)
    header = 4 + 4 * ndim
    room = size * GZIP_MAX_RATIO if compressed else size - header
    if count > room:
        what = f"a {size}-byte .gz file can hold" if compressed else f"the file holds {room}"
        raise DataError(f"{path}: IDX header promises {count} bytes {shape}, more than {what}")
    data = handle.read(count + 1)  # one more: a longer payload is an error too
    if len(data) != count:
        held = f"{len(data)}" if len(data) < count else "more than"
        raise DataError(f"{path}: IDX payload has {held} bytes, header promises {count} {shape}")
    return np.frombuffer(data, dtype=np.uint8).reshape(shape)
