"""Reading DICOM files (skpneumo/_dicom.py, through decode_file and ImageLoader).

The files are written here with pydicom from known pixel arrays, so that each
test knows the grey levels a DICOM viewer would show. Where the expected value
is a real number, the loader must round it to the nearest grey level: the
tests allow 0.5 (plus float noise), which is exactly "rounded to nearest".
"""

import copy
import io
import os
import re
import subprocess
import sys

import numpy as np
import pytest
from _helpers import TINY, routed
from PIL import Image

pydicom = pytest.importorskip("pydicom", minversion="3.0")

from pydicom.data import get_testdata_file  # noqa: E402
from pydicom.dataset import Dataset, FileMetaDataset  # noqa: E402
from pydicom.encaps import encapsulate  # noqa: E402
from pydicom.pixels import get_decoder  # noqa: E402
from pydicom.uid import (  # noqa: E402
    UID,
    DigitalXRayImageStorageForPresentation,
    HTJ2KLossless,
    JPEGBaseline8Bit,
    JPEGLSLossless,
    RLELossless,
)

from skpneumo import ImageLoader, ImageLoadError, make_pneumonia_pipeline  # noqa: E402
from skpneumo._image import decode_file  # noqa: E402
from skpneumo.datasets import load_chest_xray  # noqa: E402

ROUNDED = 0.5 + 1e-9  # the loader rounds to the nearest grey level


def make_dataset(pixels, photometric="MONOCHROME2", bits_stored=8, **elements):
    """A single-image DX dataset holding ``pixels``, with extra elements set."""
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.SOPClassUID = DigitalXRayImageStorageForPresentation
    ds.Modality = "DX"
    ds.set_pixel_data(pixels, photometric, bits_stored)
    for keyword, value in elements.items():
        setattr(ds, keyword, value)
    return ds


def write_dicom(path, pixels, photometric="MONOCHROME2", bits_stored=8, **elements):
    """Write ``pixels`` as a DICOM Part 10 file; return its path."""
    make_dataset(pixels, photometric, bits_stored, **elements).save_as(
        path, enforce_file_format=True
    )
    return path


def decode(path, shape, channels=1, **kwargs):
    """decode_file at the image's own size, so that nothing is resized."""
    return decode_file(path, shape, channels=channels, **kwargs)


def raises_naming(path, reason):
    """pytest.raises for an ImageLoadError that names ``path`` and gives ``reason``."""
    return pytest.raises(
        ImageLoadError, match=f"(?s){re.escape(repr(str(path)))}.*{reason}"
    )


def grey_pixels(shape=(20, 30), low=0, high=255, dtype=np.uint8, seed=0):
    """Random pixels that include ``low`` and ``high``."""
    rng = np.random.RandomState(seed)
    pixels = rng.randint(low, high + 1, size=shape).astype(dtype)
    pixels.flat[:2] = low, high
    return pixels


# %% grey levels


def test_monochrome2_8bit_unchanged(tmp_path):
    pixels = grey_pixels()
    path = write_dicom(tmp_path / "a.dcm", pixels)
    out = decode(path, pixels.shape)
    assert out.dtype == np.uint8 and out.shape == (20, 30, 1)
    np.testing.assert_array_equal(out[:, :, 0], pixels)


def test_monochrome1_inverted(tmp_path):
    pixels = grey_pixels()
    path = write_dicom(tmp_path / "a.dcm", pixels, "MONOCHROME1")
    np.testing.assert_array_equal(decode(path, pixels.shape)[:, :, 0], 255 - pixels)


@pytest.mark.parametrize("bits_stored", [12, 16])
def test_more_than_8_bits_scaled_from_min_to_max(tmp_path, bits_stored):
    # no window: the image's own range becomes 0-255 (see skpneumo/_dicom.py)
    low, high = 1000, 2 ** (bits_stored - 1) + 500
    pixels = grey_pixels(low=low, high=high, dtype=np.uint16)
    path = write_dicom(tmp_path / "a.dcm", pixels, bits_stored=bits_stored)
    out = decode(path, pixels.shape)[:, :, 0]
    expected = (pixels - low) / (high - low) * 255
    assert np.abs(out - expected).max() <= ROUNDED
    assert out.min() == 0 and out.max() == 255


