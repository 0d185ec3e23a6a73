"""Dataset loaders: sklearn digits (default), MNIST / Fashion-MNIST IDX files, CIFAR-10 batches."""

from __future__ import annotations

import math
import pickle
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from hwbnn.data.idx import read_idx
from hwbnn.errors import DataError


@dataclass(frozen=True)
class Dataset:
    """Images as float32 NCHW arrays of exact codes ``k / (levels - 1)``, labels as int64.

    ``x_train``/``y_train`` are None when only a test split is available (e.g. the MNIST test
    set alone).
    """

    name: str
    x_train: np.ndarray | None
    y_train: np.ndarray | None
    x_test: np.ndarray
    y_test: np.ndarray
    levels: int
    classes: int

    @property
    def input_bits(self) -> int:
        """Bits of one unsigned input code."""
        return max(1, math.ceil(math.log2(self.levels)))

    @property
    def image_shape(self) -> tuple[int, ...]:
        return tuple(int(d) for d in self.x_test.shape[1:])

    def require_train(self) -> tuple[np.ndarray, np.ndarray]:
        if self.x_train is None or self.y_train is None:
            raise DataError(f"dataset {self.name!r} has no training split in the given directory")
        return self.x_train, self.y_train


def code_values(levels: int, low: float = 0.0, high: float = 1.0) -> np.ndarray:
    """Float32 value of each input code ``k`` in ``[0, levels)``: ``low + (high-low)*k/(levels-1)``.

    This is the one definition shared by the data loaders and lowering's input format, so the
    images fed to the float model are exactly the values the hardware's codes stand for.
    """
    if levels < 2:
        raise ValueError(f"need at least 2 input levels, got {levels}")
    k = np.arange(levels, dtype=np.float32)
    if (low, high) == (0.0, 1.0):
        return k / np.float32(levels - 1)
    return (low + (high - low) * np.arange(levels, dtype=np.float64) / (levels - 1)).astype(
        np.float32
    )


def _codes_to_float(codes: np.ndarray, levels: int) -> np.ndarray:
    return code_values(levels)[codes.astype(np.int64)]


def load_digits(test_fraction: float = 0.2, seed: int = 0) -> Dataset:
    """The scikit-learn 8x8 digits (1797 images, codes 0..16), deterministic stratified split."""
    from sklearn.datasets import load_digits as sk_digits
    from sklearn.model_selection import train_test_split

    bunch = sk_digits()
    codes = bunch.images.astype(np.int64).reshape(-1, 1, 8, 8)
    labels = bunch.target.astype(np.int64)
    xtr, xte, ytr, yte = train_test_split(
        codes, labels, test_size=test_fraction, random_state=seed, stratify=labels
    )
    return Dataset("digits", _codes_to_float(xtr, 17), ytr, _codes_to_float(xte, 17), yte, 17, 10)


_IDX_NAMES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}


def _find(root: Path, stem: str) -> Path | None:
    for candidate in (root / stem, root / f"{stem}.gz"):
        if candidate.is_file():
            return candidate
    return None


def _require_dir(root: Path | str | None, name: str) -> Path:
    if root is None:
        raise DataError(f"dataset {name!r} needs a data directory (--data-dir DIR)")
    path = Path(root)
    if not path.is_dir():
        raise DataError(f"{path}: data directory for {name!r} does not exist")
    return path


def _read_idx_split(root: Path, split: str) -> tuple[np.ndarray, np.ndarray] | None:
    image_stem, label_stem = _IDX_NAMES[split]
    images, labels = _find(root, image_stem), _find(root, label_stem)
    if images is None and labels is None:
        return None
    if images is None or labels is None:
        missing = image_stem if images is None else label_stem
        raise DataError(f"{root / missing}[.gz]: file not found")
    x = read_idx(images, 3)
    y = read_idx(labels, 1)
    if x.shape[0] != y.shape[0]:
        raise DataError(f"{images}: {x.shape[0]} images but {labels} has {y.shape[0]} labels")
    if x.size == 0:
        raise DataError(f"{images}: no images (shape {x.shape})")
    _check_labels(labels, y, 10)
    return x.reshape(-1, 1, x.shape[1], x.shape[2]), y.astype(np.int64)


