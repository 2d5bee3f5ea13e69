"""scikit-learn estimators and Gaussian-process kernels on ntk's exact infinite-width kernels.

Estimators (fit / predict, ``Pipeline``, ``GridSearchCV``, ``clone``, pickling; each passes
``sklearn.utils.estimator_checks.check_estimator``):

- :class:`NTKRegressor`: the output of the infinitely wide network trained by gradient flow for time ``t`` on
  the squared loss (``t=inf``: kernel regression, the GP posterior mean), with the NTK (``kernel="ntk"``) or
  the NNGP (``kernel="nngp"``: only the readout trained, i.e. Bayesian inference with the NNGP prior).
- :class:`NTKClassifier`: the same on one-hot targets (``target_off`` / ``target_on``), argmax of the scores.
- :class:`NTKSVC`: scikit-learn's ``SVC(kernel="precomputed")`` on the kernel.

Gaussian-process kernels for ``sklearn.gaussian_process`` (hyperparameters ``W_std`` and ``b_std`` fitted by
marginal likelihood, composable with ``ConstantKernel``, ``WhiteKernel``, ...): :class:`NTKKernel`,
:class:`NNGPKernel`.

The architecture: ``arch`` is one of

- a preset, ``"fc"`` (``repeat(depth, dense(w_std, b_std), activation), dense(w_std, b_std)``) or ``"cnn"``
  (``repeat(depth, conv(3, w_std, b_std), activation), gap, dense(w_std, b_std)``, needs ``image_shape``),
  filled in from ``depth`` (default 2), ``activation`` (default relu), ``w_std`` (default 1.4142) and ``b_std``
  (default 0.1);
- a template of the architecture language with ``{depth}``, ``{activation}``, ``{w_std}``, ``{b_std}``
  placeholders, e.g. ``"repeat({depth}, dense(w_std={w_std}), erf), dense"``;
- a complete architecture string (docs/architecture.md); then ``depth`` etc. must stay None.

so that ``GridSearchCV(NTKRegressor(), {"depth": [1, 2, 3], "diag_reg": [1e-4, 1e-2]})`` searches depths of one
family, and ``{"arch": ["dense, relu, dense", "dense, erf, dense"]}`` searches whole architectures. Inputs are 2-D
(N, features); with ``image_shape=(H, W, C)`` each row is one channels-last image.

Training kernels are cached between fits that share them (:data:`kernel_cache`: keyed by a hash of the data and
every setting the kernel depends on, least recently used first out, bounded in bytes), so a grid over
``diag_reg``, ``t`` or ``C`` computes each fold's kernels once.
"""

from __future__ import annotations

import hashlib
import inspect
import math
import numbers
import threading
from collections import OrderedDict
from typing import Any, Dict, Optional, Sequence, Tuple

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.gaussian_process.kernels import Hyperparameter, Kernel
from sklearn.svm import SVC
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

import ntk as _ntk_pkg

from . import predict as _predict
from ._arrays import as_array

__all__ = [
    "NTKRegressor",
    "NTKClassifier",
    "NTKSVC",
    "NTKKernel",
    "NNGPKernel",
    "KernelCache",
    "kernel_cache",
    "resolve_arch",
    "PRESETS",
    "ENGINES",
]

#: Kernel engines of ``ntk.kernels(engine=...)``.
ENGINES = ("auto", "reference", "fast")
# The engine is passed on as soon as ntk.kernels takes it (the one place to change if that ever needs forcing).
_KERNELS_TAKE_ENGINE = "engine" in inspect.signature(_ntk_pkg.kernels).parameters

#: Architecture presets: name -> (description, needs images).
PRESETS = {
    "fc": ("repeat(depth, dense(w_std, b_std), activation), dense(w_std, b_std)", False),
    "cnn": ("repeat(depth, conv(3, w_std, b_std), activation), gap, dense(w_std, b_std)", True),
}
_PRESET_DEFAULTS = {"depth": 2, "activation": "relu", "w_std": 1.4142, "b_std": 0.1}
_PLACEHOLDERS = ("depth", "activation", "w_std", "b_std")


