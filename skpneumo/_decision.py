"""The decision rule: how a probability of PNEUMONIA becomes a label.

This is the one place where a probability is compared with a threshold.
:class:`~skpneumo.PneumoniaClassifier` applies it in ``predict`` (through its
``_labels_from_proba``, which the heatmaps' ``target="predicted"`` asks too),
and :func:`skpneumo.metrics.binary_report` and the benchmarks apply it to
probabilities they already hold, so the labels cannot drift apart. The
command line takes its labels from the model's own ``predict``. Importing
this module imports NumPy only.
"""

import numpy as np

#: The operating threshold of :func:`~skpneumo.make_pneumonia_pipeline`, on
#: the default network's P(pneumonia). This is the one statement of why it is
#: what it is; the parameter documentation points here. The rule that sets it:
#: the highest threshold that keeps a sensitivity of 0.97
#: (``skpneumo.metrics.TARGET_SENSITIVITY``: above the 0.95 a screening model
#: must keep, with a margin for the shift between training and test
#: populations) on unshifted held-out patients, on both splits of
#: ``benchmarks/studies/robustness.py`` (it prints the threshold per split;
#: this is the lower of the two, rounded down to two decimals: 0.298 and
#: 0.299 for the default network averaging its three fields of view,
#: ``PneumoniaClassifier(test_time_views=...)``). Shifted images check it and
#: never move it. The documentation's threshold page gives the figures. The
#: bare :class:`~skpneumo.PneumoniaClassifier` keeps scikit-learn's 0.5.
DEFAULT_THRESHOLD = 0.29


def labels_at_threshold(proba, threshold, classes=(0, 1)):
    """``classes[1]`` where ``proba`` reaches ``threshold``, else ``classes[0]``.

    Parameters
    ----------
    proba : array-like of shape (n_samples,)
        Probability of the positive class ``classes[1]`` (PNEUMONIA).
    threshold : float
        The operating point; a probability equal to it is positive.
    classes : array-like of shape (2,), default=(0, 1)
        The negative and the positive label.

    Returns
    -------
    labels : ndarray of shape (n_samples,)
        Taken from ``classes``.

    Examples
    --------
    >>> from skpneumo._decision import labels_at_threshold
    >>> labels_at_threshold([0.2, 0.5, 0.9], 0.5).tolist()
    [0, 1, 1]
    >>> labels_at_threshold([0.2, 0.9], 0.98, ["NORMAL", "PNEUMONIA"]).tolist()
    ['NORMAL', 'NORMAL']
    """
    positive = np.asarray(proba) >= threshold
    return np.asarray(classes)[positive.astype(int)]


# --------------------------------------------------------------------------------------
# The rule of a whole model: whichever estimator owns the threshold. The wrappers
# that own one are known in ``_wrappers.WRAPPERS``, which points to these.


def decision_rule(estimator):
    """The rule that turns ``estimator``'s probabilities into labels.

    Read from the estimator that owns it: the outermost post-fit wrapper that
    predicts by itself (see ``skpneumo._wrappers``), else the pipeline's
    classifier.

    Parameters
    ----------
    estimator : estimator instance
        A fitted skpneumo pipeline, bare or inside scikit-learn's post-fit
        wrappers.

    Returns
    -------
    threshold : float
        PNEUMONIA (``classes_[1]``) is predicted when ``predict_proba(X)[:, 1]``
        reaches it (exceeds it, for a calibrated model; for a
        FixedThresholdClassifier whose ``pos_label`` is ``classes_[0]``, the
        probability of that class must reach it).
    rule : str
        The same, in words, naming who owns the threshold.
    """
    from ._wrappers import known

    while (wrapper := known(estimator)) is not None:
        if wrapper.rule is not None:
            return wrapper.rule(estimator)
        estimator = estimator.estimator  # a FrozenEstimator predicts as its estimator
    if hasattr(estimator, "steps"):
        threshold = float(estimator.named_steps["classifier"].threshold)
        return threshold, f"P(pneumonia) >= {threshold:g} (the classifier's threshold)"
    raise ValueError(f"No decision rule known for a {type(estimator).__name__}.")


def _fixed_rule(estimator):
    # "auto" is 0.5 on predict_proba, the only response the pipeline has
    threshold = 0.5 if estimator.threshold == "auto" else float(estimator.threshold)
    positive = estimator.pos_label
    if positive is not None and positive != estimator.classes_[1]:
        return threshold, (
            f"P({positive}) >= {threshold:g} (FixedThresholdClassifier, "
            f"pos_label={positive!r})"
        )
    inner = estimator.estimator
    while type(inner).__name__ == "FrozenEstimator":
        inner = inner.estimator
    if type(inner).__name__ == "CalibratedClassifierCV":
        return threshold, (
            f"calibrated P(pneumonia) >= {threshold:g} (FixedThresholdClassifier "
            f"around CalibratedClassifierCV, {inner.method})"
        )
    return threshold, f"P(pneumonia) >= {threshold:g} (FixedThresholdClassifier)"


def _tuned_rule(estimator):
    threshold = float(estimator.best_threshold_)
    return threshold, f"P(pneumonia) >= {threshold:g} (TunedThresholdClassifierCV)"


def _calibrated_rule(estimator):
    # predict is the argmax of the calibrated probabilities: ties go to classes_[0]
    return 0.5, (
        f"calibrated P(pneumonia) > 0.5 (CalibratedClassifierCV, {estimator.method})"
    )
