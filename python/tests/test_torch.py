"""ntk.torch: PyTorch twins against ntk's finite networks (autograd vs ntk's backward), to_arch, Monte Carlo
kernels of the twins against the exact infinite-width kernels."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")
nn = torch.nn

import ntk  # noqa: E402
import ntk.torch as nt  # noqa: E402

ARCHS = [
    ("dense(w_std=1.5, b_std=0.2), relu, dense(w_std=1.5, b_std=0.2), erf(a=1.2, b=0.7), dense(width=3, b_std=0.1)",
     (5,)),
    ("dense(w_std=1.3), gelu, layernorm, dense(b_std=0.5), tanh, residual(dense(w_std=0.8), relu), dense", (4,)),
    ("conv(3, w_std=1.41, b_std=0.1), relu, conv(2, stride=2), abrelu(a=-0.2, b=1.1), avgpool(2, pad=same), "
     "residual(relu, conv(3, pad=circular)), layernorm, flatten, dense(width=2, b_std=0.3)", (6, 5, 2)),
    ("conv(3, pad=valid, b_std=0.2), softplus, conv(3, stride=2), sigmoid, avgpool(2, stride=2), gap, "
     "dense(width=2, trainable=false), silu, dense", (9, 9, 3)),
]


@pytest.mark.parametrize("param", ["ntk", "standard", "mup"])
@pytest.mark.parametrize("arch,shape", ARCHS, ids=["fc", "fc-ln-res", "cnn-flatten", "cnn-gap"])
def test_twin_equals_ntk_network_to_1e10(rng, arch, shape, param):
    """The same parameters in both: outputs and the empirical NTK of autograd equal ntk's own backward pass."""
    net = ntk.Network(arch, width=12, seed=5, input_shape=shape, parameterization=param)
    x1, x2 = rng.standard_normal((4,) + shape), rng.standard_normal((3,) + shape)
    for layout, conv in (("NHWC", lambda a: torch.from_numpy(a)), ("NCHW", lambda a: nt.nchw(a))):
        twin = nt.from_network(net, layout=layout)
        f = twin(conv(x1)).detach().numpy()
        assert np.abs(f - net.apply(x1)).max() < 1e-10 * max(1.0, np.abs(f).max())
        k = nt.empirical_ntk(twin, conv(x1), conv(x2))
        ref = net.empirical_ntk(x1, x2)
        assert k.shape == ref.shape
        assert np.abs(k - ref).max() <= 1e-10 * np.abs(ref).max()
    assert np.abs(nt.empirical_ntk(twin, nt.nchw(x1)) - net.empirical_ntk(x1)).max() <= 1e-10 * np.abs(
        net.empirical_ntk(x1)).max()
    # and back: the twin's parameters in ntk's form
    other = ntk.Network(arch, width=12, seed=99, input_shape=shape, parameterization=param)
    other_params = nt.ntk_params(twin)
    for layer, ref_layer in zip(other_params, net.get_params()):
        for a, b in zip(layer, ref_layer):
            assert np.array_equal(a, b)
    if "trainable=false" not in arch:  # ntk.Network keeps fixed layers as drawn
        other.set_params(other_params)
        assert np.array_equal(other.apply(x1), net.apply(x1))


def test_full_mode_and_chunks(rng):
    twin = nt.network("dense(w_std=1.4, b_std=0.1), relu, dense(width=3)", 16, input_shape=(4,), seed=0)
    x = rng.standard_normal((7, 4))
    full = nt.empirical_ntk(twin, x, mode="full", chunk=3)
    assert full.shape == (7, 7, 3, 3)
    assert np.allclose(np.einsum("ijkk->ij", full) / 3, nt.empirical_ntk(twin, x, chunk=2), rtol=1e-13)
    with pytest.raises(ValueError, match="mode"):
        nt.empirical_ntk(twin, x, mode="diag")


def test_initialisation_laws(rng):
    big = 400
    for param in ("ntk", "standard"):
        twin = nt.network("dense(w_std=2.0, b_std=0.5), relu, dense", big, parameterization=param, input_shape=(300,),
                          seed=1)
        d = twin[0]
        w_std_draw = float(d.weight.detach().std())
        b_std_draw = float(d.bias.detach().std())
        if param == "ntk":
            assert abs(w_std_draw - 1) < 0.01 and abs(b_std_draw - 1) < 0.1
        else:
            assert abs(w_std_draw - 2.0 / np.sqrt(300)) < 0.01 * 2 / np.sqrt(300) * 10
            assert abs(b_std_draw - 0.5) < 0.05
    # same seed, same draw; the output of the first layer has variance w_std² |x|²/d + b_std² either way
    a = nt.network("dense(w_std=2.0, b_std=0.5), dense", 4000, input_shape=(50,), seed=3)
    x = torch.from_numpy(rng.standard_normal((1, 50)))
    h = a[0](x).detach()
    expect = 4.0 * float((x ** 2).mean()) + 0.25
    assert abs(float(h.var()) / expect - 1) < 0.1
    assert torch.equal(nt.network("dense, dense", 8, input_shape=(3,), seed=2)[0].weight,
                       nt.network("dense, dense", 8, input_shape=(3,), seed=2)[0].weight)


