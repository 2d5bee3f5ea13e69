"""What the NTK / NNGP predict, on precomputed kernels (include/ntk/solvers.h, ``ntk regress``).

Conventions (neural-tangents'): targets are (N,) or (N, k), one column per output, and the kernel is per output;
``diag_reg`` is multiplied by the mean of the kernel's diagonal unless ``reg_absolute`` is set; ``t`` is the
gradient-flow time (``math.inf``: converged, i.e. kernel regression). neural-tangents' gradient_descent_mse
divides the learning rate by y_train.size: pass ``learning_rate / y_train.size`` to reproduce its numbers.

Arrays: NumPy, PyTorch CPU tensors, JAX arrays, lists (see :mod:`ntk`). The solvers compute in float64; their
results are float32 when every floating-point array passed is float32.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Any, Dict, Optional, Tuple

import numpy as np

from . import _ntk
from ._arrays import as_labels, as_real, as_real_opt, keeps_precision, targets_2d

__all__ = [
    "GradientFlow",
    "gradient_flow",
    "gradient_descent",
    "GpPrediction",
    "nngp_posterior",
    "ntk_gp",
    "kernel_regression",
    "one_hot",
    "one_hot_regression",
    "cholesky_solve",
]


# The library's defaults (PredictOptions, shared with `ntk regress`; ntk.option_specs("predict")).
_P: Dict[str, Any] = {s["name"]: s["default"] for s in _ntk.option_specs("predict")}


def _shape_like(out: np.ndarray, flat: bool) -> np.ndarray:
    return out[:, 0] if flat else out


def _warn(message: str) -> None:
    # The solvers do not print: what they had to do (jitter added, negative eigenvalues clipped) comes back as
    # text, and is a RuntimeWarning here (the CLI prints it as "ntk: warning: ...").
    if message:
        warnings.warn(message, RuntimeWarning, stacklevel=3)


class GradientFlow:
    """Gradient flow / descent on ½||f(X) − Y||² with the NTK Θ(X, X) (one eigendecomposition serves every t).

    f_t(x) = f0(x) + Θ(x,X) Θ⁻¹ (I − e^{−ηΘt}) (Y − f0(X)); ``t = inf`` is a Cholesky solve."""

    def __init__(self, k_train_train: Any, learning_rate: float = _P["learning_rate"],
                 diag_reg: float = _P["diag_reg"], reg_absolute: bool = _P["reg_absolute"]) -> None:
        self._g = _ntk.GradientFlow(as_real(k_train_train, "k_train_train"), float(learning_rate), float(diag_reg),
                                    bool(reg_absolute))
        self._warned = ""

    def _checked(self, out: np.ndarray) -> np.ndarray:
        # Each new warning of the factorisations once.
        w = self._g.warning
        if w != self._warned:
            self._warned = w
            _warn(w)
        return out

    @keeps_precision
    def predict_train(self, y_train: Any, t: float = _P["time"], f0_train: Any = None) -> np.ndarray:
        y, flat = targets_2d(y_train, "y_train")
        f0 = None if f0_train is None else targets_2d(f0_train, "f0_train")[0]
        return _shape_like(self._checked(self._g.predict_train(float(t), y, f0)), flat)

    @keeps_precision
    def predict_test(self, k_test_train: Any, y_train: Any, t: float = _P["time"], f0_train: Any = None,
                     f0_test: Any = None) -> np.ndarray:
        y, flat = targets_2d(y_train, "y_train")
        a = None if f0_train is None else targets_2d(f0_train, "f0_train")[0]
        b = None if f0_test is None else targets_2d(f0_test, "f0_test")[0]
        out = self._g.predict_test(float(t), as_real(k_test_train, "k_test_train"), y, a, b)
        return _shape_like(self._checked(out), flat)

    @keeps_precision
    def predict_train_steps(self, y_train: Any, steps: int, f0_train: Any = None) -> np.ndarray:
        y, flat = targets_2d(y_train, "y_train")
        f0 = None if f0_train is None else targets_2d(f0_train, "f0_train")[0]
        return _shape_like(self._checked(self._g.predict_train_steps(int(steps), y, f0)), flat)

    @keeps_precision
    def predict_test_steps(self, k_test_train: Any, y_train: Any, steps: int, f0_train: Any = None,
                           f0_test: Any = None) -> np.ndarray:
        y, flat = targets_2d(y_train, "y_train")
        a = None if f0_train is None else targets_2d(f0_train, "f0_train")[0]
        b = None if f0_test is None else targets_2d(f0_test, "f0_test")[0]
        return _shape_like(
            self._checked(self._g.predict_test_steps(int(steps), as_real(k_test_train, "k_test_train"), y, a, b)),
            flat)


@keeps_precision
def gradient_flow(k_train_train: Any, y_train: Any, k_test_train: Any = None, t: float = _P["time"],
                  learning_rate: float = _P["learning_rate"], diag_reg: float = _P["diag_reg"],
                  reg_absolute: bool = _P["reg_absolute"],
                  f0_train: Any = None, f0_test: Any = None) -> np.ndarray:
    """Outputs of the NTK-linearised network trained by gradient flow for time ``t`` (``ntk regress --solver
    flow``): on the test rows when ``k_test_train`` (M, N) is given, else on the training rows."""
    g = GradientFlow(k_train_train, learning_rate, diag_reg, reg_absolute)
    if k_test_train is None:
        return g.predict_train(y_train, t, f0_train)
    return g.predict_test(k_test_train, y_train, t, f0_train, f0_test)


@keeps_precision
def gradient_descent(k_train_train: Any, y_train: Any, k_test_train: Any = None, steps: int = _P["steps"],
                     learning_rate: float = _P["learning_rate"], f0_train: Any = None,
                     f0_test: Any = None) -> Tuple[np.ndarray, Optional[np.ndarray]]:
    """The reference discrete dynamics step by step: u ← u − ηΘ(u − y). Returns (train outputs, test outputs or
    None) after ``steps`` steps."""
    y, flat = targets_2d(y_train, "y_train")
    a = None if f0_train is None else targets_2d(f0_train, "f0_train")[0]
    b = None if f0_test is None else targets_2d(f0_test, "f0_test")[0]
    tr, te = _ntk.gradient_descent_steps(as_real(k_train_train, "k_train_train"), as_real_opt(k_test_train,
                                         "k_test_train"), y, float(learning_rate), int(steps), a, b)
    return _shape_like(tr, flat), (None if te is None else _shape_like(te, flat))


@dataclass
class GpPrediction:
    """Posterior ``mean`` (M, k) or (M,); ``covariance`` (M, M) when the test-test kernel was given; ``variance``
    (M,) when it or its diagonal was given."""

    mean: np.ndarray
    covariance: Optional[np.ndarray]
    variance: Optional[np.ndarray]


@keeps_precision
def nngp_posterior(k_train_train: Any, k_test_train: Any, y_train: Any, k_test_test: Any = None,
                   k_test_diag: Any = None, diag_reg: float = _P["diag_reg"],
                   reg_absolute: bool = _P["reg_absolute"]) -> GpPrediction:
    """NNGP posterior (Bayesian inference with the infinite network's prior; ``ntk regress --solver nngp-gp``)."""
    y, flat = targets_2d(y_train, "y_train")
    m, c, v, w = _ntk.nngp_posterior(as_real(k_train_train, "k_train_train"), as_real(k_test_train, "k_test_train"), y,
                                  as_real_opt(k_test_test, "k_test_test"), as_real_opt(k_test_diag, "k_test_diag"),
                                     float(diag_reg), bool(reg_absolute))
    _warn(w)
    return GpPrediction(_shape_like(m, flat), c, v)


@keeps_precision
def ntk_gp(ntk_train_train: Any, nngp_train_train: Any, ntk_test_train: Any, nngp_test_train: Any, y_train: Any,
           t: float = _P["time"], nngp_test_test: Any = None, nngp_test_diag: Any = None,
           learning_rate: float = _P["learning_rate"], diag_reg: float = _P["diag_reg"],
           reg_absolute: bool = _P["reg_absolute"]) -> GpPrediction:
    """Mean and covariance of the ensemble of infinitely wide networks trained by gradient flow for time ``t``
    (Lee et al. 2019 eq. 16; neural-tangents' gradient_descent_mse_ensemble; ``ntk regress --solver ntk-gp``)."""
    y, flat = targets_2d(y_train, "y_train")
    m, c, v, w = _ntk.ntk_gp(float(t), as_real(ntk_train_train, "ntk_train_train"),
                          as_real(nngp_train_train, "nngp_train_train"), as_real(ntk_test_train, "ntk_test_train"),
                          as_real(nngp_test_train, "nngp_test_train"), y, as_real_opt(nngp_test_test, "nngp_test_test"),
                          as_real_opt(nngp_test_diag, "nngp_test_diag"), float(learning_rate), float(diag_reg),
                             bool(reg_absolute))
    _warn(w)
    return GpPrediction(_shape_like(m, flat), c, v)


@keeps_precision
def cholesky_solve(k: Any, b: Any, diag_reg: float = _P["diag_reg"],
                   reg_absolute: bool = _P["reg_absolute"]) -> np.ndarray:
    """(K + diag_reg·I)⁻¹ b with jitter escalation when K is not numerically positive definite (then a
    RuntimeWarning says how much was added)."""
    bb, flat = targets_2d(b, "b")
    x, _, _, w = _ntk.cholesky_solve(as_real(k, "k"), bb, float(diag_reg), bool(reg_absolute))
    _warn(w)
    return _shape_like(x, flat)


@keeps_precision
def kernel_regression(k_train_train: Any, k_test_train: Any, y_train: Any, diag_reg: float = _P["diag_reg"],
                      reg_absolute: bool = _P["reg_absolute"]) -> np.ndarray:
    """K(x, X) (K(X, X) + diag_reg)⁻¹ Y: the t = ∞ predictor (``ntk regress --solver exact``)."""
    return gradient_flow(k_train_train, y_train, k_test_train, math.inf, _P["learning_rate"], diag_reg, reg_absolute)


def one_hot(labels: Any, num_classes: int = 0, off: float = _P["target_off"],
            on: float = _P["target_on"]) -> np.ndarray:
    """(N, num_classes) targets: ``on`` in each row's class column, ``off`` elsewhere (0: max label + 1)."""
    return _ntk.one_hot(as_labels(labels, "labels"), int(num_classes), float(off), float(on))


@keeps_precision
def one_hot_regression(k_train_train: Any, k_test_train: Any, y_train: Any, num_classes: int = 0,
                       off: float = _P["target_off"], on: float = _P["target_on"], diag_reg: float = _P["diag_reg"],
                       reg_absolute: bool = _P["reg_absolute"]) -> Tuple[np.ndarray, np.ndarray]:
    """Classification by kernel regression on one-hot targets (Arora et al. 2019 use off=−0.1, on=0.9).

    Returns (predicted labels (M,), scores (M, num_classes)), as ``ntk regress --solver exact`` on labels."""
    labels, scores, w = _ntk.one_hot_regression(as_real(k_train_train, "k_train_train"),
                                                as_real(k_test_train, "k_test_train"), as_labels(y_train, "y_train"),
                                                int(num_classes), float(off), float(on), float(diag_reg),
                                                bool(reg_absolute))
    _warn(w)
    return labels, scores
