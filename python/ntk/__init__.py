"""ntk: exact NTK / NNGP kernels of infinitely wide networks, their finite networks, and what they predict.

The Python front end of the ntk C++ library (the same engine as the ``ntk`` command-line tool, bit for bit).
Architectures are written in the architecture language of docs/architecture.md, e.g.
``"repeat(3, conv(3, w_std=1.41, b_std=0.1), relu), gap, dense"``. Inputs are (N, d) or (N, H, W, C) (images
channels-last), kernels (N1, N2) NumPy arrays.

    >>> import numpy as np, ntk
    >>> x = np.random.default_rng(0).standard_normal((10, 5))
    >>> K = ntk.kernel("dense(w_std=1.5, b_std=0.2), relu, dense", x)           # NTK, (10, 10)
    >>> k = ntk.kernels("dense(w_std=1.5, b_std=0.2), relu, dense", x, x[:3])   # k.nngp, k.ntk: (10, 3)

Submodules: :mod:`ntk.predict` (gradient flow, GP inference, one-hot regression), :mod:`ntk.datasets`
(IDX, CIFAR-10, image folders, LIBSVM, UCI, CSV, .npy), :mod:`ntk.plot` (equivalence figures, matplotlib),
:mod:`ntk.sklearn` (estimators and Gaussian-process kernels), :mod:`ntk.torch` (PyTorch twins, ``to_arch``,
empirical NTKs by autograd; imports torch).

Arrays in: NumPy arrays, PyTorch CPU tensors, JAX arrays, anything with ``__dlpack__`` or ``__array__``, lists;
read without a copy where the extension can (see :mod:`ntk._arrays`). Kernels are computed in the inputs'
precision (float32 in, float32 out) unless ``dtype=`` says otherwise; GPU tensors and non-numeric dtypes are
refused with a one-line ValueError.

Errors from the library are ValueError (bad input), MemoryError (a job that cannot fit), OSError (I/O) with the
CLI's one-line message; Ctrl-C during a long call raises KeyboardInterrupt.
"""

from __future__ import annotations

from ._blas import ensure_fast_blas as _ensure_fast_blas

_ensure_fast_blas()  # before OpenBLAS is loaded by the extension

import json as _json  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple, Union  # noqa: E402

import numpy as np  # noqa: E402

from . import _ntk  # noqa: E402
from ._arrays import as_labels, as_real, as_real_opt, float_dtype_of, keeps_precision, targets_2d  # noqa: E402

__version__: str = _ntk.__version__

__all__ = [
    "kernel",
    "kernels",
    "Kernels",
    "engines",
    "kernels_all_depths",
    "DepthKernel",
    "empirical_kernels",
    "Network",
    "describe",
    "layer_names",
    "svm",
    "SVM",
    "svm_accuracy_path",
    "kfold_splits",
    "select_model",
    "Selection",
    "equivalence",
    "EquivalenceResult",
    "option_specs",
    "predict",
    "datasets",
    "plot",
]

_GETS = ("ntk", "nngp")


def option_specs(group: str) -> List[Dict[str, Any]]:
    """The options of one of the library's options structs, as the CLI and these wrappers read them: one dict per
    option with ``name``, ``kind``, ``default``, ``doc``, ``cli`` (its flag), ``min``/``max`` (None: unbounded),
    ``min_exclusive``/``max_exclusive``, ``choices``, ``nonempty``, ``required``. Groups: see
    ``ntk._ntk.option_groups()`` (equivalence, equivalence_data, train, predict, reg, svm, select, uci, cifar10)."""
    return list(_ntk.option_specs(str(group)))


def _defaults(group: str) -> Dict[str, Any]:
    # The library's defaults (the options struct's member initialisers): the keyword defaults below.
    return {s["name"]: s["default"] for s in _ntk.option_specs(group)}


_TRAIN = _defaults("train")
_SVM = _defaults("svm")
_SELECT = _defaults("select")
_UCI = _defaults("uci")
_EQ = _defaults("equivalence")
_EQ_DATA = _defaults("equivalence_data")


