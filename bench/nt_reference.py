#!/usr/bin/env python3
"""Reference NNGP / NTK kernels from neural-tangents for ntk architecture specs.

Translates an ntk architecture string (our layer language) 1:1 into a
neural-tangents ``stax`` network and evaluates its analytic (infinite-width)
kernels in float64.  Needs the pinned environment in
``requirements-neural-tangents.txt`` (neural-tangents 0.6.5 + jax 0.4.23).

Modes
-----
1. Single kernel (used by tests / benchmarks)::

     python nt_reference.py --arch "dense(w_std=1.5, b_std=0.2), relu, dense" \
         --x1 a.npy [--x2 b.npy] --get ntk|nngp [--parameterization ntk|standard] \
         --out K.npy

2. Batch of cases::

     python nt_reference.py --arch-file cases.json --out DIR
       cases.json: [{"name": str, "arch": str, "x1_shape": [..],
                     "x2_shape": [..] (optional, default x1_shape),
                     "seed": int (default 0),
                     "parameterization": "ntk"|"standard" (default "ntk"),
                     "deg": int (optional quadrature degree)}, ...]
       writes DIR/<name>.{x1,x2,nngp,ntk}.npy

     python nt_reference.py --arch-file cases.txt --out DIR
       cases.txt: one case per line, '#' comments, fields separated by '|':
         parameterization | x1 shape | x2 shape | arch [| seed [| deg]]
       e.g.   ntk | 5,7 | 4,7 | dense(w_std=1.5, b_std=0.2), relu, dense
       (empty seed/deg fields mean: seed = i, deg = --deg)
       writes DIR/<i>/{arch.txt, parameterization.txt, x1.npy, x2.npy,
                       nngp.npy, ntk.npy, meta.json}   (i = 0-based line index,
       seed defaults to i).  A failing case writes DIR/<i>/error.txt instead.

3. Importable: ``parse_arch``, ``build_stax``, ``compute_kernels``,
   ``make_inputs``.

Inputs are drawn as ``rng = np.random.default_rng(seed);
x1 = rng.standard_normal(x1_shape); x2 = rng.standard_normal(x2_shape)``
(float64; same generator, x1 first).

Architecture language -> stax mapping
-------------------------------------
  dense(width, w_std=1, b_std=0, trainable=true)
        -> stax.Dense(width, W_std, b_std or None, parameterization=...)
  conv(k, stride=1, pad=same, width=..., w_std=1, b_std=0, trainable=true)
        -> stax.Conv(width, (k,k), (s,s), 'SAME'|'VALID'|'CIRCULAR', ...)
  avgpool(k, stride=1, pad=valid, normalize_edges=false)
        -> stax.AvgPool((k,k), (s,s), PAD, normalize_edges)   [nt defaults]
  gap -> stax.GlobalAvgPool();  flatten -> stax.Flatten();
  layernorm -> stax.LayerNorm()  (axis=-1, channels only; eps=1e-12)
  identity -> stax.Identity()
  relu, leaky_relu(alpha=0.01), abrelu(a, b), abs, erf(a=1,b=1,c=0) [a*erf(bx)+c],
  gelu [exact], sign, sin(a=1,b=1,c=0) [a*sin(bx+c)]  -> analytic stax layers
  tanh, sigmoid, softplus, elu(alpha=1), silu
        -> stax.ElementwiseNumerical(fn, deg=DEG, df=analytic derivative)
  repeat(n, items...)  -> items repeated n times (serial)
  residual(items...)   -> serial(FanOut(2), parallel(Identity(), serial(items)),
                                 FanInSum())
  trainable=false (dense/conv): nt has no flag; emulated exactly by removing the
        layer's own-parameter NTK term: ntk_frozen = ntk(k) - ntk(k with input
        ntk := 0)  (nngp unchanged).

Widths only matter for parameterization='standard' (nt ignores them under
'ntk').  Default hidden width: --default-width (512).  A dense without an
explicit width that is the last top-level layer is the readout (width 1).
b_std=0 (the default) is mapped to nt's b_std=None (no bias); under 'standard'
nt would otherwise add +1 to the NTK for a zero-initialised trainable bias
(override with --zero-bias=zero).
"""

