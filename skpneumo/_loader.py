"""ImageLoader: file paths or image arrays in, uint8 image batches out."""

import math
import numbers
import os
import reprlib
import sys
from typing import ClassVar

import numpy as np
from joblib import Memory, Parallel, delayed
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils._param_validation import Interval, Options, StrOptions
from sklearn_compat.base import _fit_context

from . import _image, _quality
from ._validation import check_image_array, check_image_size

_CHUNK = 32


def _decode_path(
    path, mtime_ns, file_size, size, resize, channels, max_pixels, measure
):
    """Decode one file, and measure it if ``measure``.

    ``mtime_ns`` and ``file_size`` only key the cache.
    """
    return _image.decode(
        path,
        size,
        resize=resize,
        channels=channels,
        max_pixels=max_pixels,
        measure=measure,
    )


def _decode_chunk(paths, decode, size, resize, channels, max_pixels, measure):
    """Decode ``paths`` with ``decode``; return their images as one array.

    Also returns the statistics of each image (None where not measured) and
    the ImageLoadError of each file that failed, so that one error can list
    them all. The images are returned, not written into an array of the
    caller: joblib may run this in another process (a process backend, or a
    Dask worker when the loader runs inside a Dask task), where such writes
    would be lost.
    """
    out = np.empty((len(paths), *size, channels), dtype=np.uint8)
    stats, errors = [None] * len(paths), []
    for i, path in enumerate(paths):
        try:
            stat = os.stat(path)
            key = (stat.st_mtime_ns, stat.st_size)
        except OSError:
            key = (None, None)  # decode raises the error naming the file
        try:
            out[i], stats[i] = decode(
                path, *key, size, resize, channels, max_pixels, measure
            )
        except _image.ImageLoadError as exc:
            errors.append(exc)
    return out, stats, errors