def _num(v: float) -> str:
    return repr(float(v))


def resolve_arch(arch: str, depth: Optional[int] = None, activation: Optional[str] = None,
                 w_std: Optional[float] = None, b_std: Optional[float] = None) -> str:
    """The architecture string of a preset, a template or a complete architecture (see the module docstring)."""
    if not isinstance(arch, str) or not arch.strip():
        raise ValueError(f"arch must be a preset ({', '.join(PRESETS)}), a template or an architecture string, "
                         f"got {arch!r}")
    given = {"depth": depth, "activation": activation, "w_std": w_std, "b_std": b_std}
    if arch in PRESETS or "{" in arch:
        vals = {k: (_PRESET_DEFAULTS[k] if v is None else v) for k, v in given.items()}
        d = vals["depth"]
        if not isinstance(d, numbers.Integral) or isinstance(d, bool) or d < 0:
            raise ValueError(f"depth must be an integer >= 0, got {d!r}")
        for k in ("w_std", "b_std"):
            if not isinstance(vals[k], numbers.Real) or not math.isfinite(vals[k]) or vals[k] < 0:
                raise ValueError(f"{k} must be a finite number >= 0, got {vals[k]!r}")
        if not isinstance(vals["activation"], str):
            raise ValueError(f"activation must be a layer name such as 'relu', got {vals['activation']!r}")
        w, b, act = _num(vals["w_std"]), _num(vals["b_std"]), vals["activation"]
        if arch == "fc":
            hidden = [f"dense(w_std={w}, b_std={b}), {act}"] if d > 0 else []
            body = f"repeat({int(d)}, {hidden[0]})" if d > 1 else (hidden[0] if hidden else "")
            return (body + ", " if body else "") + f"dense(w_std={w}, b_std={b})"
        if arch == "cnn":
            if d < 1:
                raise ValueError("depth must be >= 1 for the 'cnn' preset")
            return f"repeat({int(d)}, conv(3, w_std={w}, b_std={b}), {act}), gap, dense(w_std={w}, b_std={b})"
        try:
            return arch.format(depth=int(d), activation=act, w_std=w, b_std=b)
        except (KeyError, IndexError, ValueError) as e:
            raise ValueError(f"arch template {arch!r}: only the placeholders "
                             f"{{{'}, {'.join(_PLACEHOLDERS)}}} are known ({e})") from None
    set_ = [k for k, v in given.items() if v is not None]
    if set_:
        raise ValueError(f"{', '.join(set_)} given but arch {arch!r} is a complete architecture: use a preset "
                         f"({', '.join(PRESETS)}) or a template with {{{set_[0]}}}")
    return arch


# ---- the kernel cache ----


def _digest(a: Optional[np.ndarray]) -> str:
    if a is None:
        return "-"
    c = np.ascontiguousarray(a)
    h = hashlib.blake2b(digest_size=16)
    h.update(f"{c.dtype.str}{c.shape}".encode())
    h.update(memoryview(c).cast("B"))
    return h.hexdigest()


