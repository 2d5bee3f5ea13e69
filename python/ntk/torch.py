"""PyTorch twins of ntk architectures, the architecture of a PyTorch model, and empirical NTKs by autograd.

- :func:`network` builds the finite network of an architecture string as an ``nn.Module`` (ntk's layers and
  initialisation laws, float64 by default); :func:`from_network` builds the twin of an :class:`ntk.Network`
  with the same parameters, exactly.
- :func:`to_arch` turns an ``nn.Sequential`` of Linear / Conv2d / activations / AvgPool2d /
  AdaptiveAvgPool2d(1) / Flatten / LayerNorm (and :class:`Residual` blocks) into ``(arch, parameterization)``
  whose ``ntk.kernels`` is its infinite-width limit.
- :func:`empirical_ntk` (``torch.func``) and :func:`monte_carlo_kernels` give a finite network's kernels.

Layout. ntk's images are channels-last (N, H, W, C); PyTorch's are (N, C, H, W). The twins take PyTorch's
NCHW (``layout="NCHW"``, the default) or ntk's NHWC (``layout="NHWC"``); inside they run NCHW. Weights are
stored as in ntk: a dense weight is (in, out) and y = x·W; a conv weight is PyTorch's (out, in, k, k), which
is ntk's HWIO (rows ordered (dy, dx, c)) transposed. ``flatten`` flattens in ntk's (H, W, C) order, so the
readout after it has ntk's parameter layout. :func:`nchw` / :func:`nhwc` convert inputs.

Parameterizations (docs/architecture.md, src/layers/dense.cpp, conv.cpp): ``"ntk"``: y = (w_std/√fan_in)·x·W
+ b_std·b with W, b ~ N(0, 1); ``"standard"``: y = x·W + b with W ~ N(0, w_std²/fan_in), b ~ N(0, b_std²);
``"mup"`` (maximal update, docs/feature-learning.md): multipliers and initial stds by the layer's place (input
layer, hidden, readout), from ntk's own table (``ntk/layer.h``, ``affine_scaling``). fan_in is the input channels
(dense) or k·k·C_in (conv); ``b_std=0`` means no bias.
"""

from __future__ import annotations

import math
import re
from typing import Any, Dict, Iterator, List, NamedTuple, Optional, Sequence, Tuple

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

import ntk as _ntk

__all__ = [
    "Dense",
    "Conv",
    "AvgPool",
    "GlobalAvgPool",
    "Flatten",
    "LayerNorm",
    "Residual",
    "Erf",
    "ABReLU",
    "Sign",
    "Sin",
    "Activation",
    "Twin",
    "network",
    "from_network",
    "load_ntk_params",
    "ntk_params",
    "to_arch",
    "TorchArch",
    "empirical_ntk",
    "monte_carlo_kernels",
    "nchw",
    "nhwc",
]

_LN_EPS = 1e-12  # src/layers/normalization.cpp


def nchw(x: Any) -> torch.Tensor:
    """(N, H, W, C) ntk images -> (N, C, H, W) PyTorch images (a view; vectors unchanged)."""
    t = torch.as_tensor(np.asarray(x)) if not isinstance(x, torch.Tensor) else x
    return t.permute(0, 3, 1, 2) if t.dim() == 4 else t


def nhwc(x: Any) -> torch.Tensor:
    """(N, C, H, W) PyTorch images -> (N, H, W, C) ntk images (a view; vectors unchanged)."""
    t = torch.as_tensor(np.asarray(x)) if not isinstance(x, torch.Tensor) else x
    return t.permute(0, 2, 3, 1) if t.dim() == 4 else t


def _window(n: int, k: int, s: int, pad: str) -> Tuple[int, int, int]:
    """(out, pad_lo, pad_hi) of ntk's windows (src/layers/common.cpp; JAX's SAME: the smaller half first)."""
    if pad == "valid":
        return (n - k) // s + 1 if n >= k else 0, 0, 0
    out = (n + s - 1) // s
    total = max((out - 1) * s + k - n, 0)
    return out, total // 2, total - total // 2


def _pad(x: torch.Tensor, k: int, s: int, pad: str) -> torch.Tensor:
    if pad == "valid":
        return x
    _, hl, hh = _window(x.shape[2], k, s, pad)
    _, wl, wh = _window(x.shape[3], k, s, pad)
    if hl == hh == wl == wh == 0:
        return x
    return F.pad(x, (wl, wh, hl, hh), mode="circular" if pad == "circular" else "constant")


def _normal(shape: Sequence[int], std: float, gen: Optional[torch.Generator], dtype: torch.dtype) -> torch.Tensor:
    return torch.randn(*shape, generator=gen, dtype=dtype) * std


