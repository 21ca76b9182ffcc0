"""Choosing a model's operating point on a site's own labelled images.

:func:`tune_operating_point` is what ``skpneumo tune`` runs: it takes a fitted
model (as :func:`~skpneumo.load_model` returns it) and labelled images of one
hospital, optionally re-calibrates the probability on them, chooses the
threshold that meets a target sensitivity or specificity (or maximises
Youden's J), and returns the model wrapped in scikit-learn's
:class:`~sklearn.model_selection.FixedThresholdClassifier` at that threshold,
with a record of where the threshold came from.

The record is saved beside the model, as ``operating_point.json`` in its
folder (:func:`write_operating_point`): the model format
(``skpneumo.json``) has no field for provenance, and :func:`~skpneumo.load_model`
ignores other files, so a tuned folder loads, predicts and evaluates like any
other. ``skpneumo evaluate`` names the record in its report.
"""

import json
import warnings
from pathlib import Path

import numpy as np
from scipy.stats import binomtest
from sklearn.metrics import roc_curve
from sklearn.utils import check_random_state

from ._predict import scoring_once
from .metrics import _bootstrap
from .metrics._render import _json_ready

#: The file of a model folder that records how its threshold was chosen.
OPERATING_POINT_FILE = "operating_point.json"

#: Below this many NORMAL or PNEUMONIA images, ``tune`` warns that the
#: interval of the sensitivity (or specificity) is too wide to rely on: with
#: 100 images at a sensitivity of 0.95, a 95% interval is about 0.09 wide, and
#: it widens as one over the square root of the count.
MIN_IMAGES_PER_CLASS = 100

#: Folds of the cross-fitted calibration whose figures ``tune`` reports.
CALIBRATION_FOLDS = 5

CRITERIA = ("sensitivity", "specificity", "youden")


class SmallSampleWarning(UserWarning):
    """Too few images of a class for the operating point's interval to be relied on."""


def hold_out_patients(
    target, groups, fraction, *, random_state=None, purpose="held out"
):
    """Split images into kept and held-out patients, with both classes held out.

    The held-out part is the first fold of a shuffled
    :class:`~sklearn.model_selection.StratifiedGroupKFold` with
    ``round(1 / fraction)`` folds: about ``fraction`` of the patients, none
    of them also kept, with about the class balance of the whole.

    Parameters
    ----------
    target : ndarray of shape (n_samples,)
        The 0/1 labels.
    groups : ndarray of shape (n_samples,)
        The patient of each image.
    fraction : float
        The share of patients to hold out, in (0, 0.5].
    random_state : int or None, default=None
        Seeds which patients are held out.
    purpose : str, default="held out"
        What the held-out patients are for, named in the errors.

    Returns
    -------
    kept, held_out : ndarray of int
        Row indices of the two parts.

    Raises
    ------
    ValueError
        If there are too few patients for the split, or the held-out part has
        images of one class only.
    """
    from sklearn.model_selection import StratifiedGroupKFold

    n_splits = max(2, round(1 / fraction))
    n_patients = len(set(np.asarray(groups).tolist()))
    if n_patients < n_splits:
        raise ValueError(
            f"{purpose} holds out 1 in {n_splits} patients, but the data has only "
            f"{n_patients}; it needs at least {n_splits}."
        )
    folds = StratifiedGroupKFold(n_splits, shuffle=True, random_state=random_state)
    kept, held_out = next(folds.split(np.zeros(len(target)), target, groups))
    if len(set(np.asarray(target)[held_out].tolist())) < 2:
        raise ValueError(
            f"{purpose} held out {len(held_out)} images of a single class; it needs "
            "both: use more patients of each class."
        )
    return kept, held_out


