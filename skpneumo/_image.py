"""Decoding and resizing of single images with Pillow.

Everything here works on one image at a time and returns uint8 arrays; the batch
logic, parallelism and caching live in :mod:`skpneumo._loader`.
"""

import math
import os
import warnings

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

RESIZE_MODES = ("squash", "crop", "pad")


class ImageLoadError(ValueError):
    """An image file could not be decoded; the message names the file.

    Attributes
    ----------
    path : str
        The file that failed.
    """

    def __init__(self, path, reason):
        self.path = str(path)
        super().__init__(f"Cannot load image {self.path!r}: {reason}")


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
        # at 255 instead of scaling, so scale the full 16-bit range down to 8 bits.
        values = np.asarray(image, dtype=np.float64)
        gray = Image.fromarray(
            np.clip(np.rint(values / 257.0), 0, 255).astype(np.uint8), mode="L"
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


def _fit_image(image, size, resize, resample):
    """Resize a decoded Pillow image to ``size`` = (height, width) by ``resize``."""
    out_h, out_w = size
    width, height = image.size
    if resize == "squash":
        if (width, height) == (out_w, out_h):
            return image
        return image.resize((out_w, out_h), resample=resample)
    if resize == "crop":
        scale = max(out_w / width, out_h / height)
        box_w, box_h = out_w / scale, out_h / scale
        left, top = (width - box_w) / 2, (height - box_h) / 2
        return image.resize(
            (out_w, out_h),
            resample=resample,
            box=(left, top, left + box_w, top + box_h),
        )
    # pad: fit inside, keep the aspect ratio, centre on black
    scale = min(out_w / width, out_h / height)
    new_w = max(1, min(out_w, round(width * scale)))
    new_h = max(1, min(out_h, round(height * scale)))
    inner = image.resize((new_w, new_h), resample=resample)
    canvas = Image.new(image.mode, (out_w, out_h), 0)
    canvas.paste(inner, ((out_w - new_w) // 2, (out_h - new_h) // 2))
    return canvas


def decode_file(path, size, *, resize="squash", channels=1, max_pixels=None, draft=True):
    """Decode one image file into a uint8 array of shape (height, width, channels).

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
        decoded; None leaves only Pillow's own decompression-bomb guard.
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
    """
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(2, "No such image file", path)
    if os.path.isdir(path):
        raise IsADirectoryError(21, "Expected an image file, got a directory", path)
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
                if draft and image.format == "JPEG":
                    _apply_draft(image, size, resize, channels)
                image.load()
                image = ImageOps.exif_transpose(image)
                image = _to_mode(image, channels)
                image = _fit_image(image, size, resize, Image.Resampling.BICUBIC)
                array = np.asarray(image, dtype=np.uint8)
    except ImageLoadError:
        raise
    except Image.DecompressionBombError as exc:
        raise ImageLoadError(path, f"{exc} (raise max_pixels to accept it)") from exc
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as exc:
        reason = str(exc) or type(exc).__name__
        if os.path.getsize(path) == 0:
            reason = "the file is empty (0 bytes)"
        raise ImageLoadError(path, reason) from exc
    if array.ndim == 2:
        array = array[:, :, np.newaxis]
    return array


def _apply_draft(image, size, resize, channels):
    """Ask libjpeg to decode at the smallest scale that still covers ``size``."""
    out_h, out_w = size
    width, height = image.size
    orientation = image.getexif().get(0x0112, 1)
    if orientation in (5, 6, 7, 8):  # rotated by 90 degrees: axes swap later
        out_h, out_w = out_w, out_h
    scale = _target_scale(width, height, (out_h, out_w), resize)
    if scale is None:
        request = (out_w, out_h)
    else:
        request = (math.ceil(width * scale), math.ceil(height * scale))
    mode = "L" if channels == 1 and image.mode in ("L", "RGB", "YCbCr") else None
    image.draft(mode, request)


def fit_array_image(image, size, *, resize="squash", channels=1):
    """Resize one uint8 image array of shape (h, w, c) to (height, width, channels)."""
    c = image.shape[2]
    if image.shape[:2] == tuple(size) and c == channels:
        return image
    if c == 1:
        pil = Image.fromarray(image[:, :, 0], mode="L")
    elif c == 3:
        pil = Image.fromarray(image, mode="RGB")
    elif c == 4:
        pil = Image.fromarray(image, mode="RGBA")
    else:
        raise ValueError(
            f"Images must have 1, 3 or 4 channels; got {c} channels."
        )
    pil = _to_mode(pil, channels)
    pil = _fit_image(pil, size, resize, Image.Resampling.BICUBIC)
    array = np.asarray(pil, dtype=np.uint8)
    if array.ndim == 2:
        array = array[:, :, np.newaxis]
    return array