class _Affine(nn.Module):
    def _init(self, w_shape: Sequence[int], fan_in: int, channels_in: int, out: int, w_std: float, b_std: float,
              parameterization: str, trainable: bool, gen: Optional[torch.Generator], dtype: torch.dtype,
              place: Optional[Tuple[bool, bool, int]]) -> None:
        if parameterization not in ("ntk", "standard", "mup"):
            raise ValueError(f"parameterization must be 'ntk', 'standard' or 'mup', got {parameterization!r}")
        self.w_std, self.b_std = float(w_std), float(b_std)
        self.parameterization, self.trainable, self.fan_in = parameterization, bool(trainable), int(fan_in)
        # (input layer, readout, fan-in width; 0: the input channels): where the layer sits, which μP scales by.
        self.place = tuple(place) if place is not None else (False, False, 0)
        width_in = self.place[2] or int(channels_in)
        # Multipliers and initial stds from ntk's own table (ntk/layer.h, affine_scaling).
        self._w_mult, w_init, self._b_mult, b_init = _ntk._ntk.affine_scaling(
            parameterization, bool(self.place[0]), bool(self.place[1]), float(fan_in), float(width_in), float(out),
            self.w_std, self.b_std)
        self.weight = nn.Parameter(_normal(w_shape, w_init, gen, dtype), requires_grad=self.trainable)
        if self.b_std != 0:
            self.bias = nn.Parameter(_normal((out,), b_init, gen, dtype), requires_grad=self.trainable)
        else:
            self.register_parameter("bias", None)

    @property
    def w_scale(self) -> float:
        return self._w_mult

    @property
    def b_scale(self) -> float:
        return self._b_mult


class Dense(_Affine):
    """ntk's ``dense``: y = w_scale·x·W + b_scale·b over the channel axis (per position for images), W (in, out)."""

    def __init__(self, in_features: int, out_features: int, w_std: float = 1.0, b_std: float = 0.0,
                 parameterization: str = "ntk", trainable: bool = True, generator: Optional[torch.Generator] = None,
                 dtype: torch.dtype = torch.float64, place: Optional[Tuple[bool, bool, int]] = None) -> None:
        super().__init__()
        self.in_features, self.out_features = int(in_features), int(out_features)
        self._init((in_features, out_features), in_features, in_features, out_features, w_std, b_std,
                   parameterization, trainable, generator, dtype, place)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        spatial = x.dim() == 4
        h = x.movedim(1, -1) if spatial else x
        y = self.w_scale * (h @ self.weight)
        if self.bias is not None:
            y = y + self.b_scale * self.bias
        return y.movedim(-1, 1) if spatial else y

    def extra_repr(self) -> str:
        return (f"{self.in_features}, {self.out_features}, w_std={self.w_std:g}, b_std={self.b_std:g}, "
                f"parameterization={self.parameterization!r}, trainable={self.trainable}")


class Conv(_Affine):
    """ntk's ``conv(k, stride, pad)`` on NCHW images; weight (out, in, k, k); ``same`` / ``circular`` pad
    (out − 1)·s + k − n in total, the smaller half first (JAX's SAME), ``valid`` none."""

    def __init__(self, in_channels: int, out_channels: int, k: int, stride: int = 1, pad: str = "same",
                 w_std: float = 1.0, b_std: float = 0.0, parameterization: str = "ntk", trainable: bool = True,
                 generator: Optional[torch.Generator] = None, dtype: torch.dtype = torch.float64,
                 place: Optional[Tuple[bool, bool, int]] = None) -> None:
        super().__init__()
        if pad not in ("same", "valid", "circular"):
            raise ValueError(f"pad must be same, valid or circular, got {pad!r}")
        self.in_channels, self.out_channels, self.k, self.stride, self.pad = (int(in_channels), int(out_channels),
                                                                              int(k), int(stride), pad)
        self._init((out_channels, in_channels, k, k), k * k * in_channels, in_channels, out_channels, w_std, b_std,
                   parameterization, trainable, generator, dtype, place)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = F.conv2d(_pad(x, self.k, self.stride, self.pad), self.w_scale * self.weight, None, self.stride)
        if self.bias is not None:
            y = y + (self.b_scale * self.bias)[:, None, None]
        return y

    def extra_repr(self) -> str:
        return (f"{self.in_channels}, {self.out_channels}, k={self.k}, stride={self.stride}, pad={self.pad}, "
                f"w_std={self.w_std:g}, b_std={self.b_std:g}, parameterization={self.parameterization!r}")


class AvgPool(nn.Module):
    """ntk's ``avgpool(k, stride, pad)``: window means, zero padding counted (÷k² everywhere)."""

    def __init__(self, k: int, stride: int = 1, pad: str = "valid") -> None:
        super().__init__()
        self.k, self.stride, self.pad = int(k), int(stride), pad

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.avg_pool2d(_pad(x, self.k, self.stride, self.pad), self.k, self.stride)

    def extra_repr(self) -> str:
        return f"k={self.k}, stride={self.stride}, pad={self.pad}"


class GlobalAvgPool(nn.Module):
    """ntk's ``gap``: (N, C, H, W) -> (N, C)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.mean(dim=(2, 3))


class Flatten(nn.Module):
    """ntk's ``flatten``: (N, C, H, W) -> (N, H·W·C) in ntk's (H, W, C) order."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.permute(0, 2, 3, 1).flatten(1) if x.dim() == 4 else x.flatten(1)


