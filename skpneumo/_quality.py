"""The input-quality check: which images cannot be a frontal chest X-ray.

The network gives a probability for any picture, a blank or a rotated one
included. This check flags the images whose probability cannot be trusted,
from cheap statistics of the image as decoded from its file (before it is
resized): its size and aspect ratio, its colour, its grey levels and
contrast, and two cues of its layout. The thresholds were measured on the
5,472 real images of the shared data (benchmarks/studies/input_quality.py):

- a frontal chest X-ray is brighter down the middle (the mediastinum and the
  spine) than on either side (the lungs), more so than across its middle row:
  ``orientation`` = (centre column band - lung bands) - (centre row band -
  upper and lower bands), on a 64x64 reduction of the image (2x2 means of a
  128x128 nearest-neighbour sample), was positive on every real image
  (smallest 0.56 on the 0-255 scale, 1st percentile 13). An inverted grey
  scale or a rotation by 90 degrees turns its sign;
- the outer tenth of a frontal X-ray (air, the collimated edge) is darker than
  its centre half: ``border`` = border mean - centre mean was negative on
  99.8% of them, and positive on 99.8% of their inverted copies, which tells
  an inversion from a rotation.

Only :mod:`skpneumo._image` (which measures) and :mod:`skpneumo._loader`
(which acts on the flags) use this module; it needs NumPy only.
"""

import warnings

import numpy as np

#: The nearest-neighbour sample of the image everything is measured on: no
#: interpolation, which would invent grey levels and average colour away. The
#: layout cues use its 2x2 means, a 64x64 reduction.
LEVEL_PROBE = (128, 128)

#: A side shorter than this many pixels cannot show a chest X-ray's detail.
MIN_SIDE = 64
#: Plausible width / height of a frontal X-ray (the real ones: 0.91 to 3.18).
MAX_ASPECT = 3.0
#: Mean spread between the RGB channels above which an image is in colour
#: (0 on every real X-ray, greyscale or stored as RGB).
MAX_COLOUR = 10.0
#: Fewest distinct grey levels of an X-ray (the real ones: 111 or more).
MIN_GREY_LEVELS = 16
#: Smallest span of the 1st to 99th percentile grey level (real: 85 or more).
MIN_CONTRAST = 32.0

STATISTICS = (
    "width",
    "height",
    "colour",
    "grey_levels",
    "contrast",
    "orientation",
    "border",
)


class ImageQualityWarning(UserWarning):
    """Images that cannot be frontal chest X-rays: their probability is unreliable."""


class ImageQualityError(ValueError):
    """Images refused by the input-quality check (``quality="raise"``)."""


def _band(probe, rows, cols):
    n_rows, n_cols = probe.shape
    return probe[
        int(rows[0] * n_rows) : int(rows[1] * n_rows),
        int(cols[0] * n_cols) : int(cols[1] * n_cols),
    ].mean()


