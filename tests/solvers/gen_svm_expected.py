#!/usr/bin/env python3
"""Generates the scikit-learn reference values embedded in test_svm_select.cpp (run once at test-authoring time).

The data and kernel are defined by closed formulas that the C++ test reproduces exactly:
  x[i][j] = 1.5 sin(0.7 (i+1)(j+1) + 0.3 j) + 0.2 cos(1.9 i),   i < 51, j < 3
  label   = floor((x0 + 0.5 x1 + 3) * 1.1) mod 3  (binary set: mod 2)
  K(a, b) = exp(-|a - b|^2 / 2) + 0.3 a.b / 3
rows 0..35 train, 36..50 test.
"""
import math

import numpy as np
from sklearn.svm import SVC

N, NTR, D = 51, 36, 3
x = np.array([[1.5 * math.sin(0.7 * (i + 1) * (j + 1) + 0.3 * j) + 0.2 * math.cos(1.9 * i) for j in range(D)]
              for i in range(N)])
lab3 = np.array([int(math.floor((r[0] + 0.5 * r[1] + 3) * 1.1)) % 3 for r in x])
lab2 = lab3 % 2
sq = ((x[:, None, :] - x[None, :, :]) ** 2).sum(-1)
K = np.exp(-sq / 2) + 0.3 * x @ x.T / D
tr, te = np.arange(NTR), np.arange(NTR, N)


def arr(v, fmt="%d"):
    return "{" + ", ".join(fmt % e for e in v) + "}"


for name, lab in (("kThree", lab3), ("kTwo", lab2)):
    for C in (0.1, 1.0, 10.0, 1000.0):
        m = SVC(kernel="precomputed", C=C).fit(K[np.ix_(tr, tr)], lab[tr])
        print("// %s C=%g n_support=%d" % (name, C, m.support_.size))
        print("{%s, %g, %d, %s, %s}," % (name, C, m.support_.size, arr(m.predict(K[np.ix_(te, tr)])),
                                         arr(m.predict(K[np.ix_(tr, tr)]))))
m = SVC(kernel="precomputed", C=1.0, decision_function_shape="ovo").fit(K[np.ix_(tr, tr)], lab3[tr])
print("// ovo decision values, 3 classes, C=1, first 4 test rows")
print(arr(m.decision_function(K[np.ix_(te, tr)])[:4].ravel(), "%.10f"))
