// Gaussian expectations by quadrature, for the activations without a closed form (math/act_smooth.h) and for
// the tests of the closed forms: E[φ(u)φ(v)] and E[φ'(u)φ'(v)] for (u, v) ~ N(0, [[v1, c], [c, v2]]).
//
// In whitened coordinates u = s1 z1, v = a z1 + b z2 (s1 = sqrt(v1), a = c / s1, b = sqrt(v2 - a²)):
//   - smooth φ: the n x n tensor Gauss–Hermite rule, Σ_i w_i φ(u_i) Σ_j w_j φ(a z_i + b z_j);
//   - φ with kinks at 0 (elu): polar coordinates z = r (cos t, sin t), Gauss–Legendre in t over the sectors
//     between the kink lines u = 0 and v = 0 (where the integrand is smooth) and in r on [0, 12] (the
//     Gaussian tail beyond is below 1e-31).
// The inner sums (over j, over the radial nodes) run on lanes S: ScalarLanes<double> in the reference engine,
// the fast engines' double vectors (one pair at a time: the order depends on the pair's variances). The rules
// come as pointers and counts (src/layers/quadrature.h computes and caches them); vector lanes read whole
// vectors, so the arrays must continue with zeros (weight 0 adds nothing) up to the count rounded up to S::W.
// The two inputs are taken in a fixed order (the smaller variance first), so that the result is symmetric in
// them bit for bit. φ and φ' come from `act.template fdf<L>(x, f, df)` on lanes L (S, and ScalarLanes<double>
// for the outer nodes).
#pragma once

#include "layers/math/lanes.h"

namespace ntk::math {
inline namespace NTK_ISA {

// Orders: Gauss–Hermite converges like exp(-d sqrt(2n)) for integrands analytic in a strip of half-width d;
// in the whitened coordinates d = pole_distance / sqrt(max variance). The order is chosen for exp(-23) ≈
// 1e-10 (accuracy 1e-8 relative, tested), within [kMinHermiteOrder, kMaxHermiteOrder]. Kinked activations use
// kPolarOrder radial nodes and polar_angle_order(kPolarOrder) angles per sector.
constexpr int kMinHermiteOrder = 32;
constexpr int kMaxHermiteOrder = 400;
constexpr int kPolarOrder = 64;

NTK_HD inline int gauss_hermite_order(double pole_distance, double v1, double v2) {
  double m = v1;
  if (m < v2) m = v2;
  if (m < 1e-12) m = 1e-12;
  const double d = pole_distance / ::sqrt(m);
  const double n = ::ceil(0.5 * (23.0 / d) * (23.0 / d));
  if (!(n > kMinHermiteOrder)) return kMinHermiteOrder;
  return n > kMaxHermiteOrder ? kMaxHermiteOrder : static_cast<int>(n);
}

NTK_HD inline int polar_angle_order(int order) {
  return order / 2 > 8 ? order / 2 : 8;
}

// The whitening of the pair, the smaller variance first.
NTK_HD inline void whiten(double v1, double v2, double c, double& s1, double& a, double& b) {
  if (v2 < v1) {
    const double t = v1;
    v1 = v2;
    v2 = t;
  }
  s1 = ::sqrt(v1 < 0 ? 0.0 : v1);
  a = s1 > 0 ? c / s1 : 0.0;
  const double r = v2 - a * a;
  b = ::sqrt(r < 0 ? 0.0 : r);
}

// Gauss–Hermite: n probabilists' nodes z and weights w (summing to 1).
template <class S, class F>
NTK_HD inline void gauss_hermite_expectations(const F& act, const double* z, const double* w, int n,
                                              double v1, double v2, double c, double& e_ff, double& e_dd) {
  using L = ScalarLanes<double>;
  using V = typename S::V;
  double s1, a, b;
  whiten(v1, v2, c, s1, a, b);
  const V vb = S::set1(b);
  double ff = 0, dd = 0;
  for (int i = 0; i < n; ++i) {
    double fu, du;
    act.template fdf<L>(s1 * z[i], fu, du);
    const V au = S::set1(a * z[i]);
    V sf = S::zero(), sd = S::zero();
    for (int j = 0; j < n; j += S::W) {
      const V wj = S::load(w + j);
      V fv, dv;
      act.template fdf<S>(S::mul_add(vb, S::load(z + j), au), fv, dv);
      sf = S::mul_add(wj, fv, sf);
      sd = S::mul_add(wj, dv, sd);
    }
    ff += w[i] * fu * S::sum(sf);
    dd += w[i] * du * S::sum(sd);
  }
  e_ff = ff;
  e_dd = dd;
}

// Polar Gauss–Legendre: nt angle nodes t and weights tw on [-1, 1]; nr radii r on [0, 12] with weights wr
// that include the radial density r e^{-r²/2}.
template <class S, class F>
NTK_HD inline void polar_expectations(const F& act, const double* t, const double* tw, int nt,
                                      const double* r, const double* wr, int nr, double v1, double v2,
                                      double c, double& e_ff, double& e_dd) {
  using V = typename S::V;
  constexpr double kPi = 3.141592653589793;
  double s1, a, b;
  whiten(v1, v2, c, s1, a, b);
  // The kink lines: u = 0 at t = π/2, 3π/2; v = 0 where a cos t + b sin t = 0. Sorted, with 0 and 2π.
  const double t0 = ::atan2(-a, b);
  double br[6] = {0.5 * kPi, 1.5 * kPi, ::fmod(t0 + 4 * kPi, 2 * kPi), ::fmod((t0 + kPi) + 4 * kPi, 2 * kPi),
                  0.0,       2 * kPi};
  for (int k = 1; k < 5; ++k)
    for (int q = k; q > 0 && br[q] < br[q - 1]; --q) {
      const double x = br[q];
      br[q] = br[q - 1];
      br[q - 1] = x;
    }
  double ff = 0, dd = 0;
  for (int k = 0; k < 5; ++k) {
    const double lo = br[k], hi = br[k + 1];
    if (hi - lo < 1e-15) continue;
    const double half = 0.5 * (hi - lo), mid = 0.5 * (hi + lo);
    for (int i = 0; i < nt; ++i) {
      const double th = half * t[i] + mid, wt = half * tw[i];
      const double ct = ::cos(th), st = ::sin(th);
      const V p = S::set1(s1 * ct), q = S::set1(a * ct + b * st);
      V sf = S::zero(), sd = S::zero();
      for (int j = 0; j < nr; j += S::W) {
        const V rj = S::load(r + j), wj = S::load(wr + j);
        V fu, du, fv, dv;
        act.template fdf<S>(p * rj, fu, du);
        act.template fdf<S>(q * rj, fv, dv);
        sf = S::mul_add(wj, fu * fv, sf);
        sd = S::mul_add(wj, du * dv, sd);
      }
      ff += wt * S::sum(sf);
      dd += wt * S::sum(sd);
    }
  }
  e_ff = ff / (2 * kPi);
  e_dd = dd / (2 * kPi);
}

}  // namespace NTK_ISA
}  // namespace ntk::math
