"""Finite CNNs against their exact CNTK on CIFAR-10 subsets, under the ntk, standard and μP parameterizations.

The measurement of docs/feature-learning.md (issue 16): for CNN-V (flatten readout) and CNN-GAP (global average
pooling) of one architecture string, the exact CNTK's kernel-regression accuracy beside finite networks of that
string trained at growing widths with SGD and heavy-ball momentum (MSE on the kernel's one-hot targets −0.1 / 0.9,
optionally cross-entropy), the learning rate chosen on a validation split, several seeds. Per network it reports
the test accuracy, the distance of its test predictions from the kernel predictor started at the network's own
initial outputs (f0 + Θ(x*, X) Θ(X, X)⁻¹ (Y − f0), the trained linearised network at convergence), and the
relative change ‖Θ̂_T − Θ̂_0‖_F / ‖Θ̂_0‖_F of its empirical NTK on a fixed probe set of training images.

The finite networks are ntk's PyTorch twins (``ntk.torch.network``: ntk's layers, initialisation laws and
per-layer scalings, which it reads from the C++ table ``affine_scaling``), run in float32 on the CPU: they train
several times faster here than ntk's own float64 networks (see docs/feature-learning.md). The kernels are ntk's
(``ntk.kernels``).

Learning rate. η = c · 2/λ_max(Θ̂_0(B, B)), λ_max the largest eigenvalue of the network's empirical NTK at
initialisation on the probe set of --probe training images (per output; the loss is summed over a batch) (the step at which gradient descent on a batch of that size diverges for the
linearised network, neural-tangents' max_learning_rate). Under ntk and μP λ_max tends to a constant as the width
grows, so η is a base learning rate that does not shrink with width (what μP prescribes); under standard it grows
like the width, so η shrinks like 1/width (what standard needs to be stable). c is chosen per (architecture,
training size, parameterization, loss) on the validation split from --fractions at --tune-width (seed 0), then
used at every width: a width-independent hyperparameter in all three (μP's hyperparameter transfer).

Example (the run of docs/feature-learning.md)::

    mkdir -p /tmp/data && tar xzf ../shared/data/cifar10-train-jpeg.tar.gz -C /tmp/data
    PYTHONPATH=build/python nice python3 bench/feature_learning.py --data /tmp/data/cifar10 \\
        --json docs/feature_learning.json --plot docs/feature_learning.png
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from typing import Any, Dict, List, Sequence, Tuple

import numpy as np
import torch
import torch.nn.functional as F
from torch.func import functional_call, grad, vmap

import ntk
import ntk.torch as nt
from ntk import datasets

SQRT2 = "1.4142135623730951"
PARAMS = ("ntk", "standard", "mup")


def architecture(readout: str, depth: int) -> str:
    """CNN-V (flatten) / CNN-GAP (gap) with `depth` 3x3 ReLU conv layers, c_σ = 2 (w_std = √2), all trainable:
    the same string for the kernel and the finite networks."""
    if readout not in ("flatten", "gap"):
        raise ValueError(f"readout must be flatten or gap, got {readout!r}")
    return f"repeat({depth}, conv(3, w_std={SQRT2}), relu), {readout}, dense(width=10, w_std={SQRT2})"


# ---------------------------------------------------------------------------------------------------------------
# Data


def load_split(root: str, n_train: int, n_val: int, n_test: int, downsample: int, seed: int):
    """Class-balanced, disjoint test / validation / training parts of root/train (the shared JPEG set has no
    test split); training subsets are prefixes of one class-interleaved order (nested). Standardised per channel
    on the largest training subset."""
    classes = 10
    per_class = (n_train + n_val + n_test) // classes + 2
    ds = datasets.load_image_folder(os.path.join(root, "train") if os.path.isdir(os.path.join(root, "train"))
                                    else root, max_per_class=per_class, seed=seed)
    x, y = np.asarray(ds.x, dtype=np.float64), np.asarray(ds.labels, dtype=np.int64)
    if downsample > 1:
        x = datasets.downsample_images(x, downsample)
    rng = np.random.default_rng(seed)
    by_class = [rng.permutation(np.flatnonzero(y == c)) for c in range(classes)]

    def take(count: int, start: List[int]) -> np.ndarray:
        out: List[int] = []
        k = 0
        while len(out) < count:
            c = k % classes
            if start[c] < len(by_class[c]):
                out.append(int(by_class[c][start[c]]))
                start[c] += 1
            k += 1
        return np.asarray(out)

    pos = [0] * classes
    test = take(n_test, pos)
    val = take(n_val, pos)
    train = take(n_train, pos)
    mean = x[train].mean(axis=(0, 1, 2))
    std = x[train].std(axis=(0, 1, 2))
    x = (x - mean) / std
    return (x[train], y[train]), (x[val], y[val]), (x[test], y[test])


def one_hot(labels: np.ndarray, classes: int = 10) -> np.ndarray:
    t = np.full((len(labels), classes), -0.1)
    t[np.arange(len(labels)), labels] = 0.9
    return t


# ---------------------------------------------------------------------------------------------------------------
# Kernel


def solve_psd(k: np.ndarray, b: np.ndarray) -> np.ndarray:
    """k⁻¹ b by Cholesky, with the smallest jitter (relative to the mean diagonal) that makes it succeed."""
    scale = float(np.mean(np.diag(k)))
    for jitter in (0.0, 1e-10, 1e-8, 1e-6, 1e-4):
        try:
            c = np.linalg.cholesky(k + jitter * scale * np.eye(len(k)))
            return np.linalg.solve(c.T, np.linalg.solve(c, b))
        except np.linalg.LinAlgError:
            continue
    raise RuntimeError("the kernel matrix is not positive definite")


# ---------------------------------------------------------------------------------------------------------------
# Finite networks


def empirical_ntk(net: torch.nn.Module, x: torch.Tensor) -> np.ndarray:
    """Per-output empirical NTK (mean over the K outputs) of the trainable parameters on x (N, C, H, W)."""
    params = {n: p.detach() for n, p in net.named_parameters() if p.requires_grad}

    def f(p: Dict[str, torch.Tensor], xi: torch.Tensor, k: int) -> torch.Tensor:
        return functional_call(net, p, (xi[None],))[0, k]

    theta = torch.zeros(x.shape[0], x.shape[0], dtype=torch.float64)
    k_out = None
    for k in range(10):
        g = vmap(grad(f), in_dims=(None, 0, None))(params, x, k)
        j = torch.cat([v.reshape(x.shape[0], -1) for v in g.values()], 1).to(torch.float64)
        theta += j @ j.T
        k_out = k + 1
    return (theta / k_out).numpy()


def predict(net: torch.nn.Module, x: torch.Tensor, chunk: int = 500) -> np.ndarray:
    with torch.no_grad():
        return torch.cat([net(x[s:s + chunk]) for s in range(0, x.shape[0], chunk)]).to(torch.float64).numpy()


def train(net: torch.nn.Module, x: torch.Tensor, y: torch.Tensor, labels: torch.Tensor, lr: float, steps: int,
          batch: int, momentum: float, loss: str, seed: int) -> Tuple[bool, float]:
    """SGD with heavy-ball momentum (v ← βv + ∇L, θ ← θ − ηv) on L = ½‖f − y‖² (or the cross-entropy) summed over
    the batch; a fresh seeded permutation every epoch. Returns (finished without diverging, last batch loss)."""
    opt = torch.optim.SGD([p for p in net.parameters() if p.requires_grad], lr=lr, momentum=momentum)
    gen = torch.Generator().manual_seed(seed)
    n = x.shape[0]
    order = torch.randperm(n, generator=gen)
    cursor = 0
    last = float("nan")
    for _ in range(steps):
        if cursor + batch > n:
            order = torch.randperm(n, generator=gen)
            cursor = 0
        idx = order[cursor:cursor + batch]
        cursor += batch
        out = net(x[idx])
        if loss == "mse":
            value = 0.5 * ((out - y[idx]) ** 2).sum()
        else:
            value = F.cross_entropy(out, labels[idx], reduction="sum")
        opt.zero_grad(set_to_none=True)
        value.backward()
        opt.step()
        last = float(value.detach())
        if not math.isfinite(last):
            return False, last
    return True, last


def accuracy(f: np.ndarray, labels: np.ndarray) -> float:
    return float(np.mean(np.argmax(f, axis=1) == labels))


def run_network(arch: str, width: int, param: str, seed: int, frac: float, loss: str, data: Dict[str, Any],
                args: argparse.Namespace, kernel: Dict[str, np.ndarray] = None) -> Dict[str, Any]:
    t0 = time.time()
    torch.manual_seed(seed)
    net = nt.network(arch, width, param, input_shape=data["shape"], seed=seed, dtype=torch.float32)
    probe = data["x_train"][: args.probe]
    theta0 = empirical_ntk(net, probe)
    lam = float(np.linalg.eigvalsh(theta0)[-1])
    lr = frac * 2.0 / lam
    f0_train, f0_val, f0_test = (predict(net, data[k]) for k in ("x_train", "x_val", "x_test"))
    ok, last = train(net, data["x_train"], data["y_train"], data["l_train"], lr, args.steps, args.batch,
                     args.momentum, loss, seed)
    r: Dict[str, Any] = {"width": width, "parameterization": param, "seed": seed, "loss": loss, "fraction": frac,
                         "learning_rate": lr, "lambda_max": lam, "diverged": not ok}
    if not ok:
        r.update(val_acc=0.0, test_acc=0.0, seconds=time.time() - t0)
        return r
    f_val, f_test, f_train = predict(net, data["x_val"]), predict(net, data["x_test"]), predict(net, data["x_train"])
    r["val_acc"] = accuracy(f_val, data["lv"])
    r["test_acc"] = accuracy(f_test, data["lt"])
    r["train_acc"] = accuracy(f_train, data["l_train_np"])
    r["train_mse"] = float(np.mean((f_train - data["t_train"]) ** 2))
    r["last_batch_loss"] = last
    if kernel is not None:
        # The kernel predictor from the network's own initial outputs (trained to convergence).
        f_k = f0_test + kernel["ts"] @ solve_psd(kernel["tt"], data["t_train"] - f0_train)
        r["pred_gap"] = float(np.linalg.norm(f_test - f_k) / np.linalg.norm(f_k))
        r["agree_with_kernel"] = float(np.mean(np.argmax(f_test, 1) == np.argmax(f_k, 1)))
    thetat = empirical_ntk(net, probe)
    r["kernel_change"] = float(np.linalg.norm(thetat - theta0) / np.linalg.norm(theta0))
    r["seconds"] = time.time() - t0
    return r


# ---------------------------------------------------------------------------------------------------------------


def slope(x: Sequence[float], y: Sequence[float]) -> float:
    pts = [(math.log(a), math.log(b)) for a, b in zip(x, y) if b > 0]
    if len(pts) < 2:
        return float("nan")
    lx, ly = np.array(pts).T
    return float(np.polyfit(lx, ly, 1)[0])


def summarize(runs: List[Dict[str, Any]], widths: Sequence[int]) -> Dict[str, Any]:
    out: Dict[str, Any] = {}
    for key in ("test_acc", "pred_gap", "kernel_change", "agree_with_kernel"):
        per_width = []
        for w in widths:
            v = [r[key] for r in runs if r["width"] == w and not r["diverged"] and key in r]
            per_width.append({"mean": float(np.mean(v)) if v else float("nan"),
                              "std": float(np.std(v, ddof=1)) if len(v) > 1 else 0.0, "n": len(v)})
        out[key] = per_width
        if key in ("pred_gap", "kernel_change"):
            out[key + "_slope"] = slope(widths, [p["mean"] for p in per_width])
    return out


def main(argv: Sequence[str] = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", help="image-folder root with train/<class>/*.jpg (or the folder itself)")
    p.add_argument("--replot", default="", help="only print the table and draw --plot from this JSON report "
                   "(also one written by a run still going: it is rewritten after every training size)")
    p.add_argument("--train", default="256,1024", help="training-set sizes (nested)")
    p.add_argument("--val", type=int, default=250)
    p.add_argument("--test", type=int, default=500)
    p.add_argument("--downsample", type=int, default=4, help="average-pooling factor (32x32 -> 8x8 at 4)")
    p.add_argument("--readouts", default="flatten,gap")
    p.add_argument("--gap-widths", default="32,128", help="widths for the gap readout")
    p.add_argument("--gap-train", default="256", help="training sizes for the gap readout (its CNTK needs all "
                   "P² position pairs and costs ~N²: kept to the smaller subset here)")
    p.add_argument("--depth", type=int, default=2)
    p.add_argument("--widths", default="32,64,128")
    p.add_argument("--params", default=",".join(PARAMS))
    p.add_argument("--seeds", type=int, default=1)
    p.add_argument("--steps", type=int, default=100)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--momentum", type=float, default=0.9)
    p.add_argument("--fractions", default="0.02,0.06", help="c of η = c·2/λ_max, chosen on the validation split")
    p.add_argument("--tune-width", type=int, default=32)
    p.add_argument("--probe", type=int, default=32, help="training images of the empirical NTK (and of λ_max)")
    p.add_argument("--ce", default="", help="also cross-entropy, for these readouts, at the largest "
                   "training size ('' for none)")
    p.add_argument("--ce-widths", default="32,128")
    p.add_argument("--ce-seeds", type=int, default=1)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--seed", type=int, default=0, help="data split seed")
    p.add_argument("--json", default="")
    p.add_argument("--plot", default="")
    args = p.parse_args(argv)
    if args.replot:
        with open(args.replot) as f:
            report = json.load(f)
        print(table(report))
        if args.plot:
            plot(report, args.plot)
        return 0
    if not args.data:
        p.error("--data is required")
    torch.set_num_threads(args.threads)
    sizes = [int(v) for v in args.train.split(",")]
    widths = [int(v) for v in args.widths.split(",")]
    fracs = [float(v) for v in args.fractions.split(",")]
    params = args.params.split(",")
    t_start = time.time()
    (xtr, ytr), (xva, yva), (xte, yte) = load_split(args.data, max(sizes), args.val, args.test, args.downsample,
                                                    args.seed)
    shape = tuple(xtr.shape[1:])
    print(f"data: {len(xtr)} train / {len(xva)} val / {len(xte)} test images {shape}", file=sys.stderr)
    report: Dict[str, Any] = {"config": vars(args), "shape": list(shape), "results": []}
    for readout in args.readouts.split(","):
        arch = architecture(readout, args.depth)
        r_sizes = sizes if readout != "gap" else [int(v) for v in args.gap_train.split(",")]
        t0 = time.time()
        # One kernel over (largest training subset of this readout) ∪ validation ∪ test.
        all_x = np.concatenate([xtr[:max(r_sizes)], xva, xte])
        k_all = ntk.kernel(arch, all_x, get="ntk")
        k_secs = time.time() - t0
        print(f"{readout}: CNTK {k_all.shape} in {k_secs:.1f}s", file=sys.stderr)
        ntr = max(r_sizes)
        for n in r_sizes:
            tr = np.arange(n)
            te = np.arange(ntr + len(xva), ntr + len(xva) + len(xte))
            va = np.arange(ntr, ntr + len(xva))
            kernel = {"tt": k_all[np.ix_(tr, tr)], "ts": k_all[np.ix_(te, tr)]}
            t_train = one_hot(ytr[:n])
            alpha = solve_psd(kernel["tt"], t_train)
            kernel_acc = accuracy(k_all[np.ix_(te, tr)] @ alpha, yte)
            kernel_val = accuracy(k_all[np.ix_(va, tr)] @ alpha, yva)
            print(f"{readout} n={n}: CNTK test accuracy {100 * kernel_acc:.2f}%", file=sys.stderr)
            nchw = lambda a: nt.nchw(a).to(torch.float32)  # noqa: E731
            data = {"shape": shape, "x_train": nchw(xtr[:n]), "x_val": nchw(xva), "x_test": nchw(xte),
                    "y_train": torch.tensor(t_train, dtype=torch.float32), "t_train": t_train,
                    "l_train": torch.tensor(ytr[:n]), "l_train_np": ytr[:n], "lv": yva, "lt": yte}
            entry: Dict[str, Any] = {"readout": readout, "arch": arch, "train": n, "kernel_test_acc": kernel_acc,
                                     "kernel_val_acc": kernel_val, "kernel_seconds": k_secs, "by_loss": {}}
            losses = ["mse"] + (["ce"] if readout in args.ce.split(",") and n == max(r_sizes) else [])
            for loss in losses:
                ws = widths if readout != "gap" else [int(v) for v in args.gap_widths.split(",")]
                if loss == "ce":
                    ws = [int(v) for v in args.ce_widths.split(",")]
                by_param: Dict[str, Any] = {}
                for param in params:
                    tune = [run_network(arch, args.tune_width, param, 0, c, loss, data, args, kernel) for c in fracs]
                    best = max(tune, key=lambda r: (r["val_acc"], -r["fraction"]))
                    frac = best["fraction"]
                    runs = []
                    seeds = args.seeds if loss == "mse" else args.ce_seeds
                    for w in ws:
                        for s in range(seeds):
                            # The chosen tuning run is seed 0 at the tuning width (same network, same steps).
                            r = best if (w == args.tune_width and s == 0) else run_network(
                                arch, w, param, s, frac, loss, data, args, kernel)
                            runs.append(r)
                            print(f"  {readout} n={n} {loss} {param} width {w} seed {s}: c={frac} lr={r['learning_rate']:.3g} "
                                  f"test {100 * r['test_acc']:.1f}% pred_gap {r.get('pred_gap', float('nan')):.3f} "
                                  f"kernel_change {r.get('kernel_change', float('nan')):.3f} ({r['seconds']:.0f}s)",
                                  file=sys.stderr)
                    by_param[param] = {"fraction": frac, "tuning": [{k: t[k] for k in ("fraction", "val_acc",
                                                                                     "learning_rate", "diverged")}
                                                                    for t in tune],
                                       "runs": runs, "summary": summarize(runs, ws), "widths": ws}
                entry["by_loss"][loss] = by_param
            report["results"].append(entry)
            if args.json:
                _write_json(args.json, report)
    report["seconds"] = time.time() - t_start
    if args.json:
        _write_json(args.json, report)
    print(table(report))
    if args.plot:
        plot(report, args.plot)
    return 0


def _write_json(path: str, report: Dict[str, Any]) -> None:
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(report, f, indent=1)
    os.replace(tmp, path)


def table(report: Dict[str, Any]) -> str:
    lines = []
    for e in report["results"]:
        for loss, by_param in e["by_loss"].items():
            lines.append(f"{e['readout']} n={e['train']} {loss}: CNTK {100 * e['kernel_test_acc']:.2f}%")
            for param, d in by_param.items():
                s = d["summary"]
                accs = " ".join(f"{w}:{100 * a['mean']:.1f}" for w, a in zip(d["widths"], s["test_acc"]))
                kc = " ".join(f"{a['mean']:.3f}" for a in s["kernel_change"])
                pg = " ".join(f"{a['mean']:.3f}" for a in s["pred_gap"])
                lines.append(f"  {param:8s} c={d['fraction']:<4g} acc% {accs} | kernel_change {kc} "
                             f"(slope {s['kernel_change_slope']:+.2f}) | pred_gap {pg} (slope {s['pred_gap_slope']:+.2f})")
    return "\n".join(lines)


def plot(report: Dict[str, Any], path: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    entries = report["results"]
    fig, axes = plt.subplots(3, len(entries), figsize=(3.6 * len(entries), 9.5), squeeze=False)
    colors = {"ntk": "C0", "standard": "C2", "mup": "C3"}
    for j, e in enumerate(entries):
        by_param = e["by_loss"]["mse"]
        for param, d in by_param.items():
            ws, s = d["widths"], d["summary"]
            for row, key in enumerate(("test_acc", "kernel_change", "pred_gap")):
                m = np.array([a["mean"] for a in s[key]])
                sd = np.array([a["std"] for a in s[key]])
                scale = 100.0 if key == "test_acc" else 1.0
                axes[row][j].errorbar(ws, scale * m, yerr=scale * sd, marker="o", capsize=3, color=colors[param],
                                      label=param)
        axes[0][j].axhline(100 * e["kernel_test_acc"], color="k", ls="--", label="CNTK")
        axes[0][j].set_title(f"CNN-{'V' if e['readout'] == 'flatten' else 'GAP'}, {e['train']} train")
        axes[0][j].set_ylabel("test accuracy (%)")
        axes[1][j].set_ylabel("‖Θ̂_T − Θ̂_0‖ / ‖Θ̂_0‖")
        axes[2][j].set_ylabel("‖f_NN − f_kernel‖ / ‖f_kernel‖ (test)")
        for row in range(3):
            axes[row][j].set_xscale("log", base=2)
            axes[row][j].set_xlabel("width (channels)")
            if row:
                axes[row][j].set_yscale("log")
        axes[0][j].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


if __name__ == "__main__":
    sys.exit(main())
