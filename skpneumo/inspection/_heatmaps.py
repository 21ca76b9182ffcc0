"""Heatmaps of the image regions that drive a prediction: occlusion and Grad-CAM.

Both functions accept a fitted :class:`~skpneumo.PneumoniaClassifier`, or a
fitted pipeline ending in one (such as :func:`~skpneumo.make_pneumonia_pipeline`
returns), and then prepare ``X`` exactly as the pipeline's ``predict`` does: the
loader (and any other transformer) is applied, samplers are skipped. The maps
are at the resolution of the images the network sees.
"""

import numbers

import numpy as np
from sklearn.utils.validation import check_is_fitted

from .._validation import check_image_array


def _unwrap(estimator):
    """Return ``(transformers, classifier)`` of a fitted classifier or pipeline.

    ``transformers`` are the steps that ``predict`` applies to ``X`` before the
    classifier, in order; samplers (``fit_resample``), ``None`` and
    ``"passthrough"`` steps act in ``fit`` only and are left out.
    """
    if hasattr(estimator, "best_estimator_"):  # a fitted GridSearchCV and the like
        estimator = estimator.best_estimator_
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
    if not hasattr(classifier, "predict_proba") or not hasattr(classifier, "threshold"):
        raise TypeError(
            "estimator must be a fitted PneumoniaClassifier or a pipeline ending in one; "
            f"got {type(classifier).__name__} as the classifier."
        )
    check_is_fitted(classifier, "model_")
    return transformers, classifier


def _model_inputs(estimator, X):
    """``X`` as the network receives it in ``predict``, and the classifier."""
    transformers, classifier = _unwrap(estimator)
    for step in transformers:
        X = step.transform(X)
    images = check_image_array(X)
    if images.shape[1:] != tuple(classifier.X_shape_[1:]):
        raise ValueError(
            f"X gives images of shape {images.shape[1:]}, but the classifier was fitted "
            f"on images of shape {tuple(classifier.X_shape_[1:])}."
        )
    return images, classifier


def _target_columns(classifier, proba, target):
    """Index into ``classes_`` of the class each image's map explains."""
    if isinstance(target, str) and target == "predicted":
        return (proba[:, 1] >= classifier.threshold).astype(int)
    matches = np.flatnonzero(np.asarray(classifier.classes_) == target)
    if matches.size != 1:
        raise ValueError(
            f"target must be 'predicted' or one of the classes "
            f"{np.asarray(classifier.classes_).tolist()}; got {target!r}."
        )
    return np.full(proba.shape[0], matches[0])


def _pair(value, name, *, low, high):
    """An int or a pair of ints, each in ``[low, high]``, as a pair."""
    pair = value if isinstance(value, (tuple, list)) else (value, value)
    if len(pair) != 2 or not all(
        isinstance(v, numbers.Integral) and not isinstance(v, bool) for v in pair
    ):
        raise ValueError(f"{name} must be an int or a pair of ints; got {value!r}.")
    if not all(lo <= v <= hi for v, lo, hi in zip(pair, low, high)):
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
        ``best_estimator_``.
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
        Whose probability is explained: each image's predicted class (at the
        classifier's ``threshold``), or one class of ``classes_`` for every
        image.

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
    images, classifier = _model_inputs(estimator, X)
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
                f"fill_value must be 'mean' or a number in [0, 255]; got {fill_value!r}."
            )

    proba = classifier.predict_proba(images)
    columns = _target_columns(classifier, proba, target)
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
        for drop, (r, c) in zip(drops, origins):
            heatmaps[i, r : r + ph, c : c + pw] += drop
    return np.divide(heatmaps, coverage, out=np.zeros_like(heatmaps), where=coverage > 0)


def _default_layer(model):
    """The last layer with a spatial (4-D) output that is not a pooling layer."""
    import keras

    skip = (keras.layers.InputLayer,)
    for layer in reversed(model.layers):
        shape = getattr(layer.output, "shape", None)
        name = type(layer).__name__
        if (
            shape is not None
            and len(shape) == 4
            and not isinstance(layer, skip)
            and "Pooling" not in name
            and not name.startswith(("Random", "Rescaling"))
        ):
            return layer
    raise ValueError(
        "The network has no convolutional layer with a spatial output to explain; "
        "pass layer= explicitly."
    )


