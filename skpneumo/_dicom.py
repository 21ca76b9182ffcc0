"""Reading DICOM files with pydicom: the one module that knows DICOM's quirks.

:func:`skpneumo._image.decode_file` sends a file here when :func:`is_dicom` says
so, and resizes the Pillow image that :func:`read_dicom` returns exactly as it
resizes any other image. pydicom is an optional dependency
(``pip install "skpneumo[dicom]"``), imported only when a DICOM file is read,
so that ``import skpneumo`` does not need it.

Which files are DICOM
    A file is read as DICOM if its name ends in ``.dcm`` or ``.dicom`` (any
    case), or if it holds the ``DICM`` marker at byte 128 of a DICOM Part 10
    file, so that files an archive exported without an extension are read too.
    Only Part 10 files are accepted (128-byte preamble, ``DICM``, file meta
    information), which is what modalities and archives write to files: a
    ``.dcm`` file without the marker is reported as not DICOM rather than
    parsed with ``force=True``, which turns any other file into nonsense
    elements and a misleading error.

From stored values to 0-255 grey levels, as a DICOM viewer displays them
    1. pydicom decodes the pixel data; unused high bits of ``BitsStored`` are
       masked and signed values sign-extended.
    2. The modality LUT (``RescaleSlope``/``RescaleIntercept`` or a Modality LUT
       Sequence), with :func:`pydicom.pixels.apply_modality_lut`.
    3. The first VOI LUT or window (``WindowCenter``/``WindowWidth``), with
       :func:`pydicom.pixels.apply_voi_lut`, which prefers the VOI LUT Sequence
       when a file has both. Its output range (pydicom's, or the LUT's bit
       depth) becomes 0-255.
    4. With no VOI LUT and no window, the rule depends on ``BitsStored``:

       * 8 bits or fewer: the full range the stored bits can hold
         (``0 .. 2**BitsStored - 1``, or the signed range, through the
         modality LUT) becomes 0-255. Such data are display-ready grey levels
         (scanned films, secondary captures), and 8-bit values pass through
         unchanged: a DICOM made from a JPEG's pixels gives the JPEG's input.
       * more than 8 bits: the image's own minimum and maximum (after the
         modality LUT) become 0 and 255, the "min-max window" viewers fall
         back on. Such data rarely fill their stored bits (a 12- or 14-bit
         detector's values stored in 16 bits, CT numbers from -1000 to 2000
         in 16 bits), and scaling the full stored range would leave them a
         handful of the 256 grey levels. The overall brightness of an exposure
         is lost, which the network's per-image standardisation
         (``standardize=True``) would discard anyway.

       Radiographs "for presentation" (DX, and most CR) carry a window or a VOI
       LUT, so step 3 applies to them.
    5. ``MONOCHROME1`` (low values white) is inverted to ``MONOCHROME2``. The
       Presentation LUT Shape is not applied on top: in DX files it only repeats
       the photometric interpretation (``INVERSE`` for ``MONOCHROME1``), and
       applying both would invert twice.

    Colour images (``SamplesPerPixel`` 3: RGB, or YBR which pydicom converts to
    RGB) follow step 4, over all three channels together, and are returned as
    RGB, which the caller converts to grey like any colour image.
"""

import struct

import numpy as np
from PIL import Image

DICOM_SUFFIXES = (".dcm", ".dicom")
_MAGIC_OFFSET = 128
_MAGIC = b"DICM"
_INSTALL = 'pip install "skpneumo[dicom]"'
_GREY = ("MONOCHROME1", "MONOCHROME2")
_COLOUR = ("RGB", "YBR_FULL", "YBR_FULL_422", "YBR_ICT", "YBR_RCT")


class _Unreadable(ValueError):
    """A reason of our own why a DICOM file cannot be read, passed on as it is."""


def is_dicom(path):
    """Whether ``path`` is to be read as DICOM: by its suffix, or by its marker.

    Parameters
    ----------
    path : str
        An existing file.

    Returns
    -------
    bool
    """
    if path.lower().endswith(DICOM_SUFFIXES):
        return True
    try:
        with open(path, "rb") as file:
            file.seek(_MAGIC_OFFSET)
            return file.read(len(_MAGIC)) == _MAGIC
    except OSError:
        return False  # Pillow then reports the error, naming the file


def _import_pydicom(path):
    """Import pydicom, or say how to install it; imported per call, as it is optional."""
    try:
        import pydicom
        import pydicom.pixels  # new in pydicom 3.0
    except ImportError as exc:
        raise ImportError(
            f"Reading the DICOM file {path!r} needs pydicom 3.0 or later, an "
            f"optional dependency of skpneumo: {_INSTALL} (or pip install "
            f"'pydicom>=3.0'). Import failed with: {exc}"
        ) from exc
    return pydicom


