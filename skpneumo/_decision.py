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
#: this is the lower of the two, rounded down). Shifted images check it and
#: never move it. The documentation's threshold page gives the figures. The
#: bare :class:`~skpneumo.PneumoniaClassifier` keeps scikit-learn's 0.5.
DEFAULT_THRESHOLD = 0.2


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