def choose_threshold(
    y_true, proba, *, criterion="sensitivity", target=0.95, sample_weight=None
):
    """The threshold on ``proba`` that meets ``criterion`` on these images.

    The candidates are the thresholds of :func:`sklearn.metrics.roc_curve`
    (every distinct probability; an image is PNEUMONIA when its probability
    reaches the threshold, as ``FixedThresholdClassifier`` predicts).

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        0 for NORMAL, 1 for PNEUMONIA; both must occur.
    proba : array-like of shape (n_samples,)
        P(pneumonia) of the model whose threshold is chosen.
    criterion : {"sensitivity", "specificity", "youden"}, default="sensitivity"
        ``"sensitivity"``: the highest threshold whose sensitivity is at least
        ``target`` (the most specific such point); ``"specificity"``: the
        lowest threshold whose specificity is at least ``target`` (the most
        sensitive such point); ``"youden"``: the threshold of the largest
        sensitivity + specificity - 1, the highest on a tie.
    target : float, default=0.95
        The sensitivity or specificity to reach, in (0, 1]; ignored by
        ``"youden"``.
    sample_weight : array-like of shape (n_samples,), default=None
        Weights of the images (a bootstrap resample's multiplicities), passed
        to ``roc_curve``.

    Returns
    -------
    threshold : float

    Raises
    ------
    ValueError
        If a class is missing, ``criterion`` or ``target`` is invalid, or no
        threshold reaches a specificity ``target`` while calling any image
        PNEUMONIA.

    Examples
    --------
    >>> from skpneumo._tuning import choose_threshold
    >>> y, p = [0, 0, 1, 1, 1, 1], [0.1, 0.7, 0.2, 0.6, 0.8, 0.9]
    >>> choose_threshold(y, p, target=0.75)
    0.6
    >>> choose_threshold(y, p, criterion="specificity", target=1.0)
    0.8
    >>> choose_threshold(y, p, criterion="youden")  # J = 0.5 at 0.2 and 0.8
    0.8
    """
    y_true, proba = np.asarray(y_true), np.asarray(proba, dtype=float)
    if criterion not in CRITERIA:
        raise ValueError(f"criterion must be one of {CRITERIA}; got {criterion!r}.")
    if criterion != "youden" and not 0 < target <= 1:
        raise ValueError(f"the target {criterion} must be in (0, 1]; got {target!r}.")
    if len(set(y_true.tolist())) < 2:
        raise ValueError(
            "The images hold a single class: choosing a threshold needs NORMAL and "
            "PNEUMONIA images."
        )
    fpr, tpr, thresholds = roc_curve(
        y_true, proba, sample_weight=sample_weight, drop_intermediate=False
    )
    if criterion == "sensitivity":
        index = int(np.flatnonzero(tpr >= target - 1e-12)[0])
    elif criterion == "specificity":
        index = int(np.flatnonzero(1 - fpr >= target - 1e-12)[-1])
    else:
        index = int(np.argmax(tpr - fpr))
    threshold = float(thresholds[index])
    if not np.isfinite(threshold):  # roc_curve's first point calls nothing positive
        raise ValueError(
            f"No threshold reaches a specificity of {target:g} while calling any "
            "image PNEUMONIA on these images: lower the target."
        )
    return threshold


def operating_point_interval(
    y_true,
    y_pred,
    groups=None,
    *,
    n_bootstraps=1000,
    confidence_level=0.95,
    random_state=0,
):
    """Bootstrap intervals of the sensitivity and specificity of given labels.

    Patients are resampled when ``groups`` are given (every image of a
    patient drawn with it, since a patient's images are not independent),
    otherwise images. The resample is stratified: patients (or images) are
    drawn with replacement within their class, as many as the class holds, a
    patient counting as PNEUMONIA when any of their images is. The intervals
    are percentile intervals (:mod:`skpneumo.metrics._bootstrap`).

    Parameters
    ----------
    y_true, y_pred : array-like of shape (n_samples,)
        True and predicted labels, 0 (NORMAL) or 1 (PNEUMONIA).
    groups : array-like of shape (n_samples,), default=None
        The patient of each image.
    n_bootstraps : int, default=1000
        Number of resamples, at least 1.
    confidence_level : float, default=0.95
        Coverage of the intervals.
    random_state : int, RandomState instance or None, default=0
        Seed of the resamples.

    Returns
    -------
    intervals : dict
        ``{"sensitivity": [low, high], "specificity": [low, high]}``.
    """
    y_true, y_pred = np.asarray(y_true).astype(int), np.asarray(y_pred).astype(int)
    units, unit_class = _patient_units(y_true, groups)
    rng = check_random_state(random_state)
    positive, negative = y_true == 1, y_true == 0
    hit = y_pred == 1
    columns = np.column_stack(
        [positive & hit, positive, negative & ~hit, negative]
    ).astype(float)
    sums = np.concatenate(
        [
            counts[:, units] @ columns
            for counts in _bootstrap.stratified_multiplicities(
                unit_class, n_bootstraps, rng
            )
        ]
    )
    return {
        "sensitivity": _bootstrap.percentile_interval(
            _bootstrap._divide(sums[:, 0], sums[:, 1]), confidence_level
        ),
        "specificity": _bootstrap.percentile_interval(
            _bootstrap._divide(sums[:, 2], sums[:, 3]), confidence_level
        ),
    }