def test_unused_high_bits_ignored(tmp_path):
    # Some modalities keep overlays in the bits above BitsStored; they are not
    # part of the grey value.
    pixels = grey_pixels(low=0, high=4095, dtype=np.uint16)
    ds = make_dataset(pixels, bits_stored=12)
    ds.PixelData = (pixels | np.uint16(0xF000)).tobytes()
    ds.save_as(tmp_path / "a.dcm", enforce_file_format=True)
    clean = write_dicom(tmp_path / "clean.dcm", pixels, bits_stored=12)
    np.testing.assert_array_equal(
        decode(tmp_path / "a.dcm", pixels.shape), decode(clean, pixels.shape)
    )


def test_window_on_12_bits(tmp_path):
    pixels = grey_pixels(low=0, high=4095, dtype=np.uint16)
    center, width = 2048, 1025
    path = write_dicom(
        tmp_path / "a.dcm",
        pixels,
        bits_stored=12,
        WindowCenter=center,
        WindowWidth=width,
    )
    out = decode(path, pixels.shape)[:, :, 0]
    # DICOM PS3.3 C.11.2.1.2.1, "LINEAR": the window maps onto the whole output
    expected = np.clip((pixels - (center - 0.5)) / (width - 1) + 0.5, 0, 1) * 255
    assert np.abs(out - expected).max() <= ROUNDED
    assert (out == 0).any() and (out == 255).any() and ((out > 0) & (out < 255)).any()


@pytest.mark.parametrize("photometric", ["MONOCHROME2", "MONOCHROME1"])
def test_rescale_then_window(tmp_path, photometric):
    # CT-like: signed 12-bit values, Hounsfield units = stored - 1024, and a
    # window given in Hounsfield units (applied after the rescale)
    pixels = grey_pixels(low=-2048, high=2047, dtype=np.int16)
    center, width = 40, 400
    path = write_dicom(
        tmp_path / "a.dcm",
        pixels,
        photometric,
        bits_stored=12,
        RescaleSlope=1,
        RescaleIntercept=-1024,
        WindowCenter=center,
        WindowWidth=width,
    )
    out = decode(path, pixels.shape)[:, :, 0]
    hounsfield = pixels.astype(float) - 1024
    unit = np.clip((hounsfield - (center - 0.5)) / (width - 1) + 0.5, 0, 1)
    expected = (unit if photometric == "MONOCHROME2" else 1 - unit) * 255
    assert np.abs(out - expected).max() <= ROUNDED


def test_rescale_without_window(tmp_path):
    # a negative slope turns the grey scale round: the modality LUT is applied
    pixels = grey_pixels(low=100, high=3000, dtype=np.uint16)
    path = write_dicom(
        tmp_path / "a.dcm", pixels, bits_stored=12, RescaleSlope=-2, RescaleIntercept=50
    )
    out = decode(path, pixels.shape)[:, :, 0]
    expected = (3000 - pixels) / (3000 - 100) * 255
    assert np.abs(out - expected).max() <= ROUNDED