class KernelCache:
    """Least-recently-used cache of kernel pairs (NNGP, NTK), bounded in bytes and entries.

    Keys are a hash (BLAKE2b) of the inputs' bytes, shape and dtype together with the architecture string,
    parameterization, dtype and engine, so equal data and settings share an entry whichever estimator or clone
    asks. Cached arrays are read-only. ``max_bytes=0`` disables caching."""

    def __init__(self, max_bytes: int = 512 * 2**20, max_entries: int = 64) -> None:
        self.max_bytes = int(max_bytes)
        self.max_entries = int(max_entries)
        self._items: "OrderedDict[Tuple[Any, ...], Tuple[np.ndarray, np.ndarray]]" = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    @property
    def nbytes(self) -> int:
        return sum(a.nbytes + b.nbytes for a, b in self._items.values())

    def __len__(self) -> int:
        return len(self._items)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self.hits = self.misses = 0

    def info(self) -> Dict[str, int]:
        return {"entries": len(self), "bytes": self.nbytes, "hits": self.hits, "misses": self.misses,
                "max_bytes": self.max_bytes, "max_entries": self.max_entries}

    def kernels(self, arch: str, x1: np.ndarray, x2: Optional[np.ndarray], parameterization: str, dtype: str,
                engine: str, threads: int = 0) -> Tuple[np.ndarray, np.ndarray]:
        """(NNGP, NTK) between the rows of x1 and x2 (None: x1), from the cache or computed and stored."""
        key = (arch, parameterization, dtype, engine, _digest(x1), _digest(x2))
        with self._lock:
            hit = self._items.get(key)
            if hit is not None:
                self._items.move_to_end(key)
                self.hits += 1
                return hit
            self.misses += 1
        extra = {"engine": engine} if _KERNELS_TAKE_ENGINE else {}
        k = _ntk_pkg.kernels(arch, x1, x2, parameterization=parameterization, dtype=dtype, threads=threads, **extra)
        pair = (k.nngp, k.ntk)
        for a in pair:
            a.setflags(write=False)
        size = pair[0].nbytes + pair[1].nbytes
        if self.max_bytes > 0 and self.max_entries > 0 and size <= self.max_bytes:
            with self._lock:
                self._items[key] = pair
                while len(self._items) > self.max_entries or self.nbytes > self.max_bytes:
                    self._items.popitem(last=False)
        return pair


#: The cache the estimators share (``ntk.sklearn.kernel_cache.clear()``, ``.info()``, ``.max_bytes = ...``).
kernel_cache = KernelCache()


# ---- estimators ----


def _check_choice(name: str, value: Any, choices: Sequence[str]) -> None:
    if not isinstance(value, str) or value not in choices:
        raise ValueError(f"{name} must be one of {', '.join(repr(c) for c in choices)}; got {value!r}")


def _check_number(name: str, value: Any, low: float, allow_inf: bool = False, strict: bool = False) -> float:
    ok = isinstance(value, numbers.Real) and not isinstance(value, bool)
    if ok:
        v = float(value)
        ok = (math.isfinite(v) or (allow_inf and v == math.inf)) and (v > low if strict else v >= low)
    if not ok:
        rel = ">" if strict else ">="
        raise ValueError(f"{name} must be a number {rel} {low}{' or inf' if allow_inf else ''}, got {value!r}")
    return float(value)


class _NTKEstimator(BaseEstimator):
    """Shared parameters and kernel plumbing of the estimators."""

    def _arch_string(self) -> str:
        return resolve_arch(self.arch, self.depth, self.activation, self.w_std, self.b_std)

    def _check_common(self) -> None:
        _check_choice("kernel", self.kernel, ("ntk", "nngp"))
        _check_choice("parameterization", self.parameterization, ("ntk", "standard"))
        _check_choice("engine", self.engine, ENGINES)
        if not _KERNELS_TAKE_ENGINE and self.engine != "auto":
            raise ValueError(f"engine={self.engine!r}: this build's ntk.kernels has no engine choice; use 'auto'")
        if self.dtype is not None:
            _ntk_pkg._dtype_name(self.dtype)
        if self.image_shape is not None:
            shp = tuple(self.image_shape)
            if len(shp) != 3 or not all(isinstance(d, numbers.Integral) and d >= 1 for d in shp):
                raise ValueError(f"image_shape must be (H, W, C) with positive integers, got {self.image_shape!r}")
        elif self.arch in PRESETS and PRESETS[self.arch][1]:
            raise ValueError(f"arch={self.arch!r} needs images: give image_shape=(H, W, C)")

    def _inputs(self, X: np.ndarray) -> np.ndarray:
        if self.image_shape is None:
            return X
        h, w, c = (int(d) for d in self.image_shape)
        if X.shape[1] != h * w * c:
            raise ValueError(f"X has {X.shape[1]} features but image_shape {tuple(self.image_shape)} needs "
                             f"{h * w * c}")
        return X.reshape(X.shape[0], h, w, c)

    def _compute_dtype(self, X: np.ndarray) -> str:
        return _ntk_pkg._dtype_name(self.dtype, X)

    def _kernel(self, X1: np.ndarray, X2: Optional[np.ndarray]) -> np.ndarray:
        nngp, ntk_ = kernel_cache.kernels(self.arch_, self._inputs(X1), None if X2 is None else self._inputs(X2),
                                          self.parameterization, self.dtype_, self.engine, int(self.threads))
        return ntk_ if getattr(self, "kernel", "ntk") == "ntk" else nngp

    def _validate_X(self, X: Any, reset: bool) -> np.ndarray:
        return validate_data(self, _maybe_array(X), reset=reset, dtype=[np.float64, np.float32])