class ImageLoader(TransformerMixin, BaseEstimator):
    """Load chest X-rays from file paths (or image arrays) into uint8 batches.

    A stateless transformer: ``fit`` only validates the parameters, and
    ``transform`` decodes each image, converts it to greyscale (or RGB), and
    resizes it to ``image_size``. Pixels stay uint8 on the 0-255 scale; the
    network rescales them itself, so no float copy of the data set is made.

    JPEG files are decoded with Pillow's draft mode, which lets libjpeg
    downscale in the DCT domain by 1/2, 1/4 or 1/8 when the output is much
    smaller than the file; the final resize is bicubic. EXIF orientation is
    applied, so a photographed film that the camera marked as rotated is turned
    upright. 16-bit images are scaled to 0-255 from the bit depth that holds
    their largest value (12-bit data stored in 16 bits are scaled from 0-4095,
    values that fit in 8 bits pass unchanged), palette images go through RGB,
    and alpha is dropped.

    Image arrays are read on the 0-255 scale. A float array whose values all
    lie in [0, 1] (and are not all 0) is taken to be on the 0-1 scale: it is
    multiplied by 255, with a warning (pass ``X * 255``, or uint8 images, to
    silence it).

    Each file is also checked for what a frontal chest X-ray cannot be, on the
    image as decoded (before it is resized): a side under 64 pixels, an aspect
    ratio beyond 3:1, colour, fewer than 16 grey levels or no contrast, an
    inverted grey scale, or a rotation (no bright vertical band down the
    middle). Such images are loaded all the same, and ``quality`` says what
    else happens; :func:`check_xray_quality` gives each image's flags and
    statistics. Image arrays are not checked by the loader (pass them to
    :func:`check_xray_quality`): they are often crops, augmented copies or
    test data that no X-ray rule fits.

    DICOM files (named ``*.dcm`` or ``*.dicom``, or any file with the
    ``DICM`` marker of DICOM Part 10) are read with pydicom, an optional
    dependency (``pip install "skpneumo[dicom]"``; ``"skpneumo[dicom-jpeg]"``
    adds the decoders for JPEG Lossless and JPEG-LS pixel data). Their grey
    levels are those a viewer shows: the rescale (modality LUT), then the
    file's first VOI LUT or window mapped to 0-255, and ``MONOCHROME1``
    inverted. Without a window, 8-bit data pass through unchanged and data
    of more bits are scaled from their minimum and maximum. Colour DICOM is
    converted like other colour images, and the result is resized as above.
    Only single-frame images are read; ``max_pixels`` is checked on
    ``Rows * Columns`` before the pixel data are decoded.

    Parameters
    ----------
    image_size : int or tuple of (int, int), default=224
        Output size: an int for a square image, or ``(height, width)``.
    resize : {"squash", "crop", "pad"}, default="squash"
        How an image of another aspect ratio is fitted: ``"squash"`` stretches
        it (the shared training images were squashed to 224x224, so this
        matches them), ``"crop"`` keeps the aspect ratio and cuts the longer
        side around the centre, ``"pad"`` keeps the aspect ratio and fills the
        borders with black.
    channels : {1, 3}, default=1
        1 for greyscale output, 3 for RGB.
    max_pixels : int or None, default=50_000_000
        Largest accepted ``width * height`` of a file, checked from its header
        before decoding, so that a decompression bomb is rejected. The largest
        Kaggle X-ray has about 8.4 million pixels. None leaves only Pillow's
        own limit (about 179 million), which applies whatever ``max_pixels``
        is; raise ``PIL.Image.MAX_IMAGE_PIXELS`` to go beyond it.
    n_jobs : int or None, default=None
        Number of threads that decode files in parallel (Pillow releases the
        GIL while decoding). None means 1 unless in a
        :func:`joblib.parallel_config` context, -1 means all processors.
        Threads are only preferred: a ``parallel_config`` backend wins, and
        inside a Dask task (a grid search under joblib's dask backend) the
        files are decoded by tasks on the cluster.
    memory : str, pathlib.Path, joblib.Memory or None, default=None
        Where to cache decoded images, so that a grid search or repeated runs
        decode each file once. The key is the file's path, modification time
        and size, and the loader's parameters, so an edited file is decoded
        again. None disables caching.
    verbose : int, default=0
        If positive, print a progress bar to stderr while files load.
    quality : {"warn", "raise", "ignore"}, default="warn"
        What to do with files that fail the input-quality check: ``"warn"``
        loads them and raises one :class:`ImageQualityWarning` (a
        ``UserWarning``) per call naming each file and reason, since the
        network's probability for them is unreliable; ``"raise"`` refuses
        them with an :class:`ImageQualityError` (a ``ValueError``) that lists
        them all; ``"ignore"`` skips the check.

    Attributes
    ----------
    image_size_ : tuple of (int, int)
        The resolved ``(height, width)``, set by ``fit``.

    See Also
    --------
    ZoomOverSampler : Balances the classes with zoomed copies of images.
    PneumoniaClassifier : The CNN that consumes the loader's output.

    Examples
    --------
    >>> import numpy as np
    >>> from skpneumo import ImageLoader
    >>> images = np.zeros((2, 40, 30), dtype=np.uint8)
    >>> ImageLoader(image_size=16).fit_transform(images).shape
    (2, 16, 16, 1)
    """

    _parameter_constraints: ClassVar[dict] = {
        "image_size": [Interval(numbers.Integral, 1, None, closed="left"), tuple, list],
        "resize": [StrOptions(set(_image.RESIZE_MODES))],
        "channels": [Options(numbers.Integral, {1, 3})],
        "max_pixels": [Interval(numbers.Integral, 1, None, closed="left"), None],
        "n_jobs": [numbers.Integral, None],
        "memory": [str, os.PathLike, Memory, None],
        "verbose": ["verbose"],
        "quality": [StrOptions({"warn", "raise", "ignore"})],
    }

    def __init__(
        self,
        *,
        image_size=224,
        resize="squash",
        channels=1,
        max_pixels=50_000_000,
        n_jobs=None,
        memory=None,
        verbose=0,
        quality="warn",
    ):
        self.image_size = image_size
        self.resize = resize
        self.channels = channels
        self.max_pixels = max_pixels
        self.n_jobs = n_jobs
        self.memory = memory
        self.verbose = verbose
        self.quality = quality

    def _check_params(self):
        self._validate_params()
        return check_image_size(self.image_size, caller="ImageLoader")

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X=None, y=None):
        """Validate the parameters; the loader learns nothing from data.

        Parameters
        ----------
        X : Ignored
            Not used, present for API consistency.
        y : Ignored
            Not used, present for API consistency.

        Returns
        -------
        self : ImageLoader
            The loader.
        """
        self.image_size_ = self._check_params()
        return self

    def transform(self, X):
        """Load the images.

        Parameters
        ----------
        X : array-like of shape (n_samples,) of str or pathlib.Path, or array of \
                shape (n_samples, height, width[, channels])
            Image file paths, or images with pixel values on the 0-255 scale.

        Returns
        -------
        images : ndarray of shape (n_samples, height, width, channels), dtype uint8
            The loaded images.

        Raises
        ------
        ImageLoadError
            If files cannot be decoded: one error lists each file and reason.
        ImageQualityError
            If ``quality="raise"`` and files fail the input-quality check.

        Warns
        -----
        ImageQualityWarning
            If ``quality="warn"`` and files fail the input-quality check.
        """
        images, paths, flags = self._load(X)
        if paths is not None:
            _quality.act_on(paths, flags, self.quality, stacklevel=3)
        return images

    def _load(self, X, *, measure=None):
        """The images of X, its paths (None for arrays) and each file's flags.

        ``measure`` (default: unless ``quality="ignore"``) says whether files
        are measured; their flags are the reasons of
        :func:`skpneumo._quality.reasons`, empty when not measured.
        """
        size = self._check_params()
        paths = _as_paths(X)
        if paths is None:
            return self._from_arrays(X, size), None, None
        if measure is None:
            measure = self.quality != "ignore"
        images, stats = self._from_paths(paths, size, measure)
        flags = [[] if s is None else _quality.reasons(s) for s in stats]
        return images, paths, flags

    def _from_arrays(self, X, size):
        X = _uint8_images(X)
        if X.shape[1:3] == size and X.shape[3] == self.channels:
            return X
        out = np.empty((X.shape[0], *size, self.channels), dtype=np.uint8)
        for i, image in enumerate(X):
            try:
                out[i] = _image.fit_array_image(
                    image, size, resize=self.resize, channels=self.channels
                )
            except ValueError as exc:
                raise ValueError(f"Cannot convert sample {i}: {exc}") from exc
        return out

    def _from_paths(self, paths, size, measure):
        decode = _decode_path
        if self.memory is not None:
            memory = (
                self.memory
                if isinstance(self.memory, Memory)
                else Memory(self.memory, verbose=0)
            )
            decode = memory.cache(_decode_path)
        out = np.empty((len(paths), *size, self.channels), dtype=np.uint8)
        stats, errors = [], []
        args = (size, self.resize, self.channels, self.max_pixels, measure)
        starts = range(0, len(paths), _CHUNK)
        done = 0
        progress = _Progress(len(paths)) if self.verbose else None
        # "threads" is only a preference: inside a Dask task (GridSearchCV
        # under joblib's dask backend) or a parallel_config(backend="loky"),
        # joblib runs the chunks in other processes, so each returns its images
        chunks = Parallel(n_jobs=self.n_jobs, prefer="threads", return_as="generator")(
            delayed(_decode_chunk)(paths[start : start + _CHUNK], decode, *args)
            for start in starts
        )
        for start, (images, chunk_stats, chunk_errors) in zip(
            starts, chunks, strict=True
        ):
            out[start : start + len(images)] = images
            stats += chunk_stats
            errors += chunk_errors
            done += len(images)
            if progress is not None:
                progress.update(done)
        if progress is not None:
            progress.close()
        if errors:
            raise _image.ImageLoadError.from_errors(errors)
        return out, stats

    def __sklearn_is_fitted__(self):
        return True

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.requires_fit = False
        tags.input_tags.string = True
        tags.input_tags.three_d_array = True
        tags.transformer_tags.preserves_dtype = ["uint8"]
        return tags


