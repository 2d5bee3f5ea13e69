// Every pointwise nonlinearity, by kind: the lists below say which header holds each one's math. A closed
// form (one header each: act_abrelu.h, act_erf.h, act_gelu.h, act_sign.h, act_sin.h) provides
//   Consts<T> + prepare(ActParams, Consts<T>&)  its constants, computed once per step;
//   f, df                                       the function and its derivative (finite networks);
//   map<S>(consts, c, t, with_ntk, x1, x2)      Σ' = E[φ(u)φ(v)], Θ' = Θ·E[φ'(u)φ'(v)] on lanes S;
// the others (act_smooth.h) fdf<S> (φ and φ' on lanes), f, df and their quadrature settings; their sums are
// math/act_quadrature.h, on lanes too. Adding a closed-form activation is its
// header, one line in NTK_CLOSED_FORM_ACTIVATIONS and its registry entry (src/layers/activations.cpp); every
// engine that includes this header then runs it (tests/layers/test_layer_registry.cpp checks that).
#pragma once

#include "layers/math/act_abrelu.h"
#include "layers/math/act_erf.h"
#include "layers/math/act_gelu.h"
#include "layers/math/act_quadrature.h"
#include "layers/math/act_sign.h"
#include "layers/math/act_sin.h"
#include "layers/math/act_smooth.h"

namespace ntk::math {
inline namespace NTK_ISA {

// X(kind, type, member): the closed forms.
#define NTK_CLOSED_FORM_ACTIVATIONS(X) \
  X(kABRelu, ABReluAct, abrelu)        \
  X(kErf, ErfAct, erf)                 \
  X(kGelu, GeluAct, gelu)              \
  X(kSign, SignAct, sign)              \
  X(kSin, SinAct, sin)

// X(kind, type): activations computed by quadrature.
#define NTK_QUADRATURE_ACTIVATIONS(X) \
  X(kTanh, TanhAct)                   \
  X(kSigmoid, SigmoidAct)             \
  X(kSoftplus, SoftplusAct)           \
  X(kSilu, SiluAct)                   \
  X(kElu, EluAct)

NTK_HD inline bool is_closed_form(ActKind kind) {
  switch (kind) {
#define NTK_X(kind, type, member) \
  case ActKind::kind:             \
    return true;
    NTK_CLOSED_FORM_ACTIVATIONS(NTK_X)
#undef NTK_X
    default:
      return false;
  }
}

// The constants of one closed-form activation step, for scalars of type T.
template <class T>
struct ActConsts {
  ActKind kind;
  union {
#define NTK_X(kind, type, member) typename type::template Consts<T> member;
    NTK_CLOSED_FORM_ACTIVATIONS(NTK_X)
#undef NTK_X
  };
};

template <class T>
NTK_HD inline ActConsts<T> activation_consts(const ActParams& p) {
  ActConsts<T> k;
  k.kind = p.kind;
  switch (p.kind) {
#define NTK_X(kind, type, member)           \
  case ActKind::kind:                       \
    type::template prepare<T>(p, k.member); \
    break;
    NTK_CLOSED_FORM_ACTIVATIONS(NTK_X)
#undef NTK_X
    default:
      break;
  }
  return k;
}

// The map of a closed-form activation on lanes S: c, t (Σ and Θ of the pair) are replaced by the output's.
template <class S>
NTK_HD inline void activation_map(const ActConsts<typename S::Scalar>& k, typename S::V& c, typename S::V& t,
                                  bool with_ntk, const SelfLanes<S>& x1, const SelfLanes<S>& x2) {
  switch (k.kind) {
#define NTK_X(kind, type, member)                            \
  case ActKind::kind:                                        \
    type::template map<S>(k.member, c, t, with_ntk, x1, x2); \
    break;
    NTK_CLOSED_FORM_ACTIVATIONS(NTK_X)
#undef NTK_X
    default:
      break;
  }
}

// φ(x) and φ'(x) of any activation (finite networks).
NTK_HD inline double activation_f(const ActParams& p, double x) {
  switch (p.kind) {
#define NTK_X(kind, type, ...) \
  case ActKind::kind:          \
    return type::f(p, x);
    NTK_CLOSED_FORM_ACTIVATIONS(NTK_X)
    NTK_QUADRATURE_ACTIVATIONS(NTK_X)
#undef NTK_X
  }
  return 0;
}

NTK_HD inline double activation_df(const ActParams& p, double x) {
  switch (p.kind) {
#define NTK_X(kind, type, ...) \
  case ActKind::kind:          \
    return type::df(p, x);
    NTK_CLOSED_FORM_ACTIVATIONS(NTK_X)
    NTK_QUADRATURE_ACTIVATIONS(NTK_X)
#undef NTK_X
  }
  return 0;
}

}  // namespace NTK_ISA
}  // namespace ntk::math
