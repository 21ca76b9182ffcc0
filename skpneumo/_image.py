"""Decoding and resizing of single images with Pillow.

Everything here works on one image at a time and returns uint8 arrays; the batch
logic, parallelism and caching live in :mod:`skpneumo._loader`. DICOM files are
decoded by :mod:`skpneumo._dicom` (pydicom) and resized here like any image.
"""

import math
import os
import warnings

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from . import _dicom, _quality

RESIZE_MODES = ("squash", "crop", "pad")
_ORIENTATION = 0x0112  # the EXIF tag


class ImageLoadError(ValueError):
    """An image file could not be decoded; the message names the file.

    Parameters
    ----------
    path : str or path-like
        The file that failed.
    reason : str
        Why it failed; appended to the message.

    Attributes
    ----------
    path : str
        The file that failed (the first, for an error about several).
    reason : str
        Why it failed.
    errors : list of ImageLoadError
        Each file that failed: this error alone, or those that
        :meth:`from_errors` combined.
    """

    def __init__(self, path, reason):
        self.path, self.reason, self.errors = str(path), reason, [self]
        super().__init__(f"Cannot load image {self.path!r}: {reason}")

    @classmethod
    def from_errors(cls, errors):
        """One error for several files, listing each file and its reason.

        Parameters
        ----------
        errors : list of ImageLoadError
            The errors, one per file.

        Returns
        -------
        ImageLoadError
            ``errors[0]`` if it is the only one.
        """
        if len(errors) == 1:
            return errors[0]
        listing = "; ".join(f"{e.path!r}: {e.reason}" for e in errors)
        combined = cls(errors[0].path, errors[0].reason)
        combined.errors = list(errors)
        combined.args = (f"Cannot load {len(errors)} images: {listing}",)
        return combined

    def __reduce__(self):
        # pickled across processes (joblib's process backends) with its fields
        others = None if self.errors == [self] else self.errors
        return _rebuild_load_error, (self.path, self.reason, others, self.args)


def _rebuild_load_error(path, reason, errors, args):
    error = ImageLoadError.__new__(ImageLoadError)
    error.path, error.reason, error.args = path, reason, args
    error.errors = [error] if errors is None else errors
    return error


def _target_scale(width, height, size, resize):
    """Scale factor from the source size to the resized content, per resize mode."""
    out_h, out_w = size
    if resize == "crop":
        return max(out_w / width, out_h / height)
    if resize == "pad":
        return min(out_w / width, out_h / height)
    return None  # squash scales each axis on its own


def _to_mode(image, channels):
    """Convert a Pillow image of any mode to 'L' (channels=1) or 'RGB' (channels=3)."""
    target = "L" if channels == 1 else "RGB"
    if image.mode == target:
        return image
    if image.mode in ("I;16", "I;16B", "I;16L", "I;16N", "I"):
        # 16-bit (or 32-bit integer) greyscale: Pillow's own conversion to 'L' clips
        # at 255 instead of scaling. The values are scaled from the bit depth that
        # holds their maximum, so that 12-bit data stored in 16 bits keep their
        # grey levels (a scale by 65535 would leave them 16); values that fit in
        # 8 bits pass unchanged.
        values = np.clip(np.asarray(image, dtype=np.float64), 0, None)
        bits = max(8, int(values.max()).bit_length())
        gray = Image.fromarray(
            np.clip(np.rint(values * (255.0 / (2**bits - 1))), 0, 255).astype(np.uint8),
            mode="L",
        )
        return gray if channels == 1 else gray.convert("RGB")
    if image.mode == "F":
        values = np.asarray(image, dtype=np.float64)
        gray = Image.fromarray(np.clip(np.rint(values), 0, 255).astype(np.uint8))
        return gray if channels == 1 else gray.convert("RGB")
    if image.mode in ("P", "PA"):
        image = image.convert("RGBA")
    if image.mode in ("RGBA", "LA", "CMYK", "YCbCr", "LAB", "HSV", "1", "RGBX"):
        # Alpha is dropped: X-rays carry no transparency, and a transparent pixel
        # keeps the grey value it was stored with.
        image = image.convert("RGB")
    return image.convert(target)