def _maybe_array(X: Any) -> Any:
    """PyTorch / JAX / DLPack inputs as NumPy views; everything else as scikit-learn would take it."""
    if hasattr(X, "__dlpack__") and not isinstance(X, np.ndarray):
        return as_array(X, "X")
    return X


class _KernelRidgeFlow(_NTKEstimator):
    """β = K⁻¹ (I − e^{−ηKt}) Y with K + diag_reg (t = inf: (K + diag_reg)⁻¹ Y); predictions K(x, X) β."""

    def _solve(self, K: np.ndarray, Y: np.ndarray) -> np.ndarray:
        t = _check_number("t", self.t, 0.0, allow_inf=True, strict=True)
        reg = _check_number("diag_reg", self.diag_reg, 0.0)
        lr = _check_number("learning_rate", self.learning_rate, 0.0, strict=True)
        K64 = np.asarray(K, dtype=np.float64)
        Y64 = np.asarray(Y, dtype=np.float64)
        if t == math.inf:
            return _predict.cholesky_solve(K64, Y64, diag_reg=reg, reg_absolute=bool(self.reg_absolute))
        flow = _predict.GradientFlow(K64, learning_rate=lr, diag_reg=reg, reg_absolute=bool(self.reg_absolute))
        # The flow's test prediction is K(x, X) β: with K(x, X) = I it is β itself.
        return flow.predict_test(np.eye(K64.shape[0]), Y64, t=t)

    def _fit_kernel(self, X: np.ndarray, Y: np.ndarray) -> None:
        self._check_common()
        self.arch_ = self._arch_string()
        self.dtype_ = self._compute_dtype(X)
        self.X_fit_ = X
        self.dual_coef_ = self._solve(self._kernel(X, None), Y)

    def _scores(self, X: Any) -> np.ndarray:
        check_is_fitted(self, "dual_coef_")
        X = self._validate_X(X, reset=False)
        K = self._kernel(X, self.X_fit_)
        return np.asarray(K, dtype=np.float64) @ self.dual_coef_