def _patient_units(y_true, groups):
    """Each image's patient index, and each patient's class (PNEUMONIA if any)."""
    if groups is None:
        units = np.arange(y_true.size)
    else:
        units = np.unique(np.asarray(groups).astype(str), return_inverse=True)[1]
    unit_class = np.zeros(units.max() + 1, dtype=int)
    np.maximum.at(unit_class, units, y_true)
    return units, unit_class


def selection_interval(
    y_true,
    proba,
    groups=None,
    *,
    criterion="sensitivity",
    target=0.95,
    n_bootstraps=1000,
    confidence_level=0.95,
    random_state=0,
):
    """Intervals of what a threshold chosen on these images gives on other patients.

    Each resample draws patients with replacement within their class (as
    :func:`operating_point_interval`), chooses the threshold again on the
    patients it drew (:func:`choose_threshold`, weighted by how often each was
    drawn), and measures the sensitivity and specificity of that threshold on
    the patients it left out (out of bag, about 37% of them). The interval
    thus holds the two sources of error of a tuned threshold at a new sample
    of the same site: where the threshold falls, and the sampling of the
    patients it is then used on. The interval of a fixed threshold
    (:func:`operating_point_interval`) holds only the second, and is too
    narrow for a threshold chosen on the same images.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        0 for NORMAL, 1 for PNEUMONIA.
    proba : array-like of shape (n_samples,)
        P(pneumonia) of the model whose threshold is chosen.
    groups : array-like of shape (n_samples,), default=None
        The patient of each image; None resamples images.
    criterion, target
        As :func:`choose_threshold`.
    n_bootstraps : int, default=1000
        Number of resamples.
    confidence_level : float, default=0.95
        Coverage of the intervals.
    random_state : int, RandomState instance or None, default=0
        Seed of the resamples.

    Returns
    -------
    intervals : dict
        ``{"sensitivity": [low, high], "specificity": [low, high]}``; a
        resample whose left-out patients lack a class, or in which no
        threshold meets the target, is left out.
    """
    from ._decision import labels_at_threshold

    y_true, proba = np.asarray(y_true).astype(int), np.asarray(proba, dtype=float)
    units, unit_class = _patient_units(y_true, groups)
    rng = check_random_state(random_state)
    sensitivity, specificity = [], []
    for counts in _bootstrap.stratified_multiplicities(unit_class, n_bootstraps, rng):
        for weights in counts[:, units]:
            drawn, left = weights > 0, weights == 0
            if len(set(y_true[drawn].tolist())) < 2:
                continue
            try:
                threshold = choose_threshold(
                    y_true[drawn],
                    proba[drawn],
                    criterion=criterion,
                    target=target,
                    sample_weight=weights[drawn],
                )
            except ValueError:
                continue
            hit = labels_at_threshold(proba[left], threshold) == 1
            y_left = y_true[left]
            sensitivity.append(
                hit[y_left == 1].mean() if (y_left == 1).any() else np.nan
            )
            specificity.append(
                1 - hit[y_left == 0].mean() if (y_left == 0).any() else np.nan
            )
    return {
        "sensitivity": _bootstrap.percentile_interval(
            np.asarray(sensitivity, dtype=float), confidence_level
        ),
        "specificity": _bootstrap.percentile_interval(
            np.asarray(specificity, dtype=float), confidence_level
        ),
    }


