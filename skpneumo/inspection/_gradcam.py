"""Grad-CAM: the regions of a convolutional layer that raise a class's score."""

import numpy as np

from .. import _backend
from ._base import _model_inputs, _target_columns


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
        then applied to ``X``, as in ``predict``), also inside a fitted search
        or scikit-learn's post-fit wrappers (as :func:`skpneumo.load_pretrained`
        returns), whose ``predict`` then decides the predicted class.
    X : array-like
        What ``estimator.predict`` takes: file paths for a pipeline, images
        of shape ``(n_samples, height, width[, channels])`` on the 0-255 scale
        for a classifier.
    layer : str, keras.Layer or None, default=None
        The layer whose feature maps are weighted. None takes the last layer
        with a spatial output that is not a pooling layer (the ReLU of the last
        convolution block of :func:`~skpneumo.build_cnn`).
    target : "predicted" or class label, default="predicted"
        Whose score is explained: each image's predicted class (as the
        classifier's ``predict`` gives it, at its ``threshold``), or one class
        of ``classes_`` for every image.

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

    images, classifier, predicted = _model_inputs(estimator, X)
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
    sign = np.where(
        _target_columns(classifier, proba, target, predicted) == 1, 1.0, -1.0
    )
    n, height, width, _ = images.shape
    heatmaps = np.empty((n, height, width))
    step = int(classifier.batch_size)
    for start in range(0, n, step):
        batch = images[start : start + step].astype("float32")
        signs = sign[start : start + step, np.newaxis].astype("float32")
        activations = body(batch, training=False)
        grads = _backend.gradients(lambda a, signs=signs: logit(a) * signs, activations)
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