def _gradients(score, activations):
    """d(sum of score(activations)) / d activations, with the backend's own API."""
    import keras

    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        activations = tf.convert_to_tensor(activations)
        with tf.GradientTape() as tape:
            tape.watch(activations)
            total = keras.ops.sum(score(activations))
        return tape.gradient(total, activations)
    if backend == "jax":
        import jax

        return jax.grad(lambda a: keras.ops.sum(score(a)))(activations)
    raise NotImplementedError(
        f"grad_cam needs gradients, which skpneumo computes on the TensorFlow and JAX "
        f"backends only; the Keras backend in use is {backend!r}. Use "
        f"occlusion_sensitivity, which needs forward passes only and works on every "
        f"backend, or set KERAS_BACKEND=tensorflow."
    )


def grad_cam(estimator, X, *, layer=None, target="predicted"):
    """Grad-CAM maps: the regions of a convolutional layer that raise a class's score.

    For each image, the gradient of the target class's score with respect to the
    feature maps ``A`` of ``layer`` is averaged over the map's positions, giving
    one weight per channel; the heatmap is ``ReLU(sum_k weight_k * A_k)``,
    resized bilinearly to the input resolution (Selvaraju et al., 2017). The
    score is the logit of the network's sigmoid output (its negative for the
    first class), so the map does not fade when the probability saturates.

    It needs gradients, taken with the backend's own API: ``tf.GradientTape``
    on TensorFlow and ``jax.grad`` on JAX. Other backends raise
    ``NotImplementedError``; :func:`occlusion_sensitivity` works everywhere.

    Parameters
    ----------
    estimator : PneumoniaClassifier or Pipeline
        A fitted classifier, or a fitted pipeline ending in one (its loader is
        then applied to ``X``, as in ``predict``).
    X : array-like
        What ``estimator.predict`` takes: file paths for a pipeline, images
        of shape ``(n_samples, height, width[, channels])`` on the 0-255 scale
        for a classifier.
    layer : str, keras.Layer or None, default=None
        The layer whose feature maps are weighted. None takes the last layer
        with a spatial output that is not a pooling layer (the ReLU of the last
        convolution block of :func:`~skpneumo.build_cnn`).
    target : "predicted" or class label, default="predicted"
        Whose score is explained: each image's predicted class (at the
        classifier's ``threshold``), or one class of ``classes_`` for every
        image.

    Returns
    -------
    heatmaps : ndarray of shape (n_samples, height, width), dtype float64
        Non-negative maps at the resolution of the network's input; their
        scale is the gradient's, so compare them within one model only.

    Raises
    ------
    NotImplementedError
        If the Keras backend is neither TensorFlow nor JAX.

    See Also
    --------
    occlusion_sensitivity : A map from forward passes only, on every backend.
    plot_heatmap : Draw a map over its image.

    References
    ----------
    Selvaraju et al., "Grad-CAM: Visual Explanations from Deep Networks via
    Gradient-based Localization", ICCV 2017.

    Examples
    --------
    >>> import numpy as np
    >>> from skpneumo import PneumoniaClassifier
    >>> from skpneumo.inspection import grad_cam
    >>> rng = np.random.RandomState(0)
    >>> X = rng.randint(0, 256, size=(8, 16, 16, 1), dtype=np.uint8)
    >>> clf = PneumoniaClassifier(n_blocks=1, filters=4, epochs=1, random_state=0)
    >>> maps = grad_cam(clf.fit(X, [0, 1] * 4), X[:2])
    >>> maps.shape, bool((maps >= 0).all())
    ((2, 16, 16), True)
    """
    import keras
    from keras import ops

    images, classifier = _model_inputs(estimator, X)
    model = classifier.model_
    if layer is None:
        layer = _default_layer(model)
    elif isinstance(layer, str):
        try:
            layer = model.get_layer(layer)
        except ValueError as exc:
            names = [lay.name for lay in model.layers]
            raise ValueError(
                f"layer {layer!r} is not in the network; its layers: {names}."
            ) from exc
    shape = getattr(layer.output, "shape", None)
    if shape is None or len(shape) != 4:
        raise ValueError(
            f"layer must have a spatial output (batch, height, width, channels); "
            f"{layer.name!r} gives shape {shape}."
        )
    last = model.layers[-1]
    body = keras.Model(model.input, layer.output)
    if (
        isinstance(last, keras.layers.Dense)
        and last.units == 1
        and last.activation is keras.activations.sigmoid
    ):
        head = keras.Model(layer.output, last.input)

        def logit(a):
            features = ops.cast(head(a, training=False), "float32")
            z = ops.matmul(features, last.kernel)
            return z if last.bias is None else z + last.bias

    else:  # not a single sigmoid unit: explain the output itself
        head = keras.Model(layer.output, model.output)

        def logit(a):
            return ops.cast(head(a, training=False), "float32")

    proba = classifier.predict_proba(images)
    sign = np.where(_target_columns(classifier, proba, target) == 1, 1.0, -1.0)
    n, height, width, _ = images.shape
    heatmaps = np.empty((n, height, width))
    step = int(classifier.batch_size)
    for start in range(0, n, step):
        batch = images[start : start + step].astype("float32")
        signs = sign[start : start + step, np.newaxis].astype("float32")
        activations = body(batch, training=False)
        grads = _gradients(lambda a, signs=signs: logit(a) * signs, activations)
        # mixed-precision networks give bfloat16 or float16 feature maps
        grads = ops.cast(grads, "float32")
        activations = ops.cast(activations, "float32")
        weights = ops.mean(grads, axis=(1, 2), keepdims=True)
        cam = ops.relu(ops.sum(weights * activations, axis=-1, keepdims=True))
        cam = ops.image.resize(cam, (height, width), interpolation="bilinear")
        heatmaps[start : start + step] = np.maximum(
            ops.convert_to_numpy(cam)[..., 0].astype(np.float64), 0.0
        )
    return heatmaps