def measure(levels, colour, size):
    """The statistics of one image, from its samples.

    Parameters
    ----------
    levels : ndarray of shape LEVEL_PROBE, dtype uint8
        Nearest-neighbour sample of the greyscale image.
    colour : ndarray of shape (*LEVEL_PROBE, 3), dtype uint8, or None
        Nearest-neighbour sample of the image in RGB; None for a greyscale image.
    size : tuple of (int, int)
        ``(width, height)`` of the image as decoded, upright.

    Returns
    -------
    dict
        The values of :data:`STATISTICS`.
    """
    grey = levels.astype(np.float64)
    # 2x2 means by slices: NumPy is slow to reduce over axes of length 2
    layout = (grey[::2, ::2] + grey[1::2, ::2] + grey[::2, 1::2] + grey[1::2, 1::2]) / 4
    spine = _band(layout, (0.25, 0.75), (0.42, 0.58))
    lungs = (
        _band(layout, (0.25, 0.75), (0.15, 0.38))
        + _band(layout, (0.25, 0.75), (0.62, 0.85))
    ) / 2
    across = _band(layout, (0.42, 0.58), (0.25, 0.75))
    ends = (
        _band(layout, (0.15, 0.38), (0.25, 0.75))
        + _band(layout, (0.62, 0.85), (0.25, 0.75))
    ) / 2
    ring = np.ones(layout.shape, dtype=bool)
    n_rows, n_cols = layout.shape
    ring[n_rows // 10 : n_rows - n_rows // 10, n_cols // 10 : n_cols - n_cols // 10] = (
        False
    )
    # the grey levels' histogram gives their number and percentiles cheaply
    counts = np.bincount(levels.ravel(), minlength=256)
    cumulative = np.cumsum(counts) / levels.size
    low, high = np.searchsorted(cumulative, [0.01, 0.99])
    spread = 0.0
    if colour is not None:
        # channel by channel: a reduction over an axis of 3 is slow in NumPy
        red, green, blue = (colour[:, :, i].astype(np.int16) for i in range(3))
        top = np.maximum(np.maximum(red, green), blue)
        spread = float((top - np.minimum(np.minimum(red, green), blue)).mean())
    return {
        "width": int(size[0]),
        "height": int(size[1]),
        "colour": spread,
        "grey_levels": int(np.count_nonzero(counts)),
        "contrast": float(high - low),
        "orientation": float((spine - lungs) - (across - ends)),
        "border": float(
            layout[ring].mean() - _band(layout, (0.25, 0.75), (0.25, 0.75))
        ),
    }


def reasons(stats):
    """Why an image with these statistics cannot be a frontal chest X-ray.

    Parameters
    ----------
    stats : dict
        The output of :func:`measure`.

    Returns
    -------
    list of str
        One reason per failed test; empty for a plausible X-ray.
    """
    width, height = stats["width"], stats["height"]
    found = []
    if min(width, height) < MIN_SIDE:
        found.append(f"tiny image ({width}x{height} px, under {MIN_SIDE} px a side)")
    if max(width / height, height / width) > MAX_ASPECT:
        found.append(
            f"implausible aspect ratio ({width}x{height} px, more than "
            f"{MAX_ASPECT:g}:1)"
        )
    if stats["colour"] > MAX_COLOUR:
        found.append(
            f"colour content (mean channel spread {stats['colour']:.0f} of 255)"
        )
    flat = False
    if stats["grey_levels"] < MIN_GREY_LEVELS:
        found.append(f"too few grey levels ({stats['grey_levels']})")
        flat = True
    if stats["contrast"] < MIN_CONTRAST:
        found.append(
            f"no contrast (1st to 99th percentile span {stats['contrast']:.0f} of 255)"
        )
        flat = True
    if not flat and stats["orientation"] < 0:
        # the layout cues mean nothing on a flat image
        if stats["border"] > 0:
            found.append("inverted grey scale (bright border, dark middle)")
        else:
            found.append(
                "rotated or not a frontal view (no bright vertical band down the "
                "middle)"
            )
    return found


def summary(names, flags, *, limit=5):
    """``name (reason; reason), ...`` for the flagged images, the first ``limit``."""
    listed = [
        f"{name} ({'; '.join(found)})"
        for name, found in zip(names, flags, strict=True)
        if found
    ]
    text = ", ".join(listed[:limit])
    if len(listed) > limit:
        text += f", ... ({len(listed)} in all)"
    return text


def act_on(names, flags, quality, *, stacklevel):
    """Warn about (``"warn"``) or refuse (``"raise"``) the flagged images."""
    n_flagged = sum(bool(found) for found in flags)
    if quality == "ignore" or not n_flagged:
        return
    what = f"{n_flagged} of {len(flags)} image(s) cannot be frontal chest X-rays"
    if quality == "raise":
        raise ImageQualityError(
            f"{what}, and quality='raise' refuses them: "
            f"{summary(names, flags, limit=len(flags))}. Pass quality='warn' to "
            "predict them anyway, marked as unreliable."
        )
    warnings.warn(
        f"{what}; their predictions are unreliable: {summary(names, flags)}. "
        "Pass quality='raise' to refuse such images, or quality='ignore' to "
        "silence this check.",
        ImageQualityWarning,
        stacklevel=stacklevel + 1,
    )


