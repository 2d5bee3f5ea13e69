"""The equivalence figures with matplotlib (imported lazily): deviations from the infinite-width limit against
width (log-log, with the −1/2 reference slope) and the outputs of trained networks beside the exact-NTK predictor
during training.

Every function takes the report of the experiment in any of its forms: what :func:`ntk.equivalence` returns, the
JSON that ``ntk equivalence --json`` writes (loaded as a dict, or the path of the file). From the command line::

    ntk equivalence --json eq.json --plot eq.svg        # the CLI draws SVG itself
    python3 -m ntk.plot equivalence eq.json eq.png      # any matplotlib format (png, pdf, svg, ...)
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
from typing import Any, Dict, List, Optional, Sequence

import numpy as np

__all__ = ["equivalence", "deviations", "dynamics", "report", "main"]

DEVIATIONS = ("kernel_init_dev", "kernel_train_change", "param_change", "pred_gap", "pred_gap_lin")


def report(result: Any) -> Dict[str, Any]:
    """The report as the dict of ``ntk equivalence --json``, from an :class:`ntk.EquivalenceResult`, such a
    dict, or the path of the JSON file."""
    if isinstance(result, (str, os.PathLike)):
        with open(result) as f:
            result = json.load(f)
    j = result.json if hasattr(result, "json") else result
    if not isinstance(j, dict) or "widths" not in j:
        raise ValueError("expected the equivalence report (ntk.equivalence's result, the JSON of "
                         f"`ntk equivalence --json` or its path), got {type(result).__name__}")
    return j


def _pos(v: Any) -> float:
    return float(v) if v is not None and v > 0 else math.nan


def _array(rows: Any) -> np.ndarray:
    # JSON writes non-finite numbers as null.
    return np.asarray([[math.nan if v is None else v for v in r] for r in rows], dtype=float).reshape(len(rows), -1)


def deviations(result: Any, ax: Any = None, metrics: Sequence[str] = DEVIATIONS) -> Any:
    """Mean deviation per width (error bars: min..max over seeds), log-log, with the slopes in the legend."""
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(6.5, 5.2))
    j = report(result)
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
    runs: List[Dict[str, Any]] = [r for r in report(result).get("runs", []) if r.get("trace_at")]
    ax.set_xlabel("gradient-descent step")
    ax.set_ylabel("output f(x) on test points")
    ax.set_title("training dynamics: network vs exact NTK")
    if not runs:
        ax.text(0.5, 0.5, "no traced outputs in this report\n(trace_points = 0, or written by an older ntk)",
                ha="center", va="center", transform=ax.transAxes, color="grey")
        return ax
    first: Dict[int, Dict[str, Any]] = {}
    for r in runs:
        first.setdefault(r["width"], r)
    widths = sorted(first)
    large, small = first[widths[-1]], first[widths[0]]
    steps = np.asarray(large["trace_at"])
    ntk_t, nn_l, nn_s = _array(large["trace_ntk"]), _array(large["trace_nn"]), _array(small["trace_nn"])
    same = len(widths) > 1 and np.array_equal(np.asarray(small["trace_at"]), steps)
    for p in range(ntk_t.shape[1]):
        c = f"C{p}"
        ax.plot(steps, ntk_t[:, p], "-", color=c, lw=2, label="exact NTK" if p == 0 else None)
        ax.plot(steps, nn_l[:, p], "o", mfc="none", color=c, ms=4,
                label=f"network, width {large['width']}" if p == 0 else None)
        if same:
            ax.plot(steps, nn_s[:, p], "--", color=c, lw=1,
                    label=f"network, width {small['width']}" if p == 0 else None)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8)
    return ax


def equivalence(result: Any, path: Optional[str] = None, title: Optional[str] = None, dpi: int = 110) -> Any:
    """Both panels side by side; saved to ``path`` when given (any matplotlib format, by its extension). ``result``:
    an :class:`ntk.EquivalenceResult`, the dict of ``ntk equivalence --json`` or the path of that file. Returns the
    figure."""
    import matplotlib

    if path is not None and matplotlib.get_backend().lower() not in ("agg", "pdf", "svg", "ps", "cairo"):
        try:
            import matplotlib.pyplot as plt  # noqa: F401
        except Exception:  # pragma: no cover
            matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    j = report(result)
    fig, (a, b) = plt.subplots(1, 2, figsize=(13, 5.2))
    deviations(j, a)
    dynamics(j, b)
    fig.suptitle(title if title is not None else j.get("config", {}).get("arch", ""), fontsize=9)
    fig.tight_layout()
    if path is not None:
        fig.savefig(path, dpi=dpi)
    return fig


def main(argv: Optional[Sequence[str]] = None) -> int:
    """``python3 -m ntk.plot equivalence REPORT.json FIGURE``: draws the figure of a report written by
    ``ntk equivalence --json`` (or ntk.EquivalenceResult.save_json)."""
    parser = argparse.ArgumentParser(prog="python3 -m ntk.plot",
                                     description="Draw the figures of ntk's experiments from their JSON reports.")
    sub = parser.add_subparsers(dest="figure", required=True)
    eq = sub.add_parser("equivalence", help="the width experiment: deviations against width, training dynamics")
    eq.add_argument("report", help="JSON written by `ntk equivalence --json`")
    eq.add_argument("figure_path", metavar="figure", help="output file; the extension picks the format (png, pdf, svg)")
    eq.add_argument("--title", default=None, help="title above the panels (default: the architecture)")
    eq.add_argument("--dpi", type=int, default=110, help="resolution of raster formats")
    args = parser.parse_args(argv)
    import matplotlib

    matplotlib.use("Agg")
    try:
        equivalence(args.report, args.figure_path, title=args.title, dpi=args.dpi)
    except (OSError, ValueError, KeyError) as e:
        what = f"missing key {e}" if isinstance(e, KeyError) else str(e)
        print(f"ntk.plot: error: {args.report}: {what}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