def _uint8_images(X):
    """Validate image arrays on the 0-255 scale and return them as uint8."""
    X = check_image_array(X)
    if X.dtype != np.uint8:
        low, high = X.min(axis=(1, 2, 3)), X.max(axis=(1, 2, 3))
        bad = np.flatnonzero((low < 0) | (high > 255))
        if bad.size:
            raise ValueError(
                "Image arrays must hold pixel values in [0, 255]; sample(s) "
                f"{bad[:10].tolist()} fall outside it (first: min {low[bad[0]]}, "
                f"max {high[bad[0]]})."
            )
        X = np.rint(X).astype(np.uint8) if X.dtype.kind == "f" else X.astype(np.uint8)
    return X


def _as_paths(X):
    """Return X as a list of path strings, or None if X holds pixel arrays."""
    if isinstance(X, (str, os.PathLike)):
        raise ValueError(
            f"X must be a sequence of image paths or an array of images; got the "
            f"single path {os.fspath(X)!r}. Wrap it in a list."
        )
    if isinstance(X, np.ndarray) and X.dtype.kind in "buif":
        return None
    if isinstance(X, np.ndarray):
        if X.ndim != 1:
            raise ValueError(
                f"X must be a 1-D array of image paths; got an array of shape "
                f"{X.shape} and dtype {X.dtype}."
            )
        if X.size == 0:
            raise ValueError("X holds no images (an empty array was given).")
        items = list(X)
    else:
        items = list(X)
        if len(items) == 0:
            raise ValueError("X holds no images (an empty sequence was given).")
        if not any(isinstance(item, (str, os.PathLike)) for item in items):
            return None  # nested sequences of pixel values
    bad = [
        i for i, item in enumerate(items) if not isinstance(item, (str, os.PathLike))
    ]
    if bad:
        raise ValueError(
            f"X must hold image paths (str or pathlib.Path); sample {bad[0]} is "
            f"{reprlib.repr(items[bad[0]])} of type {type(items[bad[0]]).__name__}."
        )
    return [os.fspath(item) for item in items]