import argparse
import functools
import json
import os
import re
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("JAX_PLATFORMS", "cpu")

import warnings  # noqa: E402

import numpy as np  # noqa: E402
import jax  # noqa: E402

jax.config.update("jax_enable_x64", True)
import jax.numpy as jnp  # noqa: E402

with warnings.catch_warnings():
  warnings.simplefilter("ignore")
  import neural_tangents as nt  # noqa: E402
  from neural_tangents import stax  # noqa: E402

DEFAULT_DEG = 100
DEFAULT_WIDTH = 512
DEFAULT_CONV_PAD = "same"      # our language default
DEFAULT_POOL_PAD = "valid"     # nt default
DEFAULT_POOL_STRIDE = None     # None -> 1 (nt default)

# ---------------------------------------------------------------- parser ----

_TOKEN_RE = re.compile(r"""
    (?P<ws>\s+)
  | (?P<num>[-+]?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?)
  | (?P<id>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<punct>[(),=])
""", re.VERBOSE)


class Node:
  """A layer call: name(args..., key=value...)."""

  def __init__(self, name, args=None, kwargs=None):
    self.name = name
    self.args = args or []
    self.kwargs = kwargs or {}

  def __repr__(self):
    parts = [repr(a) for a in self.args]
    parts += ["%s=%r" % kv for kv in self.kwargs.items()]
    return "%s(%s)" % (self.name, ", ".join(parts)) if parts else self.name


def _tokenize(s):
  pos, out = 0, []
  while pos < len(s):
    m = _TOKEN_RE.match(s, pos)
    if not m:
      raise ValueError("arch parse error at %d: %r" % (pos, s[pos:pos + 20]))
    pos = m.end()
    kind = m.lastgroup
    if kind == "ws":
      continue
    out.append((kind, m.group(kind)))
  out.append(("end", None))
  return out


class _Parser:

  def __init__(self, s):
    self.toks = _tokenize(s)
    self.i = 0

  def peek(self, k=0):
    return self.toks[self.i + k]

  def take(self, kind=None, val=None):
    t = self.toks[self.i]
    if (kind and t[0] != kind) or (val and t[1] != val):
      raise ValueError("arch parse error: expected %s %s, got %r"
                       % (kind, val or "", t[1]))
    self.i += 1
    return t

  def parse_list(self, closing):
    items = []
    while True:
      items.append(self.parse_arg())
      if self.peek()[1] == ",":
        self.take("punct", ",")
        continue
      if self.peek()[0] == closing or self.peek()[1] == closing:
        return items
      raise ValueError("arch parse error near %r" % (self.peek()[1],))

  def parse_arg(self):
    t = self.peek()
    if t[0] == "num":
      self.take()
      v = t[1]
      return float(v) if re.search(r"[.eE]", v) else int(v)
    if t[0] == "id" and self.peek(1)[1] == "=":
      key = self.take("id")[1]
      self.take("punct", "=")
      return ("kw", key, self.parse_arg())
    return self.parse_node()

  def parse_node(self):
    name = self.take("id")[1].lower()
    node = Node(name)
    if self.peek()[1] == "(":
      self.take("punct", "(")
      if self.peek()[1] != ")":
        for a in self.parse_list(")"):
          if isinstance(a, tuple) and a and a[0] == "kw":
            node.kwargs[a[1].lower()] = a[2]
          else:
            if node.kwargs:
              raise ValueError("positional argument after keyword in %s" %
                               name)
            node.args.append(a)
      self.take("punct", ")")
    return node


def parse_arch(s):
  """Parses an architecture string into a list of Nodes."""
  p = _Parser(s)
  items = p.parse_list("end")
  p.take("end")
  for it in items:
    if not isinstance(it, Node):
      raise ValueError("top-level item must be a layer, got %r" % (it,))
  return items


# ------------------------------------------------------------ translator ----

_SCALAR_WORDS = {"true": True, "false": False, "none": None, "same": "same",
                 "valid": "valid", "circular": "circular"}

