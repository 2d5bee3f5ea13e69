"""Checks an installed ntk wheel from inside a fresh virtual environment (run by test_wheel.py).

    <venv>/bin/python wheel_check.py

Run from a folder outside the source tree, with nothing of the build tree on sys.path. Prints one line per
check and exits non-zero on the first failure.
"""

import os
import re
import shutil
import subprocess
import sys
import sysconfig
import time
import warnings
from importlib import metadata

import numpy as np


def step(name):
    print(f"[wheel] {name} ...", flush=True)
    return time.time()


def done(t0, what=""):
    print(f"[wheel]   ok ({time.time() - t0:.1f} s) {what}", flush=True)


import ntk  # noqa: E402

t = step("import from the venv, not the build tree")
pkg_dir = os.path.dirname(ntk.__file__)
assert pkg_dir.startswith(sys.prefix), (pkg_dir, sys.prefix)
assert "build" not in os.path.relpath(pkg_dir, sys.prefix).split(os.sep)
done(t, pkg_dir)

t = step("one version: ntk.__version__ = metadata = `ntk --version` from PATH")
exe = shutil.which("ntk")
assert exe and os.path.realpath(exe).startswith(os.path.realpath(sys.prefix)), exe
out = subprocess.run(["ntk", "--version"], capture_output=True, text=True, check=True).stdout
assert out.split()[:2] == ["ntk", ntk.__version__], out
assert metadata.version("ntk") == ntk.__version__
done(t, out.strip())

t = step("wheel audit: every shared library resolves inside the venv or to the C/C++ runtime")
# glibc, the C++ runtime, and zlib (on manylinux's list of system libraries, so auditwheel never copies it;
# Debian's zlib1g is an Essential package).
runtime = re.compile(r"^(linux-vdso|ld-linux-x86-64|libc|libm|libdl|librt|libpthread|libstdc\+\+|libgcc_s|libz)\.so")
ext = ntk._ntk.__file__
# a repaired wheel (scripts/build-wheel.sh) keeps the CLI binary in <platlib>/ntk.scripts/ (PATH's ntk execs it)
cli_bin = os.path.join(sysconfig.get_path("platlib"), "ntk.scripts", "ntk")
for binary in (ext, cli_bin if os.path.exists(cli_bin) else exe):
    ldd = subprocess.run(["ldd", binary], capture_output=True, text=True, check=True).stdout
    for line in ldd.splitlines():
        parts = line.split()
        if not parts:
            continue
        name = parts[0]
        path = parts[2] if len(parts) > 2 and parts[1] == "=>" else parts[0]
        assert "not found" not in line, f"{binary}: {line.strip()}"
        inside = os.path.realpath(path).startswith(os.path.realpath(sys.prefix))
        assert inside or runtime.match(os.path.basename(name)), f"{binary} needs {name} from {path}"
        if "mkl" in name:
            assert inside, f"MKL from outside the venv: {path}"
print(f"[wheel]   BLAS: {ntk._ntk.__blas__}; extension libraries:")
print(subprocess.run(["ldd", ext], capture_output=True, text=True).stdout)
done(t)

from sklearn.datasets import load_diabetes  # noqa: E402
from sklearn.gaussian_process import GaussianProcessRegressor  # noqa: E402
from sklearn.model_selection import GridSearchCV  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402
from sklearn.utils.estimator_checks import check_estimator  # noqa: E402

from ntk.sklearn import NNGPKernel, NTKClassifier, NTKKernel, NTKRegressor, NTKSVC  # noqa: E402

t = step("check_estimator for each estimator")
for est in (NTKRegressor(), NTKClassifier(), NTKSVC()):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = check_estimator(est, on_fail=None)
    failed = [r["check_name"] for r in res if r["status"] == "failed"]
    assert not failed, (est, failed)
    print(f"[wheel]   {type(est).__name__}: {len(res)} checks, none failed")
done(t)

t = step("GridSearchCV over depth and diag_reg on the diabetes data")
X, y = load_diabetes(return_X_y=True)
search = GridSearchCV(make_pipeline(StandardScaler(), NTKRegressor(normalize_y=True)),
                      {"ntkregressor__depth": [1, 2, 3], "ntkregressor__diag_reg": [1e-3, 1e-1, 1.0]}, cv=3)
