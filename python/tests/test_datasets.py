import gzip
import os
import struct

import numpy as np
import pytest

import ntk
from ntk import datasets
from conftest import ROOT

IO = os.path.join(ROOT, "tests", "data", "io")


def write_idx(path, arr, code=0x08):
    with gzip.open(path, "wb") if path.endswith(".gz") else open(path, "wb") as f:
        f.write(bytes([0, 0, code, arr.ndim]))
        f.write(struct.pack(">" + "i" * arr.ndim, *arr.shape))
        f.write(arr.astype(np.uint8).tobytes())


def test_idx_images_and_labels(tmp_path):
    imgs = np.arange(2 * 4 * 3, dtype=np.uint8).reshape(2, 4, 3) * 10
    labels = np.array([3, 1], dtype=np.uint8)
    write_idx(str(tmp_path / "train-images-idx3-ubyte.gz"), imgs)
    write_idx(str(tmp_path / "train-labels-idx1-ubyte.gz"), labels)
    x = datasets.load_idx_images(str(tmp_path / "train-images-idx3-ubyte.gz"))
    assert x.shape == (2, 4, 3, 1)
    np.testing.assert_allclose(x[..., 0], imgs / 255.0)
    assert np.array_equal(datasets.load_idx(str(tmp_path / "train-images-idx3-ubyte.gz")), imgs)
    assert list(datasets.load_idx_labels(str(tmp_path / "train-labels-idx1-ubyte.gz"))) == [3, 1]
    d = datasets.load_dataset(str(tmp_path / "train-images-idx3-ubyte.gz"))
    assert d.x.shape == (2, 4, 3, 1) and list(d.labels) == [3, 1]


def test_npy_fixtures_and_layouts(tmp_path):
    ref = np.load(os.path.join(IO, "f64_c.npy"))
    assert np.array_equal(datasets.load_npy(os.path.join(IO, "f64_fortran.npy")), np.load(os.path.join(IO, "f64_fortran.npy")))
    assert np.array_equal(datasets.load_array(os.path.join(IO, "f64_c.npy")), ref)
    with pytest.raises(ValueError):
        datasets.load_npy(os.path.join(IO, "nan.npy"))
    x = np.asfortranarray(np.arange(6.0).reshape(2, 3))
    datasets.save_npy(str(tmp_path / "a.npy"), x, "float32")
    back = np.load(tmp_path / "a.npy")
    assert back.dtype == np.float32 and np.array_equal(back, x)


def test_csv_and_libsvm(tmp_path):
    (tmp_path / "d.csv").write_text("a,b,label\n1,2,cat\n3,4,dog\n5,6,cat\n")
    c = datasets.load_csv(str(tmp_path / "d.csv"), label_column=-1)
    assert c.x.shape == (3, 2) and c.header == ["a", "b", "label"] and c.class_names == ["cat", "dog"]
    assert list(c.labels) == [0, 1, 0]
    (tmp_path / "d.libsvm").write_text("1 1:0.5 3:2\n-1 2:1\n")
    x, y = datasets.load_libsvm(str(tmp_path / "d.libsvm"))
    assert np.array_equal(x, [[0.5, 0, 2], [0, 1, 0]]) and list(y) == [1, -1]
    (tmp_path / "bad.csv").write_text("1,2\n3\n")
    with pytest.raises(ValueError, match="bad.csv"):
        datasets.load_csv(str(tmp_path / "bad.csv"))


def test_cifar10_binary(tmp_path):
    rec = []
    for label in (4, 7):
        rec.append(bytes([label]) + bytes(range(256)) * 12)
    (tmp_path / "data_batch_1.bin").write_bytes(b"".join(rec))
    d = datasets.load_cifar10(str(tmp_path / "data_batch_1.bin"))
    assert d.x.shape == (2, 32, 32, 3) and list(d.labels) == [4, 7]
    assert d.x.min() >= 0 and d.x.max() <= 1
    (tmp_path / "trunc.bin").write_bytes(rec[0][:100])
    with pytest.raises(ValueError):
        datasets.load_cifar10(str(tmp_path / "trunc.bin"))


def test_images_and_folders(tmp_path):
    img = datasets.load_image(os.path.join(IO, "rgb_5x7.png"))
    assert img.ndim == 3 and img.shape[2] == 3
    for cls in ("b_cls", "a_cls"):
        os.makedirs(tmp_path / "root" / cls)
        for i in range(2):
            with open(os.path.join(IO, "rgb_5x7.png"), "rb") as f:
                (tmp_path / "root" / cls / f"{i}.png").write_bytes(f.read())
    d = datasets.load_image_folder(str(tmp_path / "root"))
    assert d.x.shape == (4,) + img.shape and d.class_names == ["a_cls", "b_cls"] and list(d.labels) == [0, 0, 1, 1]


def test_io_errors_are_oserror_with_the_file_name(tmp_path):
    missing = str(tmp_path / "nope.npy")
    with pytest.raises(OSError, match="nope.npy"):
        datasets.load_npy(missing)
    with pytest.raises(OSError):
        datasets.load_dataset(str(tmp_path / "nothing-here"))


def test_preprocessing(rng):
    x = rng.standard_normal((3, 4, 4, 2))
    d = datasets.downsample_images(x, 2)
    np.testing.assert_allclose(d, x.reshape(3, 2, 2, 2, 2, 2).mean(axis=(2, 4)))
    s = datasets.standardize(rng.standard_normal((50, 3)) * 4 + 1)
    np.testing.assert_allclose(s.mean(axis=0), 0, atol=1e-12)
    np.testing.assert_allclose(s.std(axis=0), 1, rtol=1e-12)


def test_fashion_mnist_when_installed():
    if not os.path.isdir(datasets.FASHION_MNIST_DIR):
        pytest.skip("dataset-fashion-mnist is not installed")
    d = datasets.load_fashion_mnist("test")
    assert d.x.shape == (10000, 28, 28, 1) and d.labels.max() == 9