def plot_heatmap(image, heatmap, ax=None, *, alpha=0.5, cmap="inferno", colorbar=False):
    """Draw a heatmap over its X-ray.

    The image is drawn in grey and the heatmap over it, stretched to the image's
    extent, so a map at the network's resolution can be drawn over the image at
    any size (the full-resolution file, say). matplotlib is imported only here.

    Parameters
    ----------
    image : array-like of shape (height, width) or (height, width, channels)
        The X-ray, pixel values on the 0-255 scale.
    heatmap : array-like of shape (map_height, map_width)
        From :func:`occlusion_sensitivity` or :func:`grad_cam`, for this image.
    ax : matplotlib.axes.Axes or None, default=None
        Where to draw; None draws on the current axes of pyplot.
    alpha : float, default=0.5
        Opacity of the heatmap, in [0, 1].
    cmap : str or matplotlib colormap, default="inferno"
        Colours of the heatmap, from its minimum to its maximum.
    colorbar : bool, default=False
        Whether to add a colour bar for the heatmap's values.

    Returns
    -------
    ax : matplotlib.axes.Axes
        The axes drawn on.

    Examples
    --------
    >>> import numpy as np
    >>> from matplotlib.figure import Figure
    >>> from skpneumo.inspection import plot_heatmap
    >>> image = np.zeros((64, 64), dtype=np.uint8)
    >>> heatmap = np.zeros((16, 16))
    >>> heatmap[2:6, 10:14] = 1.0
    >>> ax = plot_heatmap(image, heatmap, ax=Figure().subplots())
    >>> len(ax.images)
    2
    """
    image = np.asarray(image)
    heatmap = np.asarray(heatmap, dtype=float)
    if image.ndim == 3 and image.shape[-1] == 1:
        image = image[..., 0]
    if image.ndim not in (2, 3):
        raise ValueError(
            f"image must have shape (height, width) or (height, width, channels); "
            f"got {image.shape}."
        )
    if heatmap.ndim != 2:
        raise ValueError(f"heatmap must have shape (height, width); got {heatmap.shape}.")
    if not 0 <= alpha <= 1:
        raise ValueError(f"alpha must be in [0, 1]; got {alpha!r}.")
    if ax is None:
        import matplotlib.pyplot as plt

        ax = plt.gca()
    height, width = image.shape[:2]
    extent = (-0.5, width - 0.5, height - 0.5, -0.5)
    if image.ndim == 2:
        ax.imshow(image, cmap="gray", vmin=0, vmax=255, extent=extent)
    else:
        ax.imshow(np.clip(image, 0, 255).astype(np.uint8), extent=extent)
    overlay = ax.imshow(
        heatmap, cmap=cmap, alpha=alpha, extent=extent, interpolation="bilinear"
    )
    if colorbar:
        ax.figure.colorbar(overlay, ax=ax)
    ax.set_axis_off()
    return ax