# positional parameter names per layer (keyword names are the same)
_POSITIONAL = {
    "dense": ["width", "w_std", "b_std"],
    "conv": ["k", "stride", "pad"],
    "avgpool": ["k", "stride", "pad"],
    "leaky_relu": ["alpha"],
    "abrelu": ["a", "b"],
    "erf": ["a", "b", "c"],
    "sin": ["a", "b", "c"],
    "elu": ["alpha"],
}
_EXTRA_KW = {
    "dense": ["trainable"],
    "conv": ["width", "w_std", "b_std", "trainable"],
    "avgpool": ["normalize_edges"],
}
_ALIASES = {"leakyrelu": "leaky_relu", "layer_norm": "layernorm",
            "global_avg_pool": "gap", "globalavgpool": "gap",
            "avg_pool": "avgpool", "swish": "silu", "id": "identity"}


def _scalar(v):
  if isinstance(v, Node):
    if v.args or v.kwargs or v.name not in _SCALAR_WORDS:
      raise ValueError("expected a scalar, got %r" % (v,))
    return _SCALAR_WORDS[v.name]
  return v


def _params(node):
  names = _POSITIONAL.get(node.name, [])
  allowed = set(names) | set(_EXTRA_KW.get(node.name, []))
  if len(node.args) > len(names):
    raise ValueError("too many positional args for %s" % node.name)
  out = {n: _scalar(a) for n, a in zip(names, node.args)}
  for k, v in node.kwargs.items():
    if k == "std":
      k = "w_std"
    if k not in allowed:
      raise ValueError("unknown argument %r for %s" % (k, node.name))
    if k in out:
      raise ValueError("argument %r given twice for %s" % (k, node.name))
    out[k] = _scalar(v)
  return out


def _numerical(name, alpha=1.0):
  sig = jax.nn.sigmoid
  if name == "tanh":
    fn, df = jnp.tanh, lambda x: 1. - jnp.tanh(x)**2
  elif name == "sigmoid":
    fn, df = sig, lambda x: sig(x) * (1. - sig(x))
  elif name == "softplus":
    fn, df = jax.nn.softplus, sig
  elif name == "silu":
    fn = lambda x: x * sig(x)
    df = lambda x: sig(x) * (1. + x * (1. - sig(x)))
  elif name == "elu":
    fn = lambda x: jnp.where(x > 0, x, alpha * jnp.expm1(jnp.minimum(x, 0.)))
    df = lambda x: jnp.where(x > 0, 1., alpha * jnp.exp(jnp.minimum(x, 0.)))
  else:
    raise ValueError(name)
  return fn, df


def _frozen(layer):
  """Same layer, but its own parameters do not contribute to the NTK."""
  init_fn, apply_fn, kernel_fn = layer

  @functools.wraps(kernel_fn)  # copies nt's `input_req` attributes
  def frozen_kernel_fn(k, **kwargs):
    full = kernel_fn(k, **kwargs)
    if k.ntk is None:
      return full
    own = kernel_fn(k.replace(ntk=jnp.zeros_like(k.ntk)), **kwargs)
    return full.replace(ntk=full.ntk - own.ntk)

  return init_fn, apply_fn, frozen_kernel_fn


class _Ctx:

  def __init__(self, parameterization, deg, default_width, zero_bias):
    self.parameterization = parameterization
    self.deg = deg
    self.default_width = default_width
    self.zero_bias = zero_bias

  def bias(self, b):
    b = 0. if b is None else float(b)
    if b == 0. and self.zero_bias == "none":
      return None
    return b


def _build_items(nodes, ctx, top_level=False):
  layers = []
  for idx, node in enumerate(nodes):
    if not isinstance(node, Node):
      raise ValueError("expected a layer, got %r" % (node,))
    is_last = top_level and idx == len(nodes) - 1
    layers.append(_build_node(node, ctx, is_last))
  return layers