def check_xray_quality(X, *, max_pixels=50_000_000, n_jobs=None):
    """Flag the images that cannot be frontal chest X-rays, with the reasons.

    The check :class:`~skpneumo.ImageLoader` runs on every file it loads
    (its ``quality`` parameter), as a table. An image is flagged if it has a
    side under 64 pixels, an aspect ratio beyond 3:1, colour, fewer than 16
    grey levels, no contrast (its 1st and 99th percentile grey levels less
    than 32 apart), an inverted grey scale, or no bright vertical band down
    the middle (a rotated image, or not a frontal view). Files are measured
    as decoded, before any resize; arrays as given. The thresholds and the
    rates they give on real and generated images are in the user guide
    (benchmarks/studies/input_quality.py measures them). A flag is a warning sign,
    not a diagnosis: the check is cheap and cannot tell every non-X-ray.

    Parameters
    ----------
    X : array-like of shape (n_samples,) of str or pathlib.Path, or array of \
            shape (n_samples, height, width[, channels])
        Image files, or images with pixel values on the 0-255 scale (as
        :class:`~skpneumo.ImageLoader` takes them).
    max_pixels : int or None, default=50_000_000
        As for :class:`~skpneumo.ImageLoader`.
    n_jobs : int or None, default=None
        As for :class:`~skpneumo.ImageLoader`.

    Returns
    -------
    table : sklearn.utils.Bunch
        With one entry per image, in the order of ``X``:

        flagged : ndarray of shape (n_samples,) of bool
            Whether the image cannot be a frontal chest X-ray.
        reasons : ndarray of shape (n_samples,) of str
            Why, the reasons separated by ``"; "``; empty if not flagged.
        width, height : ndarray of shape (n_samples,) of int
            The image's size as decoded (upright, by its EXIF orientation).
        colour : ndarray of shape (n_samples,) of float
            Mean spread between the RGB channels, on the 0-255 scale.
        grey_levels : ndarray of shape (n_samples,) of int
            Distinct grey levels in a 128x128 sample.
        contrast : ndarray of shape (n_samples,) of float
            Span of the 1st to 99th percentile grey level.
        orientation : ndarray of shape (n_samples,) of float
            How much brighter the middle column band is than the lungs
            beside it, less the same across the middle row; negative for an
            inverted or rotated image.
        border : ndarray of shape (n_samples,) of float
            Mean grey level of the outer tenth less that of the centre half;
            positive for an inverted image.

    Raises
    ------
    ImageLoadError
        If files cannot be decoded (one error lists them all).

    See Also
    --------
    ImageLoader : Runs this check on the files it loads.

    Examples
    --------
    >>> import numpy as np
    >>> from skpneumo import check_xray_quality
    >>> table = check_xray_quality(np.zeros((1, 128, 128), dtype=np.uint8))
    >>> table.flagged.tolist()
    [True]
    >>> print(table.reasons[0])
    too few grey levels (1); no contrast (1st to 99th percentile span 0 of 255)
    """
    from sklearn.utils import Bunch

    from . import _image
    from ._loader import ImageLoader, _as_paths, _uint8_images

    loader = ImageLoader(max_pixels=max_pixels, n_jobs=n_jobs, quality="ignore")
    if _as_paths(X) is None:
        stats = [_image.measure_array(image) for image in _uint8_images(X)]
    else:
        loader.fit()
        stats = loader._from_paths(_as_paths(X), loader.image_size_, True)[1]
    flags = [reasons(s) for s in stats]
    table = Bunch(
        flagged=np.array([bool(f) for f in flags]),
        reasons=np.array(["; ".join(f) for f in flags], dtype=str),
    )
    for name in STATISTICS:
        table[name] = np.array([s[name] for s in stats])
    return table
