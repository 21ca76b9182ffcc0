"""Calibrated probabilities that keep the pipeline's operating point.

:func:`fit_calibrated` is what ``skpneumo train --calibrate`` runs and how the
bundled model was made; :func:`calibrate_fitted` calibrates a pipeline that is
already fitted. Both are scikit-learn's own pieces:
``FixedThresholdClassifier(CalibratedClassifierCV(FrozenEstimator(pipeline)))``.
"""

import numpy as np
from sklearn.utils import _safe_indexing

from ._tuning import CALIBRATION_FOLDS, hold_out_patients


def _counts(y):
    y = np.asarray(y)
    return f"{len(y)} images ({int((y == 0).sum())} NORMAL, {int((y == 1).sum())} PNEUMONIA)"


def fit_calibrated(
    pipeline,
    X,
    y,
    groups,
    *,
    method="sigmoid",
    random_state=None,
    verbose=0,
    **fit_params,
):
    """Fit ``pipeline`` on most patients and calibrate it on the others.

    One fold of a shuffled :class:`~sklearn.model_selection.StratifiedGroupKFold`
    with ``CALIBRATION_FOLDS`` (5) folds is held out: a fifth of the patients,
    none of whose images the network sees, with about the class balance of
    the whole. ``pipeline`` is fitted on the rest and then calibrated on the
    held-out images by :func:`calibrate_fitted`.

    Parameters
    ----------
    pipeline : imblearn.pipeline.Pipeline
        An unfitted skpneumo pipeline (:func:`~skpneumo.make_pneumonia_pipeline`);
        it is fitted in place.
    X : array-like of shape (n_samples,) or (n_samples, height, width[, channels])
        Image file paths, or images.
    y : array-like of shape (n_samples,)
        0 (NORMAL) or 1 (PNEUMONIA).
    groups : array-like of shape (n_samples,)
        The patient of each image.
    method : {"sigmoid", "isotonic"}, default="sigmoid"
        The calibration, as in :class:`~sklearn.calibration.CalibratedClassifierCV`.
    random_state : int, RandomState instance or None, default=None
        Seeds which patients are held out.
    verbose : int, default=0
        With 1 or more, print what is fitted and calibrated on.
    **fit_params : dict
        Passed to ``pipeline.fit``, e.g. ``classifier__validation_data``.

    Returns
    -------
    model : sklearn.model_selection.FixedThresholdClassifier
        Around the fitted ``CalibratedClassifierCV``, itself around the
        fitted ``pipeline``.

    See Also
    --------
    calibrate_fitted : Calibrate a pipeline that is already fitted.
    """
    y, groups = np.asarray(y), np.asarray(groups)
    fit_part, held_out = hold_out_patients(
        y,
        groups,
        1 / CALIBRATION_FOLDS,
        random_state=random_state,
        purpose="The calibration",
    )
    if verbose:
        print(
            f"Training on {_counts(y[fit_part])} of "
            f"{len(set(groups[fit_part].tolist()))} patients",
            flush=True,
        )
    pipeline.fit(_safe_indexing(X, fit_part), y[fit_part], **fit_params)
    if verbose:
        print(
            f"Calibrating ({method}) on {_counts(y[held_out])} of the "
            f"{len(set(groups[held_out].tolist()))} patients held out",
            flush=True,
        )
    return calibrate_fitted(
        pipeline,
        _safe_indexing(X, held_out),
        y[held_out],
        method=method,
        verbose=verbose,
    )


def calibrate_fitted(pipeline, X, y, *, method="sigmoid", verbose=0):
    """Calibrate a fitted pipeline on images it never saw, keeping its threshold.

    The calibrator maps the classifier's ``decision_function``, the log-odds
    measured from its threshold, so the threshold sits at score 0. The map is
    increasing, so its value there calls PNEUMONIA the same images as the
    pipeline did; the result applies that value to the calibrated
    probability. Calibration changes what the probabilities mean, not the
    operating point (isotonic maps a range of scores to one value, so it can
    also call PNEUMONIA a few images just below the threshold that share it).

    Parameters
    ----------
    pipeline : imblearn.pipeline.Pipeline
        A fitted skpneumo pipeline; it is not refitted
        (:class:`~sklearn.frozen.FrozenEstimator`).
    X : array-like of shape (n_samples,) or (n_samples, height, width[, channels])
        Image file paths, or images, of patients the pipeline was not
        fitted on.
    y : array-like of shape (n_samples,)
        0 (NORMAL) or 1 (PNEUMONIA).
    method : {"sigmoid", "isotonic"}, default="sigmoid"
        The calibration, as in :class:`~sklearn.calibration.CalibratedClassifierCV`.
    verbose : int, default=0
        With 1 or more, print the operating threshold on both scales.

    Returns
    -------
    model : sklearn.model_selection.FixedThresholdClassifier
        ``FixedThresholdClassifier(CalibratedClassifierCV(FrozenEstimator(
        pipeline), method=method).fit(X, y), threshold=...)``, its threshold
        the calibrated value of the pipeline's.

    Raises
    ------
    ValueError
        If the calibration map is decreasing: the pipeline ranks the
        held-out NORMAL images above the PNEUMONIA ones.

    See Also
    --------
    fit_calibrated : Fit and calibrate on patients held out of the fit.
    """
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.frozen import FrozenEstimator
    from sklearn.model_selection import FixedThresholdClassifier

    calibrated = CalibratedClassifierCV(FrozenEstimator(pipeline), method=method)
    calibrated.fit(X, y)
    (calibrator,) = calibrated.calibrated_classifiers_[0].calibrators
    raw = float(pipeline.named_steps["classifier"].threshold)
    below, at = np.asarray(calibrator.predict(np.array([-1.0, 0.0]))).ravel()
    if below > at:
        raise ValueError(
            "The calibration map is decreasing: on the held-out patients the network "
            "ranks NORMAL images above PNEUMONIA ones, so its probabilities cannot be "
            "calibrated. Train it longer or on more images."
        )
    threshold = float(at)
    if verbose:
        print(
            f"Operating threshold {raw:g} on the network's probability is "
            f"{threshold:.4f} on the calibrated one",
            flush=True,
        )
    return FixedThresholdClassifier(
        calibrated, threshold=threshold, response_method="predict_proba"
    )
