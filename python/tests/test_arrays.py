"""Array inputs: NumPy, PyTorch, JAX, DLPack producers, lists; precision kept; one-line refusals; no copies."""

import re
import tracemalloc

import numpy as np
import pytest

import ntk
from ntk import predict
from ntk._arrays import as_array, as_real

FC = "dense(w_std=1.5, b_std=0.2), relu, dense(w_std=1.5, b_std=0.2), relu, dense"
CNN = "conv(3, w_std=1.41, b_std=0.1), relu, gap, dense"


class FakeDevice:
    """A DLPack producer living on a GPU (device type 2 = kDLCUDA), as a CUDA tensor reports itself."""

    def __init__(self, dev_type=2):
        self.dev_type = dev_type

    def __dlpack_device__(self):
        return (self.dev_type, 0)

    def __dlpack__(self, **kwargs):
        raise AssertionError("must not be read")


def test_lists_and_array_protocol_objects(rng):
    x = rng.standard_normal((7, 3))

    class HasArray:
        def __array__(self, dtype=None, copy=None):
            return x

    ref = ntk.kernel(FC, x)
    assert np.array_equal(ntk.kernel(FC, x.tolist()), ref)
    assert np.array_equal(ntk.kernel(FC, HasArray()), ref)
    assert np.array_equal(ntk.kernel(FC, memoryview(x)), ref)


def test_float32_inputs_give_float32_kernels(rng):
    x = rng.standard_normal((9, 4)).astype(np.float32)
    assert ntk.kernel(FC, x).dtype == np.float32
    assert np.array_equal(ntk.kernel(FC, x), ntk.kernel(FC, x.astype(np.float64), dtype="float32"))
    assert ntk.kernel(FC, x.astype(np.float16)).dtype == np.float32
    assert ntk.kernel(FC, x, dtype="float64").dtype == np.float64  # told otherwise
    assert ntk.kernel(FC, x, x.astype(np.float64)).dtype == np.float64  # mixed: the wider
    assert ntk.kernel(FC, (x > 0)).dtype == np.float64  # bools, ints: float64
    k = ntk.kernels(FC, x)
    assert k.nngp.dtype == k.ntk.dtype == np.float32
    # solvers compute in float64 and return float32 for float32 inputs
    K = ntk.kernel(FC, x)
    y = x[:, :1]
    assert predict.kernel_regression(K, K, y, diag_reg=1e-3).dtype == np.float32
    assert predict.kernel_regression(K.astype(np.float64), K, y.astype(np.float64)).dtype == np.float64


def test_refusals_are_one_line(rng):
    for bad, pattern in [(FakeDevice(2), "x1: CUDA tensors are not supported by this build; move it to the CPU "
                                         "with .cpu()"),
                         (FakeDevice(10), "x1: ROCm tensors are not supported"),
                         (np.array([["a", "b"]]), "x1: expected a real numeric array, got dtype <U1"),
                         (np.ones((3, 2), dtype=complex), "x1: complex values are not supported"),
                         (np.array([[1, None]], dtype=object), "x1: expected a real numeric array, got dtype "
                                                               "object")]:
        with pytest.raises(ValueError, match=re.escape(pattern)) as e:
            ntk.kernel(FC, bad)
        assert "\n" not in str(e.value)
    with pytest.raises(ValueError, match="x2: CUDA tensors"):
        ntk.kernels(FC, rng.standard_normal((2, 2)), FakeDevice())
    with pytest.raises(ValueError, match="k_train_train: CUDA tensors"):
        predict.kernel_regression(FakeDevice(), np.ones((1, 1)), np.ones(1))


def test_numpy_float64_c_arrays_reach_the_extension_without_a_copy(rng):
    # tracemalloc sees NumPy's allocations: a conversion (pybind11's forcecast) of an 8 MB input would show.
    x = rng.standard_normal((1000, 1000))
    x2 = x[:2].copy()
    ntk.kernel(FC, x[:3], x2)  # warm up
    tracemalloc.start()
    try:
        ntk.kernel(FC, x, x2)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.reset_peak()
        ntk.kernel(FC, np.asfortranarray(x), x2)
        peak_fortran = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < x.nbytes / 8
    assert peak_fortran >= x.nbytes  # the measurement can see a copy


def _torch():
    return pytest.importorskip("torch")


def test_torch_tensors_equal_numpy(rng):
    t = _torch()
    x = rng.standard_normal((11, 5))
    xi = rng.standard_normal((3, 6, 6, 2))
    assert np.array_equal(ntk.kernel(FC, t.from_numpy(x)), ntk.kernel(FC, x))
    assert np.array_equal(ntk.kernel(CNN, t.from_numpy(xi), get="nngp"), ntk.kernel(CNN, xi, get="nngp"))
    x32 = x.astype(np.float32)
    k32 = ntk.kernel(FC, t.from_numpy(x32))
    assert k32.dtype == np.float32 and np.array_equal(k32, ntk.kernel(FC, x32))
    # strided views, autograd leaves, bfloat16 (exact in float32)
    tt = t.from_numpy(rng.standard_normal((11, 10)))
    assert np.array_equal(ntk.kernel(FC, tt[:, ::2]), ntk.kernel(FC, tt.numpy()[:, ::2]))
    g = t.from_numpy(x).requires_grad_()
    assert np.array_equal(ntk.kernel(FC, g), ntk.kernel(FC, x))
    b = t.from_numpy(x32).to(t.bfloat16)
    assert np.array_equal(ntk.kernel(FC, b), ntk.kernel(FC, b.float().numpy()))
    # labels, targets and kernels as tensors
    K = ntk.kernel(FC, x)
    y = (x[:, 0] > 0).astype(np.int64)
    assert np.array_equal(ntk.svm(t.from_numpy(K), t.from_numpy(y), t.from_numpy(K)), ntk.svm(K, y, K))
    assert np.array_equal(predict.kernel_regression(t.from_numpy(K), t.from_numpy(K), t.from_numpy(x[:, :2])),
                          predict.kernel_regression(K, K, x[:, :2]))


def test_torch_cpu_tensors_are_zero_copy_views_and_gpu_ones_are_refused(rng):
    t = _torch()
    x = t.from_numpy(rng.standard_normal((50, 4)))
    a = as_array(x, "x")
    assert a.ctypes.data == x.data_ptr() and np.shares_memory(a, x.numpy())
    # a tensor on another device (meta: no memory, no CUDA needed) is refused with its device's name
    with pytest.raises(ValueError, match=r"x1: meta tensors are not supported by this build; move it to the CPU"):
        ntk.kernel(FC, t.empty((3, 4), device="meta"))
    with pytest.raises(ValueError, match="complex values are not supported"):
        ntk.kernel(FC, t.ones((2, 2), dtype=t.complex64))


def test_jax_arrays_equal_numpy(rng):
    jnp = pytest.importorskip("jax.numpy")
    x = rng.standard_normal((9, 4)).astype(np.float32)
    j = jnp.asarray(x)
    a = as_real(j, "x")
    assert a.ctypes.data == j.unsafe_buffer_pointer()  # DLPack view of the device buffer
    k = ntk.kernel(FC, j)
    assert k.dtype == np.float32 and np.array_equal(k, ntk.kernel(FC, x))
    assert np.array_equal(ntk.kernel(FC, j, dtype="float64"), ntk.kernel(FC, x.astype(np.float64)))
    assert np.array_equal(ntk.kernel(FC, j.astype(jnp.bfloat16)), ntk.kernel(FC, np.asarray(
        j.astype(jnp.bfloat16)).astype(np.float32)))