@pytest.mark.parametrize("vr", ["US", "OW"])
def test_voi_lut_sequence_8_bit_output_of_4096_entries(tmp_path, vr):
    # Non-regression test for pydicom 3.0 indexing an 8-bit VOI LUT with uint8:
    # entries past 255 of this 4096-entry LUT wrapped round.
    pixels = grey_pixels(low=0, high=4095, dtype=np.uint16)
    lut = Dataset()
    lut.add_new("LUTDescriptor", "US", [4096, 0, 8])
    curve = 255 - np.arange(4096) // 16  # a decreasing curve
    if vr == "US":
        lut.add_new("LUTData", "US", curve.tolist())
    else:  # 16-bit words, as many archives write it
        lut.add_new("LUTData", "OW", curve.astype("<u2").tobytes())
    path = write_dicom(
        tmp_path / "a.dcm",
        pixels,
        bits_stored=12,
        VOILUTSequence=[lut],
        WindowCenter=100,
        WindowWidth=10,  # ignored: the LUT comes first
    )
    out = decode(path, pixels.shape)[:, :, 0]
    np.testing.assert_array_equal(out, 255 - pixels // 16)


def test_rgb(tmp_path):
    rng = np.random.RandomState(0)
    pixels = rng.randint(0, 256, size=(20, 30, 3)).astype(np.uint8)
    path = write_dicom(tmp_path / "a.dcm", pixels, "RGB")
    np.testing.assert_array_equal(decode(path, (20, 30), channels=3), pixels)
    # to grey as any colour image is (Pillow's ITU-R 601-2 luma)
    grey = np.asarray(Image.fromarray(pixels).convert("L"))
    np.testing.assert_array_equal(decode(path, (20, 30))[:, :, 0], grey)


@pytest.mark.parametrize("resize", ["squash", "crop", "pad"])
def test_resized_like_other_images(tmp_path, resize):
    pixels = grey_pixels(shape=(40, 24))
    Image.fromarray(pixels).save(tmp_path / "a.png")
    write_dicom(tmp_path / "a.dcm", pixels)
    expected = decode_file(tmp_path / "a.png", (16, 16), resize=resize, channels=3)
    out = decode_file(tmp_path / "a.dcm", (16, 16), resize=resize, channels=3)
    np.testing.assert_array_equal(out, expected)


# %% compressed pixel data


def test_rle_lossless(tmp_path):
    # RLE is encoded and decoded by pydicom itself, without a plugin
    pixels = grey_pixels(low=0, high=4095, dtype=np.uint16)
    ds = make_dataset(pixels, bits_stored=12)
    ds.compress(RLELossless)
    ds.save_as(tmp_path / "rle.dcm", enforce_file_format=True)
    write_dicom(tmp_path / "raw.dcm", pixels, bits_stored=12)
    assert (
        pydicom.dcmread(tmp_path / "rle.dcm").file_meta.TransferSyntaxUID == RLELossless
    )
    np.testing.assert_array_equal(
        decode(tmp_path / "rle.dcm", pixels.shape),
        decode(tmp_path / "raw.dcm", pixels.shape),
    )


def jpeg_dicom(path, pixels, quality=95):
    """A JPEG baseline DICOM: ``pixels`` compressed by Pillow; returns the JPEG bytes."""
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="JPEG", quality=quality)
    ds = make_dataset(pixels)
    ds.file_meta.TransferSyntaxUID = JPEGBaseline8Bit
    ds.PixelData = encapsulate([buffer.getvalue()])
    ds["PixelData"].VR = "OB"
    ds.save_as(path, enforce_file_format=True)
    return buffer.getvalue()


def test_jpeg_baseline(tmp_path):
    pixels = grey_pixels(shape=(32, 40))
    jpeg = jpeg_dicom(tmp_path / "a.dcm", pixels)
    out = decode(tmp_path / "a.dcm", pixels.shape)[:, :, 0]
    expected = np.asarray(Image.open(io.BytesIO(jpeg)))
    # pydicom may decode with pylibjpeg's libjpeg rather than Pillow's
    # libjpeg-turbo; their inverse DCTs may round a sample one level apart
    # (ITU-T T.81 allows it).
    assert np.abs(out.astype(int) - expected).max() <= 1


@pytest.mark.parametrize(
    "name",
    [
        "MR_small_RLE.dcm",
        "MR_small_jpeg_ls_lossless.dcm",
        "MR_small_jp2klossless.dcm",
        "MR_small_bigendian.dcm",
    ],
)
def test_bundled_lossless_files_match_uncompressed(name):
    # Real-world files bundled with pydicom (no CR or DX X-ray is among them):
    # the same MR image stored uncompressed and in lossless transfer syntaxes.
    reference, path = (
        get_testdata_file(n, download=False) for n in ("MR_small.dcm", name)
    )
    if reference is None or path is None:
        pytest.skip(f"pydicom's test file {name} is not bundled")
    uid = pydicom.dcmread(path, stop_before_pixels=True).file_meta.TransferSyntaxUID
    if not get_decoder(uid).is_available:
        pytest.skip(f"no decoder installed for {uid.name}")
    np.testing.assert_array_equal(decode(path, (64, 64)), decode(reference, (64, 64)))


def test_bundled_ct_smoke():
    # A real-world file bundled with pydicom (a CT slice: there is no CR or DX
    # X-ray among them). Signed 16-bit values with a rescale and no window,
    # so they are scaled from their minimum to their maximum.
    path = get_testdata_file("CT_small.dcm", download=False)
    if path is None:
        pytest.skip("pydicom's test file CT_small.dcm is not bundled")
    out = ImageLoader(image_size=32).fit_transform([path])
    assert out.shape == (1, 32, 32, 1) and out.dtype == np.uint8
    assert out.std() > 20  # a full-contrast image, not a flat grey


# %% errors


def test_multi_frame(tmp_path):
    path = write_dicom(tmp_path / "cine.dcm", np.zeros((2, 8, 8), dtype=np.uint8))
    with raises_naming(path, "holds 2 frames"):
        decode(path, (8, 8))


def test_missing_pixel_data(tmp_path):
    ds = make_dataset(np.zeros((8, 8), dtype=np.uint8))
    del ds.PixelData
    ds.save_as(tmp_path / "report.dcm", enforce_file_format=True)
    with raises_naming(tmp_path / "report.dcm", r"no Pixel Data element \(7FE0,0010\)"):
        decode(tmp_path / "report.dcm", (8, 8))