def _check_labels(path: Path, labels: np.ndarray, classes: int) -> None:
    """Labels index the classes: a damaged file with a label of 200 is refused here rather
    than failing deep inside training (or counting as a wrong prediction)."""
    outside = np.flatnonzero((labels < 0) | (labels >= classes))
    if outside.size:
        first = int(outside[0])
        raise DataError(
            f"{path}: label {int(labels[first])} of item {first} is not a class in "
            f"0..{classes - 1} ({outside.size} such labels)"
        )


def load_mnist(root: Path | str | None, fashion: bool = False) -> Dataset:
    """MNIST or Fashion-MNIST from IDX files (raw or .gz) in ``root``; the test split is required,
    the training split is optional."""
    name = "fashion-mnist" if fashion else "mnist"
    path = _require_dir(root, name)
    test = _read_idx_split(path, "test")
    if test is None:
        raise DataError(f"{path / _IDX_NAMES['test'][0]}[.gz]: file not found")
    train = _read_idx_split(path, "train")
    xtr, ytr = (None, None) if train is None else (_codes_to_float(train[0], 256), train[1])
    return Dataset(name, xtr, ytr, _codes_to_float(test[0], 256), test[1], 256, 10)


class _BatchUnpickler(pickle.Unpickler):
    """Unpickles a CIFAR-10 python batch and nothing else: a dict of bytes, ints, lists and
    NumPy arrays. Any other global (``os.system`` in a forged batch's ``__reduce__``) is
    refused before it is called; a pickle runs whatever globals it names otherwise."""

    ALLOWED = frozenset(
        {
            *((f"numpy.{core}.multiarray", "_reconstruct") for core in ("core", "_core")),
            *((f"numpy.{core}.multiarray", "scalar") for core in ("core", "_core")),
            *((f"numpy.{core}.numeric", "_frombuffer") for core in ("core", "_core")),
            ("numpy", "ndarray"),
            ("numpy", "dtype"),
            ("_codecs", "encode"),
        }
    )

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) not in self.ALLOWED:
            raise pickle.UnpicklingError(f"refused global {module}.{name}")
        return super().find_class(module, name)


def _read_cifar_batch(path: Path) -> tuple[np.ndarray, np.ndarray]:
    try:
        with path.open("rb") as handle:
            batch = _BatchUnpickler(handle, encoding="bytes").load()
        data = np.asarray(batch[b"data"], dtype=np.uint8).reshape(-1, 3, 32, 32)
        labels = np.asarray(batch[b"labels"], dtype=np.int64)
    except FileNotFoundError:
        raise DataError(f"{path}: file not found") from None
    except (
        OSError,
        EOFError,
        pickle.UnpicklingError,
        KeyError,
        IndexError,
        ValueError,
        TypeError,
        AttributeError,
        RecursionError,
    ) as exc:
        raise DataError(f"{path}: not a CIFAR-10 python batch ({exc})") from None
    if data.shape[0] != labels.shape[0] or labels.ndim != 1:
        raise DataError(f"{path}: {data.shape[0]} images but labels of shape {labels.shape}")
    if not len(data):
        raise DataError(f"{path}: no images")
    _check_labels(path, labels, 10)
    return data, labels


def load_cifar10(root: Path | str | None) -> Dataset:
    """CIFAR-10 from its python batches (data_batch_1..5, test_batch) in ``root`` or in
    ``root/cifar-10-batches-py``."""
    path = _require_dir(root, "cifar10")
    if (path / "cifar-10-batches-py").is_dir():
        path = path / "cifar-10-batches-py"
    test_x, test_y = _read_cifar_batch(path / "test_batch")
    parts = [_read_cifar_batch(path / f"data_batch_{i}") for i in range(1, 6)]
    xtr = np.concatenate([p[0] for p in parts])
    ytr = np.concatenate([p[1] for p in parts])
    return Dataset(
        "cifar10", _codes_to_float(xtr, 256), ytr, _codes_to_float(test_x, 256), test_y, 256, 10
    )


DATASETS: dict[str, Callable[[Path | str | None], Dataset]] = {
    "digits": lambda root: load_digits(),
    "mnist": lambda root: load_mnist(root),
    "fashion-mnist": lambda root: load_mnist(root, fashion=True),
    "cifar10": load_cifar10,
}


def load_dataset(name: str, root: Path | str | None = None) -> Dataset:
    """Load a dataset by name (digits, mnist, fashion-mnist, cifar10)."""
    try:
        loader = DATASETS[name]
    except KeyError:
        raise DataError(f"unknown dataset {name!r}; choose one of {sorted(DATASETS)}") from None
    return loader(root)