search.fit(X, y)
assert search.best_score_ > 0.3, search.best_score_
done(t, f"best {search.best_params_}, R^2 {search.best_score_:.3f}")

t = step("GaussianProcessRegressor(kernel=NTKKernel/NNGPKernel) moves W_std")
rng = np.random.default_rng(0)
x = rng.uniform(-2, 2, (80, 2))
K = NNGPKernel(W_std=2.5, b_std=0.5, depth=1, activation="erf")(x) + 1e-4 * np.eye(80)
yy = np.linalg.cholesky(K) @ rng.standard_normal((80, 4))
gp = GaussianProcessRegressor(kernel=NNGPKernel(W_std=1.0, b_std=0.5, depth=1, activation="erf",
                                                b_std_bounds="fixed"), alpha=1e-4).fit(x, yy)
assert abs(gp.kernel_.W_std - 2.5) < 0.45, gp.kernel_
Kt = NTKKernel(W_std=2.5, b_std=0.5, depth=1, activation="erf")(x) + 1e-4 * np.eye(80)
yt = np.linalg.cholesky(Kt) @ rng.standard_normal((80, 4))
gp2 = GaussianProcessRegressor(kernel=NTKKernel(W_std=1.0, b_std=0.2, depth=1, activation="erf"),
                               alpha=1e-4).fit(x, yt)
assert abs(gp2.kernel_.W_std - 2.5) < 0.3 and abs(gp2.kernel_.b_std - 0.5) < 0.15, gp2.kernel_
done(t, f"NNGPKernel W_std 1.0 -> {gp.kernel_.W_std:.3f}; NTKKernel W_std 1.0 -> {gp2.kernel_.W_std:.3f}, "
        f"b_std 0.2 -> {gp2.kernel_.b_std:.3f} (truth 2.5, 0.5)")

import torch  # noqa: E402
from torch import nn  # noqa: E402

import ntk.torch as nt  # noqa: E402

t = step("a PyTorch tensor and the same NumPy array give identical kernels")
xa = rng.standard_normal((20, 6))
arch = "dense(w_std=1.5, b_std=0.2), relu, dense"
assert np.array_equal(ntk.kernel(arch, torch.from_numpy(xa)), ntk.kernel(arch, xa))
xi = rng.standard_normal((3, 5, 5, 2)).astype(np.float32)
k32 = ntk.kernel("conv(3), relu, gap, dense", torch.from_numpy(xi))
assert k32.dtype == np.float32 and np.array_equal(k32, ntk.kernel("conv(3), relu, gap, dense", xi))
done(t)

t = step("to_arch of a small PyTorch CNN; its twins' Monte Carlo approaches ntk.kernels")
torch.manual_seed(0)
cnn = nn.Sequential(nn.Conv2d(2, 8, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, 1))
arch, param = nt.to_arch(cnn, w_std=1.4, b_std=0.2, widths=False)
xc = rng.standard_normal((3, 5, 5, 2))
exact = ntk.kernels(arch, xc, parameterization="ntk")
errs = []
for width in (8, 512):
    mc = nt.monte_carlo_kernels(arch, nt.nchw(xc), width=width, samples=6, seed=1, parameterization="ntk")
    errs.append(np.abs(mc.ntk - exact.ntk).max() / np.abs(exact.ntk).max())
assert errs[1] < errs[0] and errs[1] < 0.05, errs
net = ntk.Network(arch, width=16, seed=0, input_shape=(5, 5, 2))
diff = np.abs(nt.empirical_ntk(nt.from_network(net), nt.nchw(xc)) - net.empirical_ntk(xc)).max()
assert diff < 1e-10 * np.abs(net.empirical_ntk(xc)).max()
done(t, f"{arch!r} ({param}); NTK error {errs[0]:.3f} at width 8 -> {errs[1]:.3f} at 512; twin diff {diff:.1e}")

print(f"[wheel] all checks passed ({sysconfig.get_platform()}, Python {sys.version.split()[0]})")