def _dtype_name(dtype: Any, *inputs: Optional[np.ndarray]) -> str:
    if dtype is None:
        return float_dtype_of(*inputs)
    if isinstance(dtype, str) and dtype in ("float32", "float64"):
        return dtype
    try:
        d = np.dtype(dtype)
    except TypeError as e:
        raise ValueError(f"dtype must be float32 or float64, got {dtype!r}") from e
    if d == np.float32:
        return "float32"
    if d == np.float64:
        return "float64"
    raise ValueError(f"dtype must be float32 or float64, got {dtype!r}")


@dataclass
class Kernels:
    """Both kernels between the rows of x1 and x2: ``nngp`` and ``ntk``, each (N1, N2)."""

    nngp: np.ndarray
    ntk: np.ndarray
    engine: str = ""  # the engine that computed them ("reference", "fast-avx2", ...)

    def __getitem__(self, key: str) -> np.ndarray:
        if key not in _GETS:
            raise KeyError(key)
        return getattr(self, key)


def _memory(memory: Union[None, int, str]) -> str:
    if memory is None:
        return ""
    return str(int(memory)) if isinstance(memory, (int, np.integer)) else str(memory)


def _compute(arch: str, x1: Any, x2: Any, nngp: bool, ntk_: bool, parameterization: str, dtype: Any, device: str,
             threads: int, progress: bool, memory: Union[None, int, str], engine: str,
             on_progress: Optional[Callable[[int, int], Any]]) -> Tuple[Any, Any, str]:
    a1, a2 = as_real(x1, "x1"), as_real_opt(x2, "x2")
    if on_progress is not None and not callable(on_progress):
        raise TypeError(f"on_progress must be callable as on_progress(done, total), got {on_progress!r}")
    return _ntk.kernels(str(arch), a1, a2, nngp, ntk_, parameterization, _dtype_name(dtype, a1, a2), device,
                        int(threads), bool(progress), _memory(memory), str(engine), on_progress)


def kernel(arch: str, x1: Any, x2: Any = None, get: str = "ntk", parameterization: str = "ntk",
           dtype: Any = None, device: str = "cpu", threads: int = 0, progress: bool = False,
           memory: Union[None, int, str] = None, engine: str = "auto",
           on_progress: Optional[Callable[[int, int], Any]] = None) -> np.ndarray:
    """Exact infinite-width kernel between the rows of ``x1`` and ``x2`` (``ntk kernel``).

    Args:
        arch: architecture, e.g. ``"dense(w_std=1.5, b_std=0.2), relu, dense"`` (docs/architecture.md).
        x1: inputs (N1, d) or (N1, H, W, C): a NumPy array, PyTorch CPU tensor, JAX array, anything with
            ``__dlpack__`` or ``__array__``, or a list; any real dtype and layout.
        x2: second inputs (N2, ...); None: x1 (the symmetric kernel, each pair computed once).
        get: ``"ntk"`` or ``"nngp"``.
        parameterization: ``"ntk"`` or ``"standard"`` (neural-tangents' definitions).
        dtype: compute precision, float64 or float32; the result has this dtype. None (default): the inputs'
            precision, float32 when x1 (and x2) are float32 or float16, else float64 (as the CLI).
        device: ``"cpu"`` or ``"cuda"`` (needs a CUDA build).
        threads: worker threads, 0 = all cores; the result does not depend on it.
        progress: draw a progress bar on stderr.
        memory: working-memory budget in bytes or as "4G" (default: 80% of RAM); a job whose kernel and working
            set do not fit is refused up front with MemoryError.
        engine: ``"auto"`` (the fastest engine that runs the case), ``"reference"``, ``"fast"``, ``"cuda"`` or an
            engine's name (:func:`engines` lists them and says why one cannot run a case); an engine asked for
            by name that cannot run the case raises ValueError with its reason.
        on_progress: called as ``on_progress(done, total)`` (kernel entries) after every tile, in the calling
            thread; an exception it raises stops the computation and propagates.

    Returns:
        The (N1, N2) kernel, equal bit for bit to ``ntk kernel --out`` with the same options.

    Raises:
        ValueError: malformed architecture, wrong shapes, NaN/Inf, unknown options.
        MemoryError: the kernel does not fit in this machine's memory.
        KeyboardInterrupt: Ctrl-C (checked between tiles).
    """
    if get not in _GETS:
        raise ValueError(f"get must be 'ntk' or 'nngp', got {get!r}")
    k_nngp, k_ntk, _ = _compute(arch, x1, x2, get == "nngp", get == "ntk", parameterization, dtype, device,
                                threads, progress, memory, engine, on_progress)
    return k_ntk if get == "ntk" else k_nngp


