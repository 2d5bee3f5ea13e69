"""Input checks shared by the wrappers: arrays reach C++ as NumPy arrays of a real numeric dtype.

Any layout (C, Fortran, strided views) and any real dtype (float16/32/64, ints, bool) is accepted: the extension
converts to C-contiguous float64, copying only when the layout or dtype differs. Complex, object and string arrays
are rejected with ValueError rather than silently cast.
"""

from __future__ import annotations

from typing import Any, Optional

import numpy as np


def as_real(x: Any, name: str) -> np.ndarray:
    a = np.asarray(x)
    if a.dtype.kind not in "biuf":
        raise ValueError(f"{name}: expected a real numeric array, got dtype {a.dtype}")
    return a


def as_real_opt(x: Any, name: str) -> Optional[np.ndarray]:
    return None if x is None else as_real(x, name)


def as_labels(y: Any, name: str) -> np.ndarray:
    a = np.asarray(y)
    if a.dtype.kind == "f":
        if not np.all(np.isfinite(a)) or not np.all(a == np.round(a)):
            raise ValueError(f"{name}: class labels must be non-negative integers")
    elif a.dtype.kind not in "biu":
        raise ValueError(f"{name}: expected integer class labels, got dtype {a.dtype}")
    if a.ndim != 1:
        raise ValueError(f"{name}: expected a 1-D array of class labels, got shape {a.shape}")
    return a.astype(np.int64, copy=False)


def targets_2d(y: Any, name: str) -> tuple[np.ndarray, bool]:
    """Targets as (N, k); the flag says a 1-D input should come back 1-D."""
    a = as_real(y, name)
    if a.ndim == 1:
        return a.reshape(-1, 1), True
    if a.ndim != 2:
        raise ValueError(f"{name}: expected (N,) or (N, k) targets, got shape {a.shape}")
    return a, False
