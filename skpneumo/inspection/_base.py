"""What the heatmaps share: the classifier in an estimator, its inputs, the class.

Both heatmap functions accept a fitted :class:`~skpneumo.PneumoniaClassifier`,
or a fitted pipeline ending in one (such as
:func:`~skpneumo.make_pneumonia_pipeline` returns), also inside a search
(``best_estimator_``) or scikit-learn's post-fit wrappers
(``FixedThresholdClassifier``, ``TunedThresholdClassifierCV``,
``CalibratedClassifierCV(FrozenEstimator(...))``, as
:func:`skpneumo.load_pretrained` returns), and then prepare ``X``
exactly as the pipeline's ``predict`` does: the loader (and any other
transformer) is applied, samplers are skipped. The maps are at the resolution
of the images the network sees.
"""

import numpy as np
from sklearn.utils.validation import check_is_fitted

from .._validation import check_image_array
from .._wrappers import peel


def _unwrap(estimator):
    """Return ``(transformers, classifier)`` of a fitted classifier or pipeline.

    ``transformers`` are the steps that ``predict`` applies to ``X`` before the
    classifier, in order; samplers (``fit_resample``), ``None`` and
    ``"passthrough"`` steps act in ``fit`` only and are left out.
    """
    estimator, _ = peel(estimator)
    steps = getattr(estimator, "steps", None)
    if steps is None:
        transformers, classifier = [], estimator
    else:
        classifier = steps[-1][1]
        transformers = [
            step
            for _, step in steps[:-1]
            if step is not None
            and not (isinstance(step, str) and step == "passthrough")
            and not hasattr(step, "fit_resample")
        ]
    if not hasattr(classifier, "_labels_from_proba"):  # PneumoniaClassifier's rule
        raise TypeError(
            "estimator must be a fitted PneumoniaClassifier or a pipeline ending in "
            f"one; got {type(classifier).__name__} as the classifier."
        )
    check_is_fitted(classifier, "model_")
    return transformers, classifier


def _model_inputs(estimator, X):
    """``X`` as the network receives it in ``predict``, and the classifier.

    Also returns ``predicted``, a function of ``predict_proba``'s output that
    gives each image's predicted label as ``estimator.predict`` would: the
    classifier's own rule, or the outermost wrapper's ``predict`` (whose
    threshold or calibration the classifier does not know).
    """
    _, wrapper = peel(estimator)
    transformers, classifier = _unwrap(estimator)
    for step in transformers:
        X = step.transform(X)
    images = check_image_array(X)
    if images.shape[1:] != tuple(classifier.X_shape_[1:]):
        raise ValueError(
            f"X gives images of shape {images.shape[1:]}, but the classifier was "
            f"fitted on images of shape {tuple(classifier.X_shape_[1:])}."
        )
    if wrapper is None:
        return images, classifier, classifier._labels_from_proba
    # the images are the loader's output, which the loader passes through
    return images, classifier, lambda proba: wrapper.predict(images)


def _target_columns(classifier, proba, target, predicted):
    """Index into ``classes_`` of the class each image's map explains."""
    if isinstance(target, str) and target == "predicted":
        # the model's own rule, as in its predict
        labels = predicted(proba)
        return (labels == classifier.classes_[1]).astype(int)
    matches = np.flatnonzero(np.asarray(classifier.classes_) == target)
    if matches.size != 1:
        raise ValueError(
            f"target must be 'predicted' or one of the classes "
            f"{np.asarray(classifier.classes_).tolist()}; got {target!r}."
        )
    return np.full(proba.shape[0], matches[0])
