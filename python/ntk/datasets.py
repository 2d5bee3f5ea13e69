"""Data-set readers of the C++ library (include/ntk/io.h, docs/io.md), returning NumPy arrays.

Every loader returns float64 in the library's layout: features (N, d), images (N, H, W, C) with pixels in [0, 1].
A missing or unreadable file raises OSError, malformed content ValueError, both with the CLI's one-line message.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, List, NamedTuple, Optional, Tuple

import numpy as np

from . import _ntk
from ._arrays import as_real

__all__ = [
    "Dataset",
    "UciDataset",
    "CsvData",
    "load_array",
    "load_npy",
    "save_npy",
    "load_csv",
    "load_idx",
    "load_idx_images",
    "load_idx_labels",
    "load_fashion_mnist",
    "load_libsvm",
    "load_cifar10",
    "load_image",
    "load_image_folder",
    "load_uci",
    "load_dataset",
    "downsample_images",
    "standardize",
]

FASHION_MNIST_DIR = "/usr/share/datasets/fashion-mnist"


class Dataset(NamedTuple):
    """``x`` (N, d) or (N, H, W, C), ``labels`` (N,) int64 in [0, len(class_names)), ``class_names`` (may be
    empty)."""

    x: np.ndarray
    labels: np.ndarray
    class_names: List[str]


class CsvData(NamedTuple):
    x: np.ndarray
    labels: np.ndarray  # numeric labels, or indices into class_names; empty without a label column
    header: List[str]
    class_names: List[str]


@dataclass
class UciDataset:
    """One data set of the UCI collection of Fernández-Delgado et al. (as used by Arora et al. 2020)."""

    name: str
    data: Dataset
    train: np.ndarray  # hyperparameter-selection training rows
    validation: np.ndarray
    folds: List[Tuple[np.ndarray, np.ndarray]] = field(default_factory=list)  # (train, test) rows


def load_array(path: str) -> np.ndarray:
    """An array by extension or magic: .npy, CSV/TSV/whitespace text, IDX, CIFAR-10 .bin (images)."""
    return _ntk.load_array(str(path))


def load_npy(path: str) -> np.ndarray:
    """Any numeric .npy (either byte order, Fortran order transposed) as float64."""
    return _ntk.load_npy(str(path))


def save_npy(path: str, x: Any, dtype: str = "float64") -> None:
    """Writes a C-ordered little-endian float64/float32 .npy atomically (temporary name, then rename)."""
    _ntk.save_npy(str(path), as_real(x, "x"), dtype)


def load_csv(path: str, label_column: Optional[int] = None, delimiter: str = "") -> CsvData:
    """CSV/TSV/whitespace text (gzip accepted); ``label_column`` (negative counts from the end) is split off."""
    x, labels, header, names = _ntk.load_csv(str(path), label_column, delimiter)
    return CsvData(x, labels, list(header), list(names))


def load_idx(path: str) -> np.ndarray:
    """An IDX file (MNIST format, plain or gzip) as it is stored, unscaled."""
    return _ntk.load_idx(str(path))


def load_idx_images(path: str) -> np.ndarray:
    """IDX images as (N, H, W, 1) (rank-4 files kept); unsigned-byte pixels divided by 255."""
    return _ntk.load_idx_images(str(path))


def load_idx_labels(path: str) -> np.ndarray:
    return _ntk.load_idx_labels(str(path))


def load_fashion_mnist(split: str = "train", root: str = FASHION_MNIST_DIR) -> Dataset:
    """Fashion-MNIST from Debian's dataset-fashion-mnist (``split`` "train" or "t10k"/"test")."""
    prefix = "t10k" if split in ("test", "t10k") else "train"
    import os

    for ext in (".gz", ""):
        p = os.path.join(root, f"{prefix}-images-idx3-ubyte{ext}")
        if os.path.exists(p):
            return load_dataset(p, format="idx")
    raise OSError(f"{root}: no {prefix}-images-idx3-ubyte[.gz] (install dataset-fashion-mnist)")


def load_libsvm(path: str, num_features: int = 0) -> Tuple[np.ndarray, np.ndarray]:
    """LIBSVM "label idx:val ..." as dense (x (N, d), labels as written)."""
    return _ntk.load_libsvm(str(path), int(num_features))


def load_cifar10(path: str, split: str = "train") -> Dataset:
    """CIFAR-10 binary: one .bin file, or a cifar-10-batches-bin folder (``split`` "train" or "test")."""
    import os

    if os.path.isdir(path):
        x, y, names = _ntk.load_cifar10_binary_dir(str(path), split)
    else:
        x, y, names = _ntk.load_cifar10_binary(str(path))
    return Dataset(x, y, list(names))


def load_image(path: str) -> np.ndarray:
    """One JPEG/PNG as (H, W, C) in [0, 1]."""
    return _ntk.load_image(str(path))


def load_image_folder(root: str, max_per_class: int = 0, seed: int = 0) -> Dataset:
    """root/<class>/*.{jpg,jpeg,png}: classes sorted by name get labels 0..K−1."""
    x, y, names = _ntk.load_image_folder(str(root), int(max_per_class), int(seed))
    return Dataset(x, y, list(names))


def load_uci(path: str) -> UciDataset:
    """uci90/<name>/ (``<name>_R.dat``, ``conxuntos.dat``, ``conxuntos_kfold.dat``)."""
    name, (x, y, names), train, val, folds = _ntk.load_uci(str(path))
    return UciDataset(name, Dataset(x, y, list(names)), train, val, [tuple(f) for f in folds])


def load_dataset(path: str, format: str = "auto", label_column: int = -1, num_features: int = 0,
                 split: str = "train", labels_path: str = "", max_per_class: int = 0, seed: int = 0) -> Dataset:
    """Any labelled data set (``--format`` of the CLI: auto, npy, csv, libsvm, idx, cifar10, folder, uci)."""
    x, y, names = _ntk.load_dataset(str(path), format, int(label_column), int(num_features), split,
                                    str(labels_path), int(max_per_class), int(seed))
    return Dataset(x, y, list(names))


def downsample_images(x: Any, factor: int) -> np.ndarray:
    """Average pooling of (N, H, W, C) images by an integer factor."""
    return _ntk.downsample_images(as_real(x, "x"), int(factor))


def standardize(x: Any, like: Any = None) -> np.ndarray:
    """(x − mean) / std per feature (rank 2) or per channel (rank 4), fitted on ``like`` (default: x)."""
    xx = np.asarray(as_real(x, "x"), dtype=np.float64)
    mean, scale, per_channel = _ntk.standardizer_fit(as_real(xx if like is None else like, "like"))
    m, s = np.asarray(mean), np.asarray(scale)
    if per_channel:
        return (xx - m.reshape(1, 1, 1, -1)) / s.reshape(1, 1, 1, -1)
    return (xx - m) / s