def _probability_source(model):
    """The estimator inside ``model``'s outer threshold wrappers.

    Its ``predict_proba`` is the model's; a new threshold replaces the old
    wrapper instead of stacking on it.
    """
    while type(model).__name__ in (
        "FixedThresholdClassifier",
        "TunedThresholdClassifierCV",
    ):
        model = getattr(model, "estimator_", model.estimator)
    return model


def _calibration_error(y_true, proba):
    from .metrics import binary_report

    report = binary_report(y_true, proba, n_bootstraps=0)
    return {"brier": report["brier"], "ece": report["ece"]}


def _cross_fitted_calibration(pipeline, X, y, groups, method, random_state):
    """Out-of-fold calibrated P(pneumonia), each fold calibrated on the others."""
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.frozen import FrozenEstimator
    from sklearn.model_selection import StratifiedGroupKFold, StratifiedKFold

    if groups is None:
        folds = StratifiedKFold(
            CALIBRATION_FOLDS, shuffle=True, random_state=random_state
        )
        splits = folds.split(X, y)
    else:
        folds = StratifiedGroupKFold(
            CALIBRATION_FOLDS, shuffle=True, random_state=random_state
        )
        splits = folds.split(X, y, groups)
    out = np.empty(len(y))
    for fit_part, held_out in splits:
        calibrated = CalibratedClassifierCV(FrozenEstimator(pipeline), method=method)
        calibrated.fit(X[fit_part], y[fit_part])
        out[held_out] = calibrated.predict_proba(X[held_out])[:, 1]
    return out


