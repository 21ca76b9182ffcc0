"""Input validation shared by the loader, the sampler and the classifier.

These helpers only use NumPy and scikit-learn, so that importing the loader or the
sampler never imports Keras.
"""

import numbers
import warnings

import numpy as np
import scipy.sparse as sp
from sklearn.utils._param_validation import InvalidParameterError


def check_image_array(X, *, name="X", allow_empty=False):
    """Validate a batch of images and return it as a 4-D array.

    Parameters
    ----------
    X : array-like of shape (n_samples, height, width) or \
            (n_samples, height, width, channels)
        Images with pixel values on the 0-255 scale. A float array whose
        values all lie in [0, 1], not all 0, is read as the 0-1 scale and
        multiplied by 255, with a warning.
    name : str, default="X"
        Name used in error messages.
    allow_empty : bool, default=False
        Whether zero samples are accepted.

    Returns
    -------
    X : ndarray of shape (n_samples, height, width, channels)
        The same data; a 3-D input gets a channel axis (a view, not a copy).
        Float data on the 0-1 scale come back as a copy on the 0-255 scale.

    Raises
    ------
    ValueError
        If ``X`` is not a numeric 3-D or 4-D array (a 2-D array of flattened
        images included), holds images of different shapes (the message
        names the first sample that differs), holds NaN or infinity, or is
        empty.
    TypeError
        If ``X`` is a sparse matrix, or an object array of non-numbers.

    Warns
    -----
    UserWarning
        If float pixel values in [0, 1] are rescaled to 0-255.
    """
    if sp.issparse(X):
        raise TypeError(
            f"{name} is a sparse matrix; sparse input is not supported: pass dense "
            "image arrays."
        )
    try:
        X = np.asarray(X)
    except ValueError as exc:  # NumPy's "inhomogeneous shape"
        raise ValueError(_ragged_message(X, name)) from exc
    if X.dtype.kind == "O":
        try:
            X = X.astype(np.float64)
        except (TypeError, ValueError) as exc:
            raise TypeError(
                f"{name} must hold numeric pixel values; its object array holds "
                f"something else ({exc}). Pass file paths through ImageLoader first."
            ) from exc
    if X.dtype.kind == "c":
        raise ValueError(
            f"Complex data not supported: {name} must hold real pixel values, got "
            f"an array of dtype {X.dtype}."
        )
    if X.dtype.kind not in "buif":
        raise ValueError(
            f"{name} must hold numeric pixel values, got an array of dtype {X.dtype}. "
            "Pass file paths through ImageLoader first."
        )
    shape = X.shape
    if X.ndim == 3:
        X = X[..., np.newaxis]
    elif X.ndim != 4:
        hint = (
            ": a 2-D array is not read as images (flattened images have lost their "
            "height and width)."
            if X.ndim == 2
            else "."
        )
        raise ValueError(
            f"{name} must be a batch of images of shape (n_samples, height, width) or "
            "(n_samples, height, width, channels), or image file paths passed "
            f"through ImageLoader; got an array of shape {X.shape}. Reshape your "
            f"data{hint}"
        )
    if X.shape[0] == 0 and not allow_empty:
        raise ValueError(f"{name} holds no images (shape {X.shape}).")
    if 0 in X.shape[1:]:
        raise ValueError(
            f"0 feature(s) (shape={shape}) while a minimum of 1 is required: {name} "
            "holds images with an empty side."
        )
    if X.dtype.kind == "f":
        finite = np.isfinite(X).reshape(X.shape[0], -1).all(axis=1)
        if not finite.all():
            bad = np.flatnonzero(~finite)
            raise ValueError(
                f"{name} holds NaN or infinite pixel values in sample(s) "
                f"{_short_list(bad)}."
            )
        if X.size and X.min() >= 0 and 0 < X.max() <= 1:
            warnings.warn(
                f"{name} holds float pixel values in [0, 1] (maximum {X.max():.4g}); "
                "they are read as the 0-1 scale and multiplied by 255, since skpneumo "
                f"reads pixels on the 0-255 scale. Pass {name} * 255 (or uint8 "
                "images) to silence this warning.",
                UserWarning,
                stacklevel=3,
            )
            X = X * 255
    return X


def _ragged_message(X, name):
    """Say which sample of a ragged sequence of images has another shape."""
    shapes = []
    for i, image in enumerate(X):
        try:
            shapes.append(np.shape(image))
        except ValueError:
            return f"{name} holds a ragged image: sample {i} has rows of different lengths."
    odd = next((i for i, s in enumerate(shapes) if s != shapes[0]), None)
    if odd is None:
        return f"{name} is a ragged sequence that NumPy cannot stack into images."
    return (
        f"{name} holds images of different shapes: sample 0 has shape {shapes[0]}, "
        f"sample {odd} has shape {shapes[odd]}. Stack images of one size (resize "
        "them first), or pass their file paths through ImageLoader, which resizes."
    )


def check_binary_target(y, *, name="y"):
    """Check that ``y`` holds exactly two classes, naming what it got otherwise."""
    classes = np.unique(y)
    if classes.size != 2:
        raise ValueError(
            f"Only binary classification is supported: {name} must hold exactly two "
            "classes (e.g. NORMAL and PNEUMONIA); got "
            f"{classes.size} class(es): {_short_list(classes)}."
        )
    return classes


def check_image_size(image_size, *, name="image_size", caller=None):
    """Resolve an int or a (height, width) pair into a (height, width) tuple.

    Parameters
    ----------
    image_size : int or tuple of (int, int)
        The value to check.
    name : str, default="image_size"
        Name of the parameter, used in error messages.
    caller : str or None, default=None
        Name of the estimator the parameter belongs to, used in error messages.

    Returns
    -------
    size : tuple of (int, int)
        ``(height, width)``.

    Raises
    ------
    InvalidParameterError
        If ``image_size`` is neither a positive int nor a pair of positive ints.
    """
    owner = f" of {caller}" if caller else ""
    if isinstance(image_size, numbers.Integral) and not isinstance(image_size, bool):
        size = (int(image_size), int(image_size))
    elif (
        isinstance(image_size, (tuple, list))
        and len(image_size) == 2
        and all(
            isinstance(s, numbers.Integral) and not isinstance(s, bool)
            for s in image_size
        )
    ):
        size = (int(image_size[0]), int(image_size[1]))
    else:
        raise InvalidParameterError(
            f"The '{name}' parameter{owner} must be a positive int or a (height, "
            f"width) pair of positive ints. Got {image_size!r} instead."
        )
    if min(size) < 1:
        raise InvalidParameterError(
            f"The '{name}' parameter{owner} must be positive. Got {image_size!r} "
            "instead."
        )
    return size


def _short_list(values, limit=10):
    values = list(np.asarray(values).tolist())
    text = ", ".join(repr(v) for v in values[:limit])
    if len(values) > limit:
        text += f", ... ({len(values)} in all)"
    return "[" + text + "]"
