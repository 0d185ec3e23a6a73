"""Dataset loaders: digits split, IDX files (raw/.gz, bad magic, truncation), CIFAR-10 batches."""

from __future__ import annotations

import gzip
import pickle
from pathlib import Path

import numpy as np
import pytest

from hwbnn.data import DataError, code_values, load_cifar10, load_dataset, load_digits, load_mnist
from hwbnn.data.idx import read_idx

MNIST_DIR = Path(__file__).resolve().parents[3] / "shared" / "data" / "mnist"


def _idx_bytes(array: np.ndarray) -> bytes:
    header = bytes([0, 0, 0x08, array.ndim])
    header += b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    return header + array.astype(np.uint8).tobytes()


def _write_mnist(root: Path, n: int, compress: bool, split: str = "t10k") -> tuple:
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
    labels = rng.integers(0, 10, n, dtype=np.uint8)
    for stem, arr in (
        (f"{split}-images-idx3-ubyte", images),
        (f"{split}-labels-idx1-ubyte", labels),
    ):
        data = _idx_bytes(arr)
        if compress:
            (root / f"{stem}.gz").write_bytes(gzip.compress(data))
        else:
            (root / stem).write_bytes(data)
    return images, labels


def test_digits_split_is_deterministic_and_stratified() -> None:
    a, b = load_digits(), load_digits()
    assert np.array_equal(a.x_test, b.x_test) and np.array_equal(a.y_train, b.y_train)
    assert a.x_train.shape == (1437, 1, 8, 8) and a.x_test.shape == (360, 1, 8, 8)
    counts = np.bincount(a.y_test, minlength=10)
    assert counts.min() >= 35 and counts.max() <= 37
    # every pixel is an exact code k/16
    assert np.isin(a.x_test, code_values(17)).all()
    assert a.levels == 17 and a.input_bits == 5


@pytest.mark.parametrize("compress", [False, True])
def test_mnist_idx_roundtrip(tmp_path: Path, compress: bool) -> None:
    images, labels = _write_mnist(tmp_path, 5, compress)
    data = load_mnist(tmp_path)
    assert data.x_train is None
    assert np.array_equal(np.rint(data.x_test[:, 0] * 255).astype(np.uint8), images)
    assert np.array_equal(data.y_test, labels)
    assert load_dataset("fashion-mnist", tmp_path).name == "fashion-mnist"


def test_idx_wrong_magic_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "t10k-images-idx3-ubyte"
    path.write_bytes(bytes([0, 0, 0x08, 1]) + (3).to_bytes(4, "big") + b"abc")
    with pytest.raises(DataError, match=r"t10k-images-idx3-ubyte: wrong IDX magic number"):
        read_idx(path, 3)


def test_idx_truncated_payload(tmp_path: Path) -> None:
    path = tmp_path / "x.gz"
    data = _idx_bytes(np.zeros((4, 2, 2), dtype=np.uint8))
    path.write_bytes(gzip.compress(data[:-3]))
    with pytest.raises(DataError, match="x.gz: IDX payload has 13 bytes"):
        read_idx(path, 3)


def test_corrupt_gzip(tmp_path: Path) -> None:
    path = tmp_path / "t10k-labels-idx1-ubyte.gz"
    path.write_bytes(b"not gzip at all")
    with pytest.raises(DataError, match="t10k-labels-idx1-ubyte.gz: cannot read"):
        read_idx(path, 1)


def test_missing_directory_and_files(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="does not exist"):
        load_mnist(tmp_path / "nope")
    with pytest.raises(DataError, match="needs a data directory"):
        load_dataset("mnist", None)
    with pytest.raises(DataError, match="t10k-images-idx3-ubyte.*not found"):
        load_mnist(tmp_path)
    with pytest.raises(DataError, match="unknown dataset"):
        load_dataset("imagenet")


def test_mnist_label_file_missing(tmp_path: Path) -> None:
    _write_mnist(tmp_path, 3, False)
    (tmp_path / "t10k-labels-idx1-ubyte").unlink()
    with pytest.raises(DataError, match="t10k-labels-idx1-ubyte"):
        load_mnist(tmp_path)


def _cifar_batch(path: Path, n: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    batch = {
        b"data": rng.integers(0, 256, (n, 3072), dtype=np.uint8),
        b"labels": rng.integers(0, 10, n).tolist(),
    }
    path.write_bytes(pickle.dumps(batch))


def test_cifar10_batches(tmp_path: Path) -> None:
    root = tmp_path / "cifar-10-batches-py"
    root.mkdir()
    for i in range(1, 6):
        _cifar_batch(root / f"data_batch_{i}", 4, i)
    _cifar_batch(root / "test_batch", 3, 0)
    data = load_cifar10(tmp_path)
    assert data.x_train.shape == (20, 3, 32, 32) and data.x_test.shape == (3, 3, 32, 32)
    (root / "data_batch_3").write_bytes(b"garbage")
    with pytest.raises(DataError, match="data_batch_3: not a CIFAR-10 python batch"):
        load_cifar10(tmp_path)


@pytest.mark.mnist
@pytest.mark.skipif(not MNIST_DIR.is_dir(), reason="MNIST test set not present")
def test_shared_mnist_test_set() -> None:
    data = load_mnist(MNIST_DIR)
    assert data.x_test.shape == (10000, 1, 28, 28)
    assert data.y_test[:5].tolist() == [7, 2, 1, 0, 4]
