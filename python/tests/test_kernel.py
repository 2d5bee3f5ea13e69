import os
import signal
import threading
import time

import numpy as np
import pytest

import ntk
from conftest import ROOT, run_cli

FC = "dense(w_std=1.5, b_std=0.2), relu, dense(w_std=1.5, b_std=0.2), relu, dense"
CNN = "repeat(2, conv(3, w_std=1.41, b_std=0.1), relu), gap, dense"


def cli_kernel(cli, tmp_path, arch, x1, x2=None, *opts):
    np.save(tmp_path / "x1.npy", x1)
    args = ["kernel", "--arch", arch, "--x1", str(tmp_path / "x1.npy"), "--out", str(tmp_path / "K.npy"), "-q", *opts]
    if x2 is not None:
        np.save(tmp_path / "x2.npy", x2)
        args += ["--x2", str(tmp_path / "x2.npy")]
    run_cli(cli, *args)
    return np.load(tmp_path / "K.npy")


@pytest.mark.parametrize("get", ["ntk", "nngp"])
@pytest.mark.parametrize("param", ["ntk", "standard"])
def test_fc_equals_cli_bit_for_bit(cli, tmp_path, rng, get, param):
    x1, x2 = rng.standard_normal((300, 7)), rng.standard_normal((270, 7))  # more than one 256-tile
    k = ntk.kernel(FC, x1, get=get, parameterization=param)
    assert k.dtype == np.float64 and k.shape == (300, 300)
    assert np.array_equal(k, cli_kernel(cli, tmp_path, FC, x1, None, "--get", get, "--parameterization", param))
    k12 = ntk.kernel(FC, x1, x2, get=get, parameterization=param)
    assert np.array_equal(k12, cli_kernel(cli, tmp_path, FC, x1, x2, "--get", get, "--parameterization", param))


def test_cnn_and_float32_equal_cli(cli, tmp_path, rng):
    x = rng.standard_normal((9, 6, 6, 2))
    assert np.array_equal(ntk.kernel(CNN, x), cli_kernel(cli, tmp_path, CNN, x))
    k32 = ntk.kernel(CNN, x, dtype="float32")
    assert k32.dtype == np.float32
    assert np.array_equal(k32, cli_kernel(cli, tmp_path, CNN, x, None, "--dtype", "float32"))
    assert np.array_equal(ntk.kernel(CNN, x, dtype=np.float32), k32)


def test_float32_inputs_equal_cli(cli, tmp_path, rng):
    # float32 inputs are computed in float32 (the inputs' precision) unless dtype= says otherwise
    x = rng.standard_normal((20, 5)).astype(np.float32)
    k = ntk.kernel(FC, x)
    assert k.dtype == np.float32
    assert np.array_equal(k, cli_kernel(cli, tmp_path, FC, x, None, "--dtype", "float32"))
    assert np.array_equal(ntk.kernel(FC, x, dtype="float64"), cli_kernel(cli, tmp_path, FC, x))


def test_kernels_returns_both(rng):
    x1, x2 = rng.standard_normal((6, 4)), rng.standard_normal((5, 4))
    k = ntk.kernels(FC, x1, x2)
    assert np.array_equal(k.ntk, ntk.kernel(FC, x1, x2, get="ntk"))
    assert np.array_equal(k.nngp, ntk.kernel(FC, x1, x2, get="nngp"))
    assert np.array_equal(k["ntk"], k.ntk)
    s = ntk.kernels(FC, x1)
    assert np.array_equal(s.ntk, s.ntk.T) and s.nngp.shape == (6, 6)