def _build_node(node, ctx, is_last):
  name = _ALIASES.get(node.name, node.name)
  node = Node(name, node.args, node.kwargs)

  if name == "repeat":
    if not node.args or not isinstance(node.args[0], int):
      raise ValueError("repeat(n, items...) needs an integer count")
    if node.kwargs:
      raise ValueError("repeat takes no keyword arguments")
    n, items = node.args[0], node.args[1:]
    body = _build_items(items, ctx)
    return stax.serial(*(body * n))

  if name == "residual":
    if node.kwargs:
      raise ValueError("residual takes no keyword arguments")
    body = _build_items(node.args, ctx)
    return stax.serial(stax.FanOut(2),
                       stax.parallel(stax.Identity(), stax.serial(*body)),
                       stax.FanInSum())

  if name in _PRESETS:
    return _build_preset(node, ctx)

  p = _params(node)
  par = ctx.parameterization

  if name == "dense":
    width = p.get("width")
    if width is None:
      width = 1 if is_last else ctx.default_width
    layer = stax.Dense(int(width), W_std=float(p.get("w_std", 1.)),
                       b_std=ctx.bias(p.get("b_std")), parameterization=par)
    return layer if p.get("trainable", True) else _frozen(layer)

  if name == "conv":
    k = int(p["k"])
    s = int(p.get("stride") or 1)
    pad = (p.get("pad") or DEFAULT_CONV_PAD).upper()
    width = int(p.get("width") or ctx.default_width)
    layer = stax.Conv(width, (k, k), strides=(s, s), padding=pad,
                      W_std=float(p.get("w_std", 1.)),
                      b_std=ctx.bias(p.get("b_std")), parameterization=par)
    return layer if p.get("trainable", True) else _frozen(layer)

  if name == "avgpool":
    k = int(p["k"])
    s = p.get("stride", DEFAULT_POOL_STRIDE)
    strides = None if s is None else (int(s), int(s))
    pad = (p.get("pad") or DEFAULT_POOL_PAD).upper()
    return stax.AvgPool((k, k), strides=strides, padding=pad,
                        normalize_edges=bool(p.get("normalize_edges", False)))

  simple = {
      "gap": stax.GlobalAvgPool, "flatten": stax.Flatten,
      "layernorm": stax.LayerNorm, "identity": stax.Identity,
      "relu": stax.Relu, "abs": stax.Abs, "sign": stax.Sign,
  }
  if name in simple:
    return simple[name]()
  if name == "leaky_relu":
    return stax.LeakyRelu(float(p.get("alpha", 0.01)))
  if name == "abrelu":
    return stax.ABRelu(float(p["a"]), float(p["b"]))
  if name == "erf":
    return stax.Erf(float(p.get("a", 1.)), float(p.get("b", 1.)),
                    float(p.get("c", 0.)))
  if name == "sin":
    return stax.Sin(float(p.get("a", 1.)), float(p.get("b", 1.)),
                    float(p.get("c", 0.)))
  if name == "gelu":
    return stax.Gelu(approximate=False)
  if name in ("tanh", "sigmoid", "softplus", "silu", "elu"):
    fn, df = _numerical(name, float(p.get("alpha", 1.)))
    with warnings.catch_warnings():
      warnings.simplefilter("ignore")
      return stax.ElementwiseNumerical(fn, deg=ctx.deg, df=df)
  raise ValueError("unknown layer %r" % name)


# Presets of our language (ntk::arch_presets), built here from their published definitions rather than from
# our expansion, so that the reference checks the expansion too. Myrtle as neural-tangents' MyrtleNetwork
# example (Shankar et al. 2020): conv stages of (2, 1, 1), (2, 2, 2), (3, 3, 3) with 2x2 average pools between
# them and three 2x2 pools at the end (= our avgpool(8, stride=8) on the 8x8 map of 32x32 inputs).
_MYRTLE = {"myrtle5": (2, 1, 1), "myrtle7": (2, 2, 2), "myrtle10": (3, 3, 3)}
_PRESETS = set(_MYRTLE) | {"cntk_v", "cntk_gap"}