def _fit_image(image, size, resize, resample, box=None):
    """Resize a decoded Pillow image to ``size`` = (height, width) by ``resize``.

    ``box`` = (left, top, right, bottom), in pixels that may be fractional, is
    the part of ``image`` that holds the picture; None means all of it. A JPEG
    decoded in draft mode needs it: its last row and column can stand for only
    part of a block of source pixels.
    """
    out_h, out_w = size
    if box is None:
        box = (0, 0, *image.size)
    x0, y0, x1, y1 = box
    width, height = x1 - x0, y1 - y0
    if resize == "squash":
        if box == (0, 0, *image.size) and image.size == (out_w, out_h):
            return image
        return image.resize((out_w, out_h), resample=resample, box=box)
    if resize == "crop":
        scale = max(out_w / width, out_h / height)
        box_w, box_h = out_w / scale, out_h / scale
        left, top = x0 + (width - box_w) / 2, y0 + (height - box_h) / 2
        # clamped: rounding can put the kept side a hair outside the picture
        box = (max(left, x0), max(top, y0), min(left + box_w, x1), min(top + box_h, y1))
        return image.resize((out_w, out_h), resample=resample, box=box)
    # pad: fit inside, keep the aspect ratio, centre on black
    scale = min(out_w / width, out_h / height)
    new_w = max(1, min(out_w, round(width * scale)))
    new_h = max(1, min(out_h, round(height * scale)))
    inner = image.resize((new_w, new_h), resample=resample, box=box)
    canvas = Image.new(image.mode, (out_w, out_h), 0)
    canvas.paste(inner, ((out_w - new_w) // 2, (out_h - new_h) // 2))
    return canvas


def decode_file(
    path, size, *, resize="squash", channels=1, max_pixels=None, draft=True
):
    """Decode one image file into a uint8 array of shape (height, width, channels).

    :func:`decode` does the same and also measures the image for the
    input-quality check.

    Parameters
    ----------
    path : str or os.PathLike
        Image file.
    size : tuple of int
        Output (height, width).
    resize : {"squash", "crop", "pad"}, default="squash"
        How to fit the image into ``size``.
    channels : {1, 3}, default=1
        Number of output channels.
    max_pixels : int or None, default=None
        Largest accepted width * height, checked on the header before any pixel is
        decoded; None leaves only Pillow's own decompression-bomb guard (which
        does not apply to DICOM files).
    draft : bool, default=True
        Let JPEG files decode directly at a reduced scale (DCT-domain downscaling)
        when the output is much smaller than the file.

    Returns
    -------
    ndarray of shape (height, width, channels) and dtype uint8

    Raises
    ------
    FileNotFoundError, IsADirectoryError
        If ``path`` is missing or is a directory.
    ImageLoadError
        If the file cannot be decoded or exceeds ``max_pixels``.
    ImportError
        If the file is DICOM (by its ``.dcm`` or ``.dicom`` suffix or its
        ``DICM`` marker, see ``skpneumo._dicom.is_dicom``) and pydicom is not
        installed.
    """
    return decode(
        path,
        size,
        resize=resize,
        channels=channels,
        max_pixels=max_pixels,
        draft=draft,
        measure=False,
    )[0]


def decode(
    path, size, *, resize="squash", channels=1, max_pixels=None, draft=True, measure
):
    """:func:`decode_file`, and the image's statistics for the quality check.

    ``measure`` says whether to take them (:func:`skpneumo._quality.measure`)
    from the image as decoded, upright, before it is resized.

    Returns
    -------
    array : ndarray of shape (height, width, channels) and dtype uint8
    stats : dict or None
        None unless ``measure``.
    """
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(2, "No such image file", path)
    if os.path.isdir(path):
        raise IsADirectoryError(21, "Expected an image file, got a directory", path)
    if _dicom.is_dicom(path):
        return _decode_dicom(path, size, resize, channels, max_pixels, measure)
    stats = None
    try:
        with warnings.catch_warnings():
            # the explicit max_pixels check below is the limit that counts
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(path) as image:
                width, height = image.size
                if max_pixels is not None and width * height > max_pixels:
                    raise ImageLoadError(
                        path,
                        f"{width}x{height} = {width * height} pixels exceeds "
                        f"max_pixels={max_pixels} (a possible decompression bomb; "
                        "raise max_pixels to accept it)",
                    )
                box = None
                if draft and image.format == "JPEG":
                    # the quality check needs the colour of a colour JPEG
                    box = _apply_draft(image, size, resize, channels, measure)
                image.load()
                orientation = image.getexif().get(_ORIENTATION, 1)
                if box is not None:
                    box = _orient_box(box, image.size, orientation)
                image = ImageOps.exif_transpose(image)
                if measure:
                    upright = (height, width) if orientation >= 5 else (width, height)
                    image, stats = _measure(image, upright, channels)
                image = _to_mode(image, channels)
                image = _fit_image(image, size, resize, Image.Resampling.BICUBIC, box)
                array = np.asarray(image, dtype=np.uint8)
    except ImageLoadError:
        raise
    except Image.DecompressionBombError as exc:
        # Pillow refuses the declared size inside Image.open, before max_pixels is
        # checked, and raising max_pixels alone does not lift its limit
        raise ImageLoadError(
            path,
            f"{exc} This is Pillow's own limit (twice PIL.Image.MAX_IMAGE_PIXELS), "
            f"which applies besides max_pixels={max_pixels}: raise both to accept "
            "the image.",
        ) from exc
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as exc:
        reason = str(exc) or type(exc).__name__
        if os.path.getsize(path) == 0:
            reason = "the file is empty (0 bytes)"
        raise ImageLoadError(path, reason) from exc
    if array.ndim == 2:
        array = array[:, :, np.newaxis]
    return array, stats


_GREY_MODES = ("1", "L", "LA", "I", "I;16", "I;16B", "I;16L", "I;16N", "F")


def _measure(image, size, channels):
    """Measure a decoded image for the quality check; return it in the output mode.

    The greyscale conversion the measure needs is the one the output needs
    when ``channels`` is 1, so it is made once.
    """
    colour = None
    if image.mode not in _GREY_MODES:
        sample = image.resize(_quality.LEVEL_PROBE[::-1], Image.Resampling.NEAREST)
        colour = np.asarray(sample.convert("RGB"))
    grey = _to_mode(image, 1)
    stats = _quality.measure(
        np.asarray(grey.resize(_quality.LEVEL_PROBE[::-1], Image.Resampling.NEAREST)),
        colour,
        size,
    )
    return (grey if channels == 1 else image), stats


def measure_array(image):
    """The quality statistics of one uint8 image array of shape (h, w, c)."""
    return _measure(_as_pil(image), (image.shape[1], image.shape[0]), 1)[1]


def _decode_dicom(path, size, resize, channels, max_pixels, measure):
    """Decode a DICOM file: pydicom decodes, Pillow resizes as for any image."""
    try:
        image = _dicom.read_dicom(path, max_pixels=max_pixels)
    except ValueError as exc:
        reason = str(exc)
        if os.path.getsize(path) == 0:
            reason = "the file is empty (0 bytes)"
        raise ImageLoadError(path, reason) from exc
    stats = None
    if measure:
        image, stats = _measure(image, image.size, channels)
    image = _to_mode(image, channels)
    image = _fit_image(image, size, resize, Image.Resampling.BICUBIC)
    array = np.asarray(image, dtype=np.uint8)
    if array.ndim == 2:
        array = array[:, :, np.newaxis]
    return array, stats


def _apply_draft(image, size, resize, channels, keep_colour=False):
    """Ask libjpeg to decode at the smallest scale that still covers ``size``.

    Returns the region of the reduced image that holds the picture, as
    (left, top, right, bottom), or None if the file cannot be reduced.
    """
    out_h, out_w = size
    width, height = image.size
    orientation = image.getexif().get(_ORIENTATION, 1)
    if orientation in (5, 6, 7, 8):  # rotated by 90 degrees: axes swap later
        out_h, out_w = out_w, out_h
    scale = _target_scale(width, height, (out_h, out_w), resize)
    if scale is None:
        request = (out_w, out_h)
    else:
        request = (math.ceil(width * scale), math.ceil(height * scale))
    mode = None
    if channels == 1 and image.mode in ("L", "RGB", "YCbCr"):
        # libjpeg gives the Y plane as 'L'; 'YCbCr' keeps the colour planes for
        # the quality check without the cost of a conversion to RGB
        mode = "YCbCr" if keep_colour and image.mode != "L" else "L"
    result = image.draft(mode, request)
    return None if result is None else result[1]


# Where the left, top, right and bottom margins of an image go when it is
# transposed as ImageOps.exif_transpose does for each EXIF orientation.
_MARGIN_ORDER = {
    2: (2, 1, 0, 3),  # mirrored left-right
    3: (2, 3, 0, 1),  # rotated 180
    4: (0, 3, 2, 1),  # mirrored top-bottom
    5: (1, 0, 3, 2),  # transposed
    6: (3, 0, 1, 2),  # rotated 90 clockwise
    7: (3, 2, 1, 0),  # transversed
    8: (1, 2, 3, 0),  # rotated 90 counter-clockwise
}


def _orient_box(box, size, orientation):
    """Map ``box`` of an image of ``size`` onto the image turned upright by EXIF."""
    order = _MARGIN_ORDER.get(orientation)
    if order is None:
        return box
    width, height = size
    margins = (box[0], box[1], width - box[2], height - box[3])
    left, top, right, bottom = (margins[i] for i in order)
    if orientation >= 5:
        width, height = height, width
    return (left, top, width - right, height - bottom)


def _as_pil(image):
    """A uint8 image array of shape (h, w, c) as a Pillow image."""
    c = image.shape[2]
    if c == 1:
        return Image.fromarray(image[:, :, 0], mode="L")
    if c == 3:
        return Image.fromarray(image, mode="RGB")
    if c == 4:
        return Image.fromarray(image, mode="RGBA")
    raise ValueError(f"Images must have 1, 3 or 4 channels; got {c} channels.")


def fit_array_image(image, size, *, resize="squash", channels=1):
    """Resize one uint8 image array of shape (h, w, c) to (height, width, channels)."""
    if image.shape[:2] == tuple(size) and image.shape[2] == channels:
        return image
    pil = _to_mode(_as_pil(image), channels)
    pil = _fit_image(pil, size, resize, Image.Resampling.BICUBIC)
    array = np.asarray(pil, dtype=np.uint8)
    if array.ndim == 2:
        array = array[:, :, np.newaxis]
    return array
