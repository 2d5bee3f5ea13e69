import math

import numpy as np
import pytest

import ntk
from ntk import predict

ARCH = "dense(w_std=1.5, b_std=0.2), relu, dense"


@pytest.fixture
def problem(rng):
    xtr, xte = rng.standard_normal((20, 4)), rng.standard_normal((7, 4))
    ytr = np.stack([np.sin(xtr[:, 0]), np.cos(xtr[:, 1])], axis=1)
    ktt = ntk.kernels(ARCH, xtr)
    kst = ntk.kernels(ARCH, xte, xtr)
    kss = ntk.kernels(ARCH, xte)
    return ktt, kst, kss, ytr


def test_gradient_flow_infinity_is_kernel_regression(problem):
    ktt, kst, _, y = problem
    direct = kst.ntk @ np.linalg.solve(ktt.ntk, y)
    np.testing.assert_allclose(predict.gradient_flow(ktt.ntk, y, kst.ntk), direct, rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(predict.kernel_regression(ktt.ntk, kst.ntk, y), direct, rtol=1e-6, atol=1e-8)
    flat = predict.kernel_regression(ktt.ntk, kst.ntk, y[:, 0])
    assert flat.shape == (7,)
    np.testing.assert_allclose(flat, direct[:, 0], rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(predict.cholesky_solve(ktt.ntk, y), np.linalg.solve(ktt.ntk, y), rtol=1e-6, atol=1e-8)


def test_gradient_flow_finite_time(problem):
    ktt, kst, _, y = problem
    t, lr = 0.7, 0.5
    w, v = np.linalg.eigh(ktt.ntk)
    a = v @ np.diag((1 - np.exp(-lr * w * t)) / w) @ v.T
    np.testing.assert_allclose(predict.gradient_flow(ktt.ntk, y, kst.ntk, t=t, learning_rate=lr), kst.ntk @ a @ y,
                               rtol=1e-6, atol=1e-8)
    g = predict.GradientFlow(ktt.ntk, learning_rate=lr)
    np.testing.assert_allclose(g.predict_train(y, t), ktt.ntk @ a @ y, rtol=1e-6, atol=1e-8)
    f0tr, f0te = np.ones_like(y), np.ones((7, 2))
    np.testing.assert_allclose(g.predict_test(kst.ntk, y, t, f0tr, f0te), f0te + kst.ntk @ a @ (y - f0tr),
                               rtol=1e-6, atol=1e-8)


def test_gradient_descent_steps(problem):
    ktt, kst, _, y = problem
    lr = 1.0 / np.linalg.eigvalsh(ktt.ntk).max()
    u, f = np.zeros_like(y), np.zeros((7, 2))
    for _ in range(25):
        r = u - y
        u, f = u - lr * ktt.ntk @ r, f - lr * kst.ntk @ r
    tr, te = predict.gradient_descent(ktt.ntk, y, kst.ntk, steps=25, learning_rate=lr)
    np.testing.assert_allclose(tr, u, rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(te, f, rtol=1e-8, atol=1e-10)
    g = predict.GradientFlow(ktt.ntk, learning_rate=lr)
    np.testing.assert_allclose(g.predict_test_steps(kst.ntk, y, 25), f, rtol=1e-6, atol=1e-8)


def test_nngp_posterior(problem):
    ktt, kst, kss, y = problem
    reg = 1e-2
    k = ktt.nngp + reg * np.mean(np.diag(ktt.nngp)) * np.eye(20)
    mean = kst.nngp @ np.linalg.solve(k, y)
    cov = kss.nngp - kst.nngp @ np.linalg.solve(k, kst.nngp.T)
    p = predict.nngp_posterior(ktt.nngp, kst.nngp, y, k_test_test=kss.nngp, diag_reg=reg)
    np.testing.assert_allclose(p.mean, mean, rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(p.covariance, cov, rtol=1e-5, atol=1e-8)
    np.testing.assert_allclose(p.variance, np.diag(cov), rtol=1e-5, atol=1e-8)
    q = predict.nngp_posterior(ktt.nngp, kst.nngp, y, diag_reg=reg)
    assert q.covariance is None and q.variance is None


def test_ntk_gp_ensemble(problem):
    ktt, kst, kss, y = problem
    p = predict.ntk_gp(ktt.ntk, ktt.nngp, kst.ntk, kst.nngp, y, t=math.inf, nngp_test_test=kss.nngp)
    np.testing.assert_allclose(p.mean, kst.ntk @ np.linalg.solve(ktt.ntk, y), rtol=1e-6, atol=1e-8)
    a = np.linalg.inv(ktt.ntk)
    cov = (kss.nngp + kst.ntk @ a @ ktt.nngp @ a @ kst.ntk.T
           - (kst.ntk @ a @ kst.nngp.T + kst.nngp @ a @ kst.ntk.T))
    np.testing.assert_allclose(p.covariance, cov, rtol=1e-4, atol=1e-6)


def test_one_hot_regression(rng):
    xtr = np.concatenate([rng.standard_normal((15, 3)) + 3, rng.standard_normal((15, 3)) - 3])
    ytr = np.array([0] * 15 + [1] * 15)
    xte = np.array([[3.0, 3, 3], [-3.0, -3, -3]])
    ktt, kst = ntk.kernel(ARCH, xtr), ntk.kernel(ARCH, xte, xtr)
    labels, scores = predict.one_hot_regression(ktt, kst, ytr, off=-0.1, on=0.9)
    assert list(labels) == [0, 1] and scores.shape == (2, 2)
    y1 = predict.one_hot(ytr, off=-0.1, on=0.9)
    np.testing.assert_allclose(scores, kst @ np.linalg.solve(ktt, y1), rtol=1e-6, atol=1e-8)
    with pytest.raises(ValueError):
        predict.one_hot([0, -1, 2])


def test_solver_errors(problem):
    ktt, kst, _, y = problem
    with pytest.raises(ValueError):
        predict.kernel_regression(ktt.ntk[:5], kst.ntk, y)
    bad = ktt.ntk.copy()
    bad[0, 0] = np.inf
    with pytest.raises(ValueError, match="non-finite"):
        predict.kernel_regression(bad, kst.ntk, y)


def test_solver_warnings_are_python_warnings(rng, capfd):
    # A rank-2 kernel on 12 points: the Cholesky needs jitter, the eigendecomposition finds ~0 eigenvalues. The
    # library does not print; the wrappers turn what it reports into RuntimeWarnings.
    x = rng.standard_normal((12, 2))
    k = x @ x.T
    y = rng.standard_normal(12)
    with pytest.warns(RuntimeWarning, match="not numerically positive definite"):
        predict.cholesky_solve(k, y)
    with pytest.warns(RuntimeWarning, match="not numerically positive definite"):
        predict.kernel_regression(k, k[:3], y)
    with pytest.warns(RuntimeWarning, match="not numerically positive definite"):
        predict.one_hot_regression(k, k[:3], (x[:, 0] > 0).astype(int))
    assert capfd.readouterr().err == ""


def test_svm_matches_scikit_learn(rng):
    x = rng.standard_normal((60, 4))
    y = (x[:, 0] + 0.5 * x[:, 1] > 0).astype(int) + (x[:, 2] > 1).astype(int)
    k = ntk.kernel(ARCH, x)
    tr, te = np.arange(40), np.arange(40, 60)
    pred = ntk.svm(k[np.ix_(tr, tr)], y[tr], k[np.ix_(te, tr)], C=1.0)
    assert pred.shape == (20,) and set(pred) <= set(y)
    s = ntk.SVM(C=1.0).fit(k[np.ix_(tr, tr)], y[tr])
    assert list(s.classes_) == sorted(set(y[tr])) and s.num_support_vectors > 0
    assert s.decision_function(k[np.ix_(te, tr)]).shape[0] == 20
    acc = ntk.svm_accuracy_path(k[np.ix_(tr, tr)], y[tr], k[np.ix_(te, tr)], y[te], [0.1, 1.0, 10.0])
    assert acc.shape == (3,) and np.all((acc >= 0) & (acc <= 1))
    assert acc[1] == pytest.approx(np.mean(pred == y[te]))
    sk = pytest.importorskip("sklearn.svm")
    ref = sk.SVC(kernel="precomputed", C=1.0).fit(k[np.ix_(tr, tr)], y[tr]).predict(k[np.ix_(te, tr)])
    assert np.array_equal(pred, ref)
    with pytest.raises(ValueError):
        ntk.svm(k[np.ix_(tr, tr)], np.zeros(40, dtype=int), k[np.ix_(te, tr)])


def test_model_selection(rng):
    x = rng.standard_normal((40, 5))
    labels = (x[:, 0] * x[:, 1] > 0).astype(int)
    ks = ntk.kernels_all_depths(x, max_depth=3, w_std=1.4, b_std=0.1)
    sel = ntk.select_model(ks, labels, folds=4, method="svm", values=[0.1, 1.0, 10.0])
    assert len(sel.grid) == len(ks) * 3
    assert sel.best == max(sel.grid, key=lambda g: g[3]) or sel.score == max(g[3] for g in sel.grid)
    assert 1 <= sel.depth <= 3 and 0 <= sel.fixed <= sel.depth
    reg = ntk.select_model(ks, labels, splits=ntk.kfold_splits(40, 4, seed=1), method="regression")
    assert reg.value in [0.0] + [10.0 ** e for e in range(-4, 1)]
    splits = ntk.kfold_splits(10, 5)
    assert len(splits) == 5 and sorted(np.concatenate([t for _, t in splits])) == list(range(10))
