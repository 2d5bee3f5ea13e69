"""Reproduce the equivalence figure: finite networks trained by gradient descent converge to the exact NTK.

    python examples/equivalence_plot.py [out.png] [--quick]

Defaults are those of `ntk equivalence` (3-hidden-layer ReLU network, widths 64..2048, 3 seeds, 128 Fashion-MNIST
images T-shirt vs trouser); --quick uses fewer widths for a run of a few seconds.
"""

import sys

import matplotlib

matplotlib.use("Agg")

import ntk  # noqa: E402

out = next((a for a in sys.argv[1:] if not a.startswith("--")), "equivalence.png")
opts = dict(widths=[32, 128, 512], seeds=2, kernel_seeds=4) if "--quick" in sys.argv else {}
result = ntk.equivalence(log=print, **opts)
for name in ("kernel_init_dev", "pred_gap"):
    print(f"{name}: {result[name]}  slope {result['slopes'][name]:+.2f}")
ntk.plot.equivalence(result, out)
print("wrote", out)
