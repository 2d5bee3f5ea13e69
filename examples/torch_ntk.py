"""ntk and PyTorch: the infinite-width limit of a PyTorch model, its finite twins, empirical NTKs by autograd.

    python examples/torch_ntk.py

1. to_arch: a small PyTorch CNN -> ntk's architecture string and parameterization.
2. ntk.kernels: its exact NNGP and NTK (ntk's images are NHWC, PyTorch's NCHW: ntk.torch.nhwc / nchw).
3. Monte Carlo over PyTorch twins of growing width approaches them.
4. ntk.Network and its PyTorch twin share parameters exactly: the empirical NTK by torch.func equals ntk's.
"""

import numpy as np
import torch
from torch import nn

import ntk
import ntk.torch as nt

torch.manual_seed(0)
model = nn.Sequential(nn.Conv2d(3, 16, 3, padding=1), nn.ReLU(), nn.Conv2d(16, 16, 3, padding=1), nn.ReLU(),
                      nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(16, 1))
arch, param = nt.to_arch(model, w_std=1.4, b_std=0.1, widths=False)
print(f"to_arch: {arch!r} ({param} parameterization)")

x = torch.randn(4, 3, 6, 6, dtype=torch.float64)  # PyTorch's NCHW
exact = ntk.kernels(arch, nt.nhwc(x), parameterization="ntk")  # a (permuted) tensor goes in as it is
for width in (16, 128, 512):
    mc = nt.monte_carlo_kernels(arch, x, width=width, samples=4, parameterization="ntk")
    err = np.abs(mc.ntk - exact.ntk).max() / np.abs(exact.ntk).max()
    print(f"width {width:4d}: Monte Carlo NTK of the PyTorch twins, max relative error {err:.3f}")

print("empirical NTK of the PyTorch model itself (first row):", nt.empirical_ntk(model, x.float())[0].round(3))

net = ntk.Network(arch, width=32, seed=0, input_shape=(6, 6, 3))
twin = nt.from_network(net)  # NCHW inputs
diff = np.abs(nt.empirical_ntk(twin, x) - net.empirical_ntk(nt.nhwc(x))).max()
print(f"ntk.Network vs its PyTorch twin: empirical NTKs differ by {diff:.1e}")
assert diff < 1e-10 * np.abs(net.empirical_ntk(nt.nhwc(x))).max()
