"""Metrics of a binary NORMAL/PNEUMONIA evaluation, and its plots.

The plots are drawn by scikit-learn's ``RocCurveDisplay``,
``PrecisionRecallDisplay``, ``CalibrationDisplay`` and ``ConfusionMatrixDisplay``;
matplotlib is imported only when a plot is made. The bootstrap intervals of
:func:`binary_report` are computed in ``_bootstrap.py``.
"""

import math
from numbers import Integral, Real

import numpy as np
from imblearn.metrics import sensitivity_score
from sklearn.metrics import (
    accuracy_score,
    balanced_accuracy_score,
    brier_score_loss,
    confusion_matrix,
    f1_score,
    precision_score,
    roc_auc_score,
)
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, validate_params
from sklearn.utils.validation import column_or_1d

from .._decision import labels_at_threshold
from . import _bootstrap

#: Default target of :func:`threshold_for_sensitivity`: the sensitivity kept
#: by the rule that sets the default operating threshold (why this value is
#: stated once, with ``skpneumo._decision.DEFAULT_THRESHOLD``).
TARGET_SENSITIVITY = 0.97


def threshold_for_sensitivity(y_true, proba, target=TARGET_SENSITIVITY):
    """Highest threshold on P(pneumonia) whose sensitivity is at least ``target``.

    An image is called PNEUMONIA when its probability is at least the
    threshold, as :class:`~skpneumo.PneumoniaClassifier`'s ``predict`` does.

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
        The probability of one of the PNEUMONIA images: the highest threshold
        that still calls at least a fraction ``target`` of them PNEUMONIA.

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
        raise ValueError(
            "y_true holds no PNEUMONIA (1) sample to measure sensitivity on."
        )
    k = math.ceil(target * positives.size - 1e-9)
    return float(positives[k - 1])


@validate_params(
    {
        "y_true": ["array-like"],
        "proba": ["array-like"],
        "threshold": [Interval(Real, 0, 1, closed="both"), None],
        "y_pred": ["array-like", None],
        "subtype": ["array-like", None],
        "n_bootstraps": [Interval(Integral, 0, None, closed="left")],
        "confidence_level": [Interval(Real, 0, 1, closed="neither")],
        "n_bins": [Interval(Integral, 1, None, closed="left")],
        "random_state": ["random_state"],
    },
    prefer_skip_nested_validation=True,
)
def binary_report(
    y_true,
    proba,
    threshold=0.5,
    *,
    y_pred=None,
    subtype=None,
    n_bootstraps=1000,
    confidence_level=0.95,
    n_bins=10,
    random_state=0,
):
    r"""Clinical metrics of a NORMAL/PNEUMONIA evaluation, with bootstrap intervals.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        0 for NORMAL, 1 for PNEUMONIA.
    proba : array-like of shape (n_samples,)
        Predicted probability of PNEUMONIA, in [0, 1].
    threshold : float or None, default=0.5
        Without ``y_pred``, PNEUMONIA is predicted where ``proba`` is at least
        ``threshold``: the rule of :class:`~skpneumo.PneumoniaClassifier`'s
        ``predict``, applied by the same function. 0.5 is the bare
        classifier's default; a pipeline of
        :func:`~skpneumo.make_pneumonia_pipeline` predicts at its
        ``classifier`` step's ``threshold``, so pass that (or ``y_pred``) to
        report what it predicts. With ``y_pred`` it is only recorded (None is then
        allowed).
    y_pred : array-like of shape (n_samples,), default=None
        Predicted labels (0 or 1), for instance ``model.predict(X)``: the
        metrics of labels use them instead of ``threshold``, so that a model
        whose rule is not a threshold on ``proba`` (a calibrated or wrapped
        one) stays the owner of its decision rule.
    subtype : array-like of shape (n_samples,) of str, default=None
        Kind of each image, as ``load_chest_xray(...).subtype`` (``"normal"``,
        ``"bacteria"``, ``"virus"``, ``"unknown"``). When given, the
        sensitivity is also reported per subtype of the PNEUMONIA images.
    n_bootstraps : int, default=1000
        Number of stratified bootstrap resamples of the confidence intervals;
        0 computes none.
    confidence_level : float, default=0.95
        Coverage of the intervals, in (0, 1).
    n_bins : int, default=10
        Number of equal-width bins of the expected calibration error.
    random_state : int, RandomState instance or None, default=0
        Seed of the resamples. The default makes a report reproducible.

    Returns
    -------
    report : dict
        ``accuracy``, ``precision``, ``sensitivity`` (recall of PNEUMONIA),
        ``specificity`` (recall of NORMAL), ``balanced_accuracy``, ``f1``,
        ``roc_auc``, ``brier`` and ``ece`` (all floats; NaN where undefined,
        as ROC-AUC with a single class or the precision without any PNEUMONIA
        prediction), ``threshold``, the confusion-matrix counts ``tn``, ``fp``,
        ``fn``, ``tp``, and ``n_bins``, ``n_bootstraps`` and ``random_state``
        (None unless an int was given).

        With ``n_bootstraps > 0`` also ``ci``, a dict mapping each metric
        name to its interval ``[low, high]``, ``confidence_level`` and
        ``ci_method``.

        With ``subtype``, ``sensitivity_by_subtype`` maps each subtype found
        among the PNEUMONIA images to a dict with ``n`` (its images), ``tp``
        (those predicted PNEUMONIA), ``sensitivity`` and, with
        ``n_bootstraps > 0``, ``ci``.

    See Also
    --------
    threshold_for_sensitivity : Threshold reaching a target sensitivity.
    plot_calibration_curve : The calibration curve the ECE summarises.

    Notes
    -----
    The point estimates come from scikit-learn's and imbalanced-learn's metric
    functions. The Brier score is the mean of ``(proba - y_true) ** 2``.

    The expected calibration error (ECE) is that of the positive class, on the
    points of :func:`sklearn.calibration.calibration_curve` with
    ``strategy="uniform"``: [0, 1] is cut into ``n_bins`` equal-width bins
    (a probability on an inner edge goes to the lower bin), and

    .. math:: \mathrm{ECE} = \sum_k \frac{n_k}{n}
              \left| \bar y_k - \bar p_k \right|

    where bin :math:`k` holds :math:`n_k` of the :math:`n` images,
    :math:`\bar y_k` is its fraction of PNEUMONIA and :math:`\bar p_k` its
    mean ``proba``; empty bins count for nothing. It is the weighted mean
    vertical distance of the calibration curve to the diagonal, and differs
    from the top-label ECE of multi-class papers, which bins the probability
    of the predicted class.

    The intervals are percentile intervals of a stratified bootstrap: each of
    the ``n_bootstraps`` resamples draws, within each true class and with
    replacement, as many images as the class holds, so that the prevalence is
    that of the evaluated set (the sensitivity is then a function of the
    PNEUMONIA images only, the specificity of the NORMAL ones). The interval
    runs from the ``(1 - confidence_level) / 2`` quantile of the resampled
    values to the ``(1 + confidence_level) / 2`` quantile; resamples where
    a metric is undefined are left out of its interval. A subtype's interval
    comes from the same resamples, in which its number of images varies. The
    ECE is biased upwards on small sets and its resamples more so: its
    interval can lie above the point estimate.

    Examples
    --------
    >>> from skpneumo.metrics import binary_report
    >>> r = binary_report([0, 0, 1, 1], [0.2, 0.6, 0.7, 0.9])
    >>> r["sensitivity"], r["specificity"], r["roc_auc"]
    (1.0, 0.5, 1.0)
    >>> r["ci"]["specificity"]
    [0.0, 1.0]
    >>> round(r["brier"], 4), round(r["ece"], 4)
    (0.125, 0.3)
    """
    y_true = _check_labels(y_true, "y_true")
    proba = _check_length(column_or_1d(proba).astype(float), "proba", y_true)
    if y_true.size == 0:
        raise ValueError("y_true is empty: there is nothing to evaluate.")
    if not (np.isfinite(proba).all() and (proba >= 0).all() and (proba <= 1).all()):
        raise ValueError(
            "proba must hold probabilities in [0, 1]; got values from "
            f"{np.nanmin(proba)!r} to {np.nanmax(proba)!r}"
            + (" and NaN." if np.isnan(proba).any() else ".")
        )
    if y_pred is None:
        if threshold is None:
            raise ValueError(
                "threshold is None and no y_pred was given: pass a threshold in "
                "[0, 1], or the predicted labels as y_pred."
            )
        pred = labels_at_threshold(proba, threshold)
    else:
        pred = _check_length(_check_labels(y_pred, "y_pred"), "y_pred", y_true)
    if subtype is not None:
        subtype = _check_length(column_or_1d(subtype).astype(str), "subtype", y_true)

    n_pos, n_neg = int(y_true.sum()), int((y_true == 0).sum())
    tn, fp, fn, tp = (
        int(v) for v in confusion_matrix(y_true, pred, labels=[0, 1]).ravel()
    )
    nan = float("nan")
    # the guards return NaN where a class is missing, instead of the 0.0 and
    # the UndefinedMetricWarning of imbalanced-learn and scikit-learn
    report = {
        "accuracy": float(accuracy_score(y_true, pred)),
        "precision": float(precision_score(y_true, pred, zero_division=np.nan)),
        "sensitivity": float(sensitivity_score(y_true, pred)) if n_pos else nan,
        # the recall of NORMAL: imbalanced-learn's specificity_score returns 0.0
        # when no image is PNEUMONIA nor predicted so, whatever the NORMAL recall
        "specificity": float(sensitivity_score(y_true, pred, pos_label=0))
        if n_neg
        else nan,
        "balanced_accuracy": float(balanced_accuracy_score(y_true, pred))
        if n_pos and n_neg
        else nan,
        "f1": float(f1_score(y_true, pred, zero_division=np.nan)),
        "roc_auc": float(roc_auc_score(y_true, proba)) if n_pos and n_neg else nan,
        "brier": float(brier_score_loss(y_true, proba, pos_label=1)),
        "ece": _expected_calibration_error(y_true, proba, n_bins),
        "threshold": None if threshold is None else float(threshold),
        "tn": tn,
        "fp": fp,
        "fn": fn,
        "tp": tp,
        "n_bins": int(n_bins),
        "n_bootstraps": int(n_bootstraps),
        "random_state": int(random_state)
        if isinstance(random_state, Integral)
        else None,
    }

    groups = {}
    if subtype is not None:
        for name in np.unique(subtype[y_true == 1]).tolist():
            groups[name] = (y_true == 1) & (subtype == name)
    by_subtype = {
        name: {
            "n": int(mask.sum()),
            "tp": int(pred[mask].sum()),
            "sensitivity": float(sensitivity_score(y_true[mask], pred[mask])),
        }
        for name, mask in groups.items()
    }

    if n_bootstraps:
        values = _bootstrap.replicates(
            y_true,
            proba,
            pred,
            n_bins=n_bins,
            n_bootstraps=n_bootstraps,
            rng=check_random_state(random_state),
            groups=groups,
        )
        report["confidence_level"] = float(confidence_level)
        report["ci_method"] = (
            "percentile interval of a bootstrap stratified by true class"
        )
        report["ci"] = {
            name: _bootstrap.percentile_interval(values[name], confidence_level)
            for name in _bootstrap.METRICS
        }
        for name, entry in by_subtype.items():
            entry["ci"] = _bootstrap.percentile_interval(
                values[f"sensitivity:{name}"], confidence_level
            )
    if subtype is not None:
        report["sensitivity_by_subtype"] = by_subtype
    return report


def _check_labels(labels, name):
    labels = column_or_1d(labels)
    if labels.dtype.kind not in "biuf" or not np.isin(labels, (0, 1)).all():
        found = np.unique(labels)
        raise ValueError(
            f"{name} must hold 0 (NORMAL) and 1 (PNEUMONIA) only; got the values "
            f"{found[:6].tolist()}{' ...' if found.size > 6 else ''}."
        )
    return labels.astype(int)


def _check_length(values, name, y_true):
    if values.shape[0] != y_true.shape[0]:
        raise ValueError(
            f"{name} must have one value per sample of y_true ({y_true.shape[0]}); "
            f"got {values.shape[0]}."
        )
    return values


def _expected_calibration_error(y_true, proba, n_bins):
    """ECE of the positive class over ``n_bins`` equal-width bins (see binary_report)."""
    # n_k / n * |mean(y_k) - mean(p_k)| is |sum(y_k) - sum(p_k)| / n
    gap = np.bincount(
        _bootstrap.bin_ids(proba, n_bins), weights=y_true - proba, minlength=n_bins
    )
    return float(np.abs(gap).sum() / y_true.size)


def plot_roc_curve(y_true, proba, ax=None, name="PneumoniaClassifier"):
    """Plot the ROC curve of PNEUMONIA with scikit-learn's ``RocCurveDisplay``.

    The chance level, a classifier that ignores the image, is the diagonal.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        0 for NORMAL, 1 for PNEUMONIA.
    proba : array-like of shape (n_samples,)
        Predicted probability of PNEUMONIA.
    ax : matplotlib Axes, default=None
        Axes to draw on; a new figure when None.
    name : str, default="PneumoniaClassifier"
        Name of the curve in the legend, which also gives its AUC.

    Returns
    -------
    display : sklearn.metrics.RocCurveDisplay
        The display; its Axes is ``display.ax_``.
    """
    from sklearn.metrics import RocCurveDisplay

    return RocCurveDisplay.from_predictions(
        y_true, proba, ax=ax, name=name, plot_chance_level=True
    )


def plot_calibration_curve(
    y_true, proba, ax=None, n_bins=10, name="PneumoniaClassifier"
):
    """Calibration curve with scikit-learn's ``CalibrationDisplay``.

    Each point is one of ``n_bins`` equal-width bins of ``proba``: its mean
    predicted probability against its fraction of PNEUMONIA images. The
    ``ece`` of :func:`binary_report` (same ``n_bins``) is the mean vertical
    distance of these points to the diagonal, weighted by the bins' sizes.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        0 for NORMAL, 1 for PNEUMONIA.
    proba : array-like of shape (n_samples,)
        Predicted probability of PNEUMONIA.
    ax : matplotlib Axes, default=None
        Axes to draw on; a new figure when None.
    n_bins : int, default=10
        Number of equal-width bins.
    name : str, default="PneumoniaClassifier"
        Name of the curve in the legend.

    Returns
    -------
    display : sklearn.calibration.CalibrationDisplay
        The display; its Axes is ``display.ax_``.

    Examples
    --------
    >>> from skpneumo.metrics import plot_calibration_curve
    >>> display = plot_calibration_curve([0, 0, 1, 1], [0.1, 0.3, 0.4, 0.9], n_bins=2)
    >>> display.prob_true.tolist(), display.prob_pred.tolist()
    ([0.3333333333333333, 1.0], [0.26666666666666666, 0.9])
    """
    from sklearn.calibration import CalibrationDisplay

    display = CalibrationDisplay.from_predictions(
        y_true, proba, n_bins=n_bins, strategy="uniform", pos_label=1, name=name, ax=ax
    )
    display.ax_.set(
        xlabel="Mean predicted P(PNEUMONIA)", ylabel="Fraction of PNEUMONIA"
    )
    return display


def plot_precision_recall_curve(y_true, proba, ax=None, name="PneumoniaClassifier"):
    """Precision-recall curve of PNEUMONIA with scikit-learn's ``PrecisionRecallDisplay``.

    The chance level, the precision of a classifier that ignores the image,
    is the share of PNEUMONIA images in ``y_true``.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        0 for NORMAL, 1 for PNEUMONIA.
    proba : array-like of shape (n_samples,)
        Predicted probability of PNEUMONIA.
    ax : matplotlib Axes, default=None
        Axes to draw on; a new figure when None.
    name : str, default="PneumoniaClassifier"
        Name of the curve in the legend, which also gives its average precision.

    Returns
    -------
    display : sklearn.metrics.PrecisionRecallDisplay
        The display; its Axes is ``display.ax_``.

    Examples
    --------
    >>> from skpneumo.metrics import plot_precision_recall_curve
    >>> display = plot_precision_recall_curve([0, 0, 1, 1], [0.1, 0.3, 0.4, 0.9])
    >>> float(display.average_precision)
    1.0
    """
    from sklearn.metrics import PrecisionRecallDisplay

    display = PrecisionRecallDisplay.from_predictions(
        y_true, proba, pos_label=1, name=name, ax=ax, plot_chance_level=True
    )
    display.ax_.set(xlabel="Recall / sensitivity", ylabel="Precision (PPV)")
    return display


def plot_confusion_matrix(
    y_true, pred, ax=None, display_labels=("NORMAL", "PNEUMONIA")
):
    """Confusion matrix normalised over the true classes (rows sum to 1).

    The original project showed it this way: the diagonal reads as specificity
    (NORMAL row) and sensitivity (PNEUMONIA row).

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        0 for NORMAL, 1 for PNEUMONIA.
    pred : array-like of shape (n_samples,)
        Predicted labels, 0 or 1.
    ax : matplotlib Axes, default=None
        Axes to draw on; a new figure when None.
    display_labels : tuple of (str, str), default=("NORMAL", "PNEUMONIA")
        Names of the classes 0 and 1 on the axes.

    Returns
    -------
    display : sklearn.metrics.ConfusionMatrixDisplay
        The display; its Axes is ``display.ax_``.
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
    """Plot accuracy and loss per epoch (and their validation curves, if present).

    Parameters
    ----------
    history : dict of str to list of float
        Per-epoch ``accuracy`` and ``loss``, and optionally ``val_accuracy``
        and ``val_loss``, as in :class:`~skpneumo.PneumoniaClassifier`'s
        ``history_``.
    axes : sequence of two matplotlib Axes, default=None
        Axes for accuracy and loss; a new figure with two side by side when
        None.

    Returns
    -------
    axes : sequence of two matplotlib Axes
        The Axes drawn on: accuracy, then loss.
    """
    import matplotlib.pyplot as plt

    if axes is None:
        _, axes = plt.subplots(1, 2, figsize=(10, 4))
    for ax, key in zip(axes, ("accuracy", "loss"), strict=False):
        ax.plot(range(1, len(history[key]) + 1), history[key], label=f"training {key}")
        if f"val_{key}" in history:
            ax.plot(
                range(1, len(history[key]) + 1),
                history[f"val_{key}"],
                label=f"validation {key}",
            )
        ax.set_xlabel("epoch")
        ax.set_ylabel(key)
        ax.set_title(key)
        ax.legend()
    return axes