def test_layouts_and_dtypes_give_the_same_numbers(rng):
    base = rng.standard_normal((12, 8))
    ref = ntk.kernel(FC, base)
    fortran = np.asfortranarray(base)
    assert not fortran.flags.c_contiguous
    assert np.array_equal(ntk.kernel(FC, fortran), ref)
    wide = rng.standard_normal((12, 16))
    wide[:, ::2] = base
    view = wide[:, ::2]  # non-contiguous view
    assert not view.flags.c_contiguous
    assert np.array_equal(ntk.kernel(FC, view), ref)
    rev = base[::-1][::-1]
    assert np.array_equal(ntk.kernel(FC, rev), ref)
    f32 = base.astype(np.float32)
    assert np.array_equal(ntk.kernel(FC, f32, dtype="float64"), ntk.kernel(FC, f32.astype(np.float64)))
    ints = np.arange(24).reshape(6, 4) % 5
    assert np.array_equal(ntk.kernel(FC, ints), ntk.kernel(FC, ints.astype(np.float64)))
    lists = base.tolist()
    assert np.array_equal(ntk.kernel(FC, lists), ref)
    x4 = np.asfortranarray(rng.standard_normal((3, 6, 6, 2)))
    assert np.array_equal(ntk.kernel(CNN, x4), ntk.kernel(CNN, np.ascontiguousarray(x4)))


def test_input_is_not_modified_and_output_owns_memory(rng):
    x = rng.standard_normal((5, 3))
    keep = x.copy()
    k = ntk.kernel(FC, x)
    assert np.array_equal(x, keep)
    assert k.flags.c_contiguous and k.flags.writeable


def test_bad_input_raises_valueerror_with_the_cli_message(cli, tmp_path, rng):
    x = rng.standard_normal((4, 3))
    bad = "dense, relu(, dense"
    with pytest.raises(ValueError) as e:
        ntk.kernel(bad, x)
    np.save(tmp_path / "x.npy", x)
    r = run_cli(cli, "kernel", "--arch", bad, "--x1", str(tmp_path / "x.npy"), "--out", str(tmp_path / "K.npy"),
                check=False)
    assert r.returncode == 2
    assert r.stderr.strip() == "ntk: error: " + str(e.value)
    assert "\n" not in str(e.value)


@pytest.mark.parametrize("make,match", [
    (lambda x: np.where(np.arange(12).reshape(4, 3) == 5, np.nan, x), "non-finite"),
    (lambda x: x[0], "expected"),
    (lambda x: x.astype(np.complex128), "complex values are not supported"),
    (lambda x: x.astype(str), "real numeric"),
])
def test_invalid_arrays(rng, make, match):
    with pytest.raises(ValueError, match=match):
        ntk.kernel(FC, make(rng.standard_normal((4, 3))))


def test_other_bad_options(rng):
    x = rng.standard_normal((4, 3))
    with pytest.raises(ValueError):
        ntk.kernel(FC, x, get="both")
    with pytest.raises(ValueError):
        ntk.kernel(FC, x, parameterization="mean-field")
    with pytest.raises(ValueError):
        ntk.kernel(FC, x, dtype=np.int32)
    with pytest.raises(ValueError):
        ntk.kernel(FC, x, rng.standard_normal((4, 5)))
    with pytest.raises(ValueError):
        ntk.kernel(CNN, x)  # conv on vectors


def test_memory_error_when_the_job_cannot_fit():
    x = np.ones((3_000_000, 1))
    t0 = time.time()
    with pytest.raises(MemoryError, match="budget"):
        ntk.kernel("dense, relu, dense", x)
    assert time.time() - t0 < 30
    with pytest.raises(MemoryError):
        ntk.kernel("dense, relu, dense", np.ones((600, 2)), memory="1M")
    assert ntk.kernel("dense, relu, dense", np.ones((6, 2)), memory=1 << 30).shape == (6, 6)


# A quadrature activation runs on the reference engine at ~10 µs per pair: slow enough that the long calls
# below really are long (the fast engines would finish before the interrupt or the GIL probe, and their tiles
# are larger).
SLOW = "dense, silu, dense"


def test_keyboard_interrupt_returns_promptly(rng):
    arch = SLOW
    small = rng.standard_normal((300, 10))
    t0 = time.perf_counter()
    ntk.kernel(arch, small, threads=1, engine="reference")
    per_pair = (time.perf_counter() - t0) / (300 * 301 / 2)
    n = min(int(np.sqrt(2 * 30.0 / per_pair)) + 1, 12000)  # ~30 s of work: far longer than the test waits
    tile = per_pair * 256 * n  # the longest tile (the engine's plan is 256 x 256, or 64-row stripes)
    big = rng.standard_normal((n, 10))
    timer = threading.Timer(1.0, lambda: os.kill(os.getpid(), signal.SIGINT))
    timer.start()
    t0 = time.perf_counter()
    with pytest.raises(KeyboardInterrupt):
        ntk.kernel(arch, big, threads=1, engine="reference")
    elapsed = time.perf_counter() - t0
    timer.join()
    assert elapsed < 3.0 + 2 * tile, (elapsed, tile)
    assert elapsed < 0.5 * n * n / 2 * per_pair, (elapsed, n)


