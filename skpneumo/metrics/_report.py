"""Metrics of a binary NORMAL/PNEUMONIA evaluation, and its plots.

The plots are drawn by scikit-learn's ``RocCurveDisplay`` and
``ConfusionMatrixDisplay``; matplotlib is imported only when a plot is made.
"""

import math

import numpy as np
from sklearn.metrics import confusion_matrix, roc_auc_score

#: Sensitivity at which ``benchmarks/quality.py`` picks the operating threshold
#: on patient-grouped out-of-fold predictions (the default ``threshold`` of
#: ``make_pneumonia_pipeline`` comes from there): above the 0.95 a screening
#: model must keep, with a margin for the shift between training and test
#: populations.
TARGET_SENSITIVITY = 0.97


def threshold_for_sensitivity(y_true, proba, target=TARGET_SENSITIVITY):
    """Highest threshold on P(pneumonia) whose sensitivity is at least ``target``.

    An image is called PNEUMONIA when its probability is ``>=`` the threshold.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        0 for NORMAL, 1 for PNEUMONIA.
    proba : array-like of shape (n_samples,)
        Predicted probability of PNEUMONIA.
    target : float, default=TARGET_SENSITIVITY
        Wanted sensitivity, in (0, 1].

    Returns
    -------
    threshold : float

    Examples
    --------
    >>> from skpneumo.metrics import threshold_for_sensitivity
    >>> threshold_for_sensitivity([0, 1, 1, 1, 1], [0.1, 0.2, 0.6, 0.8, 0.9], target=0.75)
    0.6
    """
    y_true, proba = np.asarray(y_true), np.asarray(proba, dtype=float)
    if not 0 < target <= 1:
        raise ValueError(f"target must be in (0, 1]; got {target!r}.")
    positives = np.sort(proba[y_true == 1])[::-1]
    if positives.size == 0:
        raise ValueError("y_true holds no PNEUMONIA (1) sample to measure sensitivity on.")
    k = math.ceil(target * positives.size - 1e-9)
    return float(positives[k - 1])


def binary_report(y_true, proba, threshold=0.5):
    """Accuracy, precision, sensitivity, specificity, F1, ROC-AUC and the counts.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        0 for NORMAL, 1 for PNEUMONIA.
    proba : array-like of shape (n_samples,)
        Predicted probability of PNEUMONIA.
    threshold : float, default=0.5
        PNEUMONIA is predicted when ``proba >= threshold``.

    Returns
    -------
    report : dict
        ``accuracy``, ``precision``, ``sensitivity`` (recall), ``specificity``,
        ``f1``, ``roc_auc`` (NaN with a single class), ``threshold``, and the
        confusion-matrix counts ``tn``, ``fp``, ``fn``, ``tp``.

    Examples
    --------
    >>> from skpneumo.metrics import binary_report
    >>> r = binary_report([0, 0, 1, 1], [0.2, 0.6, 0.7, 0.9])
    >>> r["sensitivity"], r["specificity"], r["roc_auc"]
    (1.0, 0.5, 1.0)
    """
    y_true, proba = np.asarray(y_true), np.asarray(proba, dtype=float)
    pred = (proba >= threshold).astype(int)
    tn, fp, fn, tp = (int(v) for v in confusion_matrix(y_true, pred, labels=[0, 1]).ravel())

    def ratio(a, b):
        return a / b if b else float("nan")

    precision, sensitivity = ratio(tp, tp + fp), ratio(tp, tp + fn)
    return {
        "accuracy": ratio(tp + tn, len(y_true)),
        "precision": precision,
        "sensitivity": sensitivity,
        "specificity": ratio(tn, tn + fp),
        "f1": ratio(2 * precision * sensitivity, precision + sensitivity)
        if tp
        else 0.0,
        "roc_auc": float(roc_auc_score(y_true, proba))
        if np.unique(y_true).size == 2
        else float("nan"),
        "threshold": float(threshold),
        "tn": tn,
        "fp": fp,
        "fn": fn,
        "tp": tp,
    }


def plot_roc_curve(y_true, proba, ax=None, name="PneumoniaClassifier"):
    """ROC curve with scikit-learn's ``RocCurveDisplay``; returns the display."""
    from sklearn.metrics import RocCurveDisplay

    return RocCurveDisplay.from_predictions(
        y_true, proba, ax=ax, name=name, plot_chance_level=True
    )


def plot_confusion_matrix(y_true, pred, ax=None, display_labels=("NORMAL", "PNEUMONIA")):
    """Confusion matrix normalised over the true classes (rows sum to 1).

    The original project showed it this way: the diagonal reads as specificity
    (NORMAL row) and sensitivity (PNEUMONIA row).
    """
    from sklearn.metrics import ConfusionMatrixDisplay

    return ConfusionMatrixDisplay.from_predictions(
        y_true,
        pred,
        labels=[0, 1],
        display_labels=list(display_labels),
        normalize="true",
        values_format=".3f",
        cmap="Blues",
        ax=ax,
    )


def plot_history(history, axes=None):
    """Accuracy and loss per epoch (and their validation curves, if present)."""
    import matplotlib.pyplot as plt

    if axes is None:
        _, axes = plt.subplots(1, 2, figsize=(10, 4))
    for ax, key in zip(axes, ("accuracy", "loss")):
        ax.plot(range(1, len(history[key]) + 1), history[key], label=f"training {key}")
        if f"val_{key}" in history:
            ax.plot(
                range(1, len(history[key]) + 1), history[f"val_{key}"], label=f"validation {key}"
            )
        ax.set_xlabel("epoch")
        ax.set_ylabel(key)
        ax.set_title(key)
        ax.legend()
    return axes