@scoring_once()
def tune_operating_point(
    model,
    X,
    y,
    groups=None,
    *,
    criterion="sensitivity",
    target=0.95,
    calibrate=None,
    n_bootstraps=1000,
    confidence_level=0.95,
    random_state=0,
):
    """Choose ``model``'s operating threshold on a site's labelled images.

    Steps, all with scikit-learn's own pieces:

    1. With ``calibrate``, the probability is re-calibrated on ``X``:
       ``CalibratedClassifierCV(FrozenEstimator(pipeline), method=calibrate)``
       around the skpneumo pipeline inside ``model`` (the site's calibration
       replaces any earlier one). Its Brier score and expected calibration
       error are reported cross-fitted: each of ``CALIBRATION_FOLDS`` patient
       folds (``StratifiedGroupKFold``; ``StratifiedKFold`` of images without
       ``groups``) is scored by a calibrator fitted on the other folds.
    2. The threshold is chosen by :func:`choose_threshold` on the probability
       of the model that is returned (calibrated on all of ``X``).
    3. The model returned is ``FixedThresholdClassifier(estimator,
       threshold=..., response_method="predict_proba")``, where ``estimator``
       is the calibrated one or ``model`` without its own threshold wrapper;
       :func:`~skpneumo.save_model` saves it.
    4. Sensitivity and specificity of the old and the new model's ``predict``
       on ``X`` get bootstrap intervals that resample patients when ``groups``
       are given: the old, fixed rule's by :func:`operating_point_interval`;
       the new one's by :func:`selection_interval`, which chooses the
       threshold again in every resample and measures it on the patients left
       out, so that it covers what the threshold gives on other patients of
       the site (the fixed-threshold interval of the new point is kept as
       ``ci_fixed_threshold``).

    A calibration is monotonic, so it does not change which images a threshold
    separates (an isotonic one can tie a few): the sensitivity and specificity
    at the chosen point are those of the network's ranking on ``X``. Measured
    on the images the threshold was chosen on, they are slightly optimistic
    (the sensitivity sits just above the target by construction); the
    interval of the tuned point says where it falls on other patients.

    Parameters
    ----------
    model : estimator
        A fitted skpneumo model, bare or wrapped (as
        :func:`~skpneumo.load_model` returns).
    X : array-like
        What ``model.predict`` takes: image paths, or images of the loader's
        output size (decoded once, as ``skpneumo tune`` does).
    y : array-like of shape (n_samples,)
        0 for NORMAL, 1 for PNEUMONIA.
    groups : array-like of shape (n_samples,), default=None
        The patient of each image.
    criterion : {"sensitivity", "specificity", "youden"}, default="sensitivity"
        See :func:`choose_threshold`.
    target : float, default=0.95
        See :func:`choose_threshold`.
    calibrate : {"sigmoid", "isotonic"} or None, default=None
        Re-calibrate the probability on ``X`` first.
    n_bootstraps : int, default=1000
        Resamples of the intervals.
    confidence_level : float, default=0.95
        Coverage of the intervals.
    random_state : int, default=0
        Seeds the calibration folds and the resamples.

    Returns
    -------
    tuned : sklearn.model_selection.FixedThresholdClassifier
        The model at its new operating point.
    record : dict
        JSON-ready: ``criterion``, ``target``, ``threshold``, ``calibration``,
        ``n_images`` and ``n_patients`` per class (``None`` without groups),
        ``resampled`` (``"patients"`` or ``"images"``), ``confidence_level``,
        ``n_bootstraps``, ``random_state``, and ``previous`` and ``tuned``, each
        with ``rule``, ``threshold``, ``sensitivity``, ``specificity``, ``ci``
        (their bootstrap intervals), ``ci_width`` and, when re-calibrating,
        ``calibration_error`` (Brier score and ECE: the old model's on ``X``, the
        new one's cross-fitted); ``tuned`` also has ``exact_ci``, the exact
        (Clopper-Pearson) binomial intervals of its two counts, which stay
        honest where the bootstrap collapses (8 of 8 images); ``warnings``
        lists the sample-size warnings.

    Warns
    -----
    SmallSampleWarning
        When fewer than ``MIN_IMAGES_PER_CLASS`` NORMAL or PNEUMONIA images
        chose the threshold; the message gives the interval's width (the
        wider of the bootstrap and the exact interval).
    """
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.frozen import FrozenEstimator
    from sklearn.model_selection import FixedThresholdClassifier

    from ._decision import decision_rule
    from ._wrappers import inner_pipeline

    if isinstance(X, (list, tuple)):
        X = np.asarray(X, dtype=object)
    y = np.asarray(y).astype(int)
    if groups is not None:
        groups = np.asarray(groups).astype(str)
    if calibrate not in (None, "sigmoid", "isotonic"):
        raise ValueError(
            f"calibrate must be None, 'sigmoid' or 'isotonic'; got {calibrate!r}."
        )
    counts = {"NORMAL": int((y == 0).sum()), "PNEUMONIA": int((y == 1).sum())}
    if min(counts.values()) == 0:
        raise ValueError(
            f"The images hold {counts['NORMAL']} NORMAL and {counts['PNEUMONIA']} "
            "PNEUMONIA: choosing a threshold needs both classes."
        )
    patients = None
    if groups is not None:
        patients = {
            name: len(set(groups[y == label].tolist()))
            for label, name in ((0, "NORMAL"), (1, "PNEUMONIA"))
        }

    def measured(estimator, proba):
        labels = np.asarray(estimator.predict(X))
        y_pred = (labels == estimator.classes_[1]).astype(int)
        threshold, rule = decision_rule(estimator)
        ci = operating_point_interval(
            y,
            y_pred,
            groups,
            n_bootstraps=n_bootstraps,
            confidence_level=confidence_level,
            random_state=random_state,
        )
        return {
            "rule": rule,
            "threshold": threshold,
            "sensitivity": float(y_pred[y == 1].mean()),
            "specificity": float(1 - y_pred[y == 0].mean()),
            "ci": ci,
            "ci_width": {key: high - low for key, (low, high) in ci.items()},
        }

    old_proba = model.predict_proba(X)[:, 1]
    previous = measured(model, old_proba)
    if calibrate is None:
        estimator = _probability_source(model)
    else:
        pipeline = inner_pipeline(model)
        estimator = CalibratedClassifierCV(FrozenEstimator(pipeline), method=calibrate)
        estimator.fit(X, y)
        cross_fitted = _cross_fitted_calibration(
            pipeline, X, y, groups, calibrate, random_state
        )
        previous["calibration_error"] = _calibration_error(y, old_proba)
    proba = estimator.predict_proba(X)[:, 1]
    threshold = choose_threshold(y, proba, criterion=criterion, target=target)
    tuned = FixedThresholdClassifier(
        estimator, threshold=threshold, response_method="predict_proba"
    )
    new = measured(tuned, proba)
    # the threshold was chosen on these images: the interval that says what it
    # gives on other patients of the site re-chooses it in every resample
    new["ci_fixed_threshold"] = new["ci"]
    new["ci"] = selection_interval(
        y,
        proba,
        groups,
        criterion=criterion,
        target=0.95 if target is None else target,
        n_bootstraps=n_bootstraps,
        confidence_level=confidence_level,
        random_state=random_state,
    )
    new["ci_width"] = {key: high - low for key, (low, high) in new["ci"].items()}
    if calibrate is not None:
        new["calibration_error"] = _calibration_error(y, cross_fitted)
        new["calibration_error"]["cross_fitted_folds"] = CALIBRATION_FOLDS

    notes = []
    for name, key in (("NORMAL", "specificity"), ("PNEUMONIA", "sensitivity")):
        # The percentile bootstrap collapses to one point when every image of
        # the class is on the same side (8 of 8): the exact binomial interval
        # of the count says how wide the interval really is.
        hits = round(new[key] * counts[name])
        exact = binomtest(hits, counts[name]).proportion_ci(
            confidence_level, method="exact"
        )
        new.setdefault("exact_ci", {})[key] = [float(exact.low), float(exact.high)]
        if counts[name] < MIN_IMAGES_PER_CLASS:
            low, high = new["ci"][key]
            if not exact.high - exact.low <= high - low:  # also when undefined (NaN)
                low, high = exact.low, exact.high
            notes.append(
                f"only {counts[name]} {name} images chose this threshold (fewer than "
                f"{MIN_IMAGES_PER_CLASS}): the {100 * confidence_level:g}% interval of "
                f"the {key} is {high - low:.3f} wide ({low:.3f} to {high:.3f}), too "
                "wide to rely on. Tune on more images of this site."
            )
    for note in notes:
        warnings.warn(note, SmallSampleWarning, stacklevel=2)

    record = {
        "criterion": criterion,
        "target": None if criterion == "youden" else float(target),
        "threshold": threshold,
        "calibration": calibrate,
        "n_images": counts,
        "n_patients": patients,
        "resampled": "images" if groups is None else "patients",
        "confidence_level": float(confidence_level),
        "n_bootstraps": int(n_bootstraps),
        "random_state": random_state,
        "ci_method": "percentile intervals of a bootstrap of patients stratified by "
        "class; for the tuned point, the threshold is chosen again in each "
        "resample and measured on the patients it left out",
        "previous": previous,
        "tuned": new,
        "warnings": notes,
    }
    return tuned, record