def kernels(arch: str, x1: Any, x2: Any = None, parameterization: str = "ntk", dtype: Any = None,
            device: str = "cpu", threads: int = 0, progress: bool = False,
            memory: Union[None, int, str] = None, engine: str = "auto",
            on_progress: Optional[Callable[[int, int], Any]] = None) -> Kernels:
    """Both the NNGP and the NTK from one pass of the layer recursion (see :func:`kernel` for the arguments).

    ``Kernels.engine`` names the engine that computed them."""
    k_nngp, k_ntk, name = _compute(arch, x1, x2, True, True, parameterization, dtype, device, threads, progress,
                                   memory, engine, on_progress)
    return Kernels(nngp=k_nngp, ntk=k_ntk, engine=name)


def engines(arch: str, x1: Any, x2: Any = None, parameterization: str = "ntk", dtype: Any = None,
            device: str = "cpu") -> Dict[str, str]:
    """Every registered kernel engine and whether it can run this case (``ntk engines``).

    Returns ``{name: ""}`` for an engine that can, else ``{name: reason}`` (one line), in the order ``"auto"``
    tries them.
    """
    a1, a2 = as_real(x1, "x1"), as_real_opt(x2, "x2")
    return dict(_ntk.engines_for(str(arch), a1, a2, parameterization, _dtype_name(dtype, a1, a2), device))


@dataclass
class DepthKernel:
    """Kernels of ``repeat(depth, dense, act), dense`` with the bottom ``fixed`` dense layers untrained."""

    depth: int
    fixed: int
    nngp: np.ndarray
    ntk: np.ndarray


def kernels_all_depths(x1: Any, x2: Any = None, max_depth: int = _UCI["max_depth"],
                       activation: str = _UCI["activation"], w_std: float = _UCI["w_std"], b_std: float = _UCI["b_std"],
                       threads: int = 0) -> List[DepthKernel]:
    """NNGP and NTK of every fully-connected depth 1..max_depth and fixed layers 0..depth in one pass.

    The network is ``repeat(depth, dense(w_std, b_std), activation), dense(w_std, b_std)`` (Arora et al. 2020);
    inputs must be (N, d). Returns a list ordered by (depth, fixed); the NNGP does not depend on ``fixed``.
    """
    out = _ntk.kernels_all_depths(as_real(x1, "x1"), as_real_opt(x2, "x2"), int(max_depth), str(activation),
                                  float(w_std), float(b_std), int(threads))
    return [DepthKernel(depth=d, fixed=f, nngp=kn, ntk=kt) for d, f, kn, kt in out]


@keeps_precision
def empirical_kernels(arch: str, x1: Any, x2: Any = None, width: int = 512, samples: int = 1, seed: int = 0,
                      parameterization: str = "ntk", get_ntk: bool = True, threads: int = 0) -> Kernels:
    """Monte Carlo NNGP and NTK over ``samples`` finite networks of the given width (``ntk empirical``).

    The NTK is ``None`` when ``get_ntk`` is False (skips the backward passes)."""
    k_nngp, k_ntk = _ntk.monte_carlo_kernels(str(arch), int(width), as_real(x1, "x1"), as_real_opt(x2, "x2"),
                                             int(samples), int(seed), parameterization, bool(get_ntk), int(threads))
    return Kernels(nngp=k_nngp, ntk=k_ntk)


def describe(arch: str, width: int = 0) -> str:
    """The architecture with every argument written out (raises ValueError naming the column on errors)."""
    return _ntk.describe_arch(str(arch), int(width))


def layer_names() -> List[str]:
    """Every layer and activation name of the architecture language."""
    return list(_ntk.layer_names())


