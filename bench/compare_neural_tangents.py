#!/usr/bin/env python3
"""ntk against neural-tangents: the same architectures on the same inputs, in the same run.

For every case it prints ntk's seconds per kernel entry, neural-tangents' seconds per entry, the speedup and the
largest relative difference of the two kernels (NNGP and NTK), and writes them as JSON:

    {"cases": [{"name", "dtype", "n", "arch", "ntk_seconds_per_entry", "nt_seconds_per_entry", "speedup",
                "max_rel_diff", ...}, ...], "ntk_blas": "MKL" | "OpenBLAS", ...}

neural-tangents runs on a CPU JAX in a virtual environment of its own, created on first use from the pins in
bench/requirements-neural-tangents.txt (default ~/.cache/ntk-bench-venv; --venv or NTK_BENCH_VENV to reuse one,
e.g. /work/ntref/venv). The script re-executes itself inside that environment; ntk runs as the `ntk` CLI
(--ntk, default build-fast/ntk or build/ntk next to this repository, or `ntk` on PATH).

Timing, the same for both: one untimed first call (neural-tangents compiles its jitted kernel_fn; ntk starts its
BLAS threads), then the least time of --repeat calls (default 3) on this shared, noisy machine. ntk is timed in
memory by `ntk bench kernels --arch A --x1 x.npy --dtype D --repeat R` (engine creation, per-input preparation
and the whole kernel into pre-faulted buffers; not the process start or file I/O). Both compute the NNGP and the NTK of x with
itself (ntk computes the symmetric half once). Seconds per entry = seconds / N².

max_rel_diff = max over entries of |ntk - nt| / max(|nt|, 1e-3 max|nt|), over both kernels; each dtype is
compared with neural-tangents run in the same dtype.

Usage:
  python3 bench/compare_neural_tangents.py --json nt_compare.json [--venv DIR] [--ntk PATH] [--quick]
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
REQUIREMENTS = os.path.join(HERE, "requirements-neural-tangents.txt")
DEFAULT_VENV = os.path.join(os.path.expanduser("~"), ".cache", "ntk-bench-venv")

SQRT2 = "1.4142135623730951"
FC_ARCH = "repeat(10, dense(w_std=%s, b_std=0.1), relu), dense" % SQRT2


def cntk_arch(depth, readout):
  return "repeat(%d, conv(3, w_std=%s), relu), %s, dense" % (depth, SQRT2, readout)


# name, arch, input shape (N first), quick N
CASES = [
    ("fc_depth10", FC_ARCH, (8192, 3072), 512),          # the FC case of `ntk bench kernels`; bound by the input Gram
    ("fc_depth10_d64", FC_ARCH, (4096, 64), 1024),       # small inputs (UCI-like): the layers dominate
    ("cntk_gap_depth11", cntk_arch(11, "gap"), (3, 32, 32, 3), 2),
    ("cntk_gap_depth21", cntk_arch(21, "gap"), (3, 32, 32, 3), 2),
    ("cntk_flatten_depth21", cntk_arch(21, "flatten"), (64, 32, 32, 3), 16),
]


# ------------------------------------------------------------------ environment ----

def venv_python(venv):
  return os.path.join(venv, "bin", "python")


def has_nt(python):
  if not os.path.exists(python):
    return False
  r = subprocess.run([python, "-c", "import neural_tangents, jax"], capture_output=True)
  return r.returncode == 0


def ensure_venv(venv):
  py = venv_python(venv)
  if has_nt(py):
    return py
  base = shutil.which("python3.11") or sys.executable
  print("compare: creating %s with %s (neural-tangents + CPU JAX; ~2 GB, several minutes)" % (venv, base),
        file=sys.stderr, flush=True)
  subprocess.run([base, "-m", "venv", venv], check=True)
  subprocess.run([py, "-m", "pip", "install", "--upgrade", "pip"], check=True)
  subprocess.run([py, "-m", "pip", "install", "-r", REQUIREMENTS], check=True)
  if not has_nt(py):
    sys.exit("compare: neural-tangents does not import in %s" % venv)
  return py


def find_ntk(path):
  if path:
    return os.path.abspath(path)
  for cand in (os.path.join(ROOT, "build-fast", "ntk"), os.path.join(ROOT, "build", "ntk")):
    if os.path.exists(cand):
      return cand
  found = shutil.which("ntk")
  if found:
    return found
  sys.exit("compare: no ntk binary; build it (cmake --build build-fast) or pass --ntk")


# ------------------------------------------------------------------ measurement ----

def max_rel_diff(a, b):
  import numpy as np
  scale = float(np.max(np.abs(b)))
  den = np.maximum(np.abs(b), 1e-3 * scale)
  return float(np.max(np.abs(a - b) / den))


def run_nt(arch, x, dtype, repeat):
  import jax
  import numpy as np
  import nt_reference as R
  import warnings
  _, _, kernel_fn = R.build_stax(arch)
  kernel_fn = jax.jit(kernel_fn, static_argnames=("get",))
  xj = jax.numpy.asarray(x.astype(dtype))
  with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    t0 = time.perf_counter()
    k = kernel_fn(xj, None, ("nngp", "ntk"))
    k[1].block_until_ready()
    first = time.perf_counter() - t0
    best = float("inf")
    for _ in range(repeat):
      t0 = time.perf_counter()
      k = kernel_fn(xj, None, ("nngp", "ntk"))
      k[1].block_until_ready()
      best = min(best, time.perf_counter() - t0)
  return np.asarray(k[0], dtype=np.float64), np.asarray(k[1], dtype=np.float64), first, best


def run_ntk(ntk, arch, x_path, dtype, tmp, threads, repeat):
  """ntk's in-memory time for the NNGP and NTK of x with itself (`ntk bench kernels --arch`), and the kernels."""
  import numpy as np
  out_json = os.path.join(tmp, "ntk.json")
  cmd = [ntk, "bench", "kernels", "--arch", arch, "--x1", x_path, "--dtype", dtype, "--save", tmp, "--json",
         out_json, "--repeat", str(repeat)]
  if threads:
    cmd += ["--threads", str(threads)]
  subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
  with open(out_json) as f:
    report = json.load(f)
  load = lambda name: np.load(os.path.join(tmp, name + ".npy")).astype(np.float64)
  return load("nngp"), load("ntk"), report["entries"][0]["seconds"], report.get("blas", "unknown")


