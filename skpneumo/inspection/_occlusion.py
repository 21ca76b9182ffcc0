"""Occlusion sensitivity: hide a patch, measure how the class probability drops."""

import numbers

import numpy as np

from ._base import _model_inputs, _target_columns


def _pair(value, name, *, low, high):
    """An int or a pair of ints, each in ``[low, high]``, as a pair."""
    pair = value if isinstance(value, (tuple, list)) else (value, value)
    if len(pair) != 2 or not all(
        isinstance(v, numbers.Integral) and not isinstance(v, bool) for v in pair
    ):
        raise ValueError(f"{name} must be an int or a pair of ints; got {value!r}.")
    if not all(lo <= v <= hi for v, lo, hi in zip(pair, low, high, strict=True)):
        raise ValueError(
            f"{name} must lie between {tuple(low)} and {tuple(high)} "
            f"(height, width); got {value!r}."
        )
    return int(pair[0]), int(pair[1])


def _starts(size, patch, stride):
    """Patch origins along one axis, the last one flush with the border."""
    starts = list(range(0, size - patch + 1, stride))
    if starts[-1] != size - patch:
        starts.append(size - patch)
    return starts


def occlusion_sensitivity(
    estimator, X, *, patch_size=None, stride=None, fill_value="mean", target="predicted"
):
    """Map how much hiding each region of an image lowers its class probability.

    A patch of ``patch_size`` pixels slides over each image in steps of
    ``stride``; for every position the patch is filled with ``fill_value`` and
    the network predicts again. A pixel's value is the drop in the probability
    of the ``target`` class, ``P(image) - P(occluded image)``, averaged over
    all the patch positions that cover it: positive where the region supports
    the class, negative where it argues against it. This is the occlusion
    testing that Kermany et al. (2018) used to show which regions their
    network relied on.

    Only forward passes are needed, so it works on every Keras backend
    (TensorFlow, JAX, PyTorch). It costs one prediction per patch position:
    ``((h - patch) / stride + 1) * ((w - patch) / stride + 1)`` per image.

    Parameters
    ----------
    estimator : PneumoniaClassifier or Pipeline
        A fitted classifier, or a fitted pipeline ending in one (its loader is
        then applied to ``X``, as in ``predict``). A fitted
        :class:`~sklearn.model_selection.GridSearchCV` is read through its
        ``best_estimator_``, and scikit-learn's post-fit wrappers (as
        :func:`skpneumo.load_pretrained` returns) through the estimator they
        wrap; their ``predict`` then decides the predicted class.
    X : array-like
        What ``estimator.predict`` takes: file paths for a pipeline, images
        of shape ``(n_samples, height, width[, channels])`` on the 0-255 scale
        for a classifier.
    patch_size : int, tuple of (int, int) or None, default=None
        Side of the occluding patch in pixels of the network's input. None
        uses one eighth of the shorter side.
    stride : int, tuple of (int, int) or None, default=None
        Step between patch positions. None uses half the patch; a stride larger
        than the patch leaves pixels uncovered (their value is 0).
    fill_value : "mean" or float, default="mean"
        What the patch is filled with: each image's mean pixel value, or a
        value on the 0-255 scale (0 is black).
    target : "predicted" or class label, default="predicted"
        Whose probability is explained: each image's predicted class (as the
        classifier's ``predict`` gives it, at its ``threshold``), or one class
        of ``classes_`` for every image.

    Returns
    -------
    heatmaps : ndarray of shape (n_samples, height, width), dtype float64
        One map per image, at the resolution of the network's input.

    See Also
    --------
    grad_cam : A gradient-based map, from one backward pass per image.
    plot_heatmap : Draw a map over its image.

    References
    ----------
    Kermany et al., "Identifying Medical Diagnoses and Treatable Diseases by
    Image-Based Deep Learning", Cell 172(5):1122-1131, 2018.

    Examples
    --------
    >>> import numpy as np
    >>> from skpneumo import PneumoniaClassifier
    >>> from skpneumo.inspection import occlusion_sensitivity
    >>> rng = np.random.RandomState(0)
    >>> X = rng.randint(0, 256, size=(8, 16, 16, 1), dtype=np.uint8)
    >>> clf = PneumoniaClassifier(n_blocks=1, filters=4, epochs=1, random_state=0)
    >>> clf = clf.fit(X, [0, 1] * 4)
    >>> occlusion_sensitivity(clf, X[:2], patch_size=4, stride=2).shape
    (2, 16, 16)
    """
    images, classifier, predicted = _model_inputs(estimator, X)
    n, height, width, _ = images.shape
    ph, pw = _pair(
        max(1, min(height, width) // 8) if patch_size is None else patch_size,
        "patch_size",
        low=(1, 1),
        high=(height, width),
    )
    sh, sw = _pair(
        (max(1, ph // 2), max(1, pw // 2)) if stride is None else stride,
        "stride",
        low=(1, 1),
        high=(height, width),
    )
    if not (isinstance(fill_value, str) and fill_value == "mean"):
        if (
            not isinstance(fill_value, numbers.Real)
            or isinstance(fill_value, bool)
            or not 0 <= fill_value <= 255
        ):
            raise ValueError(
                "fill_value must be 'mean' or a number in [0, 255]; "
                f"got {fill_value!r}."
            )

    proba = classifier.predict_proba(images)
    columns = _target_columns(classifier, proba, target, predicted)
    origins = [(r, c) for r in _starts(height, ph, sh) for c in _starts(width, pw, sw)]
    coverage = np.zeros((height, width))
    for r, c in origins:
        coverage[r : r + ph, c : c + pw] += 1
    heatmaps = np.zeros((n, height, width))
    for i, image in enumerate(images):
        fill = image.mean(axis=(0, 1)) if isinstance(fill_value, str) else fill_value
        if image.dtype.kind in "ui":
            fill = np.rint(fill)
        occluded = np.repeat(image[np.newaxis], len(origins), axis=0)
        for k, (r, c) in enumerate(origins):
            occluded[k, r : r + ph, c : c + pw] = fill
        drops = proba[i, columns[i]] - classifier.predict_proba(occluded)[:, columns[i]]
        for drop, (r, c) in zip(drops, origins, strict=True):
            heatmaps[i, r : r + ph, c : c + pw] += drop
    return np.divide(
        heatmaps, coverage, out=np.zeros_like(heatmaps), where=coverage > 0
    )
