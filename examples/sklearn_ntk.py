"""ntk in scikit-learn: NTK estimators in a pipeline and a grid search, and an NTK Gaussian process.

    python examples/sklearn_ntk.py

1. Breast cancer (bundled with scikit-learn): GridSearchCV over the depth of a fully-connected ReLU network
   and the ridge diag_reg of its NTK classifier, then the NTK SVM on the same kernel.
2. Diabetes: GaussianProcessRegressor with the NNGP kernel; the marginal likelihood fits W_std and b_std.
"""

import time

from sklearn.datasets import load_breast_cancer, load_diabetes
from sklearn.gaussian_process import GaussianProcessRegressor
from sklearn.gaussian_process.kernels import WhiteKernel
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from ntk.sklearn import NNGPKernel, NTKClassifier, NTKSVC, kernel_cache

X, y = load_breast_cancer(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.3, random_state=0, stratify=y)

t0 = time.time()
search = GridSearchCV(make_pipeline(StandardScaler(), NTKClassifier()),
                      {"ntkclassifier__depth": [1, 2, 4], "ntkclassifier__diag_reg": [1e-4, 1e-2, 1.0]}, cv=5)
search.fit(X_train, y_train)
print(f"grid search: best {search.best_params_}, CV accuracy {search.best_score_:.3f}, "
      f"test accuracy {search.score(X_test, y_test):.3f} ({time.time() - t0:.1f} s)")
print(f"kernel cache: {kernel_cache.info()}")

svc = make_pipeline(StandardScaler(), NTKSVC(C=1.0, depth=search.best_params_["ntkclassifier__depth"]))
print(f"NTK SVM: test accuracy {svc.fit(X_train, y_train).score(X_test, y_test):.3f}")

Xd, yd = load_diabetes(return_X_y=True)
Xd = StandardScaler().fit_transform(Xd[:150])
yd = (yd[:150] - yd[:150].mean()) / yd[:150].std()
kernel = NNGPKernel(W_std=1.0, b_std=0.5, depth=2, activation="erf") + WhiteKernel(0.5)
gp = GaussianProcessRegressor(kernel=kernel, normalize_y=False).fit(Xd[:100], yd[:100])
print(f"GP: {kernel} -> {gp.kernel_}")
print(f"GP: log marginal likelihood {gp.log_marginal_likelihood(kernel.theta):.1f} -> "
      f"{gp.log_marginal_likelihood_value_:.1f}; test R^2 {gp.score(Xd[100:], yd[100:]):.3f}")
