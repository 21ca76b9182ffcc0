"""fit_calibrated and calibrate_fitted: calibration that keeps the operating point."""

import numpy as np
import pytest
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.model_selection import FixedThresholdClassifier
from sklearn.pipeline import Pipeline

from skpneumo import calibrate_fitted, fit_calibrated


class _Scorer(ClassifierMixin, BaseEstimator):
    """A fitted stand-in for the network: the score is the first column.

    Its ``decision_function`` is measured from ``threshold``, as the
    classifier's log-odds are, and ``predict`` is 1 from there on.
    """

    def __init__(self, threshold=0.0):
        self.threshold = threshold

    def fit(self, X, y):
        self.classes_ = np.array([0, 1])
        return self

    def decision_function(self, X):
        return np.asarray(X)[:, 0] - self.threshold

    def predict_proba(self, X):
        p = 1 / (1 + np.exp(-self.decision_function(X)))
        return np.column_stack([1 - p, p])

    def predict(self, X):
        return (self.decision_function(X) >= 0).astype(int)


def _scored(n=400, seed=0):
    rng = np.random.RandomState(seed)
    y = rng.randint(0, 2, n)
    X = (rng.normal(size=n) + 2.0 * y - 1.0)[:, np.newaxis]
    return X, y


@pytest.mark.parametrize("method", ["sigmoid", "isotonic"])
def test_calibration_keeps_the_labels_of_the_operating_point(method):
    X, y = _scored()
    pipe = Pipeline([("classifier", _Scorer(threshold=0.7))]).fit(X, y)
    model = calibrate_fitted(pipe, X, y, method=method)
    assert isinstance(model, FixedThresholdClassifier)
    X_new = np.linspace(-3, 3, 601)[:, np.newaxis]
    changed = model.predict(X_new) != pipe.predict(X_new)
    if method == "sigmoid":
        # a strictly increasing map: the same images, but for rounding at the cut
        assert changed.sum() <= 1
    else:
        # isotonic shares one value across a step: only just below the threshold
        assert np.all(X_new[changed, 0] < 0.7)
    # the probabilities are calibrated: their mean follows the labels
    assert abs(model.predict_proba(X)[:, 1].mean() - y.mean()) < 0.05


def test_calibration_refuses_a_decreasing_map():
    X, y = _scored()
    pipe = Pipeline([("classifier", _Scorer())]).fit(X, y)
    with pytest.raises(ValueError, match="calibration map is decreasing"):
        calibrate_fitted(pipe, X, 1 - y)


def test_fit_calibrated_fits_on_other_patients_than_it_calibrates_on(capsys):
    X, y = _scored(200)
    groups = np.arange(200) // 2
    seen = []

    class Recording(_Scorer):
        def fit(self, X, y):
            seen.append(np.asarray(X)[:, 0].copy())
            return super().fit(X, y)

    pipe = Pipeline([("classifier", Recording())])
    model = fit_calibrated(pipe, X, y, groups, random_state=0, verbose=1)
    fitted_rows = np.isin(X[:, 0], seen[0])
    assert not set(groups[fitted_rows]) & set(groups[~fitted_rows])
    assert (~fitted_rows).sum() == pytest.approx(40, abs=6)  # a fifth
    assert model.estimator.method == "sigmoid"
    out = capsys.readouterr().out
    assert "Training on " in out and "Calibrating (sigmoid) on" in out
    assert "on the calibrated one" in out