class Network:
    """A finite-width network of the architecture language (``ntk::Network`` through ``ntk::Model``).

    Args:
        arch: architecture; every dense/conv layer without an explicit ``width=`` gets ``width``.
        width: hidden width (channels for conv layers).
        seed: parameter draw (the same seed gives the same network on every machine and thread count).
        input_shape: ``(d,)`` or ``(H, W, C)``; None: inferred from the first call.
        parameterization: ``"ntk"``, ``"standard"`` or ``"mup"`` (maximal update; docs/feature-learning.md).
        f0: ``"keep"`` (f = f_θ) or ``"twin"`` (f = (f_θ − f_θ')/√2 with θ' = θ at init: zero initial outputs,
            the same NTK; see include/ntk/train.h).
    """

    def __init__(self, arch: str, width: int = 512, seed: int = 0, input_shape: Optional[Sequence[int]] = None,
                 parameterization: str = "ntk", f0: str = "keep") -> None:
        self.arch = str(arch)
        self.width = int(width)
        self.seed = int(seed)
        self.parameterization = parameterization
        self.f0 = f0
        self._net: Any = None
        self.input_shape: Optional[Tuple[int, ...]] = None
        # Validate the architecture now, whatever the input shape.
        _ntk.describe_arch(self.arch, self.width)
        if input_shape is not None:
            self._build(tuple(int(d) for d in input_shape))

    def _build(self, shape: Tuple[int, ...]) -> None:
        self._net = _ntk.Network(self.arch, self.width, list(shape), self.parameterization, self.seed, self.f0)
        self.input_shape = shape

    def _ensure(self, x: np.ndarray) -> None:
        if self._net is None:
            if x.ndim not in (2, 4):
                raise ValueError(f"x: expected (N, d) or (N, H, W, C), got shape {x.shape}")
            self._build(tuple(int(d) for d in x.shape[1:]))

    def _built(self) -> Any:
        if self._net is None:
            raise ValueError("the network's input shape is not known yet: pass input_shape= or call apply() first")
        return self._net

    @keeps_precision
    def apply(self, x: Any) -> np.ndarray:
        """Outputs f(x), shape (N, K)."""
        a = as_real(x, "x")
        self._ensure(a)
        return self._net.apply(a)

    __call__ = apply

    @keeps_precision
    def empirical_ntk(self, x1: Any, x2: Any = None) -> np.ndarray:
        """Per-output empirical NTK <df(x1)/dθ, df(x2)/dθ> averaged over outputs, trainable layers only."""
        a = as_real(x1, "x1")
        self._ensure(a)
        return self._net.empirical_ntk(a, as_real_opt(x2, "x2"))

    def train(self, x: Any, y: Any, steps: int = _TRAIN["steps"], learning_rate: float = _TRAIN["learning_rate"],
              lr_fraction: float = _TRAIN["lr_fraction"], batch_size: int = _TRAIN["batch_size"],
              momentum: float = _TRAIN["momentum"], seed: int = _TRAIN["seed"],
              record_loss: bool = _TRAIN["record_loss"]) -> Dict[str, Any]:
        """Trains in place by gradient descent on ½||f(X) − Y||² (``ntk::train``, include/ntk/train.h).

        ``learning_rate`` 0 uses ``lr_fraction`` · 2/λ_max of the empirical NTK at the start; ``batch_size`` > 0
        is minibatch SGD; ``momentum`` is heavy-ball β. ``y`` is (N,) or (N, K). Returns a dict with
        ``learning_rate``, ``lambda_max``, ``steps``, ``loss`` (array over steps 0..steps), ``final_loss`` and
        ``flow_time`` (the gradient-flow time the steps approximate). Ctrl-C stops it between steps."""
        a = as_real(x, "x")
        self._ensure(a)
        yy, _ = targets_2d(y, "y")
        return self._net.train(a, yy, dict(steps=steps, learning_rate=learning_rate, lr_fraction=lr_fraction,
                                           batch_size=batch_size, momentum=momentum, seed=seed,
                                           record_loss=record_loss))

    def get_params(self, member: int = 0) -> List[List[np.ndarray]]:
        """Parameters: one list of arrays per op of the architecture (empty for ops without parameters).

        ``member`` 1 is the twin's second network (f0="twin")."""
        return self._built().get_params(int(member))

    def set_params(self, params: Sequence[Sequence[Any]], member: int = 0) -> None:
        """Sets every parameter (same structure and shapes as :meth:`get_params`; copied, exactly)."""
        self._built().set_params([[as_real(t, "params") for t in layer] for layer in params], int(member))

    @property
    def params(self) -> List[List[np.ndarray]]:
        return self.get_params()

    @params.setter
    def params(self, value: Sequence[Sequence[Any]]) -> None:
        self.set_params(value)

    @property
    def num_params(self) -> int:
        return self._built().num_params

    @property
    def output_width(self) -> int:
        return self._built().output_width

    def __repr__(self) -> str:
        return (f"Network({self.arch!r}, width={self.width}, seed={self.seed}, input_shape={self.input_shape}, "
                f"parameterization={self.parameterization!r}, f0={self.f0!r})")