def _summary(record):
    aim = (
        "maximum Youden's J"
        if record["criterion"] == "youden"
        else f"{record['criterion']} >= {record['target']:g}"
    )
    counts = record["n_images"]
    text = (
        f"chosen for {aim} on {counts['NORMAL']} NORMAL and {counts['PNEUMONIA']} "
        f"PNEUMONIA images of {record.get('data', 'a site')}"
    )
    if record["calibration"]:
        text += f", re-calibrated ({record['calibration']})"
    tuned = record["tuned"]
    level = f"{100 * record['confidence_level']:g}% CI"
    for key in ("sensitivity", "specificity"):
        low, high = tuned["ci"][key]
        text += f"; {key} {tuned[key]:.3f} ({level} {low:.3f} to {high:.3f})"
    return text


def operating_points_table(record):
    """The old and the new operating point side by side, as a Markdown table.

    Parameters
    ----------
    record : dict
        As :func:`tune_operating_point` returns it.

    Returns
    -------
    table : str
        A line that says what chose the point, then the table.
    """
    level = f"{100 * record['confidence_level']:g}% CI"
    old, new = record["previous"], record["tuned"]

    def cell(point, key):
        low, high = point["ci"][key]
        return f"{point[key]:.4f} ({level} {low:.4f} to {high:.4f})"

    rows = [
        ("rule", old["rule"], new["rule"]),
        ("threshold", f"{old['threshold']:.4f}", f"{new['threshold']:.4f}"),
        ("sensitivity", cell(old, "sensitivity"), cell(new, "sensitivity")),
        ("specificity", cell(old, "specificity"), cell(new, "specificity")),
    ]
    if "calibration_error" in new:
        for key, label in (("brier", "Brier score"), ("ece", "ECE")):
            rows.append(
                (
                    label,
                    f"{old['calibration_error'][key]:.4f}",
                    f"{new['calibration_error'][key]:.4f} (cross-fitted)",
                )
            )
    counts, patients = record["n_images"], record["n_patients"]
    lines = [
        f"Operating point chosen on {counts['NORMAL']} NORMAL and "
        f"{counts['PNEUMONIA']} PNEUMONIA images"
        + (
            f" of {patients['NORMAL']} and {patients['PNEUMONIA']} patients"
            if patients
            else ""
        )
        + f"; intervals from {record['n_bootstraps']} bootstrap resamples of "
        f"{record['resampled']}.",
        "",
        "| | current model | tuned model |",
        "| --- | --- | --- |",
    ]
    lines += [f"| {a} | {b} | {c} |" for a, b, c in rows]
    return "\n".join(lines) + "\n"