def _build_preset(node, ctx):
  par, w = ctx.parameterization, float(np.sqrt(2.0))

  def conv(trainable=True):
    layer = stax.Conv(ctx.default_width, (3, 3), padding="SAME", W_std=w, b_std=None, parameterization=par)
    return layer if trainable else _frozen(layer)

  def readout(trainable=True):
    layer = stax.Dense(1, W_std=w, b_std=None, parameterization=par)
    return layer if trainable else _frozen(layer)

  if node.name in _MYRTLE:
    if node.args or node.kwargs:
      raise ValueError("%s takes no arguments" % node.name)
    layers = []
    for stage, n in enumerate(_MYRTLE[node.name]):
      layers += [conv(), stax.Relu()] * n
      layers += [stax.AvgPool((2, 2), strides=(2, 2))] * (1 if stage < 2 else 3)
    return stax.serial(*layers, stax.Flatten(), readout())
  d = node.args[0] if node.args else node.kwargs.get("d")
  if not isinstance(d, int):
    raise ValueError("%s(d) needs an integer depth" % node.name)
  if node.name == "cntk_v":
    return stax.serial(*([conv(), stax.Relu()] * d), stax.Flatten(), readout())
  return stax.serial(conv(False), stax.Relu(), *([conv(), stax.Relu()] * (d - 1)), stax.GlobalAvgPool(),
                     readout(False))


def build_stax(arch, parameterization="ntk", deg=DEFAULT_DEG,
               default_width=DEFAULT_WIDTH, zero_bias="none"):
  """Returns nt's (init_fn, apply_fn, kernel_fn) for an arch string."""
  if parameterization not in ("ntk", "standard"):
    raise ValueError("parameterization must be ntk or standard")
  ctx = _Ctx(parameterization, deg, default_width, zero_bias)
  nodes = parse_arch(arch) if isinstance(arch, str) else arch
  return stax.serial(*_build_items(nodes, ctx, top_level=True))


def compute_kernels(arch, x1, x2=None, parameterization="ntk",
                    get=("nngp", "ntk"), deg=DEFAULT_DEG,
                    default_width=DEFAULT_WIDTH, zero_bias="none"):
  """Returns {name: np.ndarray(float64)} for the names in `get`."""
  _, _, kernel_fn = build_stax(arch, parameterization, deg, default_width,
                               zero_bias)
  x1 = jnp.asarray(np.asarray(x1, dtype=np.float64))
  x2 = None if x2 is None else jnp.asarray(np.asarray(x2, dtype=np.float64))
  get = (get,) if isinstance(get, str) else tuple(get)
  with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    k = kernel_fn(x1, x2, get)
  if not isinstance(k, tuple):  # nt returns a (named)tuple for tuple `get`
    k = (k,)
  assert len(k) == len(get), (len(k), get)
  return {g: np.asarray(v, dtype=np.float64) for g, v in zip(get, k)}


def make_inputs(seed, x1_shape, x2_shape=None):
  rng = np.random.default_rng(seed)
  x1 = rng.standard_normal(tuple(x1_shape))
  x2 = rng.standard_normal(tuple(x2_shape or x1_shape))
  return x1, x2


# ------------------------------------------------------------------ CLI ----

def _shape(s):
  return tuple(int(v) for v in re.split(r"[,x\s]+", s.strip()) if v)


def _read_cases(path):
  if path.endswith(".json"):
    with open(path) as f:
      cases = json.load(f)
    out = []
    for c in cases:
      arch = c.get("arch", c.get("layers"))
      out.append(dict(name=c["name"], arch=arch,
                      x1_shape=tuple(c.get("x1_shape", c.get("x1"))),
                      x2_shape=tuple(c.get("x2_shape") or
                                     c.get("x1_shape", c.get("x1"))),
                      seed=int(c.get("seed", 0)),
                      parameterization=c.get("parameterization", "ntk"),
                      deg=c.get("deg"), txt=False))
    return out
  out = []
  with open(path) as f:
    lines = [l.strip() for l in f]
  lines = [l for l in lines if l and not l.startswith("#")]
  for i, line in enumerate(lines):
    fields = [x.strip() for x in line.split("|")]
    if len(fields) not in (4, 5, 6):
      raise ValueError("bad case line %d: %r" % (i, line))
    seed = fields[4] if len(fields) >= 5 else ""
    deg = fields[5] if len(fields) == 6 else ""
    out.append(dict(name=str(i), arch=fields[3], x1_shape=_shape(fields[1]),
                    x2_shape=_shape(fields[2]), parameterization=fields[0],
                    seed=int(seed) if seed else i,
                    deg=int(deg) if deg else None, txt=True))
  return out