class NTKRegressor(RegressorMixin, _KernelRidgeFlow):
    """The infinitely wide network trained by gradient flow on the squared loss, evaluated at time ``t``.

    f_t(x) = K(x, X) K⁻¹ (I − e^{−ηKt}) Y with K = K(X, X) + diag_reg (Lee et al. 2019); ``t=inf`` is kernel
    regression K(x, X) (K + diag_reg)⁻¹ Y, which with ``kernel="nngp"`` is the NNGP posterior mean.

    Args:
        kernel: ``"ntk"`` (all layers trained) or ``"nngp"`` (readout only / Bayesian inference).
        arch: preset (``"fc"``, ``"cnn"``), template with ``{depth}`` etc., or complete architecture.
        depth, activation, w_std, b_std: fill a preset or template (None: 2, relu, 1.4142, 0.1).
        diag_reg: ridge added to K's diagonal, times the mean of the diagonal unless ``reg_absolute``.
        t: gradient-flow time (``inf``: converged); ``learning_rate`` η scales time.
        parameterization: ``"ntk"`` or ``"standard"``.
        dtype: kernel precision, ``"float32"`` / ``"float64"``; None: the input's (float32 stays float32).
        engine: kernel engine, ``"auto"`` | ``"reference"`` | ``"fast"`` (passed to ``ntk.kernels``).
        image_shape: (H, W, C): each row of X is a channels-last image.
        normalize_y: subtract the targets' mean and divide by their std before fitting (undone on predict).
        threads: worker threads for the kernels, 0 = all cores.

    Attributes: ``arch_`` (the architecture string used), ``dtype_``, ``X_fit_``, ``dual_coef_`` (β),
    ``n_features_in_``.
    """

    def __init__(self, kernel: str = "ntk", arch: str = "fc", depth: Optional[int] = None,
                 activation: Optional[str] = None, w_std: Optional[float] = None, b_std: Optional[float] = None,
                 diag_reg: float = 1e-6, reg_absolute: bool = False, t: float = math.inf,
                 learning_rate: float = 1.0, parameterization: str = "ntk", dtype: Optional[str] = None,
                 engine: str = "auto", image_shape: Optional[Tuple[int, int, int]] = None,
                 normalize_y: bool = False, threads: int = 0) -> None:
        self.kernel = kernel
        self.arch = arch
        self.depth = depth
        self.activation = activation
        self.w_std = w_std
        self.b_std = b_std
        self.diag_reg = diag_reg
        self.reg_absolute = reg_absolute
        self.t = t
        self.learning_rate = learning_rate
        self.parameterization = parameterization
        self.dtype = dtype
        self.engine = engine
        self.image_shape = image_shape
        self.normalize_y = normalize_y
        self.threads = threads

    def fit(self, X: Any, y: Any) -> "NTKRegressor":
        X, y = validate_data(self, _maybe_array(X), _maybe_array(y), dtype=[np.float64, np.float32],
                             multi_output=True, y_numeric=True)
        Y = np.asarray(y, dtype=np.float64)
        self._y_1d = Y.ndim == 1
        Y = Y.reshape(len(Y), -1)
        if self.normalize_y:
            self._y_mean = Y.mean(axis=0)
            std = Y.std(axis=0)
            self._y_std = np.where(std > 0, std, 1.0)
        else:
            self._y_mean = np.zeros(Y.shape[1])
            self._y_std = np.ones(Y.shape[1])
        self._fit_kernel(X, (Y - self._y_mean) / self._y_std)
        return self

    def predict(self, X: Any) -> np.ndarray:
        out = self._scores(X) * self._y_std + self._y_mean
        return out[:, 0] if self._y_1d else out

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        tags.target_tags.single_output = True
        return tags