@pytest.mark.parametrize(
    "content, reason",
    [
        (b"not an image\n" * 20, "not a valid DICOM file"),
        (b"", r"the file is empty \(0 bytes\)"),
    ],
)
def test_not_dicom(tmp_path, content, reason):
    path = tmp_path / "scan.dcm"
    path.write_bytes(content)
    with raises_naming(path, reason):
        decode(path, (8, 8))


def test_jpeg_named_dcm_is_not_dicom(tmp_path):
    # the suffix decides: a .dcm file is DICOM or an error, never guessed at
    Image.fromarray(grey_pixels()).save(tmp_path / "a.dcm", format="JPEG")
    with raises_naming(tmp_path / "a.dcm", "not a valid DICOM file.*DICM"):
        decode(tmp_path / "a.dcm", (8, 8))


def test_transfer_syntax_without_installed_decoder(tmp_path):
    if get_decoder(HTJ2KLossless).is_available:
        pytest.skip("pylibjpeg-openjpeg is installed: HTJ2K can be decoded")
    ds = make_dataset(np.zeros((8, 8), dtype=np.uint8))
    ds.file_meta.TransferSyntaxUID = HTJ2KLossless
    ds.PixelData = encapsulate([b"\xff\x4f\xff\x51" + b"\x00" * 60])
    ds["PixelData"].VR = "OB"
    ds.save_as(tmp_path / "a.dcm", enforce_file_format=True)
    with raises_naming(
        tmp_path / "a.dcm",
        "High-Throughput JPEG 2000.*pip install pylibjpeg pylibjpeg-openjpeg",
    ):
        decode(tmp_path / "a.dcm", (8, 8))


def test_jpeg_ls_when_its_decoders_are_absent(tmp_path, monkeypatch):
    # pylibjpeg-libjpeg is a test dependency, so its absence is simulated: the
    # real JPEG-LS decoder with all of its plugins removed.
    absent = copy.deepcopy(get_decoder(JPEGLSLossless))
    for plugin in absent.available_plugins:
        absent.remove_plugin(plugin)
    monkeypatch.setattr(pydicom.pixels, "get_decoder", lambda uid: absent)
    ds = make_dataset(np.zeros((8, 8), dtype=np.uint8))
    ds.file_meta.TransferSyntaxUID = JPEGLSLossless
    ds.PixelData = encapsulate([b"\xff\xd8\xff\xd9"])
    ds["PixelData"].VR = "OB"
    ds.save_as(tmp_path / "a.dcm", enforce_file_format=True)
    with raises_naming(
        tmp_path / "a.dcm", "JPEG-LS.*pip install pylibjpeg pylibjpeg-libjpeg"
    ):
        decode(tmp_path / "a.dcm", (8, 8))


def test_transfer_syntax_unknown_to_pydicom(tmp_path):
    ds = make_dataset(np.zeros((8, 8), dtype=np.uint8))
    ds.file_meta.TransferSyntaxUID = UID("1.2.826.0.1.3680043.8.498.999")  # private
    ds.PixelData = encapsulate([b"\x00" * 8])
    ds["PixelData"].VR = "OB"
    ds.save_as(
        tmp_path / "a.dcm",
        enforce_file_format=True,
        implicit_vr=False,
        little_endian=True,
    )
    with raises_naming(tmp_path / "a.dcm", "1.2.826.0.1.3680043.8.498.999.*no decoder"):
        decode(tmp_path / "a.dcm", (8, 8))


def test_max_pixels_checked_before_decoding(tmp_path):
    # The pixel data are cut short: decoding them would fail with another
    # message, so the max_pixels error proves that they were not decoded.
    ds = make_dataset(np.zeros((20, 30), dtype=np.uint8))
    ds.PixelData = ds.PixelData[:10]
    ds.save_as(tmp_path / "big.dcm", enforce_file_format=True)
    with raises_naming(
        tmp_path / "big.dcm", "30x20 = 600 pixels.*exceeds max_pixels=599"
    ):
        decode(tmp_path / "big.dcm", (8, 8), max_pixels=599)
    with raises_naming(tmp_path / "big.dcm", "cannot read its pixel data"):
        decode(tmp_path / "big.dcm", (8, 8), max_pixels=600)