class LayerNorm(nn.Module):
    """ntk's ``layernorm``: each position normalised over channels, no parameters, eps 1e-12."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        dim = 1 if x.dim() == 4 else -1
        mean = x.mean(dim=dim, keepdim=True)
        var = (x - mean).square().mean(dim=dim, keepdim=True)
        return (x - mean) / torch.sqrt(var + _LN_EPS)


class Residual(nn.Module):
    """x + block(x): ntk's ``residual(...)`` (use it in models that :func:`to_arch` should translate)."""

    def __init__(self, *modules: nn.Module) -> None:
        super().__init__()
        self.block = modules[0] if len(modules) == 1 and isinstance(modules[0], nn.Sequential) \
            else nn.Sequential(*modules)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.block(x)


class Erf(nn.Module):
    """a·erf(b·x) + c (ntk's ``erf``)."""

    def __init__(self, a: float = 1.0, b: float = 1.0, c: float = 0.0) -> None:
        super().__init__()
        self.a, self.b, self.c = float(a), float(b), float(c)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.a * torch.erf(self.b * x) + self.c

    def extra_repr(self) -> str:
        return f"a={self.a:g}, b={self.b:g}, c={self.c:g}"


class ABReLU(nn.Module):
    """a·min(x, 0) + b·max(x, 0) (ntk's ``abrelu``)."""

    def __init__(self, a: float = 0.0, b: float = 1.0) -> None:
        super().__init__()
        self.a, self.b = float(a), float(b)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.a * torch.clamp(x, max=0) + self.b * torch.clamp(x, min=0)

    def extra_repr(self) -> str:
        return f"a={self.a:g}, b={self.b:g}"