class _Progress:
    """Loading progress on stderr, drawn to suit where stderr goes.

    On a terminal, a bar redrawn in place with carriage returns. Anywhere
    else (a file, a pipe, a CI log), where a carriage return does not move
    back and the redraws pile up into one long line, a plain line each time
    the count passes another ``step`` of the images (a tenth), and at the end.
    """

    def __init__(self, total, width=30, step=0.1):
        self.total, self.width = total, width
        self.stream = sys.stderr
        isatty = getattr(self.stream, "isatty", None)
        self.interactive = bool(isatty and isatty())
        self.every = max(1, math.ceil(step * total))
        self.next_line = self.every

    def update(self, done):
        if self.interactive:
            filled = int(self.width * done / max(self.total, 1))
            bar = "#" * filled + "-" * (self.width - filled)
            self.stream.write(f"\rLoading images [{bar}] {done}/{self.total}")
        elif done >= self.total or done >= self.next_line:
            percent = 100 * done // max(self.total, 1)
            self.stream.write(f"Loading images: {done}/{self.total} ({percent}%)\n")
            self.next_line = (done // self.every + 1) * self.every
        self.stream.flush()

    def close(self):
        if self.interactive:
            self.stream.write("\n")
            self.stream.flush()


__all__ = ["ImageLoader"]