def test_to_arch_of_torch_models():
    torch.manual_seed(0)
    mlp = nn.Sequential(nn.Linear(6, 32), nn.ReLU(), nn.Linear(32, 32, bias=False), nn.GELU(), nn.LayerNorm(32,
                        elementwise_affine=False), nn.Linear(32, 2))
    arch, param = nt.to_arch(mlp)
    assert param == "standard"
    assert arch.startswith("dense(width=32, w_std=0.5") and ", relu, dense(width=32, " in arch
    assert "b_std=0.0), gelu, layernorm, dense(width=2," in arch
    w = float(arch.split("w_std=")[1].split(",")[0])
    assert abs(w - 1 / np.sqrt(3)) < 0.05  # PyTorch's default init: U(±1/√fan_in)
    arch2, _ = nt.to_arch(mlp, w_std=1.4, b_std=0.1)
    assert arch2.startswith("dense(width=32, w_std=1.4, b_std=0.1)") and "dense(width=32, w_std=1.4, b_std=0.0)" \
        in arch2
    cnn = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.Conv2d(8, 8, 3, padding=1,
                        padding_mode="circular"), nn.Tanh(), nn.AvgPool2d(2), nn.Conv2d(8, 16, 2, stride=2),
                        nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(16, 10))
    arch, param = nt.to_arch(cnn)
    assert param == "standard"
    names = [s.split("(")[0].strip() for s in nt._split_top(arch)]
    assert names == ["conv", "relu", "conv", "tanh", "avgpool", "conv", "relu", "gap", "dense"]
    assert "pad=same" in arch and "pad=circular" in arch and "avgpool(2, stride=2, pad=valid)" in arch
    assert "conv(2, stride=2, pad=valid" in arch and arch.endswith(")") and "dense(width=10" in arch
    res = nn.Sequential(nn.Linear(4, 16), nt.Residual(nn.ReLU(), nn.Linear(16, 16)), nn.ReLU(), nn.Linear(16, 1))
    assert "residual(relu, dense(width=16" in nt.to_arch(res).arch
    twin = nt.network(ARCHS[2][0], 8, input_shape=ARCHS[2][1])
    back, back_param = nt.to_arch(twin)
    assert ntk.describe(back) == ntk.describe(ARCHS[2][0], 8) and back_param == "ntk"


@pytest.mark.parametrize("model,match", [
    (nn.Sequential(nn.Linear(3, 4), nn.Dropout(0.1), nn.Linear(4, 1)), r"module '1' \(Dropout"),
    (nn.Sequential(nn.Conv2d(3, 4, (3, 5)), nn.Flatten(), nn.Linear(4, 1)), "square filters"),
    (nn.Sequential(nn.Conv2d(3, 4, 3, stride=2, padding=1), nn.Flatten()), "neither valid"),
    (nn.Sequential(nn.Linear(3, 4), nn.LayerNorm(4)), "elementwise_affine"),
    (nn.Sequential(nn.Linear(3, 4), nn.GELU(approximate="tanh")), "exact GELU"),
    (nn.Sequential(nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4))), r"module '0.1' \(BatchNorm1d"),
    (nn.Sequential(nn.Conv2d(3, 4, 3), nn.AdaptiveAvgPool2d(2)), "AdaptiveAvgPool2d\\(1\\)"),
])
def test_to_arch_names_what_it_cannot_translate(model, match):
    with pytest.raises(ValueError, match=match) as e:
        nt.to_arch(model)
    assert str(e.value).startswith("to_arch: cannot translate module")


def test_network_errors():
    with pytest.raises(ValueError, match="input_shape"):
        nt.network("dense, relu, dense", 8)
    with pytest.raises(ValueError, match="arch"):
        nt.network("dense, relux, dense", 8, input_shape=(3,))
    with pytest.raises(ValueError, match="still an image"):
        nt.network("conv(3), relu, dense", 8, input_shape=(4, 4, 1))


def _rel(a, b):
    return np.abs(a - b).max() / np.abs(b).max()


def test_monte_carlo_of_a_torch_cnn_approaches_the_kernels_of_its_arch(rng):
    """to_arch of a small PyTorch CNN -> its architecture and parameterization; twins of growing width ->
    that architecture's ntk.kernels (the error falls with the width, and is small at the widest)."""
    torch.manual_seed(0)
    cnn = nn.Sequential(nn.Conv2d(2, 8, 3, padding=1), nn.ReLU(), nn.Conv2d(8, 8, 3, padding=1), nn.ReLU(),
                        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, 1))
    arch, param = nt.to_arch(cnn, w_std=1.4, b_std=0.2, widths=False)
    assert param == "standard" and "width=" not in arch.rsplit("dense", 1)[0]
    x = rng.standard_normal((4, 5, 5, 2))  # ntk's NHWC
    for p in (param, "ntk"):
        errs = []
        for width in (8, 64, 512):
            exact = ntk.kernels(ntk.describe(arch, width), x, parameterization=p)
            mc = nt.monte_carlo_kernels(arch, nt.nchw(x), width=width, samples=6, seed=1, parameterization=p)
            errs.append((_rel(mc.nngp, exact.nngp), _rel(mc.ntk, exact.ntk)))
        nngp_err, ntk_err = zip(*errs)
        assert nngp_err[2] < nngp_err[0] and ntk_err[2] < ntk_err[0], (p, errs)
        assert nngp_err[2] < 0.15 and ntk_err[2] < 0.05, (p, errs)


def test_monte_carlo_of_an_mlp_in_both_parameterizations(rng):
    arch = "dense(w_std=1.5, b_std=0.3), relu, dense(w_std=1.5, b_std=0.3), erf, dense(width=4, w_std=1.2)"
    x = rng.standard_normal((5, 3))
    for param in ("ntk", "standard"):
        errs = []
        for width in (32, 2048):
            exact = ntk.kernels(ntk.describe(arch, width), x, parameterization=param)
            mc = nt.monte_carlo_kernels(arch, x, width=width, samples=4, seed=0, parameterization=param)
            errs.append((_rel(mc.nngp, exact.nngp), _rel(mc.ntk, exact.ntk)))
        assert errs[1][0] < errs[0][0] and errs[1][1] < errs[0][1], errs
        assert errs[1][0] < 0.1 and errs[1][1] < 0.05, (param, errs)