def test_gil_is_released_during_a_kernel(rng):
    x = rng.standard_normal((400, 30))
    ticks = []
    done = threading.Event()

    def work():
        ntk.kernel(SLOW, x, threads=1, engine="reference")
        done.set()

    t = threading.Thread(target=work)
    t.start()
    while not done.is_set():
        ticks.append(time.perf_counter())
        time.sleep(0.001)
    t.join()
    assert len(ticks) > 5


def test_kernels_all_depths_matches_each_architecture(rng):
    x1, x2 = rng.standard_normal((7, 5)), rng.standard_normal((4, 5))
    ks = ntk.kernels_all_depths(x1, x2, max_depth=3, activation="relu", w_std=1.4, b_std=0.1)
    assert [(k.depth, k.fixed) for k in ks] == [(d, f) for d in range(1, 4) for f in range(0, d + 1)]
    for k in ks:
        if k.fixed:
            continue
        arch = f"repeat({k.depth}, dense(w_std=1.4, b_std=0.1), relu), dense(w_std=1.4, b_std=0.1)"
        ref = ntk.kernels(arch, x1, x2)
        np.testing.assert_allclose(k.ntk, ref.ntk, rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(k.nngp, ref.nngp, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("act", ["erf(b=2)", "leaky_relu(alpha=0.3)", "abrelu(a=-0.2, b=0.7)", "sin(a=2, c=0.3)",
                                 "erf(a=0.5, c=0.1)", "gelu", "tanh"])
def test_kernels_all_depths_reads_keyword_arguments(rng, act):
    # The all-depths recursion once read positional arguments only: erf(b=2) was erf(2), 175 % off at depth 2.
    x = rng.standard_normal((6, 4))
    for k in ntk.kernels_all_depths(x, max_depth=2, activation=act, w_std=1.3, b_std=0.2):
        if k.fixed:
            continue
        ref = ntk.kernels(f"repeat({k.depth}, dense(w_std=1.3, b_std=0.2), {act}), dense(w_std=1.3, b_std=0.2)", x)
        # Quadrature activations (tanh) are accurate to 1e-8 and their order follows the variances, which the two
        # routes compute in a different order: 1e-9 there, 1e-12 for the closed forms.
        tol = (1e-9 if act == "tanh" else 1e-12) * np.abs(ref.ntk).max()
        assert np.abs(k.ntk - ref.ntk).max() <= tol
        assert np.abs(k.nngp - ref.nngp).max() <= tol


def test_engines_name_and_agree(rng):
    x = rng.standard_normal((30, 6))
    arch = "dense(w_std=1.5, b_std=0.1), erf(b=2), dense(w_std=1.2), relu, dense"
    support = ntk.engines(arch, x)
    assert support["reference"] == ""
    assert set(support) >= {"reference", "fast-avx2", "fast-avx512"}
    ref = ntk.kernels(arch, x, engine="reference")
    assert ref.engine == "reference"
    auto = ntk.kernels(arch, x)
    assert auto.engine == next(name for name, why in support.items() if why == "")
    runnable = [name for name, why in support.items() if why == ""]
    for name in runnable:
        k = ntk.kernels(arch, x, engine=name)
        assert k.engine == name
        np.testing.assert_allclose(k.ntk, ref.ntk, rtol=1e-10, atol=1e-12 * np.abs(ref.ntk).max())


def test_engine_that_cannot_run_the_case_says_why(rng):
    img = rng.standard_normal((3, 6, 6, 2))
    arch = "conv(3), relu, residual(conv(3, pad=circular), relu), flatten, dense"
    why = ntk.engines(arch, img)["fast-avx2"]
    assert "circular" in why
    with pytest.raises(ValueError, match="circular"):
        ntk.kernels(arch, img, engine="fast")
    with pytest.raises(ValueError, match="unknown engine 'nope'"):
        ntk.kernels(arch, img, engine="nope")
    assert ntk.kernels(arch, img).engine == "reference"


def test_progress_callback_sees_every_tile_and_can_stop(rng):
    x = rng.standard_normal((600, 5))
    calls = []
    k = ntk.kernel("dense, relu, dense", x, engine="reference", on_progress=lambda d, t: calls.append((d, t)))
    assert calls and calls[-1][0] == calls[-1][1] and all(a[0] < b[0] for a, b in zip(calls, calls[1:]))
    np.testing.assert_array_equal(k, ntk.kernel("dense, relu, dense", x, engine="reference"))

    class Stop(Exception):
        pass

    def stop(done, total):
        raise Stop()

    with pytest.raises(Stop):
        ntk.kernel("dense, relu, dense", x, engine="reference", on_progress=stop)
    with pytest.raises(TypeError):
        ntk.kernel("dense, relu, dense", x, on_progress=3)


def test_neural_tangents_reference_kernels():
    root = os.path.join(ROOT, "tests", "data", "nt_reference")
    if not os.path.isdir(root):
        pytest.skip("no tests/data/nt_reference")
    checked = 0
    for case in sorted(os.listdir(root)):
        d = os.path.join(root, case)
        if not os.path.isfile(os.path.join(d, "arch.txt")):
            continue
        arch = open(os.path.join(d, "arch.txt")).read().strip()
        param = open(os.path.join(d, "parameterization.txt")).read().strip()
        x1, x2 = np.load(os.path.join(d, "x1.npy")), np.load(os.path.join(d, "x2.npy"))
        k = ntk.kernels(arch, x1, x2, parameterization=param)
        tol = 1e-4 if "elu" in arch else 1e-7
        for name in ("nngp", "ntk"):
            ref = np.load(os.path.join(d, f"{name}.npy"))
            err = np.linalg.norm(getattr(k, name) - ref) / np.linalg.norm(ref)
            assert err < tol, (case, arch, name, err)
        checked += 1
    assert checked >= 20


def test_neural_tangents_live_cross_check(rng):
    nt = pytest.importorskip("neural_tangents")
    stax = nt.stax
    x1, x2 = rng.standard_normal((5, 4)), rng.standard_normal((3, 4))
    _, _, kfn = stax.serial(stax.Dense(1, W_std=1.5, b_std=0.2), stax.Relu(), stax.Dense(1, W_std=1.5, b_std=0.2))
    ref = kfn(x1, x2, ("nngp", "ntk"))
    k = ntk.kernels("dense(w_std=1.5, b_std=0.2), relu, dense(w_std=1.5, b_std=0.2)", x1, x2)
    np.testing.assert_allclose(k.ntk, np.asarray(ref.ntk), rtol=1e-5)
    np.testing.assert_allclose(k.nngp, np.asarray(ref.nngp), rtol=1e-5)


def test_describe_and_layers():
    assert "relu" in ntk.layer_names() and "dense" in ntk.layer_names()
    assert "w_std" in ntk.describe("dense, relu, dense")
    with pytest.raises(ValueError, match="column"):
        ntk.describe("dense, nosuchlayer")


def test_blas_coretype_is_set():
    from ntk._blas import recommended_openblas_coretype

    core = recommended_openblas_coretype()
    if core is not None:
        assert os.environ.get("OPENBLAS_CORETYPE")


def test_version_is_written_once(cli):
    """CMakeLists.txt's project() version = ntk.__version__ (the library's NTK_VERSION_STRING, generated from
    project() into ntk/version.h) = `ntk --version` (= the installed distribution's, when installed from a
    wheel)."""
    import re
    from importlib import metadata

    with open(os.path.join(ROOT, "CMakeLists.txt")) as f:
        cmake = re.search(r"project\(ntk VERSION ([0-9.]+)", f.read()).group(1)
    with open(os.path.join(ROOT, "include", "ntk", "version.h.in")) as f:
        assert '"@PROJECT_VERSION@"' in f.read()
    assert cmake == ntk.__version__
    assert run_cli(cli, "--version").stdout.split()[:2] == ["ntk", ntk.__version__]
    try:
        assert metadata.version("ntk") == ntk.__version__
    except metadata.PackageNotFoundError:
        pass  # running from the build tree
