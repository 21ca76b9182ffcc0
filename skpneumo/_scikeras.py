"""scikeras' KerasClassifier as scikit-learn >= 1.6 expects a classifier to behave.

scikeras 0.13 is the last release and is no longer maintained; on current
scikit-learn its :class:`~scikeras.wrappers.KerasClassifier` is not recognised
as a classifier, and a few of its conveniences fight scikit-learn's own
machinery. :class:`KerasClassifierBase` repairs exactly that and nothing
specific to X-rays; :class:`~skpneumo.PneumoniaClassifier` builds on it. Each
member names, in its first comment line, the scikeras behaviour it repairs,
and ``tests/test_scikeras.py`` holds for each an upstream-watch test that
fails once stock scikeras no longer shows the behaviour, so that the repair
can be dropped.

What is used from scikeras as its documentation describes: ``fit`` (target
encoding, ``initialize``, the ``_keras_build_fn(meta)`` hook, metadata),
``_fit_keras_model`` as the training hook, the ``target_encoder`` property,
``_validate_sample_weight`` and ``_predict_raw``.
"""

import numpy as np
from scikeras.wrappers import KerasClassifier
from sklearn.base import BaseEstimator
from sklearn.utils import check_random_state
from sklearn.utils._tags import ClassifierTags

from . import _backend


class KerasClassifierBase(KerasClassifier):
    """A KerasClassifier whose parameters and tags are scikit-learn's.

    A subclass defines its parameters in its ``__init__`` signature, as any
    scikit-learn estimator does, builds its compiled network in
    ``_keras_build_fn(meta)``, and seeds every backend through
    ``random_state``.
    """

    # repairs: scikeras' __init__ stores its generic parameters (model,
    # build_fn, warm_start, ...) on every instance; here they are fixed.
    model = None
    build_fn = None
    warm_start = False

    # repairs: scikeras lists every public instance attribute as a parameter;
    # scikit-learn's are the __init__ signature.
    @classmethod
    def _get_param_names(cls):
        return BaseEstimator._get_param_names.__func__(cls)

    def set_params(self, **params):
        """Set the parameters of this estimator.

        Parameters
        ----------
        **params : dict
            Parameter names mapped to their new values.

        Returns
        -------
        self : estimator instance
            The estimator.
        """
        # repairs: scikeras accepts routed "fit__"-style keys that are no
        # parameter; scikit-learn's set_params refuses unknown names.
        return BaseEstimator.set_params(self, **params)

    # repairs: scikeras' repr lists its own generic parameters.
    __repr__ = BaseEstimator.__repr__

    def __sklearn_tags__(self):
        # repairs: scikeras puts ClassifierMixin after BaseEstimator in the
        # MRO, so scikit-learn >= 1.6 never sees the classifier tags (no
        # stratified CV, NaN roc_auc).
        tags = super().__sklearn_tags__()
        tags.estimator_type = "classifier"
        tags.classifier_tags = ClassifierTags(multi_class=False)
        tags.target_tags.required = True
        return tags

    def fit(self, X, y, sample_weight=None, **kwargs):
        """Fit a new network; see the subclass for the parameters.

        Parameters
        ----------
        X : array-like
            Training data.
        y : array-like of shape (n_samples,)
            Labels.
        sample_weight : array-like of shape (n_samples,), default=None
            Per-sample weights in the loss.
        **kwargs : dict
            Passed to scikeras' ``fit``.

        Returns
        -------
        self : estimator instance
            The fitted estimator.
        """
        # repairs: scikeras seeds TensorFlow only; this seeds the backend in
        # use (TensorFlow, JAX or PyTorch), NumPy and Python from random_state.
        if self.random_state is None:
            self._seed = None
        else:
            self._seed = int(
                check_random_state(self.random_state).randint(np.iinfo(np.int32).max)
            )
        with _backend.seeded(self._seed):
            return super().fit(X, y, sample_weight=sample_weight, **kwargs)

    def _build_keras_model(self):
        # repairs: scikeras seeds TensorFlow (not the backend in use) around the
        # build and switches TensorFlow's op determinism on for it, which
        # older TensorFlow releases left on; ``fit`` seeds the backend instead.
        return self._keras_build_fn(self._get_metadata())

    def predict_proba(self, X):
        """Probability of each class.

        Parameters
        ----------
        X : array-like
            Samples.

        Returns
        -------
        proba : ndarray of shape (n_samples, 2)
            Columns follow ``classes_``; the second is the network's output.
        """
        # repairs: scikeras' output decoding squeezes a single sample to (2,).
        positive = np.asarray(self._predict_raw(X), dtype=np.float64).reshape(-1)
        return np.column_stack([1.0 - positive, positive])
