"""Pick OpenBLAS's core type before the library loads (the CLI does the same, src/platform/blas_tuning.*).

Debian 12's OpenBLAS takes recent Xeons for a "Prescott" and runs a generic kernel 8x slower. OpenBLAS reads
OPENBLAS_CORETYPE when it is loaded, so this must run before the extension (and ideally NumPy) is imported.
A value the user set is always kept.
"""

from __future__ import annotations

import os
import platform


def recommended_openblas_coretype() -> str | None:
    """'SkylakeX' with AVX-512F, 'Haswell' with AVX2, else None (x86-64 Linux only)."""
    if platform.machine() not in ("x86_64", "AMD64"):
        return None
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as f:
            for line in f:
                if line.startswith("flags"):
                    flags = set(line.split(":", 1)[1].split())
                    if "avx512f" in flags:
                        return "SkylakeX"
                    if "avx2" in flags:
                        return "Haswell"
                    return None
    except OSError:
        return None
    return None


def ensure_fast_blas() -> None:
    core = recommended_openblas_coretype()
    if core is not None:
        os.environ.setdefault("OPENBLAS_CORETYPE", core)