class Sign(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.sign(x)


class Sin(nn.Module):
    """a·sin(b·x + c) (ntk's ``sin``)."""

    def __init__(self, a: float = 1.0, b: float = 1.0, c: float = 0.0) -> None:
        super().__init__()
        self.a, self.b, self.c = float(a), float(b), float(c)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.a * torch.sin(self.b * x + self.c)

    def extra_repr(self) -> str:
        return f"a={self.a:g}, b={self.b:g}, c={self.c:g}"


class Activation(nn.Module):
    """Any other elementwise nonlinearity of ntk by name (relu, gelu, tanh, sigmoid, softplus, silu, elu, abs,
    leaky_relu(alpha), identity)."""

    _FNS = {
        "relu": torch.relu,
        "gelu": lambda x: F.gelu(x),  # exact x·Φ(x)
        "tanh": torch.tanh,
        "sigmoid": torch.sigmoid,
        "softplus": lambda x: F.softplus(x),
        "silu": lambda x: F.silu(x),
        "elu": lambda x: F.elu(x, alpha=1.0),
        "abs": torch.abs,
        "identity": lambda x: x,
    }

    def __init__(self, name: str, alpha: float = 0.01) -> None:
        super().__init__()
        if name not in self._FNS and name != "leaky_relu":
            raise ValueError(f"unknown activation {name!r}")
        self.name, self.alpha = name, float(alpha)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.name == "leaky_relu":
            return F.leaky_relu(x, self.alpha)
        return self._FNS[self.name](x)

    def extra_repr(self) -> str:
        return f"{self.name!r}" + (f", alpha={self.alpha:g}" if self.name == "leaky_relu" else "")


# ---- the architecture language (ntk.describe's canonical form) ----


class _Item(NamedTuple):
    name: str
    args: List[str]  # positional values
    kwargs: Dict[str, str]
    body: List["_Item"]  # residual(...) contents


def _split_top(s: str) -> List[str]:
    out, depth, cur = [], 0, []
    for ch in s:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == "," and depth == 0:
            out.append("".join(cur).strip())
            cur = []
        else:
            cur.append(ch)
    if "".join(cur).strip():
        out.append("".join(cur).strip())
    return out


def _parse_items(spec: str) -> List[_Item]:
    items = []
    for part in _split_top(spec):
        m = re.fullmatch(r"([A-Za-z_][A-Za-z0-9_]*)\s*(?:\((.*)\))?", part, flags=re.S)
        if not m:
            raise ValueError(f"cannot read architecture item {part!r}")
        name, inner = m.group(1), m.group(2) or ""
        if name == "residual":
            items.append(_Item(name, [], {}, _parse_items(inner)))
            continue
        args, kwargs = [], {}
        for a in _split_top(inner):
            if "=" in a:
                k, v = a.split("=", 1)
                kwargs[k.strip()] = v.strip()
            else:
                args.append(a)
        items.append(_Item(name, args, kwargs, []))
    return items


def _flt(item: _Item, key: str, pos: int, default: float) -> float:
    if key in item.kwargs:
        return float(item.kwargs[key])
    return float(item.args[pos]) if len(item.args) > pos else default


class Twin(nn.Sequential):
    """The finite network of an ntk architecture (an ``nn.Sequential`` built by :func:`network`).

    ``arch`` (canonical), ``parameterization``, ``input_shape`` (ntk's (d,) or (H, W, C)), ``layout``."""

    def __init__(self, modules: Sequence[nn.Module], arch: str, parameterization: str,
                 input_shape: Tuple[int, ...], layout: str) -> None:
        super().__init__(*modules)
        self.arch, self.parameterization, self.input_shape, self.layout = arch, parameterization, input_shape, layout

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() == 4 and self.layout == "NHWC":
            x = x.permute(0, 3, 1, 2)
        return super().forward(x)


def _count_affine(items: List[_Item]) -> int:
    return sum(1 if it.name in ("dense", "conv") else _count_affine(it.body) if it.name == "residual" else 0
               for it in items)


def _place(state: Dict[str, int]) -> Tuple[bool, bool, int]:
    """(input layer, readout, fan-in width) of the next affine layer, as ntk's Network assigns them: the first
    and the last affine layer, and the previous one's output width."""
    i = state["index"]
    state["index"] = i + 1
    return (i == 0, i + 1 == state["total"], state["width"])


def _build(items: List[_Item], shape: Tuple[int, ...], parameterization: str, gen: Optional[torch.Generator],
           dtype: torch.dtype, state: Optional[Dict[str, int]] = None) -> Tuple[List[nn.Module], Tuple[int, ...]]:
    """Modules for the items and the output shape; shapes are ntk's ((d,) or (H, W, C))."""
    if state is None:
        state = {"index": 0, "total": _count_affine(items), "width": 0}
    mods: List[nn.Module] = []
    for it in items:
        n = it.name
        if n == "dense":
            width = int(_flt(it, "width", 0, 1))
            tr = it.kwargs.get("trainable", "true") == "true"
            mods.append(Dense(shape[-1], width, _flt(it, "w_std", 1, 1.0), _flt(it, "b_std", 2, 0.0),
                              parameterization, tr, gen, dtype, _place(state)))
            state["width"] = width
            shape = shape[:-1] + (width,)
        elif n == "conv":
            if len(shape) != 3:
                raise ValueError(f"conv needs images, got an input of shape {shape}")
            k, stride = int(_flt(it, "k", 0, 0)), int(_flt(it, "stride", 1, 1))
            pad = it.kwargs.get("pad", it.args[2] if len(it.args) > 2 else "same")
            width = int(_flt(it, "width", 3, 1))
            tr = it.kwargs.get("trainable", "true") == "true"
            mods.append(Conv(shape[2], width, k, stride, pad, _flt(it, "w_std", 4, 1.0), _flt(it, "b_std", 5, 0.0),
                             parameterization, tr, gen, dtype, _place(state)))
            state["width"] = width
            shape = (_window(shape[0], k, stride, pad)[0], _window(shape[1], k, stride, pad)[0], width)
        elif n == "avgpool":
            k, stride = int(_flt(it, "k", 0, 0)), int(_flt(it, "stride", 1, 1))
            pad = it.kwargs.get("pad", it.args[2] if len(it.args) > 2 else "valid")
            mods.append(AvgPool(k, stride, pad))
            shape = (_window(shape[0], k, stride, pad)[0], _window(shape[1], k, stride, pad)[0], shape[2])
        elif n == "gap":
            mods.append(GlobalAvgPool())
            shape = (shape[-1],)
        elif n == "flatten":
            mods.append(Flatten())
            shape = (int(np.prod(shape)),)
        elif n == "layernorm":
            mods.append(LayerNorm())
        elif n == "residual":
            inner, out = _build(it.body, shape, parameterization, gen, dtype, state)
            if out != shape:
                raise ValueError(f"residual block changes the shape {shape} -> {out}")
            mods.append(Residual(*inner))
        elif n == "erf":
            mods.append(Erf(_flt(it, "a", 0, 1.0), _flt(it, "b", 1, 1.0), _flt(it, "c", 2, 0.0)))
        elif n == "sin":
            mods.append(Sin(_flt(it, "a", 0, 1.0), _flt(it, "b", 1, 1.0), _flt(it, "c", 2, 0.0)))
        elif n == "abrelu":
            mods.append(ABReLU(_flt(it, "a", 0, 0.0), _flt(it, "b", 1, 1.0)))
        elif n == "sign":
            mods.append(Sign())
        elif n == "leaky_relu":
            mods.append(Activation("leaky_relu", _flt(it, "alpha", 0, 0.01)))
        elif n in Activation._FNS:
            mods.append(Activation(n))
        else:
            raise ValueError(f"ntk.torch has no twin of the layer {n!r}")
    return mods, shape


def network(arch: str, width: int = 512, parameterization: str = "ntk", input_shape: Sequence[int] = (),
            seed: Optional[int] = None, dtype: torch.dtype = torch.float64, layout: str = "NCHW") -> Twin:
    """The finite network of ``arch`` as an ``nn.Module``, drawn with ntk's initialisation laws.

    Args:
        arch: architecture string; dense/conv layers without ``width=`` get ``width`` (the readout keeps 1).
        width: hidden width (channels for conv).
        parameterization: ``"ntk"``, ``"standard"`` or ``"mup"``.
        input_shape: ntk's example shape, ``(d,)`` or ``(H, W, C)`` (channels-last, as ``ntk.Network``).
        seed: PyTorch generator seed (None: PyTorch's global generator). The draw is not ntk's: to share
            parameters with an ``ntk.Network`` use :func:`from_network` or :func:`load_ntk_params`.
        dtype: parameter dtype (float64 by default, for comparisons with ntk).
        layout: ``"NCHW"`` (PyTorch, default) or ``"NHWC"`` (ntk) for image inputs.
    """
    if layout not in ("NCHW", "NHWC"):
        raise ValueError(f"layout must be 'NCHW' or 'NHWC', got {layout!r}")
    shape = tuple(int(d) for d in input_shape)
    if len(shape) not in (1, 3) or min(shape) < 1:
        raise ValueError(f"input_shape must be (d,) or (H, W, C) with positive sizes, got {tuple(input_shape)!r}")
    canon = _ntk.describe(arch, int(width))
    gen = None
    if seed is not None:
        gen = torch.Generator().manual_seed(int(seed))
    mods, out = _build(_parse_items(canon), shape, parameterization, gen, dtype)
    if len(out) != 1:
        raise ValueError(f"the network's output is still an image {out}: end it with flatten or gap")
    return Twin(mods, canon, parameterization, shape, layout)


# ---- ntk.Network parameters <-> the twin ----


def _ops(module: nn.Module) -> Iterator[Optional[nn.Module]]:
    """The twin's modules in the order of ntk's ops (residual = fork, block..., join; fork/join as None)."""
    for m in module.children():
        if isinstance(m, Residual):
            yield None
            yield from _ops(m.block)
            yield None
        elif isinstance(m, nn.Sequential):
            yield from _ops(m)
        else:
            yield m


def load_ntk_params(module: nn.Module, params: Sequence[Sequence[Any]]) -> None:
    """Copies ntk's parameters (``ntk.Network.get_params()``: one list per op) into a twin, exactly."""
    ops = list(_ops(module))
    if len(ops) != len(params):
        raise ValueError(f"params: {len(params)} ops but the module has {len(ops)}")
    with torch.no_grad():
        for i, (m, p) in enumerate(zip(ops, params)):
            if not isinstance(m, _Affine):
                if len(p):
                    raise ValueError(f"params[{i}]: {len(p)} arrays for a layer without parameters ({m})")
                continue
            w = torch.as_tensor(np.asarray(p[0], dtype=np.float64))
            if isinstance(m, Conv):  # (k·k·C, out), rows (dy, dx, c) -> (out, C, k, k)
                w = w.reshape(m.k, m.k, m.in_channels, m.out_channels).permute(3, 2, 0, 1)
            if tuple(w.shape) != tuple(m.weight.shape):
                raise ValueError(f"params[{i}][0]: shape {tuple(w.shape)} does not fit {m}")
            m.weight.copy_(w)
            if m.bias is not None:
                if len(p) != 2:
                    raise ValueError(f"params[{i}]: expected weight and bias for {m}")
                m.bias.copy_(torch.as_tensor(np.asarray(p[1], dtype=np.float64)).reshape(-1))


def ntk_params(module: nn.Module) -> List[List[np.ndarray]]:
    """The twin's parameters in ``ntk.Network.set_params`` form."""
    out: List[List[np.ndarray]] = []
    for m in _ops(module):
        if not isinstance(m, _Affine):
            out.append([])
            continue
        w = m.weight.detach().to(torch.float64)
        if isinstance(m, Conv):
            w = w.permute(2, 3, 1, 0).reshape(m.k * m.k * m.in_channels, m.out_channels)
        layer = [w.cpu().numpy().copy()]
        if m.bias is not None:
            layer.append(m.bias.detach().to(torch.float64).cpu().numpy().reshape(1, -1).copy())
        out.append(layer)
    return out


def from_network(net: "_ntk.Network", layout: str = "NCHW") -> Twin:
    """The PyTorch twin of an ``ntk.Network`` (built, i.e. with a known input shape) with its parameters."""
    if net.f0 != "keep":
        raise ValueError("from_network: only f0='keep' networks have a single parameter set")
    if net.input_shape is None:
        raise ValueError("from_network: the network's input shape is not known yet (input_shape= or apply())")
    twin = network(net.arch, net.width, net.parameterization, net.input_shape, layout=layout)
    load_ntk_params(twin, net.get_params())
    return twin


# ---- PyTorch model -> architecture ----


class TorchArch(NamedTuple):
    """``arch`` (ntk's architecture string) and ``parameterization`` of a PyTorch model."""

    arch: str
    parameterization: str


_SUPPORTED = ("Linear, Conv2d, ReLU, GELU (exact), Tanh, Sigmoid, SiLU, Softplus, ELU, LeakyReLU, Identity, "
              "AvgPool2d, AdaptiveAvgPool2d(1), Flatten, LayerNorm (no affine), nn.Sequential and ntk.torch's "
              "Residual, Dense, Conv, Erf, ABReLU, Sin, Sign, ...")


def _fmt(v: float) -> str:
    return repr(float(v))


def _stds(w: torch.Tensor, b: Optional[torch.Tensor], fan_in: int) -> Tuple[float, float]:
    """The standard-parameterization law the parameters look drawn from: w_std² = fan_in·mean(W²), b_std² =
    mean(b²) (0 without bias)."""
    ws = math.sqrt(fan_in * float(w.detach().double().square().mean()))
    bs = math.sqrt(float(b.detach().double().square().mean())) if b is not None else 0.0
    return ws, bs


_WMARK = "\x00"


def to_arch(module: nn.Module, w_std: Optional[float] = None, b_std: Optional[float] = None,
            widths: bool = True) -> TorchArch:
    """The ntk architecture and parameterization of a PyTorch model (its infinite-width limit).

    ntk.torch's own layers translate exactly (their w_std, b_std, parameterization). PyTorch's ``nn.Linear`` /
    ``nn.Conv2d`` are taken in the standard parameterization with the law their parameters look drawn from:
    w_std = √(fan_in·mean(W²)), b_std = √mean(b²) (PyTorch's default init gives w_std ≈ 1/√3), unless
    ``w_std`` / ``b_std`` are given (for every such layer). Widths are written out (the standard
    parameterization's NTK depends on them); ``widths=False`` leaves the hidden ones out (the readout keeps its
    number of outputs), for ``ntk.kernels`` / :func:`network` at any width. Conv2d: square kernels, no
    dilation or groups; padding 0 is ``valid``, padding (k−1)/2 with stride 1 (or ``padding="same"``) is
    ``same`` (``circular`` with
    ``padding_mode="circular"``). AvgPool2d: padding 0 (``valid``), or stride 1 and padding (k−1)/2 counting
    padding (``same``). Images: the model's NCHW is ntk's NHWC (give ``ntk.kernels`` :func:`nhwc` inputs).

    Raises ValueError naming the first module it cannot translate and why."""
    params: List[str] = []
    items = _translate(module, "", params, w_std, b_std, spatial=None)
    arch = ", ".join(items)
    parts = arch.split(_WMARK)  # width=N, fields sit between markers; the last one is the readout's
    if not widths and len(parts) > 3:
        arch = "".join(p for i, p in enumerate(parts) if i % 2 == 0 or i == len(parts) - 2)
    else:
        arch = "".join(parts)
    kinds = set(params)
    if len(kinds) > 1:
        raise ValueError("to_arch: the model mixes ntk- and standard-parameterized layers; ntk's kernels take one "
                         "parameterization")
    parameterization = kinds.pop() if kinds else "ntk"
    _ntk.describe(arch)  # the architecture language's own checks
    return TorchArch(arch, parameterization)


def _children(module: nn.Module, prefix: str) -> List[Tuple[str, nn.Module]]:
    if isinstance(module, nn.Sequential):
        return [(f"{prefix}{name}", m) for name, m in module.named_children()]
    return [(prefix.rstrip(".") or type(module).__name__, module)]


def _translate(module: nn.Module, prefix: str, params: List[str], w_std: Optional[float], b_std: Optional[float],
               spatial: Optional[bool]) -> List[str]:
    out: List[str] = []
    children = _children(module, prefix)
    skip_flatten = False
    for name, m in children:

        def fail(why: str) -> ValueError:
            return ValueError(f"to_arch: cannot translate module {name!r} ({m!r}): {why}; supported: {_SUPPORTED}")

        if isinstance(m, Twin) or (isinstance(m, nn.Sequential) and not isinstance(m, Residual)):
            out.extend(_translate(m, f"{name}.", params, w_std, b_std, spatial))
            continue
        if skip_flatten and isinstance(m, (nn.Flatten, Flatten)):
            skip_flatten = False
            continue
        skip_flatten = False
        if isinstance(m, Residual):
            out.append("residual(" + ", ".join(_translate(m.block, f"{name}.block.", params, w_std, b_std,
                                                          spatial)) + ")")
        elif isinstance(m, Dense):
            params.append(m.parameterization)
            out.append(f"dense({_WMARK}width={m.out_features}, {_WMARK}w_std={_fmt(m.w_std)}, b_std={_fmt(m.b_std)}"
                       + ("" if m.trainable else ", trainable=false") + ")")
        elif isinstance(m, Conv):
            params.append(m.parameterization)
            spatial = True
            out.append(f"conv({m.k}, stride={m.stride}, pad={m.pad}, {_WMARK}width={m.out_channels}, {_WMARK}"
                       f"w_std={_fmt(m.w_std)}, b_std={_fmt(m.b_std)}" + ("" if m.trainable else ", trainable=false")
                       + ")")
        elif isinstance(m, nn.Linear):
            params.append("standard")
            ws, bs = _stds(m.weight, m.bias, m.in_features)
            ws, bs = (ws if w_std is None else w_std), (bs if b_std is None or m.bias is None else b_std)
            frozen = not m.weight.requires_grad
            out.append(f"dense({_WMARK}width={m.out_features}, {_WMARK}w_std={_fmt(ws)}, b_std={_fmt(bs)}"
                       + (", trainable=false" if frozen else "") + ")")
        elif isinstance(m, nn.Conv2d):
            k = m.kernel_size
            if k[0] != k[1]:
                raise fail("ntk's conv has square filters")
            if m.dilation != (1, 1) or m.groups != 1:
                raise fail("dilation and groups are not in ntk's conv")
            if m.stride[0] != m.stride[1]:
                raise fail("ntk's conv has one stride for both axes")
            kk, s = k[0], m.stride[0]
            pad = m.padding
            if pad == "valid" or pad == (0, 0):
                mode = "valid"
            elif (pad == "same" or pad == ((kk - 1) // 2,) * 2) and s == 1 and kk % 2 == 1:
                mode = "same"
            else:
                raise fail(f"padding {pad} with stride {s} is neither valid (0) nor SAME ((k−1)/2 at stride 1)")
            if mode == "same":
                if m.padding_mode == "circular":
                    mode = "circular"
                elif m.padding_mode != "zeros":
                    raise fail(f"padding_mode {m.padding_mode!r} (ntk pads with zeros or circularly)")
            params.append("standard")
            ws, bs = _stds(m.weight, m.bias, kk * kk * m.in_channels)
            ws, bs = (ws if w_std is None else w_std), (bs if b_std is None or m.bias is None else b_std)
            spatial = True
            frozen = not m.weight.requires_grad
            out.append(f"conv({kk}, stride={s}, pad={mode}, {_WMARK}width={m.out_channels}, {_WMARK}w_std={_fmt(ws)}, "
                       f"b_std={_fmt(bs)}" + (", trainable=false" if frozen else "") + ")")
        elif isinstance(m, nn.AvgPool2d) or isinstance(m, AvgPool):
            if isinstance(m, AvgPool):
                out.append(f"avgpool({m.k}, stride={m.stride}, pad={m.pad})")
                continue
            kk = m.kernel_size if isinstance(m.kernel_size, int) else m.kernel_size[0]
            ks = (m.kernel_size,) * 2 if isinstance(m.kernel_size, int) else tuple(m.kernel_size)
            st = m.stride if m.stride is not None else kk
            ss = (st,) * 2 if isinstance(st, int) else tuple(st)
            pp = (m.padding,) * 2 if isinstance(m.padding, int) else tuple(m.padding)
            if ks[0] != ks[1] or ss[0] != ss[1] or pp[0] != pp[1]:
                raise fail("ntk's avgpool is square with one stride")
            if m.ceil_mode or m.divisor_override is not None:
                raise fail("ceil_mode and divisor_override are not in ntk's avgpool")
            if pp[0] == 0:
                out.append(f"avgpool({kk}, stride={ss[0]}, pad=valid)")
            elif ss[0] == 1 and kk % 2 == 1 and pp[0] == (kk - 1) // 2 and m.count_include_pad:
                out.append(f"avgpool({kk}, stride=1, pad=same)")
            else:
                raise fail(f"padding {pp[0]} with stride {ss[0]} (ntk: 0, or (k−1)/2 at stride 1 counting padding)")
        elif isinstance(m, nn.AdaptiveAvgPool2d):
            size = m.output_size
            if size not in (1, (1, 1)):
                raise fail("only AdaptiveAvgPool2d(1) (global average pooling) has an ntk layer")
            out.append("gap")
            skip_flatten = True
            spatial = False
        elif isinstance(m, GlobalAvgPool):
            out.append("gap")
            spatial = False
        elif isinstance(m, (nn.Flatten, Flatten)):
            if isinstance(m, nn.Flatten) and (m.start_dim, m.end_dim) != (1, -1):
                raise fail("only Flatten(start_dim=1, end_dim=-1)")
            out.append("flatten")
            spatial = False
        elif isinstance(m, nn.LayerNorm):
            if m.elementwise_affine and (m.weight is not None and m.weight.requires_grad):
                raise fail("elementwise_affine adds trainable parameters that ntk's layernorm lacks; use "
                           "elementwise_affine=False")
            if len(m.normalized_shape) != 1:
                raise fail("ntk's layernorm normalises over the channel axis only")
            if spatial:
                raise fail("after a conv, nn.LayerNorm would normalise NCHW's last axis (W), not channels; use "
                           "ntk.torch.LayerNorm")
            out.append("layernorm")
        elif isinstance(m, LayerNorm):
            out.append("layernorm")
        elif isinstance(m, nn.ReLU):
            out.append("relu")
        elif isinstance(m, nn.GELU):
            if m.approximate != "none":
                raise fail("only the exact GELU x·Φ(x) (approximate='none')")
            out.append("gelu")
        elif isinstance(m, nn.Tanh):
            out.append("tanh")
        elif isinstance(m, nn.Sigmoid):
            out.append("sigmoid")
        elif isinstance(m, nn.SiLU):
            out.append("silu")
        elif isinstance(m, nn.Softplus):
            if m.beta != 1:
                raise fail("only beta=1")
            out.append("softplus")
        elif isinstance(m, nn.ELU):
            if m.alpha != 1:
                raise fail("only alpha=1")
            out.append("elu")
        elif isinstance(m, nn.LeakyReLU):
            out.append(f"leaky_relu(alpha={_fmt(m.negative_slope)})")
        elif isinstance(m, nn.Identity):
            out.append("identity")
        elif isinstance(m, Erf):
            out.append(f"erf(a={_fmt(m.a)}, b={_fmt(m.b)}, c={_fmt(m.c)})")
        elif isinstance(m, ABReLU):
            out.append(f"abrelu(a={_fmt(m.a)}, b={_fmt(m.b)})")
        elif isinstance(m, Sin):
            out.append(f"sin(a={_fmt(m.a)}, b={_fmt(m.b)}, c={_fmt(m.c)})")
        elif isinstance(m, Sign):
            out.append("sign")
        elif isinstance(m, Activation):
            out.append(m.name if m.name != "leaky_relu" else f"leaky_relu(alpha={_fmt(m.alpha)})")
        else:
            raise fail("no ntk layer")
    return out


# ---- empirical kernels by autograd ----


def _as_tensor(x: Any, dtype: torch.dtype) -> torch.Tensor:
    t = x if isinstance(x, torch.Tensor) else torch.from_numpy(np.asarray(x))
    return t.to(dtype)


def _jacobians(module: nn.Module, x: torch.Tensor, params: Dict[str, torch.Tensor]) -> torch.Tensor:
    """(N, K, P): d f_k(x_n) / dθ for the trainable parameters, flattened and concatenated."""
    from torch.func import functional_call, jacrev, vmap

    def f(p: Dict[str, torch.Tensor], xi: torch.Tensor) -> torch.Tensor:
        return functional_call(module, p, (xi.unsqueeze(0),)).squeeze(0)

    jac = vmap(jacrev(f), (None, 0))(params, x)
    n, k = x.shape[0], None
    flat = []
    for name in params:
        j = jac[name]
        k = j.shape[1]
        flat.append(j.reshape(n, k, -1))
    return torch.cat(flat, dim=2)


def empirical_ntk(module: nn.Module, x1: Any, x2: Any = None, mode: str = "trace",
                  chunk: int = 64) -> np.ndarray:
    """The empirical NTK Σ_θ ∂f(x1)/∂θ · ∂f(x2)/∂θ of ``module`` over its trainable parameters (``torch.func``).

    ``mode="trace"``: averaged over the K outputs, (N1, N2), as ``ntk.Network.empirical_ntk`` and
    neural-tangents' ``trace_axes=(-1,)``; ``"full"``: (N1, N2, K, K). Inputs in the module's layout; the
    computation runs in the parameters' dtype, ``chunk`` examples' Jacobians at a time."""
    if mode not in ("trace", "full"):
        raise ValueError(f"mode must be 'trace' or 'full', got {mode!r}")
    params = {n: p.detach() for n, p in module.named_parameters() if p.requires_grad}
    if not params:
        raise ValueError("empirical_ntk: the module has no trainable parameters")
    dtype = next(iter(params.values())).dtype
    a = _as_tensor(x1, dtype)
    b = a if x2 is None else _as_tensor(x2, dtype)
    jb = torch.cat([_jacobians(module, b[s:s + chunk], params) for s in range(0, b.shape[0], chunk)])
    rows = []
    for s in range(0, a.shape[0], chunk):
        ja = _jacobians(module, a[s:s + chunk], params) if x2 is not None else jb[s:s + chunk]
        if mode == "trace":
            rows.append(torch.einsum("ikp,jkp->ij", ja, jb) / ja.shape[1])
        else:
            rows.append(torch.einsum("ikp,jlp->ijkl", ja, jb))
    return torch.cat(rows).cpu().numpy()


def monte_carlo_kernels(arch: str, x1: Any, x2: Any = None, width: int = 512, samples: int = 8, seed: int = 0,
                        parameterization: str = "ntk", get_ntk: bool = True, layout: str = "NCHW",
                        input_shape: Optional[Sequence[int]] = None) -> "_ntk.Kernels":
    """Monte Carlo NNGP and NTK over ``samples`` PyTorch twins of width ``width`` (seeds seed, seed+1, ...).

    NTK: the mean empirical NTK (traced over the outputs). NNGP: the mean over twins of what f(x1)·f(x2)
    averages to over the readout's draw given the hidden features h, w_std²·h(x1)·h(x2)/n + b_std² (the
    readout is the last module, a :class:`Dense`); a plain f·fᵀ estimate would not improve with the width, as
    its readout noise does not shrink. Inputs in ``layout``; ``input_shape`` (ntk's) defaults to the inputs'."""
    a = _as_tensor(x1, torch.float64)
    b = None if x2 is None else _as_tensor(x2, torch.float64)
    if input_shape is None:
        shp = tuple(a.shape[1:])
        input_shape = (shp[1], shp[2], shp[0]) if (a.dim() == 4 and layout == "NCHW") else shp
    nngp: Any = 0.0
    ntk_: Any = 0.0
    for s in range(int(samples)):
        net = network(arch, width, parameterization, input_shape, seed=seed + s, layout=layout)
        readout = net[len(net) - 1]
        with torch.no_grad():
            if isinstance(readout, Dense):
                body = nn.Sequential(*list(net)[:-1])
                ha = body(a if layout == "NCHW" or a.dim() != 4 else a.permute(0, 3, 1, 2))
                hb = ha if b is None else body(b if layout == "NCHW" or b.dim() != 4 else b.permute(0, 3, 1, 2))
                k = (readout.w_std ** 2) * (ha @ hb.T) / ha.shape[1] + readout.b_std ** 2
            else:
                fa = net(a)
                fb = fa if b is None else net(b)
                k = (fa @ fb.T) / fa.shape[1]
        nngp = nngp + k.numpy()
        if get_ntk:
            ntk_ = ntk_ + empirical_ntk(net, a, b)
    return _ntk.Kernels(nngp=nngp / samples, ntk=(ntk_ / samples) if get_ntk else None)