class NTKClassifier(ClassifierMixin, _KernelRidgeFlow):
    """Classification by the infinitely wide network trained on one-hot targets (Arora et al. 2019).

    Scores f_t(x) as :class:`NTKRegressor` on targets ``target_on`` for the example's class and ``target_off``
    elsewhere; the predicted class is the argmax. ``decision_function`` gives the scores ((N, classes), or for
    two classes score[1] − score[0], positive for ``classes_[1]``). Labels may be any hashable values.
    Arguments as :class:`NTKRegressor`."""

    def __init__(self, kernel: str = "ntk", arch: str = "fc", depth: Optional[int] = None,
                 activation: Optional[str] = None, w_std: Optional[float] = None, b_std: Optional[float] = None,
                 diag_reg: float = 1e-6, reg_absolute: bool = False, t: float = math.inf,
                 learning_rate: float = 1.0, target_off: float = 0.0, target_on: float = 1.0,
                 parameterization: str = "ntk", dtype: Optional[str] = None, engine: str = "auto",
                 image_shape: Optional[Tuple[int, int, int]] = None, threads: int = 0) -> None:
        self.kernel = kernel
        self.arch = arch
        self.depth = depth
        self.activation = activation
        self.w_std = w_std
        self.b_std = b_std
        self.diag_reg = diag_reg
        self.reg_absolute = reg_absolute
        self.t = t
        self.learning_rate = learning_rate
        self.target_off = target_off
        self.target_on = target_on
        self.parameterization = parameterization
        self.dtype = dtype
        self.engine = engine
        self.image_shape = image_shape
        self.threads = threads

    def fit(self, X: Any, y: Any) -> "NTKClassifier":
        X, y = validate_data(self, _maybe_array(X), _maybe_array(y), dtype=[np.float64, np.float32])
        check_classification_targets(y)
        self.classes_, idx = np.unique(y, return_inverse=True)
        off = _check_number("target_off", self.target_off, -math.inf)
        on = _check_number("target_on", self.target_on, -math.inf)
        Y = np.full((len(idx), len(self.classes_)), off)
        Y[np.arange(len(idx)), idx] = on
        self._fit_kernel(X, Y)
        return self

    def decision_function(self, X: Any) -> np.ndarray:
        s = self._scores(X)
        if s.shape[1] == 2:
            return s[:, 1] - s[:, 0]
        return s

    def predict(self, X: Any) -> np.ndarray:
        scores = self._scores(X)
        return self.classes_[np.argmax(scores, axis=1)]


class NTKSVC(ClassifierMixin, _NTKEstimator):
    """scikit-learn's ``SVC(kernel="precomputed")`` on the NTK or NNGP of the architecture.

    SVM arguments (``C``, ``class_weight``, ``tol``, ``shrinking``, ``cache_size``, ``decision_function_shape``,
    ``break_ties``) are SVC's; kernel arguments as :class:`NTKRegressor`. Predictions need the kernel against
    the support vectors only. The fitted SVC is ``svc_``. Probabilities: ``CalibratedClassifierCV(NTKSVC())``
    (scikit-learn 1.9 deprecates SVC's ``probability``)."""

    def __init__(self, C: float = 1.0, kernel: str = "ntk", arch: str = "fc", depth: Optional[int] = None,
                 activation: Optional[str] = None, w_std: Optional[float] = None, b_std: Optional[float] = None,
                 parameterization: str = "ntk", dtype: Optional[str] = None, engine: str = "auto",
                 image_shape: Optional[Tuple[int, int, int]] = None, class_weight: Any = None,
                 tol: float = 1e-3, shrinking: bool = True, cache_size: float = 200.0,
                 decision_function_shape: str = "ovr", break_ties: bool = False, threads: int = 0) -> None:
        self.C = C
        self.kernel = kernel
        self.arch = arch
        self.depth = depth
        self.activation = activation
        self.w_std = w_std
        self.b_std = b_std
        self.parameterization = parameterization
        self.dtype = dtype
        self.engine = engine
        self.image_shape = image_shape
        self.class_weight = class_weight
        self.tol = tol
        self.shrinking = shrinking
        self.cache_size = cache_size
        self.decision_function_shape = decision_function_shape
        self.break_ties = break_ties
        self.threads = threads

    def fit(self, X: Any, y: Any) -> "NTKSVC":
        X, y = validate_data(self, _maybe_array(X), _maybe_array(y), dtype=[np.float64, np.float32])
        check_classification_targets(y)
        self._check_common()
        self.arch_ = self._arch_string()
        self.dtype_ = self._compute_dtype(X)
        K = np.asarray(self._kernel(X, None), dtype=np.float64)
        self.svc_ = SVC(kernel="precomputed", C=self.C, class_weight=self.class_weight, tol=self.tol,
                        shrinking=self.shrinking, cache_size=self.cache_size,
                        decision_function_shape=self.decision_function_shape, break_ties=self.break_ties)
        self.svc_.fit(K, y)
        self.classes_ = self.svc_.classes_
        self.n_train_ = X.shape[0]
        self.support_vectors_ = X[self.svc_.support_]
        return self

    def _k_test(self, X: Any) -> np.ndarray:
        check_is_fitted(self, "svc_")
        X = self._validate_X(X, reset=False)
        K = np.zeros((X.shape[0], self.n_train_))
        if len(self.svc_.support_):
            K[:, self.svc_.support_] = self._kernel(X, self.support_vectors_)
        return K

    def predict(self, X: Any) -> np.ndarray:
        K = self._k_test(X)
        return self.svc_.predict(K)

    def decision_function(self, X: Any) -> np.ndarray:
        K = self._k_test(X)
        return self.svc_.decision_function(K)