# ---- solvers on precomputed kernels (top level: svm, model selection) ----


class SVM:
    """C-SVM on a precomputed kernel (libsvm, one-vs-one): the decisions of scikit-learn's
    ``SVC(kernel="precomputed", C=C, tol=tol, shrinking=shrinking)``."""

    def __init__(self, C: float = _SVM["C"], tol: float = _SVM["tol"], cache_mb: float = _SVM["cache_mb"],
                 shrinking: bool = _SVM["shrinking"]) -> None:
        self.C, self.tol, self.cache_mb, self.shrinking = float(C), float(tol), float(cache_mb), bool(shrinking)
        self._svm = _ntk.PrecomputedSvm()

    def fit(self, k_train_train: Any, y_train: Any) -> "SVM":
        self._svm.fit(as_real(k_train_train, "k_train_train"), as_labels(y_train, "y_train"),
                      dict(C=self.C, tol=self.tol, cache_mb=self.cache_mb, shrinking=self.shrinking))
        return self

    def predict(self, k_test_train: Any) -> np.ndarray:
        return self._svm.predict(as_real(k_test_train, "k_test_train"))

    def decision_function(self, k_test_train: Any) -> np.ndarray:
        """(M, c(c−1)/2) one-vs-one decision values (positive favours the first class of each pair)."""
        return self._svm.decision_function(as_real(k_test_train, "k_test_train"))

    @property
    def classes_(self) -> np.ndarray:
        return self._svm.classes

    @property
    def num_support_vectors(self) -> int:
        return self._svm.num_support_vectors


def svm(k_train_train: Any, y_train: Any, k_test_train: Any, C: float = _SVM["C"], tol: float = _SVM["tol"],
        shrinking: bool = _SVM["shrinking"]) -> np.ndarray:
    """Fits a C-SVM on the precomputed training kernel and returns the predicted labels of the test rows."""
    return SVM(C=C, tol=tol, shrinking=shrinking).fit(k_train_train, y_train).predict(k_test_train)


def svm_accuracy_path(k_train_train: Any, y_train: Any, k_test_train: Any, y_test: Any, Cs: Sequence[float],
                      tol: float = _SVM["tol"], shrinking: bool = _SVM["shrinking"], threads: int = 0) -> np.ndarray:
    """Test accuracy of a C-SVM for every C (in parallel over C)."""
    return np.asarray(_ntk.svm_accuracy_path(as_real(k_train_train, "k_train_train"), as_labels(y_train, "y_train"),
                                             as_real(k_test_train, "k_test_train"), as_labels(y_test, "y_test"),
                                             [float(c) for c in Cs], dict(tol=tol, shrinking=shrinking), int(threads)))


def kfold_splits(n: int, k: int, shuffle: bool = True, seed: int = 0) -> List[Tuple[np.ndarray, np.ndarray]]:
    """k folds of 0..n−1 as (train, test) index arrays (shuffled with ``seed``), as ``ntk select --folds``."""
    return list(_ntk.kfold_splits(int(n), int(k), bool(shuffle), int(seed)))


