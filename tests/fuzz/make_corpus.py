#!/usr/bin/env python3
"""Writes the seed corpora tests/fuzz/corpus/<target>/seed-* (run from anywhere; needs numpy).

Seeds are small valid (and a few almost valid) inputs of each format, so the fuzzers start deep inside the
parsers. Inputs that once crashed a target are kept next to them as crash-* (added by hand, never rewritten
here). Multi-file targets join their files with the separator of tests/fuzz/fuzz_util.h.
"""
import gzip
import io
import os
import struct

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURES = os.path.join(HERE, "..", "data", "io")
SEP = b"\n=====\n"


def npy_bytes(a, fortran=False, version=None):
    buf = io.BytesIO()
    if version is None:
        np.lib.format.write_array(buf, np.asfortranarray(a) if fortran else a)
    else:
        np.lib.format.write_array(buf, a, version=version)
    return buf.getvalue()


def write(target, name, data):
    d = os.path.join(HERE, "corpus", target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "seed-" + name), "wb") as f:
        f.write(data)


def fixture(name):
    with open(os.path.join(FIXTURES, name), "rb") as f:
        return f.read()


def clean():
    root = os.path.join(HERE, "corpus")
    if not os.path.isdir(root):
        return
    for target in os.listdir(root):
        for name in os.listdir(os.path.join(root, target)):
            if name.startswith("seed-"):
                os.remove(os.path.join(root, target, name))


def npy():
    for name in sorted(os.listdir(FIXTURES)):
        if name.endswith(".npy"):
            write("npy", name, fixture(name))
    x = np.arange(6, dtype="<f8").reshape(2, 3) / 7
    write("npy", "gzip.npy", gzip.compress(npy_bytes(x), mtime=0))
    write("npy", "v3.npy", npy_bytes(x.astype("<f4"), version=(3, 0)))
    write("npy", "u8_img.npy", npy_bytes(np.arange(2 * 3 * 2 * 1, dtype="u1").reshape(2, 3, 2, 1)))
    write("npy", "i32_be_fortran.npy", npy_bytes(np.arange(12, dtype=">i4").reshape(3, 4), fortran=True))


def npy_map():
    write("npy_map", "f8_2x3", npy_bytes(np.zeros((2, 3), "<f8")))
    write("npy_map", "f4_4", npy_bytes(np.linspace(0, 1, 4, dtype="<f4")))
    write("npy_map", "f8_scalar", npy_bytes(np.array(1.5, "<f8")))
    write("npy_map", "f8_0x2", npy_bytes(np.zeros((0, 2), "<f8")))
    write("npy_map", "f4_3x3", npy_bytes(np.eye(3, dtype="<f4")))
    write("npy_map", "f8_2x2x2", npy_bytes(np.ones((2, 2, 2), "<f8")))
    write("npy_map", "truncated", npy_bytes(np.zeros((4, 4), "<f8"))[:-8])
    write("npy_map", "i8_fortran", npy_bytes(np.zeros((2, 3), "<i8"), fortran=True))


def csv():
    seeds = {
        "plain.csv": b"1,2,3\n4,5,6\n",
        "header.csv": b"a,b,label\n1.5,-2e3,x\n+3,4,y\n0.25,7,x\n",
        "semicolon.csv": b"# comment\n1;2;3\n\n4;5;6\n",
        "tabs.tsv": b"f1\tf2\tclass\n0.1\t0.2\t0\n0.3\t0.4\t1\n",
        "spaces.txt": b"  1  2   3\r\n4 5 6\r\n",
        "quoted.csv": b'"sepal length","sepal width","species"\n5.1,3.5,"setosa"\n4.9,3.0,"virginica"\n',
        "negative_labels.csv": b"1,2,-1\n3,4,1\n5,6,-1\n",
        "overflow.csv": b"1e400,2\n3,4\n",
        "one_column.csv": b"7\n8\n9\n",
    }
    for name, data in seeds.items():
        write("csv", name, data)
    write("csv", "gzip.csv", gzip.compress(seeds["header.csv"], mtime=0))


def libsvm():
    seeds = {
        "basic": b"1 1:0.5 3:2\n-1 2:1 4:-0.25 # comment\n",
        "qid": b"2 qid:3 1:1 2:2\n1 qid:3 3:3\n",
        "float_labels": b"0.5 1:1e-3\n1.5 7:2\n",
        "blank_lines": b"\n1 1:1\n\n-1\n",
        "tabs": b"+1\t1:1\t2:2\r\n-1\t5:5\r\n",
    }
    for name, data in seeds.items():
        write("libsvm", name, data)


def idx_bytes(a, code):
    dt = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}[code]
    head = bytes([0, 0, code, a.ndim]) + b"".join(struct.pack(">I", d) for d in a.shape)
    return head + a.astype(dt).tobytes()


