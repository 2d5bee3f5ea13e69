#!/usr/bin/env python3
"""Baselines for `ntk bench uci`: random forest and Gaussian-kernel (RBF) SVM with scikit-learn, on exactly the
protocol of the NTK (Arora et al. 2020): hyperparameters chosen on the conxuntos.dat train/validation split,
accuracy = mean test accuracy over the four folds of conxuntos_kfold.dat.

Grids (chosen once, documented in docs/benchmarks.md):
  random forest  500 trees, max_features in {sqrt, 0.25, 0.5} (share of features tried per split), random_state 0
  RBF SVM        C in {1e-2, ..., 1e4}, gamma in {0.01, 0.1, 1, 10} / d (d = number of features; the inputs are
                 standardised, so 1/d is the natural length scale)
Ties on the validation split go to the first grid point in the order above.

Usage (normally invoked by `ntk bench uci --baselines bench/uci_baselines.py`):
  python3 bench/uci_baselines.py --data uci90 [--datasets iris,wine] [--jobs 2] --json baselines.json
Output JSON: {"classifiers": {"random_forest": {"per_dataset": {name: accuracy}, "average": a, "grid": ...,
              "selected": {name: params}}, "svm_rbf": {...}}, "seconds": total, "sklearn": version}
"""
import argparse
import json
import os
import sys
import time

import numpy as np

try:
    import sklearn
    from joblib import Parallel, delayed
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.svm import SVC
except ImportError as e:  # one line, like the ntk CLI
    sys.exit("uci_baselines.py: error: scikit-learn is needed (%s)" % e)

C_GRID = [1e-2, 1e-1, 1e0, 1e1, 1e2, 1e3, 1e4]
GAMMA_GRID = [0.01, 0.1, 1.0, 10.0]  # times 1/d
RF_FEATURES = ["sqrt", 0.25, 0.5]
RF_TREES = 500


def fail(msg):
    sys.exit("uci_baselines.py: error: %s" % msg)


def load(data_dir, name):
    folder = os.path.join(data_dir, name)
    path = os.path.join(folder, name + "_R.dat")
    if not os.path.exists(path):
        fail("%s: no such file" % path)
    table = np.loadtxt(path, skiprows=1, ndmin=2)
    x, y = table[:, 1:-1], table[:, -1]
    if np.any(y != np.round(y)):
        fail("%s: labels in the last column must be integers" % path)

    def lines(fname, expected):
        p = os.path.join(folder, fname)
        if not os.path.exists(p):
            fail("%s: no such file" % p)
        rows = [np.array(l.split(), dtype=np.int64) for l in open(p) if l.strip()]
        if len(rows) != expected:
            fail("%s: expected %d lines of row indices, found %d" % (p, expected, len(rows)))
        return rows

    val = lines("conxuntos.dat", 2)
    folds = lines("conxuntos_kfold.dat", 8)
    return x, y.astype(np.int64), (val[0], val[1]), [(folds[2 * k], folds[2 * k + 1]) for k in range(4)]


def score(make, params, x, y, train, test):
    model = make(params, x.shape[1]).fit(x[train], y[train])
    return float(np.mean(model.predict(x[test]) == y[test]))


def make_rf(params, d):
    return RandomForestClassifier(n_estimators=RF_TREES, max_features=params["max_features"], random_state=0,
                                  n_jobs=1)


def make_svm(params, d):
    return SVC(kernel="rbf", C=params["C"], gamma=params["gamma"] / d, cache_size=500)


CLASSIFIERS = {
    "random_forest": (make_rf, [{"max_features": m} for m in RF_FEATURES],
                      "500 trees, max_features in {sqrt, 0.25, 0.5}"),
    "svm_rbf": (make_svm, [{"C": c, "gamma": g} for c in C_GRID for g in GAMMA_GRID],
                "C in {1e-2..1e4}, gamma in {0.01, 0.1, 1, 10}/d"),
}


def run(data_dir, names, jobs):
    out = {k: {"per_dataset": {}, "selected": {}, "grid": g[2]} for k, g in CLASSIFIERS.items()}
    with Parallel(n_jobs=jobs) as pool:
        for i, name in enumerate(names):
            t0 = time.time()
            x, y, (tr, va), folds = load(data_dir, name)
            line = []
            for cname, (make, grid, _) in CLASSIFIERS.items():
                val = pool(delayed(score)(make, p, x, y, tr, va) for p in grid)
                best = grid[int(np.argmax(val))]  # first maximum: ties go to the earlier grid point
                accs = pool(delayed(score)(make, best, x, y, a, b) for a, b in folds)
                out[cname]["per_dataset"][name] = float(np.mean(accs))
                out[cname]["selected"][name] = dict(best, validation_accuracy=float(max(val)))
                line.append("%s %.4f" % (cname, np.mean(accs)))
            print("[%d/%d] %-40s %s %.1fs" % (i + 1, len(names), name, "  ".join(line), time.time() - t0),
                  file=sys.stderr, flush=True)
    for c in out.values():
        c["average"] = float(np.mean(list(c["per_dataset"].values())))
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", required=True, help="the extracted uci90 folder")
    ap.add_argument("--datasets", default="", help="comma-separated names (default: every data set in --data)")
    ap.add_argument("--jobs", type=int, default=1, help="parallel fits")
    ap.add_argument("--json", required=True, help="output file")
    a = ap.parse_args()
    if not os.path.isdir(a.data):
        fail("%s: not a folder" % a.data)
    names = [n for n in a.datasets.split(",") if n] or sorted(
        n for n in os.listdir(a.data) if os.path.exists(os.path.join(a.data, n, n + "_R.dat")))
    t0 = time.time()
    classifiers = run(a.data, names, max(1, a.jobs))
    report = {"classifiers": classifiers, "seconds": time.time() - t0, "sklearn": sklearn.__version__}
    with open(a.json + ".tmp", "w") as f:
        json.dump(report, f, indent=2)
    os.replace(a.json + ".tmp", a.json)
    for cname, c in classifiers.items():
        print("%-14s average accuracy %.2f%% over %d data sets" % (cname, 100 * c["average"], len(names)),
              file=sys.stderr)


if __name__ == "__main__":
    main()