@dataclass
class Selection:
    """Model-selection result: ``grid`` rows (depth, fixed, value, score) and the ``best`` row."""

    grid: List[Tuple[int, int, float, float]]
    best: Tuple[int, int, float, float]

    @property
    def depth(self) -> int:
        return self.best[0]

    @property
    def fixed(self) -> int:
        return self.best[1]

    @property
    def value(self) -> float:
        return self.best[2]

    @property
    def score(self) -> float:
        return self.best[3]


def select_model(kernels: Sequence[DepthKernel], labels: Any, splits: Optional[Sequence[Tuple[Any, Any]]] = None,
                 folds: int = 5, seed: int = 0, method: str = _SELECT["method"],
                 values: Optional[Sequence[float]] = None, reg_absolute: bool = _SELECT["reg_absolute"],
                 classification: bool = _SELECT["classification"], targets: Any = None,
                 target_off: float = _SELECT["target_off"], target_on: float = _SELECT["target_on"],
                 tol: float = _SELECT["tol"], threads: int = 0) -> Selection:
    """Chooses (depth, fixed layers, C or diag_reg) across the kernels of :func:`kernels_all_depths` (``ntk select``).

    Each kernel is the N×N NTK over all examples; ``splits`` are (train, test) index arrays (default:
    ``kfold_splits(N, folds, seed=seed)``). ``method`` is ``"svm"`` (``values`` = C grid, default 10^-2..10^4) or
    ``"regression"`` (``values`` = diag_reg grid, default 0 and 10^-4..1; scored by one-hot accuracy, or by −MSE
    on ``targets`` when ``classification`` is False). Ties go to the smaller depth, fixed, value."""
    ks = list(kernels)
    if not ks:
        raise ValueError("kernels: empty list")
    lab = as_labels(labels, "labels")
    n = ks[0].ntk.shape[0]
    if splits is None:
        splits = kfold_splits(n, folds, True, seed)
    if values is None:
        values = []  # the library's default grid for the method (ntk._ntk.default_select_values)
    grid, best = _ntk.select_model([(k.depth, k.fixed, as_real(k.ntk, "kernel")) for k in ks], lab,
                                   as_real_opt(targets, "targets") if targets is None else targets_2d(targets, "targets")[0],
                                   [(np.asarray(a, dtype=np.int64), np.asarray(b, dtype=np.int64)) for a, b in splits],
                                   dict(method=method, values=list(values), reg_absolute=reg_absolute,
                                        classification=classification, target_off=target_off, target_on=target_on,
                                        tol=tol), int(threads))
    return Selection(grid=[tuple(g) for g in grid], best=tuple(best))


# ---- the equivalence experiment ----

def _trace(rows: Any) -> np.ndarray:
    # JSON writes non-finite numbers as null.
    return np.asarray([[np.nan if v is None else v for v in r] for r in (rows or [])], dtype=np.float64)


@dataclass
class EquivalenceResult:
    """``json``: the report, the same dict as ``ntk equivalence --json`` (keys in docs/equivalence.md);
    ``runs``: per trained network ``width``, ``seed`` and the traced test outputs ``trace_at`` (steps),
    ``trace_nn`` and ``trace_ntk`` (times × trace points) that the plot draws, as arrays (read from the report's
    ``runs``, so the same from a report the CLI wrote: :meth:`load`)."""

    json: Dict[str, Any]
    runs: List[Dict[str, Any]] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not self.runs:
            self.runs = [dict(width=r["width"], seed=r["seed"],
                              trace_at=np.asarray(r.get("trace_at", []), dtype=np.int64),
                              trace_nn=_trace(r.get("trace_nn")), trace_ntk=_trace(r.get("trace_ntk")))
                         for r in self.json.get("runs", [])]

    @classmethod
    def load(cls, path: str) -> "EquivalenceResult":
        """The report of ``ntk equivalence --json`` (or :meth:`save_json`) read back."""
        with open(path) as f:
            return cls(json=_json.load(f))

    def __getitem__(self, key: str) -> Any:
        return self.json[key]

    @property
    def widths(self) -> List[int]:
        return list(self.json["widths"])

    def save_json(self, path: str) -> None:
        with open(path, "w") as f:
            _json.dump(self.json, f, indent=2)
            f.write("\n")