def compare(args):
  import numpy as np
  sys.path.insert(0, HERE)
  ntk = find_ntk(args.ntk)
  results = {"ntk": ntk, "threads": args.threads or os.cpu_count(), "repeat": args.repeat, "cases": []}
  names = set(args.cases.split(",")) if args.cases else None
  print("%-22s %-8s %5s %14s %14s %9s %12s" % ("case", "dtype", "N", "ntk s/entry", "nt s/entry", "speedup",
                                                "max_rel_diff"), flush=True)
  with tempfile.TemporaryDirectory() as tmp:
    for name, arch, shape, quick_n in CASES:
      if names and name not in names:
        continue
      shape = (quick_n,) + tuple(shape[1:]) if args.quick else tuple(shape)
      x = np.random.default_rng(args.seed).standard_normal(shape)
      x_path = os.path.join(tmp, "x.npy")
      np.save(x_path, x)
      n = shape[0]
      for dtype in ("float64", "float32"):
        nt_nngp, nt_ntk, nt_first, nt_s = run_nt(arch, x, np.float64 if dtype == "float64" else np.float32,
                                                   args.repeat)
        k_nngp, k_ntk, k_s, results["ntk_blas"] = run_ntk(ntk, arch, x_path, dtype, tmp, args.threads,
                                                          args.repeat)
        diff = max(max_rel_diff(k_nngp, nt_nngp), max_rel_diff(k_ntk, nt_ntk))
        case = {"name": name, "dtype": dtype, "n": n, "arch": arch, "input_shape": list(shape),
                "ntk_seconds": k_s, "nt_seconds": nt_s, "nt_first_call_seconds": nt_first,
                "ntk_seconds_per_entry": k_s / n / n, "nt_seconds_per_entry": nt_s / n / n,
                "speedup": nt_s / k_s, "max_rel_diff": diff}
        results["cases"].append(case)
        print("%-22s %-8s %5d %14.3e %14.3e %9.1f %12.2e" % (name, dtype, n, case["ntk_seconds_per_entry"],
                                                            case["nt_seconds_per_entry"], case["speedup"], diff),
              flush=True)
  if args.json:
    with open(args.json, "w") as f:
      json.dump(results, f, indent=2)
      f.write("\n")


def main():
  p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
  p.add_argument("--json", help="write the results here")
  p.add_argument("--venv", default=os.environ.get("NTK_BENCH_VENV", DEFAULT_VENV),
                 help="virtual environment with neural-tangents (created when missing); env NTK_BENCH_VENV")
  p.add_argument("--ntk", help="ntk binary (default: build-fast/ntk, build/ntk, or ntk on PATH)")
  p.add_argument("--cases", help="comma-separated subset of: " + ", ".join(c[0] for c in CASES))
  p.add_argument("--threads", type=int, default=0, help="ntk threads (0: all cores)")
  p.add_argument("--seed", type=int, default=0)
  p.add_argument("--repeat", type=int, default=3,
                 help="each tool's time is the least of this many calls after a first, untimed one (default 3)")
  p.add_argument("--quick", action="store_true", help="small N (smoke test)")
  args = p.parse_args()
  venv = os.path.abspath(args.venv)
  inside = os.path.realpath(sys.prefix) == os.path.realpath(venv)
  if not inside:
    py = ensure_venv(venv)
    os.environ.setdefault("JAX_PLATFORMS", "cpu")
    os.execv(py, [py, os.path.abspath(__file__)] + sys.argv[1:])
  os.environ.setdefault("JAX_PLATFORMS", "cpu")
  compare(args)


if __name__ == "__main__":
  main()