def write_operating_point(record, model_dir):
    """Write ``record`` as ``operating_point.json`` into a saved model folder.

    Parameters
    ----------
    record : dict
        As :func:`tune_operating_point` returns it, optionally with ``data``
        (what the images were) and ``model`` (the model tuned) added.
    model_dir : str or os.PathLike
        A folder written by :func:`~skpneumo.save_model`.

    Returns
    -------
    path : pathlib.Path
        The file written.
    """
    from . import __version__

    record = dict(
        record,
        format="skpneumo-operating-point",
        skpneumo_version=__version__,
        summary=_summary(record),
    )
    path = Path(model_dir) / OPERATING_POINT_FILE
    # an interval undefined on too few images is NaN, which strict JSON lacks
    path.write_text(json.dumps(_json_ready(record), indent=2, allow_nan=False) + "\n")
    return path


def save_tuned_model(tuned, record, path, *, overwrite=False):
    """Save a tuned model with its ``operating_point.json``, as one folder.

    The record goes into the folder before it is moved into place
    (:func:`~skpneumo.save_model`): the model and the record of its threshold
    appear together, or neither does.

    Parameters
    ----------
    tuned : estimator
        As :func:`tune_operating_point` returns it.
    record : dict
        Its record (:func:`write_operating_point`).
    path : str or os.PathLike
        The model folder to write.
    overwrite : bool, default=False
        Replace whatever is at ``path``.

    Returns
    -------
    model_dir : pathlib.Path
        The model folder written.
    """
    from ._persistence import save_model

    return save_model(
        tuned,
        path,
        overwrite=overwrite,
        extra_files={
            OPERATING_POINT_FILE: lambda file: write_operating_point(
                record, file.parent
            )
        },
    )


def read_operating_point(model_dir):
    """The record of how a model folder's threshold was chosen, or None.

    Parameters
    ----------
    model_dir : str or os.PathLike
        A model folder.

    Returns
    -------
    record : dict or None
        The content of its ``operating_point.json``; None when it has none
        (its threshold came from training).
    """
    path = Path(model_dir) / OPERATING_POINT_FILE
    if not path.is_file():
        return None
    try:
        record = json.loads(path.read_text())
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"{str(path)!r} is damaged: {exc}") from exc
    if (
        not isinstance(record, dict)
        or record.get("format") != "skpneumo-operating-point"
    ):
        raise ValueError(f"{str(path)!r} is not a skpneumo operating-point record.")
    return record
