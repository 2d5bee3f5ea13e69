"""Exact CNTK of a small convolutional network on Fashion-MNIST and kernel regression with it.

    python examples/cntk_fashion_mnist.py [n_train] [n_test]

Reads Debian's dataset-fashion-mnist (/usr/share/datasets/fashion-mnist), downsamples to 14x14, computes the
NTK of `repeat(3, conv(3), relu), gap, dense` between the images and classifies the test images by kernel
regression on one-hot targets (Arora et al. 2019).
"""

import sys
import time

import numpy as np

import ntk
from ntk import datasets, predict

n_train = int(sys.argv[1]) if len(sys.argv) > 1 else 200
n_test = int(sys.argv[2]) if len(sys.argv) > 2 else 100
arch = "repeat(3, conv(3, w_std=1.4142, b_std=0.1), relu), gap, dense"

train, test = datasets.load_fashion_mnist("train"), datasets.load_fashion_mnist("test")
x_train = datasets.downsample_images(train.x[:n_train], 2)
x_test = datasets.downsample_images(test.x[:n_test], 2)
mean, std = x_train.mean(), x_train.std()
x_train, x_test = (x_train - mean) / std, (x_test - mean) / std

t0 = time.time()
k_train = ntk.kernel(arch, x_train, progress=True)
k_test = ntk.kernel(arch, x_test, x_train, progress=True)
print(f"CNTK {k_train.shape} + {k_test.shape} in {time.time() - t0:.1f}s")

labels, _ = predict.one_hot_regression(k_train, k_test, train.labels[:n_train], num_classes=10, off=-0.1, on=0.9,
                                       diag_reg=1e-4)
print(f"test accuracy: {np.mean(labels == test.labels[:n_test]):.3f} ({n_train} training images)")
