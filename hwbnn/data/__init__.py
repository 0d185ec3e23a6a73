"""Datasets for training and verification.

Every loader returns a :class:`Dataset`: float32 images in NCHW layout whose values are exact
input codes ``k / (levels - 1)`` (the hardware input format), and int64 labels. Nothing is
downloaded: the digits set ships with scikit-learn; MNIST, Fashion-MNIST and CIFAR-10 are read
from a directory the user names.
"""

from hwbnn.data.datasets import (
    DATASETS,
    DataError,
    Dataset,
    code_values,
    load_cifar10,
    load_dataset,
    load_digits,
    load_mnist,
)
from hwbnn.data.idx import read_idx

__all__ = [
    "DATASETS",
    "DataError",
    "Dataset",
    "code_values",
    "load_cifar10",
    "load_dataset",
    "load_digits",
    "load_mnist",
    "read_idx",
]