def idx():
    write("idx", "u8_images", idx_bytes(np.arange(2 * 3 * 3).reshape(2, 3, 3) % 256, 0x08))
    write("idx", "u8_labels", idx_bytes(np.array([1, 0, 1]), 0x08))
    write("idx", "i8", idx_bytes(np.array([[-1, 2], [3, -4]]), 0x09))
    write("idx", "i16", idx_bytes(np.array([300, -300]), 0x0B))
    write("idx", "i32", idx_bytes(np.array([[1 << 20]]), 0x0C))
    write("idx", "f32_rank4", idx_bytes(np.ones((1, 2, 2, 1)) / 3, 0x0D))
    write("idx", "f64", idx_bytes(np.array([0.5, -0.5]), 0x0E))
    write("idx", "gzip", gzip.compress(idx_bytes(np.arange(8).reshape(2, 2, 2), 0x08), mtime=0))


def cifar_record(label, seed):
    rng = np.random.default_rng(seed)
    return bytes([label]) + rng.integers(0, 256, 3072, dtype=np.uint8).tobytes()


def cifar():
    write("cifar", "one", cifar_record(3, 1))
    write("cifar", "two", cifar_record(0, 2) + cifar_record(9, 3))
    names = b"\n".join(n.encode() for n in ["a", "b", "c", "d", "e", "f", "g", "h", "i", "j"]) + b"\n"
    write("cifar", "with_meta", cifar_record(5, 4) + SEP + names)


def images():
    imgs = [n for n in sorted(os.listdir(FIXTURES)) if n.endswith((".png", ".jpg"))]
    for name in imgs:
        write("image", name, fixture(name))
    grey_png, grey_jpg, rgb_jpg = fixture("grey.png"), fixture("grey.jpg"), fixture("rgb.jpg")
    # config: classes, max_per_class, seed, jpg mask
    write("image_folder", "one_class", bytes([0, 0, 0, 0]) + SEP + grey_png + SEP + grey_png)
    write("image_folder", "two_classes_jpg", bytes([1, 0, 0, 0b11]) + SEP + grey_jpg + SEP + grey_jpg)
    write("image_folder", "mixed_colour", bytes([1, 1, 7, 0b0101]) + SEP + rgb_jpg + SEP + grey_png + SEP +
          rgb_jpg + SEP + grey_png)
    write("image_folder", "three_classes", bytes([2, 2, 1, 0]) + SEP + grey_png + SEP + grey_png + SEP + grey_png)


def uci():
    n, d = 8, 2
    rows = ["\tf1\tf2\tclase"]
    for i in range(n):
        rows.append("%d\t%.3f\t%.3f\t%d" % (i + 1, np.sin(i), np.cos(2 * i), i % 2))
    data = ("\n".join(rows) + "\n").encode()
    split = b"0 2 4 6\n1 3 5 7\n"
    folds = b"".join(b" ".join(str(i).encode() for i in range(n) if i % 4 != f) + b"\n" +
                     b" ".join(str(i).encode() for i in range(n) if i % 4 == f) + b"\n" for f in range(4))
    write("uci", "complete", data + SEP + split + SEP + folds)
    write("uci", "names_as_labels", data.replace(b"\t0\n", b"\t-3\n") + SEP + split + SEP + folds)
    write("uci", "no_folds", data + SEP + split)


ARCHS = [
    "dense, relu, dense",
    "dense(w_std=1.5, b_std=0.2), relu, dense",
    "repeat(3, conv(3, w_std=1.41, b_std=0.1), relu), gap, dense",
    "conv(3, stride=2), erf(a=2, b=0.5, c=0.1), avgpool(2), flatten, dense(width=4)",
    "dense, residual(relu, dense), layernorm, dense(trainable=false), tanh, dense",
    "conv(2, pad=circular), leaky_relu(alpha=0.2), gap, dense, abrelu(-0.5, 2), dense",
    "dense, gelu, dense, sin(1, 2, 0.5), dense, sign, dense, abs, dense",
    "dense, elu, dense, sigmoid, dense, softplus, dense, silu, dense, identity",
    "conv(3), repeat(2, residual(relu, conv(3)), relu, conv(3)), flatten, dense",
]


def arch():
    for i, spec in enumerate(ARCHS):
        write("arch", "%02d" % i, spec.encode())
    write("arch", "bad_column", b"dense, relu,, dense")
    write("arch", "bad_arg", b"dense(w_sdt=2)")


def kernel():
    # spec \n mode n1 n2 (d | h w c) values...
    vec = bytes([0, 2, 1, 3, 0, 0]) + bytes([5, 250, 17, 40, 3, 200, 99, 1, 2])
    img = bytes([1, 1, 1, 3, 3, 1]) + bytes(range(0, 64, 3))
    for i, spec in enumerate(ARCHS):
        imagey = "conv" in spec or "gap" in spec
        cfg = img if imagey else vec
        write("kernel", "%02d" % i, spec.encode() + b"\n" + cfg)
    write("kernel", "x2_f32_standard", b"dense(w_std=2), relu, dense\n" + bytes([2 | 4 | 8, 1, 2, 2, 0, 0]))
    write("kernel", "nngp_only_img", b"conv(2), relu, avgpool(2, pad=valid), flatten, dense\n" +
          bytes([1 | 32, 2, 1, 3, 3, 1]))


def main():
    clean()
    npy()
    npy_map()
    csv()
    libsvm()
    idx()
    cifar()
    images()
    uci()
    arch()
    kernel()


if __name__ == "__main__":
    main()