def equivalence(arch: str = _EQ["arch"], data: Union[str, Tuple[Any, Any]] = _EQ_DATA["data"],
                widths: Sequence[int] = tuple(_EQ["widths"]), seeds: int = _EQ["seeds"],
                kernel_seeds: int = _EQ["kernel_seeds"], seed: int = _EQ["seed"], n_train: int = _EQ_DATA["n_train"],
                n_test: int = _EQ_DATA["n_test"], classes: Union[int, Sequence[int]] = _EQ_DATA["num_classes"],
                one_hot: bool = _EQ_DATA["one_hot"], steps: int = _EQ["steps"], time: float = _EQ["time"],
                learning_rate: float = _EQ["learning_rate"], lr_fraction: float = _EQ["lr_fraction"],
                batch_size: int = _EQ["batch_size"], momentum: float = _EQ["momentum"],
                downsample: int = _EQ_DATA["downsample"], standardize: str = _EQ_DATA["standardize"],
                f0: str = _EQ["f0"], parameterization: str = _EQ["parameterization"],
                checkpoints: int = _EQ["checkpoints"], trace_points: int = _EQ["trace_points"],
                data_seed: int = _EQ_DATA["data_seed"], format: str = _EQ_DATA["format"],
                labels: Optional[str] = None, threads: int = 0, progress: bool = False,
                json_path: Optional[str] = None, log: Optional[Callable[[str], None]] = None,
                lr_kernel: str = _EQ["lr_kernel"], trace_steps: int = _EQ["trace_steps"]) -> EquivalenceResult:
    """The NTK equivalence experiment (``ntk equivalence``, same defaults and the same numbers as its JSON).

    Trains finite networks of every width by gradient descent and measures their distance to the infinite-width
    limit (kernel_init_dev, kernel_train_change, param_change, pred_gap, pred_gap_lin, ...; docs/equivalence.md).
    ``data`` is a path (IDX, CIFAR-10, image folder, LIBSVM, CSV, .npy with ``labels``) or an in-memory
    ``(x, labels)`` pair. ``classes``: a number of classes or the labels to keep. ``log`` receives one line per
    finished network; Ctrl-C stops the run after the current network. Every option is documented in
    ``ntk.option_specs("equivalence")`` and ``ntk.option_specs("equivalence_data")``, whose defaults these are."""
    if isinstance(classes, (int, np.integer)):
        cls_list: List[int] = []
        num_classes = classes
    else:
        cls_list = [int(c) for c in classes]
        num_classes = max(len(cls_list), 2)
    opts = dict(data=data if isinstance(data, str) else "", format=format, labels=labels or "", classes=cls_list,
                num_classes=num_classes, n_train=n_train, n_test=n_test, downsample=downsample,
                standardize=standardize, one_hot=one_hot, data_seed=data_seed,
                arch=arch, widths=list(widths), seeds=seeds, seed=seed, kernel_seeds=kernel_seeds,
                parameterization=parameterization, f0=f0, steps=steps, learning_rate=learning_rate,
                lr_fraction=lr_fraction, batch_size=batch_size, momentum=momentum, time=time, lr_kernel=lr_kernel,
                checkpoints=checkpoints, trace_points=trace_points, trace_steps=trace_steps, threads=int(threads),
                progress=bool(progress))
    x = y = None
    if not isinstance(data, str):
        x, y = data
        x = as_real(x, "x")
        y = as_labels(y, "labels")
    text = _ntk.equivalence(opts, x, y, log)
    result = EquivalenceResult(json=_json.loads(text))
    if json_path is not None:
        with open(json_path, "w") as f:
            f.write(text)
    return result


from . import datasets, predict  # noqa: E402,F401


def __getattr__(name: str) -> Any:
    # Loaded on first use: ntk.sklearn and ntk.torch import scikit-learn / PyTorch; ntk.plot imports matplotlib,
    # and `python3 -m ntk.plot` then runs it once, as __main__.
    if name in ("sklearn", "torch", "plot"):
        import importlib

        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
