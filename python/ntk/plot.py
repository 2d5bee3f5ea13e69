"""The equivalence figures with matplotlib (imported lazily): deviations from the infinite-width limit against
width (log-log, with the −1/2 reference slope) and the outputs of trained networks beside the exact-NTK predictor
during training. The same figure as ``ntk equivalence --plot out.png``."""

from __future__ import annotations

import math
from typing import Any, Optional, Sequence

import numpy as np

__all__ = ["equivalence", "deviations", "dynamics"]

DEVIATIONS = ("kernel_init_dev", "kernel_train_change", "param_change", "pred_gap", "pred_gap_lin")


def _pos(v: Any) -> float:
    return float(v) if v is not None and v > 0 else math.nan


def deviations(result: Any, ax: Any = None, metrics: Sequence[str] = DEVIATIONS) -> Any:
    """Mean deviation per width (error bars: min..max over seeds), log-log, with the slopes in the legend."""
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(6.5, 5.2))
    j = result.json if hasattr(result, "json") else result
    w = list(j["widths"])
    first = None
    for name in metrics:
        m = [_pos(v) for v in j[name]]
        lo = [max(mm - _pos(l), 0) if _pos(l) > 0 else 0 for mm, l in zip(m, j["min"][name])]
        hi = [max(_pos(h) - mm, 0) if _pos(h) > 0 else 0 for mm, h in zip(m, j["max"][name])]
        slope = j["slopes"].get(name)
        label = f"{name} (slope {slope:+.2f})" if slope is not None else name
        ax.errorbar(w, m, yerr=[lo, hi], marker="o", capsize=3, label=label)
        if first is None:
            first = m
    if first and not math.isnan(first[0]):
        y0 = first[0] * 0.6
        ax.plot([w[0], w[-1]], [y0, y0 * (w[-1] / w[0]) ** -0.5], "--", color="grey", label="slope -1/2")
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xticks(w)
    ax.set_xticklabels([str(x) for x in w])
    ax.set_xlabel("width")
    ax.set_ylabel("relative deviation")
    ax.set_title("deviation from the infinite-width limit")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    return ax


def dynamics(result: Any, ax: Any = None) -> Any:
    """Outputs on the traced test points during training: exact NTK (lines), the widest network (circles) and the
    narrowest (dashed), first seed of each."""
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(6.5, 5.2))
    runs = list(result.runs)
    if not runs:
        return ax
    widths = sorted({r["width"] for r in runs})
    first = {}
    for r in runs:
        first.setdefault(r["width"], r)
    large, small = first[widths[-1]], first[widths[0]]
    steps = np.asarray(large["trace_at"])
    ntk_t, nn_l, nn_s = (np.asarray(large["trace_ntk"]), np.asarray(large["trace_nn"]), np.asarray(small["trace_nn"]))
    same = np.array_equal(np.asarray(small["trace_at"]), steps)
    for p in range(ntk_t.shape[1]):
        c = f"C{p}"
        ax.plot(steps, ntk_t[:, p], "-", color=c, lw=2, label="exact NTK" if p == 0 else None)
        ax.plot(steps, nn_l[:, p], "o", mfc="none", color=c, ms=4,
                label=f"network, width {large['width']}" if p == 0 else None)
        if same:
            ax.plot(steps, nn_s[:, p], "--", color=c, lw=1,
                    label=f"network, width {small['width']}" if p == 0 else None)
    ax.set_xlabel("gradient-descent step")
    ax.set_ylabel("output f(x) on test points")
    ax.set_title("training dynamics: network vs exact NTK")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8)
    return ax


def equivalence(result: Any, path: Optional[str] = None, title: Optional[str] = None) -> Any:
    """Both panels side by side for an :class:`ntk.EquivalenceResult`; saved to ``path`` when given (any
    matplotlib format). Returns the figure."""
    import matplotlib

    if path is not None and matplotlib.get_backend().lower() not in ("agg", "pdf", "svg", "ps", "cairo"):
        try:
            import matplotlib.pyplot as plt  # noqa: F401
        except Exception:  # pragma: no cover
            matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (a, b) = plt.subplots(1, 2, figsize=(13, 5.2))
    deviations(result, a)
    dynamics(result, b)
    fig.suptitle(title if title is not None else result.json["config"]["arch"], fontsize=9)
    fig.tight_layout()
    if path is not None:
        fig.savefig(path, dpi=110)
    return fig