# ---- Gaussian-process kernels ----

# Activations φ with φ(cx) = c φ(x) for c > 0: a bias-free fully-connected network of these is homogeneous in
# w_std² (see _ArchKernel).
_HOMOGENEOUS = ("relu", "abs", "leaky_relu", "abrelu", "identity")


class _ArchKernel(Kernel):
    _get = "ntk"

    def __init__(self, W_std: float = 1.4142, b_std: float = 0.1, arch: str = "fc", depth: Optional[int] = None,
                 activation: Optional[str] = None, parameterization: str = "ntk",
                 image_shape: Optional[Tuple[int, int, int]] = None,
                 W_std_bounds: Any = (1e-2, 1e2), b_std_bounds: Any = (1e-4, 1e2), fd_step: float = 2e-3,
                 threads: int = 0) -> None:
        self.W_std = W_std
        self.b_std = b_std
        self.arch = arch
        self.depth = depth
        self.activation = activation
        self.parameterization = parameterization
        self.image_shape = image_shape
        self.W_std_bounds = W_std_bounds
        self.b_std_bounds = b_std_bounds
        self.fd_step = fd_step
        self.threads = threads

    @property
    def hyperparameter_W_std(self) -> Hyperparameter:
        return Hyperparameter("W_std", "numeric", self.W_std_bounds)

    @property
    def hyperparameter_b_std(self) -> Hyperparameter:
        return Hyperparameter("b_std", "numeric", self.b_std_bounds)

    def is_stationary(self) -> bool:
        return False

    def _arch_at(self, w: float, b: float) -> str:
        if not (self.arch in PRESETS or "{" in self.arch):
            raise ValueError(f"arch {self.arch!r} has no {{w_std}}/{{b_std}} placeholders: W_std and b_std could "
                             f"not change the kernel; use a preset ({', '.join(PRESETS)}) or a template")
        return resolve_arch(self.arch, self.depth, self.activation, w, b)

    def _x(self, X: Any) -> np.ndarray:
        a = np.asarray(as_array(X, "X"), dtype=np.float64)
        if self.image_shape is not None:
            h, w, c = (int(d) for d in self.image_shape)
            return a.reshape(a.shape[0], h, w, c)
        return np.atleast_2d(a)

    def _k(self, w: float, b: float, X: np.ndarray, Y: Optional[np.ndarray]) -> np.ndarray:
        return _ntk_pkg.kernel(self._arch_at(w, b), X, Y, get=self._get, parameterization=self.parameterization,
                               dtype="float64", threads=int(self.threads))

    def _homogeneous_degree(self) -> Optional[int]:
        """k with K(c·w_std) = c^k K(w_std), when the kernel is known to be homogeneous; else None.

        A bias-free fully-connected network whose activation is positively homogeneous of degree 1
        (relu, abs, leaky_relu, abrelu): each dense layer multiplies Σ by w_std² and the activation's kernel is
        homogeneous of degree 1 (its derivative's of degree 0), so NNGP and NTK-parameterization NTK are
        w_std^(2·number of dense layers) times a kernel that does not depend on w_std. Then
        dK/dlog w_std = 2·(depth + 1)·K exactly."""
        if self.arch != "fc" or float(self.b_std) != 0.0:
            return None
        act = self.activation or _PRESET_DEFAULTS["activation"]
        if act.split("(")[0].strip() not in _HOMOGENEOUS:
            return None
        if self._get == "ntk" and self.parameterization != "ntk":
            return None
        depth = _PRESET_DEFAULTS["depth"] if self.depth is None else int(self.depth)
        return 2 * (depth + 1)

    def __call__(self, X: Any, Y: Any = None, eval_gradient: bool = False) -> Any:
        Xa = self._x(X)
        Ya = None if Y is None else self._x(Y)
        if eval_gradient and Ya is not None:
            raise ValueError("Gradient can only be evaluated when Y is None.")
        w, b = float(self.W_std), float(self.b_std)
        K = self._k(w, b, Xa, Ya)
        if not eval_gradient:
            return K
        grads = []
        for hp in self.hyperparameters:
            if hp.fixed:
                continue
            if hp.name == "W_std":
                deg = self._homogeneous_degree()
                if deg is not None:
                    grads.append(deg * K)
                else:
                    grads.append(self._log_derivative(lambda v: self._k(v, b, Xa, None), w))
            else:
                if b <= 0:
                    raise ValueError("b_std=0 (no bias) cannot be fitted in log space: give b_std > 0 or "
                                     "b_std_bounds='fixed'")
                grads.append(self._log_derivative(lambda v: self._k(w, v, Xa, None), b))
        G = np.stack(grads, axis=-1) if grads else np.empty(K.shape + (0,))
        return K, G

    def _log_derivative(self, f: Any, v: float) -> np.ndarray:
        """d f(e^θ) / dθ at θ = log v: central differences at steps h and h/2, Richardson-extrapolated,
        (4 D(h/2) − D(h)) / 3. The error is O(h⁴): for K ∝ v^n it is about (n·h)⁴/480 relative, 1e-10 at the
        default h = 2e-3 and n = 8; rounding adds about 1e-16/h."""
        h = float(self.fd_step)
        if not (h > 0 and math.isfinite(h)):
            raise ValueError(f"fd_step must be a number > 0, got {self.fd_step!r}")

        def d(step: float) -> np.ndarray:
            return (f(v * math.exp(step)) - f(v * math.exp(-step))) / (2 * step)

        return (4 * d(h / 2) - d(h)) / 3

    def diag(self, X: Any) -> np.ndarray:
        Xa = self._x(X)
        out = np.empty(Xa.shape[0])
        chunk = 64
        for s in range(0, Xa.shape[0], chunk):
            out[s:s + chunk] = np.diag(self._k(float(self.W_std), float(self.b_std), Xa[s:s + chunk], None))
        return out

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(W_std={float(self.W_std):.3g}, b_std={float(self.b_std):.3g}, "
                f"arch={self.arch!r})")


class NTKKernel(_ArchKernel):
    """The NTK of an architecture as a Gaussian-process covariance, with hyperparameters ``W_std`` and
    ``b_std`` (the w_std / b_std of a preset or template ``arch``; see the module docstring).

    ``eval_gradient`` gives dK/dlog W_std and dK/dlog b_std: exactly where the kernel is homogeneous in W_std
    (bias-free ``fc`` with relu-like activations), else by Richardson-extrapolated central differences in log
    space (steps ``fd_step`` and ``fd_step``/2; 4 extra kernels per hyperparameter, error O(fd_step⁴), about
    1e-10 relative at the default 2e-3; tested against finer differences).
    ``GaussianProcessRegressor(kernel=NTKKernel() + WhiteKernel())`` fits them by marginal likelihood."""

    _get = "ntk"


class NNGPKernel(_ArchKernel):
    """The NNGP (the infinitely wide network's prior covariance) of an architecture; see :class:`NTKKernel`."""

    _get = "nngp"
