"""ZoomOverSampler: rebalance classes with randomly zoomed-in copies of images."""

import numbers
from typing import ClassVar

import numpy as np
from imblearn.over_sampling.base import BaseOverSampler
from imblearn.utils import check_target_type
from PIL import Image
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import InvalidParameterError
from sklearn.utils.validation import check_consistent_length

from ._validation import check_image_array


class ZoomOverSampler(BaseOverSampler):
    """Over-sample the minority class with randomly zoomed-in copies of its images.

    The rebalancing method of the original pneumonia project: each new image is
    a copy of a randomly chosen minority-class image, magnified by a factor drawn
    uniformly from ``zoom_range`` around a random point, so that it still fills
    the whole frame (no border is invented). Source images are drawn evenly:
    every minority image is copied ``k`` or ``k + 1`` times before any is copied
    ``k + 2`` times. The images keep their dtype (uint8 stays uint8).

    Unlike most imbalanced-learn samplers it takes images: ``X`` of shape
    ``(n_samples, height, width)`` or ``(n_samples, height, width, channels)``,
    so it validates its own input. A 2-D ``X`` (flattened images, or a table
    of features) is rejected with a ``ValueError``: it has no height and width
    to zoom.

    Parameters
    ----------
    sampling_strategy : float, str, dict or callable, default="auto"
        Which classes to over-sample and to how many samples, as in
        :class:`imblearn.over_sampling.RandomOverSampler`. ``"auto"`` brings
        every class up to the size of the majority class.
    zoom_range : tuple of (float, float), default=(1.05, 1.25)
        Smallest and largest magnification, both at least 1.
    random_state : int, RandomState instance or None, default=None
        Controls which images are copied, their zoom and their centre.

    Attributes
    ----------
    sampling_strategy_ : dict
        Number of samples to generate for each class.
    sample_indices_ : ndarray of shape (n_samples_resampled,)
        For each output image, the index of the input image it comes from: the
        inputs first, in order, then the source of each generated copy.
    zoom_factors_ : ndarray of shape (n_samples_resampled,)
        The magnification applied to each output image (1.0 for the inputs).

    See Also
    --------
    imblearn.over_sampling.RandomOverSampler : Exact duplicates instead of zoomed copies.

    Examples
    --------
    >>> import numpy as np
    >>> from skpneumo import ZoomOverSampler
    >>> X = np.random.RandomState(0).randint(0, 256, (6, 20, 20, 1), dtype=np.uint8)
    >>> y = np.array([0, 1, 1, 1, 1, 1])
    >>> X_res, y_res = ZoomOverSampler(random_state=0).fit_resample(X, y)
    >>> X_res.shape, X_res.dtype, np.bincount(y_res).tolist()
    ((10, 20, 20, 1), dtype('uint8'), [5, 5])
    """

    _parameter_constraints: ClassVar[dict] = {
        **BaseOverSampler._parameter_constraints,
        "zoom_range": [tuple, list],
        "random_state": ["random_state"],
    }

    def __init__(
        self, *, sampling_strategy="auto", zoom_range=(1.05, 1.25), random_state=None
    ):
        super().__init__(sampling_strategy=sampling_strategy)
        self.zoom_range = zoom_range
        self.random_state = random_state

    def _check_X_y(self, X, y):
        y, binarize_y = check_target_type(y, indicate_one_vs_all=True)
        # validated as 4-D first (so that sparse or ragged input gets its own
        # message), returned in the caller's layout (3-D stays 3-D)
        images = check_image_array(X)
        X = images[..., 0] if np.ndim(X) == 3 else images
        check_consistent_length(X, y)
        return X, y, binarize_y

    def _check_zoom_range(self):
        zoom = self.zoom_range
        if (
            len(zoom) != 2
            or not all(
                isinstance(z, numbers.Real) and not isinstance(z, bool) for z in zoom
            )
            or not 1.0 <= zoom[0] <= zoom[1]
            or not np.isfinite(zoom[1])
        ):
            raise InvalidParameterError(
                "The 'zoom_range' parameter of ZoomOverSampler must be a pair "
                f"(low, high) of finite floats with 1 <= low <= high. Got {zoom!r} "
                "instead."
            )
        return float(zoom[0]), float(zoom[1])

    def _fit_resample(self, X, y):
        low, high = self._check_zoom_range()
        rng = check_random_state(self.random_state)
        sources = []
        for class_, n_new in self.sampling_strategy_.items():
            members = np.flatnonzero(y == class_)
            if n_new == 0 or members.size == 0:
                continue
            n_rounds = -(-n_new // members.size)
            drawn = np.concatenate([rng.permutation(members) for _ in range(n_rounds)])
            sources.append(drawn[:n_new])
        sources = np.concatenate(sources) if sources else np.empty(0, dtype=np.intp)

        zooms = rng.uniform(low, high, size=sources.size)
        centres = rng.uniform(0.0, 1.0, size=(sources.size, 2))
        X_new = np.empty((sources.size, *X.shape[1:]), dtype=X.dtype)
        for k, (i, zoom, centre) in enumerate(
            zip(sources, zooms, centres, strict=True)
        ):
            X_new[k] = zoom_image(X[i], zoom, centre)

        self.sample_indices_ = np.concatenate([np.arange(X.shape[0]), sources])
        self.zoom_factors_ = np.concatenate([np.ones(X.shape[0]), zooms])
        return np.concatenate([X, X_new]), np.concatenate([y, y[sources]])

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.three_d_array = True
        tags.sampler_tags.sample_indices = True
        return tags


def zoom_image(image, zoom, centre):
    """Magnify one image (h, w) or (h, w, c) by ``zoom``, keeping its shape and dtype.

    ``centre`` = (cy, cx) in [0, 1] places the crop window between the top-left
    (0, 0) and bottom-right (1, 1) corners of the image.
    """
    if image.ndim == 2:
        return zoom_image(image[:, :, np.newaxis], zoom, centre)[:, :, 0]
    h, w, c = image.shape
    box_h, box_w = h / zoom, w / zoom
    top, left = centre[0] * (h - box_h), centre[1] * (w - box_w)
    box = (left, top, left + box_w, top + box_h)
    if image.dtype == np.uint8 and c in (1, 3):
        pil = Image.fromarray(image[:, :, 0] if c == 1 else image)
        out = np.asarray(pil.resize((w, h), Image.Resampling.BILINEAR, box=box))
        return out.reshape(h, w, c)
    out = np.empty_like(image)
    for ch in range(c):
        plane = Image.fromarray(image[:, :, ch].astype(np.float32), mode="F")
        zoomed = np.asarray(plane.resize((w, h), Image.Resampling.BILINEAR, box=box))
        if image.dtype.kind in "iu":
            info = np.iinfo(image.dtype)
            zoomed = np.clip(np.rint(zoomed), info.min, info.max)
        elif image.dtype.kind == "b":
            zoomed = zoomed >= 0.5
        out[:, :, ch] = zoomed
    return out
