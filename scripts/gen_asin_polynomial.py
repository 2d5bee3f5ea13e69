#!/usr/bin/env python3
"""Coefficients of the asin polynomial used by the fast kernel engines (src/kernel/fast_math.h).

asin(u) = u + u·w·P(w) with w = u² ∈ [0, 1/4] (|ρ| ≤ 1/2) or, through acos(ρ) = 2·asin(sqrt((1-ρ)/2)), with
w = (1-|ρ|)/2 ∈ [0, 1/4]. P interpolates f(w) = (asin(√w)/√w - 1)/w at the Chebyshev nodes of [0, 1/4], in 60
significant digits (mpmath), and is written in monomials, lowest degree first. The script prints, per degree,
the largest relative error of P with double-rounded coefficients on a fine grid; u·w·P is at most 0.05·u, so a
relative error e of P moves asin by at most 0.05·e relative.

    python3 scripts/gen_asin_polynomial.py 11 4     # the degrees used for float64 and float32
"""
import sys

import mpmath as mp

mp.mp.dps = 60
LO, HI = mp.mpf(0), mp.mpf(1) / 4


def f(w):
  if w == 0:
    return mp.mpf(1) / 6
  s = mp.sqrt(w)
  return (mp.asin(s) / s - 1) / w


def fit(n):
  xs = [(LO + HI) / 2 + (HI - LO) / 2 * mp.cos(mp.pi * (k + mp.mpf(1) / 2) / (n + 1)) for k in range(n + 1)]
  a = mp.matrix([[x**j for j in range(n + 1)] for x in xs])
  c = mp.lu_solve(a, mp.matrix([f(x) for x in xs]))
  return [c[j] for j in range(n + 1)]


def max_rel_error(coeffs, points=4000):
  err = 0
  for k in range(points + 1):
    w = HI * k / points
    p = mp.mpf(0)
    for v in reversed(coeffs):
      p = p * w + mp.mpf(v)
    err = max(err, abs(p / f(w) - 1))
  return err


for degree in [int(a) for a in sys.argv[1:]] or [11, 4]:
  coeffs = [float(v) for v in fit(degree)]
  print("degree %d: max relative error of P %s" % (degree, mp.nstr(max_rel_error(coeffs), 3)))
  print("  {" + ", ".join(repr(v) for v in coeffs) + "}")
