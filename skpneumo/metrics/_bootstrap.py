"""Stratified bootstrap replicates of the metrics of :func:`binary_report`.

A resample draws, within each true class, as many images as the class holds,
with replacement, so every resample keeps the numbers of NORMAL and PNEUMONIA
images. A resample is represented by its multiplicities (how many times each
image was drawn), so that every metric is a weighted sum over the original
images: one matrix product gives the confusion counts, the Brier score and the
per-bin sums of the ECE of all resamples at once, and ROC-AUC comes from
cumulative sums over the NORMAL images sorted by score. Calling scikit-learn's
metric functions once per resample would take seconds for the default 1000
resamples; ``tests/test_metrics.py`` checks these replicates against
scikit-learn on the same resamples.
"""

import numpy as np

#: Multiplicity matrices are built ``CHUNK_ELEMENTS // n_samples`` resamples at
#: a time, so that memory stays bounded (about 16 MiB of float64) on large
#: test sets.
CHUNK_ELEMENTS = 2**21

METRICS = (
    "accuracy",
    "precision",
    "sensitivity",
    "specificity",
    "balanced_accuracy",
    "f1",
    "roc_auc",
    "brier",
    "ece",
)


def bin_ids(proba, n_bins):
    """Calibration bin of each probability, as ``sklearn.calibration.calibration_curve``.

    The bins split [0, 1] into ``n_bins`` equal widths; a probability on an
    inner edge belongs to the lower bin (bin ``k`` is ``(k/n_bins, (k+1)/n_bins]``,
    and the first bin also holds 0).
    """
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    return np.searchsorted(edges[1:-1], proba)


def stratified_multiplicities(y_true, n_bootstraps, rng, chunk_size=None):
    """Yield blocks of resample multiplicities, of shape (n_resamples, n_samples).

    Row ``b`` counts how many times each image was drawn in resample ``b``;
    within each class the counts add up to the class size.
    """
    n = y_true.size
    if chunk_size is None:
        chunk_size = max(1, CHUNK_ELEMENTS // n)
    classes = [np.flatnonzero(y_true == label) for label in (0, 1)]
    done = 0
    while done < n_bootstraps:
        size = min(chunk_size, n_bootstraps - done)
        flat = np.arange(size)[:, np.newaxis] * n  # offset of each resample's row
        counts = np.zeros(size * n)
        for members in classes:
            if members.size:
                drawn = members[rng.randint(0, members.size, size=(size, members.size))]
                counts += np.bincount((flat + drawn).ravel(), minlength=size * n)
        done += size
        yield counts.reshape(size, n)


def _divide(num, den):
    out = np.full(np.broadcast(num, den).shape, np.nan)
    np.divide(num, den, out=out, where=den != 0)
    return out


def replicates(y_true, proba, y_pred, *, n_bins, n_bootstraps, rng, groups=None):
    """Each metric on ``n_bootstraps`` stratified resamples.

    Parameters
    ----------
    y_true, y_pred : ndarray of shape (n_samples,) of int
        True and predicted labels, 0 or 1.
    proba : ndarray of shape (n_samples,) of float
        Predicted probability of PNEUMONIA.
    n_bins : int
        Bins of the expected calibration error.
    n_bootstraps : int
        Number of resamples, at least 1.
    rng : numpy.random.RandomState
        Source of the resamples.
    groups : dict of str to ndarray of bool, default=None
        Masks of PNEUMONIA images whose sensitivity is wanted separately.

    Returns
    -------
    values : dict of str to ndarray of shape (n_bootstraps,)
        One entry per name of ``METRICS``, and ``"sensitivity:<group>"`` per
        group. A metric that is undefined on a resample (a precision without
        any PNEUMONIA prediction) is NaN there.
    """
    groups = groups or {}
    n = y_true.size
    positive, negative = y_true == 1, y_true == 0
    n_pos, n_neg = int(positive.sum()), int(negative.sum())
    hit = (y_pred == 1).astype(float)

    # one column per weighted sum the metrics need
    columns = [positive * hit, negative * hit, (proba - y_true) ** 2]
    for mask in groups.values():
        columns += [mask * hit, mask.astype(float)]
    columns = np.column_stack(columns)
    signed_gap = np.zeros((n, n_bins))  # y - p, in the column of the image's bin
    signed_gap[np.arange(n), bin_ids(proba, n_bins)] = y_true - proba

    # ROC-AUC: each PNEUMONIA image scores the NORMAL images below it, plus half
    # of those tied with it; the NORMAL images are sorted once.
    normals = np.flatnonzero(negative)
    normals = normals[np.argsort(proba[normals], kind="stable")]
    normal_scores = proba[normals]
    pneumonia_scores = proba[positive]
    below = np.searchsorted(normal_scores, pneumonia_scores, side="left")
    up_to = np.searchsorted(normal_scores, pneumonia_scores, side="right")

    blocks = []
    for counts in stratified_multiplicities(y_true, n_bootstraps, rng):
        sums = counts @ columns
        ece = np.abs(counts @ signed_gap).sum(axis=1) / n
        if n_pos and n_neg:
            cumulative = np.zeros((counts.shape[0], n_neg + 1))
            np.cumsum(counts[:, normals], axis=1, out=cumulative[:, 1:])
            lower = cumulative[:, below]
            wins = lower + 0.5 * (cumulative[:, up_to] - lower)
            auc = (counts[:, positive] * wins).sum(axis=1) / (n_pos * n_neg)
        else:
            auc = np.full(counts.shape[0], np.nan)
        blocks.append((sums, ece, auc))
    sums = np.concatenate([b[0] for b in blocks])
    tp, fp = sums[:, 0], sums[:, 1]
    tn, fn = n_neg - fp, n_pos - tp
    sensitivity = _divide(tp, n_pos)
    specificity = _divide(tn, n_neg)
    values = {
        "accuracy": (tp + tn) / n,
        "precision": _divide(tp, tp + fp),
        "sensitivity": sensitivity,
        "specificity": specificity,
        "balanced_accuracy": (sensitivity + specificity) / 2,
        # the F1 of scikit-learn, 2 TP / (2 TP + FP + FN), defined without TP
        "f1": _divide(2 * tp, 2 * tp + fp + fn),
        "roc_auc": np.concatenate([b[2] for b in blocks]),
        "brier": sums[:, 2] / n,
        "ece": np.concatenate([b[1] for b in blocks]),
    }
    for k, name in enumerate(groups):
        values[f"sensitivity:{name}"] = _divide(sums[:, 3 + 2 * k], sums[:, 4 + 2 * k])
    return values


def percentile_interval(values, confidence_level):
    """The central ``confidence_level`` interval of the defined replicates.

    Returns ``[nan, nan]`` when no replicate is defined.
    """
    values = values[~np.isnan(values)]
    if values.size == 0:
        return [float("nan"), float("nan")]
    tail = (1 - confidence_level) / 2
    low, high = np.quantile(values, [tail, 1 - tail])
    return [float(low), float(high)]
