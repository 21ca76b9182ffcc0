"""The scikeras repairs of ``skpneumo._scikeras``: each one, and its upstream watch.

Every repair in ``KerasClassifierBase`` has two tests here: one that
``PneumoniaClassifier`` behaves as scikit-learn expects, and an upstream
watch that the stock ``KerasClassifier`` still shows the behaviour repaired.
When a watch fails, scikeras has changed: the repair can be dropped.
"""

import warnings

import keras
import numpy as np
import pytest
from _helpers import TINY
from scikeras.wrappers import KerasClassifier
from sklearn.base import is_classifier
from sklearn.model_selection import StratifiedKFold, check_cv, cross_val_score

from skpneumo import PneumoniaClassifier


def _stock_build():
    model = keras.Sequential(
        [
            keras.Input((16, 16, 1)),
            keras.layers.Flatten(),
            keras.layers.Dense(1, activation="sigmoid"),
        ]
    )
    model.compile(loss="binary_crossentropy", optimizer="adam")
    return model


def _stock(**params):
    return KerasClassifier(model=_stock_build, epochs=1, verbose=0, **params)


def _quietly(function, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return function(*args, **kwargs)


def test_watch_stock_is_no_classifier_to_scikit_learn(image_batch):
    _, y = image_batch
    stock = KerasClassifier()
    assert not is_classifier(stock)
    assert not isinstance(
        check_cv(3, y, classifier=is_classifier(stock)), StratifiedKFold
    )


def test_watch_stock_roc_auc_is_nan(image_batch):
    X, y = image_batch
    scores = _quietly(
        cross_val_score, _stock(random_state=0), X, y, cv=2, scoring="roc_auc"
    )
    assert np.all(np.isnan(scores))


def test_ours_is_a_classifier_with_finite_roc_auc(image_batch):
    X, y = image_batch
    ours = PneumoniaClassifier(**TINY)
    assert is_classifier(ours)
    assert isinstance(check_cv(3, y, classifier=is_classifier(ours)), StratifiedKFold)
    scores = cross_val_score(ours, X, y, cv=2, scoring="roc_auc", error_score="raise")
    assert np.all(np.isfinite(scores))


def test_watch_stock_takes_any_attribute_as_a_parameter():
    assert "foo" in KerasClassifier(foo=1).get_params()
    assert {"model", "optimizer", "loss"} <= set(KerasClassifier().get_params())


def test_ours_has_the_parameters_of_its_signature():
    params = PneumoniaClassifier().get_params()
    assert not {"model", "build_fn", "warm_start", "optimizer", "loss"} & set(params)
    with pytest.raises(TypeError, match="unexpected keyword argument 'foo'"):
        PneumoniaClassifier(foo=1)


def test_watch_stock_set_params_accepts_routed_keys():
    KerasClassifier().set_params(fit__epochs=3)


def test_ours_set_params_refuses_what_is_no_parameter():
    with pytest.raises(ValueError, match="Invalid parameter 'fit'"):
        PneumoniaClassifier().set_params(fit__epochs=3)


def test_watch_stock_repr_lists_generic_parameters():
    assert "optimizer=" in repr(KerasClassifier())


def test_ours_repr_is_scikit_learn_s():
    assert repr(PneumoniaClassifier(filters=8)) == "PneumoniaClassifier(filters=8)"


def test_watch_stock_squeezes_a_single_sample(image_batch):
    X, y = image_batch
    stock = _quietly(_stock().fit, X, y)
    assert stock.predict_proba(X[:1]).shape == (2,)


def test_ours_keeps_a_single_image_a_row(image_batch):
    X, y = image_batch
    ours = PneumoniaClassifier(**TINY).fit(X, y)
    assert ours.predict_proba(X[:1]).shape == (1, 2)
    np.testing.assert_array_equal(ours.predict_proba(X[:1]), ours.predict_proba(X)[:1])
