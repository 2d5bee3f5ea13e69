"""Input conversion shared by the wrappers: anything array-like becomes a NumPy array of a real numeric dtype.

Accepted: NumPy arrays, anything with ``__dlpack__`` (PyTorch CPU tensors, JAX arrays, CuPy on the host, ...),
anything with ``__array__`` / the buffer protocol, and (nested) lists. DLPack producers and NumPy arrays are
taken as zero-copy NumPy views (``np.from_dlpack``); the extension then reads them in place when they are
C-contiguous float64 and converts (one copy) otherwise. Any layout (C, Fortran, strided views) and any real dtype
(bool, integers, float16/bfloat16/32/64) is accepted.

Refused with a one-line ValueError naming the argument: device (GPU) memory, complex, object, string and other
non-numeric dtypes.
"""

from __future__ import annotations

import dataclasses
import functools
from typing import Any, Callable, Optional, Tuple

import numpy as np

# DLPack device types whose memory the CPU reads directly, as np.from_dlpack accepts them: kDLCPU, kDLCUDAHost
# (pinned), kDLROCMHost, kDLCUDAManaged.
_DL_CPU_READABLE = {1, 3, 11, 13}
_DL_DEVICE_NAMES = {2: "CUDA", 4: "OpenCL", 7: "Vulkan", 8: "Metal", 9: "VPI", 10: "ROCm", 12: "ExtDev",
                    14: "oneAPI", 15: "WebGPU", 16: "Hexagon", 17: "MAIA"}


def _device_error(name: str, kind: str) -> ValueError:
    return ValueError(f"{name}: {kind} tensors are not supported by this build; move it to the CPU with .cpu()")


def _dlpack_device(x: Any) -> Optional[int]:
    dev = getattr(x, "__dlpack_device__", None)
    if dev is None:
        return None
    try:
        return int(dev()[0])
    except Exception:  # a producer that cannot tell: let the conversion decide
        return None


def _torch_prepare(x: Any, name: str) -> Any:
    """PyTorch specifics without importing torch: device, autograd, dtypes NumPy has no name for."""
    dev = getattr(x, "device", None)
    dev_type = getattr(dev, "type", None)
    if dev_type is not None and dev_type not in ("cpu",):
        raise _device_error(name, "CUDA" if dev_type == "cuda" else str(dev_type))
    if getattr(x, "requires_grad", False):
        x = x.detach()  # a view: the same memory
    dt = str(getattr(x, "dtype", ""))
    if dt == "torch.bfloat16":
        x = x.float()  # exact: every bfloat16 is a float32
    elif dt.startswith("torch.complex"):
        raise ValueError(f"{name}: complex values are not supported, got dtype {dt}")
    if getattr(x, "is_conj", None) is not None and x.is_conj():
        x = x.resolve_conj()
    if getattr(x, "is_neg", None) is not None and x.is_neg():
        x = x.resolve_neg()
    return x


def as_array(x: Any, name: str) -> np.ndarray:
    """A NumPy view of ``x`` (no copy for NumPy arrays and DLPack producers on the CPU), any numeric dtype."""
    if isinstance(x, np.ndarray):
        return x
    if type(x).__module__.startswith("torch"):
        x = _torch_prepare(x, name)
    dev = _dlpack_device(x)
    if dev is not None and dev not in _DL_CPU_READABLE:
        raise _device_error(name, _DL_DEVICE_NAMES.get(dev, f"device type {dev}"))
    if dev is not None and hasattr(x, "__dlpack__"):
        try:
            return np.from_dlpack(x)
        except (BufferError, RuntimeError, TypeError, ValueError):
            pass  # e.g. a dtype NumPy cannot hold: try the array protocol, which may convert
    try:
        return np.asarray(x)
    except Exception as e:  # noqa: BLE001 - the producer's own error type
        raise ValueError(f"{name}: cannot be read as an array ({type(x).__name__}: {e})") from None


def as_real(x: Any, name: str) -> np.ndarray:
    a = as_array(x, name)
    if a.dtype.kind == "c":
        raise ValueError(f"{name}: complex values are not supported, got dtype {a.dtype}")
    if a.dtype.kind not in "biuf":
        if a.dtype.name == "bfloat16":  # ml_dtypes (JAX): exact in float32
            return a.astype(np.float32)
        raise ValueError(f"{name}: expected a real numeric array, got dtype {a.dtype}")
    return a


def as_real_opt(x: Any, name: str) -> Optional[np.ndarray]:
    return None if x is None else as_real(x, name)


def float_dtype_of(*arrays: Optional[np.ndarray]) -> str:
    """The precision an input asks for: "float32" when every given array is float32 (or float16), else
    "float64" (float64, integers and bools)."""
    given = [a for a in arrays if a is not None]
    if given and all(a.dtype in (np.float32, np.float16) for a in given):
        return "float32"
    return "float64"


def _float_kind(x: Any) -> Optional[str]:
    """"float32" / "float64" / None (not a floating-point array) without converting ``x``."""
    dt = getattr(x, "dtype", None)
    if dt is None:
        return None
    name = str(dt).replace("torch.", "")
    if name in ("float32", "float16", "bfloat16", "half"):
        return "float32"
    if name in ("float64", "double"):
        return "float64"
    return None


def keeps_precision(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Solvers compute in float64; their results come back float32 when every floating-point array argument is
    float32 (or float16/bfloat16), so float32 in gives float32 out, as for the kernels."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        kinds = [k for k in map(_float_kind, list(args) + list(kwargs.values())) if k is not None]
        out = fn(*args, **kwargs)
        if kinds and all(k == "float32" for k in kinds):
            return _to_float32(out)
        return out

    return wrapper


def _to_float32(out: Any) -> Any:
    if isinstance(out, np.ndarray):
        return out.astype(np.float32) if out.dtype == np.float64 else out
    if isinstance(out, tuple):
        return tuple(_to_float32(o) for o in out)
    if dataclasses.is_dataclass(out) and not isinstance(out, type):
        return dataclasses.replace(out, **{f.name: _to_float32(getattr(out, f.name))
                                           for f in dataclasses.fields(out)})
    return out


def as_labels(y: Any, name: str) -> np.ndarray:
    a = as_array(y, name)
    if a.dtype.kind == "f":
        if not np.all(np.isfinite(a)) or not np.all(a == np.round(a)):
            raise ValueError(f"{name}: class labels must be non-negative integers")
    elif a.dtype.kind not in "biu":
        raise ValueError(f"{name}: expected integer class labels, got dtype {a.dtype}")
    if a.ndim != 1:
        raise ValueError(f"{name}: expected a 1-D array of class labels, got shape {a.shape}")
    return a.astype(np.int64, copy=False)


def targets_2d(y: Any, name: str) -> Tuple[np.ndarray, bool]:
    """Targets as (N, k); the flag says a 1-D input should come back 1-D."""
    a = as_real(y, name)
    if a.ndim == 1:
        return a.reshape(-1, 1), True
    if a.ndim != 2:
        raise ValueError(f"{name}: expected (N,) or (N, k) targets, got shape {a.shape}")
    return a, False