def test_loader_names_the_file(tmp_path):
    write_dicom(tmp_path / "good.dcm", grey_pixels())
    write_dicom(tmp_path / "cine.dcm", np.zeros((3, 8, 8), dtype=np.uint8))
    loader = ImageLoader(image_size=8, n_jobs=2)
    with raises_naming(tmp_path / "cine.dcm", "3 frames"):
        loader.fit_transform([tmp_path / "good.dcm", tmp_path / "cine.dcm"])


def test_without_pydicom(tmp_path, monkeypatch):
    path = write_dicom(tmp_path / "a.dcm", grey_pixels())
    monkeypatch.setitem(sys.modules, "pydicom", None)  # import pydicom fails
    monkeypatch.setitem(sys.modules, "pydicom.pixels", None)
    with pytest.raises(
        ImportError,
        match=re.escape(f"{str(path)!r} needs pydicom")
        + r".*"
        + re.escape('pip install "skpneumo[dicom]"'),
    ):
        ImageLoader(image_size=8).fit_transform([path])


def test_import_skpneumo_does_not_import_pydicom():
    code = "import sys, skpneumo; print('pydicom' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "False"


# %% alongside other images


def test_mixed_list_and_suffixless_dicom(tmp_path):
    pixels = grey_pixels(shape=(24, 32))
    Image.fromarray(pixels).save(tmp_path / "a.png")
    write_dicom(tmp_path / "b.dcm", pixels)
    # an archive's export without an extension: found by its DICM marker
    write_dicom(tmp_path / "IM000001", 255 - pixels, "MONOCHROME1")
    out = ImageLoader(image_size=16, n_jobs=2).fit_transform(
        [tmp_path / "a.png", str(tmp_path / "b.dcm"), tmp_path / "IM000001"]
    )
    np.testing.assert_array_equal(out[1], out[0])
    np.testing.assert_array_equal(out[2], out[0])


def test_cache_sees_a_rewritten_dicom(tmp_path):
    path = tmp_path / "a.dcm"
    pixels = grey_pixels(shape=(8, 8))
    write_dicom(path, pixels)
    loader = ImageLoader(image_size=8, memory=tmp_path / "cache")
    np.testing.assert_array_equal(loader.fit_transform([path])[0, :, :, 0], pixels)
    write_dicom(path, 255 - pixels)
    stat = os.stat(path)
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    np.testing.assert_array_equal(
        loader.fit_transform([path])[0, :, :, 0], 255 - pixels
    )


def test_load_chest_xray_lists_dicom(tmp_path):
    for folder, name in [
        ("NORMAL", "IM-0001-0001.dcm"),
        ("NORMAL", "IM-0002-0001.jpeg"),
        ("PNEUMONIA", "person3_virus_1.DCM"),
        ("PNEUMONIA", "person4_bacteria_2.dicom"),
    ]:
        (tmp_path / "train" / folder).mkdir(parents=True, exist_ok=True)
        if name.endswith(".jpeg"):
            Image.fromarray(grey_pixels()).save(tmp_path / "train" / folder / name)
        else:
            write_dicom(tmp_path / "train" / folder / name, grey_pixels())
    data = load_chest_xray(tmp_path, split="train")
    assert [os.path.basename(p) for p in data.paths] == [
        "IM-0001-0001.dcm",
        "IM-0002-0001.jpeg",
        "person3_virus_1.DCM",
        "person4_bacteria_2.dicom",
    ]
    assert data.target.tolist() == [0, 0, 1, 1]
    assert ImageLoader(image_size=8).fit_transform(data.paths).shape == (4, 8, 8, 1)


def test_predict_proba_same_for_jpeg_and_dicom(tmp_path, kaggle_root):
    train = load_chest_xray(kaggle_root, split="train")
    pipe = make_pneumonia_pipeline(image_size=16, **routed(TINY))
    pipe.fit(train.paths, train.target)
    paths = []
    for i, source in enumerate(
        load_chest_xray(kaggle_root, split="val").paths[[0, -1]]
    ):
        jpeg = tmp_path / f"{i}.jpeg"
        Image.open(source).save(jpeg, quality=95)
        # JPEG is lossy: the DICOM holds the pixels the JPEG decodes to
        write_dicom(tmp_path / f"{i}.dcm", np.asarray(Image.open(jpeg)))
        paths += [jpeg, tmp_path / f"{i}.dcm"]
    images = pipe.named_steps["loader"].transform(paths)
    np.testing.assert_array_equal(images[1::2], images[0::2])
    proba = pipe.predict_proba(paths)[:, 1]
    np.testing.assert_allclose(proba[1::2], proba[0::2], atol=0.01)