def _pydicom_errors(pydicom):
    # What pydicom raises for malformed files: it has no common base class.
    return (
        pydicom.errors.InvalidDicomError,
        AttributeError,
        EOFError,
        KeyError,
        IndexError,
        NotImplementedError,
        OSError,
        RuntimeError,
        TypeError,
        ValueError,
        struct.error,
    )


def _install_hint(pydicom, uid):
    """The packages to install for pixel data compressed with ``uid``."""
    if (
        uid in pydicom.uid.JPEGTransferSyntaxes
        or uid in pydicom.uid.JPEGLSTransferSyntaxes
    ):
        return "pip install pylibjpeg pylibjpeg-libjpeg"
    if uid in pydicom.uid.JPEG2000TransferSyntaxes:  # includes HTJ2K
        return "pip install pylibjpeg pylibjpeg-openjpeg"
    return "install one of the plugins pydicom lists"


def _describe(uid):
    """A transfer syntax's name and UID; a private one has no name but its UID."""
    return f"{uid.name} ({uid})" if uid.name != str(uid) else str(uid)


def _check_decoder(pydicom, ds):
    """Raise ValueError unless an installed plugin can decode the pixel data."""
    uid = ds.file_meta.get("TransferSyntaxUID") if hasattr(ds, "file_meta") else None
    if not uid:
        raise _Unreadable(
            "its file meta information has no Transfer Syntax UID (0002,0010), so "
            "the pixel data cannot be decoded"
        )
    try:
        decoder = pydicom.pixels.get_decoder(uid)
    except NotImplementedError as exc:
        raise _Unreadable(
            f"pydicom cannot decode pixel data in the transfer syntax "
            f"{_describe(uid)}: it has no decoder for it"
        ) from exc
    if not decoder.is_available:
        raise _Unreadable(
            f"its pixel data are compressed as {_describe(uid)} and no installed "
            f"package can decode them: {_install_hint(pydicom, uid)} (pydicom's "
            f"plugins for it: {'; '.join(decoder.missing_dependencies)})"
        )


def _stored_range(ds):
    """The values the stored bits can hold, through the modality LUT; (low, high)."""
    if ds.get("ModalityLUTSequence"):
        depth = ds.ModalityLUTSequence[0].LUTDescriptor[2]
        return 0.0, 2.0**depth - 1
    bits = int(ds.BitsStored)
    if ds.get("PixelRepresentation", 0) == 0:
        low, high = 0.0, 2.0**bits - 1
    else:
        low, high = -(2.0 ** (bits - 1)), 2.0 ** (bits - 1) - 1
    # apply_modality_lut rescales only when both are present
    if "RescaleSlope" in ds and "RescaleIntercept" in ds:
        slope, intercept = float(ds.RescaleSlope), float(ds.RescaleIntercept)
        # sorted: a negative slope turns the range round
        low, high = sorted((low * slope + intercept, high * slope + intercept))
    return low, high


def _grey_levels(pydicom, ds, values):
    """Map stored grey values to [0, 1] through the modality and VOI transforms."""
    values = pydicom.pixels.apply_modality_lut(values, ds)
    voi_lut = ds.get("VOILUTSequence")
    if voi_lut and "LUTDescriptor" in voi_lut[0] and "LUTData" in voi_lut[0]:
        # apply_voi_lut picks the VOI LUT Sequence over a window, as here
        descriptor, first, depth = voi_lut[0].LUTDescriptor
        entries = descriptor or 2**16  # 0 stands for 2**16
        if depth == 8:
            # pydicom 3.0 indexes an 8-bit LUT with uint8, so entries past 255
            # (a 4096-entry LUT for 12-bit data) wrap round. Declared 16-bit, the
            # same LUT data are read alike and indexed with uint16. The dataset
            # is ours alone, so it may be changed.
            voi_lut[0].LUTDescriptor = [descriptor, first, 16]
        # A LUT maps integers; clipped to its input range because pydicom
        # indexes with the LUT's own dtype, where larger values would wrap round.
        values = np.clip(np.rint(values), first, first + entries - 1).astype(np.int64)
        values = pydicom.pixels.apply_voi_lut(values, ds).astype(np.float64)
        low, high = 0.0, 2.0**depth - 1
    elif "WindowCenter" in ds and "WindowWidth" in ds:
        values = pydicom.pixels.apply_voi_lut(values, ds)
        # The window's output range is pydicom's to choose (it follows the
        # stored bits and the rescale): ask it where values far below and far
        # above the window go.
        low, high = pydicom.pixels.apply_voi_lut(np.array([-np.inf, np.inf]), ds)
    else:
        values = np.asarray(values, dtype=np.float64)
        low, high = _full_range(ds, values, _stored_range(ds))
    return _unit(values, low, high)