def _run_cases(args):
  cases = _read_cases(args.arch_file)
  if args.only:
    keep = set(args.only.split(","))
    cases = [c for c in cases if c["name"] in keep]
  os.makedirs(args.out, exist_ok=True)
  n_fail = 0
  for c in cases:
    deg = c["deg"] or args.deg
    x1, x2 = make_inputs(c["seed"], c["x1_shape"], c["x2_shape"])
    if c["txt"]:
      d = os.path.join(args.out, c["name"])
      os.makedirs(d, exist_ok=True)
      for fn in ("error.txt", "nngp.npy", "ntk.npy"):
        if os.path.exists(os.path.join(d, fn)):
          os.remove(os.path.join(d, fn))
      path = lambda what, ext="npy": os.path.join(d, "%s.%s" % (what, ext))
      with open(path("arch", "txt"), "w") as f:
        f.write(c["arch"] + "\n")
      with open(path("parameterization", "txt"), "w") as f:
        f.write(c["parameterization"] + "\n")
    else:
      path = lambda what, ext="npy": os.path.join(
          args.out, "%s.%s.%s" % (c["name"], what, ext))
    np.save(path("x1"), x1)
    np.save(path("x2"), x2)
    try:
      k = compute_kernels(c["arch"], x1, x2, c["parameterization"],
                          ("nngp", "ntk"), deg, args.default_width,
                          args.zero_bias)
    except Exception as e:  # pylint: disable=broad-except
      n_fail += 1
      msg = "%s: %s" % (type(e).__name__, e)
      print("FAIL %s [%s] %s\n     %s" % (c["name"], c["parameterization"],
                                         c["arch"], msg), flush=True)
      with open(path("error", "txt"), "w") as f:
        f.write(msg + "\n")
      continue
    np.save(path("nngp"), k["nngp"])
    np.save(path("ntk"), k["ntk"])
    meta = dict(arch=c["arch"], parameterization=c["parameterization"],
                seed=c["seed"], x1_shape=list(c["x1_shape"]),
                x2_shape=list(c["x2_shape"]), deg=deg,
                default_width=args.default_width, zero_bias=args.zero_bias,
                neural_tangents=nt.__version__, jax=jax.__version__)
    with open(path("meta", "json"), "w") as f:
      json.dump(meta, f, indent=1)
    print("ok   %s [%s] %s  nngp%s ntk%s" % (
        c["name"], c["parameterization"], c["arch"], k["nngp"].shape,
        k["ntk"].shape), flush=True)
  print("%d cases, %d failed" % (len(cases), n_fail))
  return 1 if n_fail else 0


def main(argv=None):
  ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
  ap.add_argument("--arch", help="architecture string (single-kernel mode)")
  ap.add_argument("--arch-file", help="cases .json or .txt (batch mode)")
  ap.add_argument("--x1", help=".npy input (single-kernel mode)")
  ap.add_argument("--x2", help="optional second .npy input")
  ap.add_argument("--get", default="ntk", choices=["ntk", "nngp"])
  ap.add_argument("--parameterization", default="ntk",
                  choices=["ntk", "standard"])
  ap.add_argument("--deg", type=int, default=DEFAULT_DEG,
                  help="Gauss-Hermite degree for tanh/sigmoid/softplus/elu/"
                  "silu (default %(default)s)")
  ap.add_argument("--default-width", type=int, default=DEFAULT_WIDTH,
                  help="hidden width when not given (matters only for "
                  "standard parameterization)")
  ap.add_argument("--zero-bias", choices=["none", "zero"], default="none",
                  help="map b_std=0 to nt b_std=None (no bias) or to a "
                  "zero-variance trainable bias (+1 NTK term in standard)")
  ap.add_argument("--out", required=True, help="output .npy or directory")
  ap.add_argument("--only", help="batch mode: only these case names (comma-separated, e.g. 30,31)")
  args = ap.parse_args(argv)

  if args.arch_file:
    return _run_cases(args)
  if not (args.arch and args.x1):
    ap.error("need --arch and --x1 (or --arch-file)")
  x1 = np.load(args.x1)
  x2 = np.load(args.x2) if args.x2 else None
  k = compute_kernels(args.arch, x1, x2, args.parameterization, (args.get,),
                      args.deg, args.default_width, args.zero_bias)[args.get]
  np.save(args.out, k)
  return 0


if __name__ == "__main__":
  sys.exit(main())
