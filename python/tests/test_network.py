import os
import signal
import threading
import time

import numpy as np
import pytest

import ntk

ARCH = "dense(w_std=1.5, b_std=0.2), relu, dense"


def test_apply_shapes_and_inferred_input_shape(rng):
    x = rng.standard_normal((6, 4))
    net = ntk.Network(ARCH, width=32, seed=1)
    assert net.input_shape is None
    f = net.apply(x)
    assert f.shape == (6, 1) and net.input_shape == (4,)
    assert np.array_equal(net(x), f)
    same = ntk.Network(ARCH, width=32, seed=1, input_shape=(4,))
    assert np.array_equal(same.apply(x), f)
    assert not np.array_equal(ntk.Network(ARCH, width=32, seed=2).apply(x), f)
    assert np.array_equal(net.apply(np.asfortranarray(x)), f)
    # float32 inputs: computed in float64, returned float32
    f32 = net.apply(x.astype(np.float32))
    assert f32.dtype == np.float32
    assert np.array_equal(f32, net.apply(x.astype(np.float32).astype(np.float64)).astype(np.float32))
    with pytest.raises(ValueError, match="input shape"):
        net.apply(rng.standard_normal((3, 5)))


def test_cnn_network(rng):
    x = rng.standard_normal((3, 5, 5, 2))
    net = ntk.Network("conv(3), relu, gap, dense(width=3)", width=8, seed=0)
    assert net.apply(x).shape == (3, 3)
    assert net.output_width == 3


def test_empirical_ntk_converges_to_the_exact_kernel(rng):
    x = rng.standard_normal((5, 4))
    exact = ntk.kernel(ARCH, x)
    emp = ntk.Network(ARCH, width=4096, seed=0).empirical_ntk(x)
    assert emp.shape == (5, 5)
    np.testing.assert_allclose(emp, emp.T, rtol=1e-12, atol=1e-12)
    assert np.linalg.norm(emp - exact) / np.linalg.norm(exact) < 0.1
    k12 = ntk.Network(ARCH, width=64, seed=0).empirical_ntk(x, x[:2])
    assert k12.shape == (5, 2)
    mc = ntk.empirical_kernels(ARCH, x, width=2048, samples=2)
    assert mc.ntk.shape == (5, 5) and mc.nngp.shape == (5, 5)


def test_params_get_set_roundtrip(rng):
    x = rng.standard_normal((4, 3))
    net = ntk.Network(ARCH, width=16, seed=0, input_shape=(3,))
    params = net.get_params()
    assert len(params) == 3 and params[1] == []  # dense, relu, dense
    assert sum(p.size for layer in params for p in layer) == net.num_params
    f0 = net.apply(x)
    scaled = [[2.0 * p for p in layer] for layer in params]
    net.set_params(scaled)
    got = net.get_params()
    for a, b in zip(got, scaled):
        for p, q in zip(a, b):
            assert np.array_equal(p, q)
    assert not np.array_equal(net.apply(x), f0)
    net.params = params
    assert np.array_equal(net.apply(x), f0)
    with pytest.raises(ValueError, match="shape"):
        net.set_params([[p[:1] for p in layer] for layer in params])
    with pytest.raises(ValueError):
        net.set_params(params[:1])


def test_train_reduces_the_loss(rng):
    x = rng.standard_normal((16, 4))
    y = np.sign(x[:, 0])
    net = ntk.Network(ARCH, width=128, seed=0)
    r = net.train(x, y, steps=30)
    assert r["steps"] == 30 and r["learning_rate"] > 0 and r["lambda_max"] > 0
    assert r["loss"].shape == (31,)
    assert r["loss"][-1] < 0.5 * r["loss"][0]
    assert r["final_loss"] == pytest.approx(0.5 * np.sum((net.apply(x)[:, 0] - y) ** 2), rel=1e-9)
    twin = ntk.Network(ARCH, width=64, seed=0, f0="twin")
    assert np.allclose(twin.apply(x), 0.0)
    r = twin.train(x, y.reshape(-1, 1), steps=5, learning_rate=0.1)
    assert r["learning_rate"] == 0.1 and r["flow_time"] == pytest.approx(0.5)
    with pytest.raises(ValueError):
        net.train(x, y[:3])
    with pytest.raises(ValueError):
        net.train(x, y, momentum=1.5)


def test_train_is_interruptible(rng):
    x = rng.standard_normal((64, 20))
    y = rng.standard_normal(64)
    net = ntk.Network("repeat(2, dense, relu), dense", width=512, seed=0)
    t0 = time.perf_counter()
    net.train(x, y, steps=2, learning_rate=1e-3)
    per_step = (time.perf_counter() - t0) / 3
    steps = int(30.0 / per_step) + 10
    timer = threading.Timer(0.5, lambda: os.kill(os.getpid(), signal.SIGINT))
    timer.start()
    t0 = time.perf_counter()
    with pytest.raises(KeyboardInterrupt):
        net.train(x, y, steps=steps, learning_rate=1e-3)
    timer.join()
    assert time.perf_counter() - t0 < 10.0