def _full_range(ds, values, stored_range):
    """The range that becomes 0-255 when no VOI applies (step 4 of the module doc)."""
    if int(ds.BitsStored) <= 8:
        return stored_range
    return float(values.min()), float(values.max())


def _unit(values, low, high):
    """Scale ``values`` linearly so that ``low`` goes to 0 and ``high`` to 1, in place."""
    values = np.array(values, dtype=np.float64, copy=None)
    values -= low
    values /= high - low if high != low else 1.0
    return np.clip(values, 0.0, 1.0, out=values)


def _to_uint8(unit):
    return np.rint(unit * 255.0).astype(np.uint8)


def read_dicom(path, *, max_pixels=None):
    """Read a single-frame DICOM image as a Pillow image in mode 'L' or 'RGB'.

    Parameters
    ----------
    path : str
        The DICOM file.
    max_pixels : int or None, default=None
        Largest accepted ``Rows * Columns``, checked from the header before the
        pixel data are decoded.

    Returns
    -------
    PIL.Image.Image
        Grey levels (mode 'L') as a viewer would show them, or RGB.

    Raises
    ------
    ImportError
        If pydicom (3.0 or later) is not installed.
    ValueError
        With the reason the file cannot be read; the caller names the file.
    """
    pydicom = _import_pydicom(path)
    errors = _pydicom_errors(pydicom)
    try:
        ds = pydicom.dcmread(path)
    except pydicom.errors.InvalidDicomError as exc:
        raise ValueError(
            f"not a valid DICOM file: {exc} (skpneumo reads DICOM Part 10 files, "
            "with the 'DICM' marker at byte 128)"
        ) from exc
    except errors as exc:
        raise ValueError(
            f"not a valid DICOM file: {type(exc).__name__}: {exc}"
        ) from exc
    try:
        return _read_dataset(pydicom, ds, max_pixels)
    except _Unreadable:
        raise
    except errors as exc:
        raise ValueError(
            f"cannot read its pixel data: {type(exc).__name__}: {exc}"
        ) from exc


def _read_dataset(pydicom, ds, max_pixels):
    """Check the header of a read dataset, then decode and map its pixels."""
    if "PixelData" not in ds:
        other = [k for k in ("FloatPixelData", "DoubleFloatPixelData") if k in ds]
        raise _Unreadable(
            "it holds no Pixel Data element (7FE0,0010)"
            + (f" ({other[0]} is not supported)" if other else "")
            + "; it is not an image (a report or other non-image object), or the "
            "file is truncated"
        )
    frames = int(ds.get("NumberOfFrames") or 1)
    if frames > 1:
        raise _Unreadable(
            f"it holds {frames} frames (NumberOfFrames); only single-frame images "
            "are supported: save the frame you want as its own file"
        )
    rows, columns = int(ds.Rows), int(ds.Columns)
    if max_pixels is not None and rows * columns > max_pixels:
        raise _Unreadable(
            f"{columns}x{rows} = {rows * columns} pixels (Columns x Rows) exceeds "
            f"max_pixels={max_pixels} (a possible decompression bomb; raise "
            "max_pixels to accept it)"
        )
    photometric = str(ds.get("PhotometricInterpretation", "")).strip().upper()
    samples = int(ds.get("SamplesPerPixel", 1))
    if not (
        (samples == 1 and photometric in _GREY)
        or (samples == 3 and photometric in _COLOUR)
    ):
        raise _Unreadable(
            f"its PhotometricInterpretation {photometric!r} with SamplesPerPixel "
            f"{samples} is not supported (supported: {', '.join(_GREY)} with 1 "
            f"sample, {', '.join(_COLOUR)} with 3)"
        )
    _check_decoder(pydicom, ds)
    pixels = ds.pixel_array  # YBR colour comes back as RGB
    if samples == 3:
        # colour has no modality LUT or window: only the stored bits say the range
        stored_range = (0.0, 2.0 ** int(ds.BitsStored) - 1)
        unit = _unit(pixels, *_full_range(ds, pixels, stored_range))
        return Image.fromarray(_to_uint8(unit))
    unit = _grey_levels(pydicom, ds, pixels)
    if photometric == "MONOCHROME1":
        unit = 1.0 - unit
    return Image.fromarray(_to_uint8(unit))
